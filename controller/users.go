package controller

import (
	"context"
	"slices"
	"strings"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/users"
)

// UserInfo is a user with their controller access, as listings show it.
type UserInfo struct {
	users.User
	Access acl.Level
	// Pending is true while the user has not registered (no password yet).
	Pending bool
}

// AddedUser is what AddUser returns: the user and the one-time
// registration token to hand to them.
type AddedUser struct {
	User  UserInfo
	Token string
}

func canonicalUser(name string) (string, error) { return users.Canonical(name) }

func userNotFound(id string) error { return herd.Errorf(herd.ErrNotFound, "user %q not found", id) }

func getUser(t *state.Txn, id string) (state.User, error) {
	u, ok := state.Get[state.User](t, state.TableUsers, state.IndexID, id)
	if !ok {
		return state.User{}, userNotFound(id)
	}
	return u, nil
}

// visibleUser is getUser for a user named by someone who may not be able
// to see them: a missing user is herd.ErrNotFound only to a caller who
// may show that user (a superuser, or oneself), and permission denied to
// anyone else, so that names cannot be probed.
func visibleUser(t *state.Txn, w caller, id string) (state.User, error) {
	u, err := getUser(t, id)
	if err != nil && may(t, w, acl.ShowUser, id) != nil {
		return u, herd.Denied()
	}
	return u, err
}

// enabledSuperusers counts enabled users with superuser access.
func enabledSuperusers(t *state.Txn) int {
	n := 0
	for _, u := range state.List[state.User](t, state.TableUsers, state.IndexID) {
		if u.Access == acl.Superuser && !u.Disabled {
			n++
		}
	}
	return n
}

// userUpdate runs fn as update does, for op on user name, with the
// user's current row, once the one decision has allowed it.
func (s *Session) userUpdate(ctx context.Context, op acl.Op, name string, fn func(*state.Txn, caller, state.User) error) error {
	id, err := canonicalUser(name)
	if err != nil {
		return err
	}
	return s.update(ctx, func(t *state.Txn, w caller) error {
		if err := may(t, w, op, id); err != nil {
			if op == acl.ResetPassword && id == w.name {
				err = herd.Errorf(herd.ErrInvalid, "You cannot reset your own password")
			}
			return err
		}
		u, err := getUser(t, id)
		if err != nil {
			return err
		}
		return fn(t, w, u)
	})
}

// issueSecret writes a fresh registration secret for id and returns its token.
func (s *Session) issueSecret(t *state.Txn, u users.User) (string, error) {
	key, err := s.c.random(users.SecretKeyLen)
	if err != nil {
		return "", err
	}
	now := s.c.opts.Now()
	sec := state.Secret{User: u.Name, Key: key, Created: now}
	if s.c.opts.TokenTTL > 0 {
		sec.Expires = now.Add(s.c.opts.TokenTTL)
	}
	if err := t.Insert(state.TableSecrets, sec); err != nil {
		return "", err
	}
	return users.Token{User: u.Display(), Addrs: s.c.Addrs(), SecretKey: key, ControllerName: s.c.info.Name}.Encode()
}

// AddUser creates a user with controller access `login` and no password,
// and returns the one-time registration token (superuser only).
func (s *Session) AddUser(ctx context.Context, name, displayName string) (AddedUser, error) {
	var out AddedUser
	err := s.update(ctx, func(t *state.Txn, w caller) (err error) {
		out, err = s.addUser(t, w, name, displayName)
		return err
	})
	if err == nil {
		s.c.opts.Logger.Info("user added", "user", out.User.Name, "by", s.user)
	}
	return out, err
}

func (s *Session) addUser(t *state.Txn, w caller, name, displayName string) (AddedUser, error) {
	id, err := canonicalUser(name)
	if err != nil {
		return AddedUser{}, err
	}
	if err := may(t, w, acl.ManageUsers, id); err != nil {
		return AddedUser{}, err
	}
	if err := users.ValidateDisplayName(displayName); err != nil {
		return AddedUser{}, err
	}
	if _, ok := state.Get[state.User](t, state.TableUsers, state.IndexID, id); ok {
		return AddedUser{}, herd.Errorf(herd.ErrAlreadyExists, "failed to create user: user %q already exists", id)
	}
	u := users.User{Name: id, GivenName: name, DisplayName: displayName, CreatedBy: w.name, Created: s.c.opts.Now()}
	if err := t.Insert(state.TableUsers, state.User{User: u, Access: acl.Login}); err != nil {
		return AddedUser{}, err
	}
	token, err := s.issueSecret(t, u)
	if err != nil {
		return AddedUser{}, err
	}
	return AddedUser{User: UserInfo{User: u, Access: acl.Login, Pending: true}, Token: token}, nil
}

// ChangePassword sets a user's password: one's own, or anyone's for a
// superuser. Every other session of that user ends (the caller's own
// session survives a change of its own password).
func (s *Session) ChangePassword(ctx context.Context, name, password string) error {
	if err := users.ValidatePassword(password); err != nil {
		return err
	}
	id, err := s.targetUser(name)
	if err != nil {
		return err
	}
	// Authorize before the slow hash, so a refused caller costs nothing.
	if t, w, err := s.read(ctx); err != nil {
		return err
	} else if err := may(t, w, acl.ChangePassword, id); err != nil {
		return err
	}
	hash, err := s.c.opts.Hasher.Hash(password)
	if err != nil {
		return err
	}
	if err := s.update(ctx, func(t *state.Txn, w caller) error { return s.setPassword(t, w, id, hash) }); err != nil {
		return err
	}
	s.c.opts.Logger.Info("password changed", "user", id, "by", s.user)
	return nil
}

// setPassword stores a password hash for id, drops any registration
// secret and ends id's sessions other than the caller's.
func (s *Session) setPassword(t *state.Txn, w caller, id, hash string) error {
	if err := may(t, w, acl.ChangePassword, id); err != nil {
		return err
	}
	u, err := getUser(t, id)
	if err != nil {
		return err
	}
	u.PasswordHash = hash
	if err := t.Insert(state.TableUsers, u); err != nil {
		return err
	}
	if _, err := t.DeleteAll(state.TableSecrets, state.IndexID, id); err != nil {
		return err
	}
	return endSessionsExcept(t, id, s.hash)
}

// targetUser is the canonical name of name, or the caller when name is "".
func (s *Session) targetUser(name string) (string, error) {
	if name == "" {
		return s.user, nil
	}
	return canonicalUser(name)
}

func endSessionsExcept(t *state.Txn, id, keep string) error {
	for _, sess := range state.List[state.Session](t, state.TableSessions, state.IndexUser, id) {
		if sess.TokenHash == keep {
			continue
		}
		if err := t.Delete(state.TableSessions, sess); err != nil {
			return err
		}
	}
	return nil
}

// ResetPassword clears another user's password and issues a new
// registration token; earlier tokens and all their sessions stop working
// (superuser only; not on oneself, not on a disabled user).
func (s *Session) ResetPassword(ctx context.Context, name string) (string, error) {
	var token, id string
	err := s.userUpdate(ctx, acl.ResetPassword, name, func(t *state.Txn, w caller, u state.User) (err error) {
		id = u.Name
		if u.Disabled {
			return herd.Errorf(herd.ErrFailedPrecondition, "cannot reset password of disabled user %q", u.Name)
		}
		u.PasswordHash = ""
		if err := t.Insert(state.TableUsers, u); err != nil {
			return err
		}
		if _, err := t.DeleteAll(state.TableSessions, state.IndexUser, u.Name); err != nil {
			return err
		}
		token, err = s.issueSecret(t, u.User)
		return err
	})
	if err != nil {
		return "", err
	}
	s.c.opts.Logger.Info("password reset", "user", id, "by", s.user)
	return token, nil
}

// DisableUser disables a user (superuser only). Idempotent. The user's
// sessions end at once and they cannot log in or register.
func (s *Session) DisableUser(ctx context.Context, name string) error {
	return s.setDisabled(ctx, name, true)
}

// EnableUser enables a disabled user (superuser only). Idempotent.
func (s *Session) EnableUser(ctx context.Context, name string) error {
	return s.setDisabled(ctx, name, false)
}

func (s *Session) setDisabled(ctx context.Context, name string, disable bool) error {
	changed, id := false, ""
	err := s.userUpdate(ctx, acl.ManageUsers, name, func(t *state.Txn, w caller, u state.User) error {
		id = u.Name
		if changed = u.Disabled != disable; !changed {
			return nil
		}
		if disable {
			if err := acl.CheckOwner(id == s.c.info.Owner, id, acl.Disabling); err != nil {
				return err
			}
			if err := acl.CheckSuperusers(u.Access == acl.Superuser, false, enabledSuperusers(t)); err != nil {
				return err
			}
			if _, err := t.DeleteAll(state.TableSessions, state.IndexUser, id); err != nil {
				return err
			}
		}
		u.Disabled = disable
		return t.Insert(state.TableUsers, u)
	})
	if err == nil && changed {
		s.c.opts.Logger.Info("user enabled state changed", "user", id, "disabled", disable, "by", s.user)
	}
	return err
}

// RemoveUser removes a user (superuser only): the record is kept for audit,
// and all the user's grants, sessions and tokens go. The same name can be
// added again later as a fresh user. A user who still owns models, or who
// is the last admin of a model, cannot be removed
// (herd.ErrFailedPrecondition): destroy those models or grant admin to
// another user first.
func (s *Session) RemoveUser(ctx context.Context, name string) error {
	// Keyed by a fresh UUID: two removals of one name at the same clock
	// reading must not overwrite each other's record.
	rid, err := s.c.newUUID()
	if err != nil {
		return err
	}
	var id string
	err = s.userUpdate(ctx, acl.ManageUsers, name, func(t *state.Txn, w caller, u state.User) error {
		id = u.Name
		if err := acl.CheckOwner(id == s.c.info.Owner, id, acl.Removing); err != nil {
			return err
		}
		if err := acl.CheckSuperusers(u.Access == acl.Superuser && !u.Disabled, false, enabledSuperusers(t)); err != nil {
			return err
		}
		if owned := state.List[models.Model](t, state.TableModels, state.IndexOwner, id); len(owned) > 0 {
			return herd.Errorf(herd.ErrFailedPrecondition, "cannot remove user %q: they own %d model(s), the first %q", id, len(owned), owned[0].FullName())
		}
		for _, g := range state.List[state.Grant](t, state.TableGrants, state.IndexUser, id) {
			if g.Level == acl.Admin {
				if err := acl.CheckModelAdmins(g.ModelUUID, acl.Admin, acl.None, countAdmins(t, g.ModelUUID)); err != nil {
					return err
				}
			}
		}
		now := s.c.opts.Now()
		rm := state.RemovedUser{ID: id + "/" + rid, User: u.User, Removed: now, RemovedBy: w.name}
		if err := t.Insert(state.TableRemovedUsers, rm); err != nil {
			return err
		}
		for _, del := range []struct {
			table state.Table
			index state.Index
		}{
			{state.TableUsers, state.IndexID}, {state.TableSecrets, state.IndexID},
			{state.TableSessions, state.IndexUser}, {state.TableGrants, state.IndexUser},
		} {
			if _, err := t.DeleteAll(del.table, del.index, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.c.opts.Logger.Info("user removed", "user", id, "by", s.user)
	return nil
}

func (s *Session) userInfo(t *state.Txn, u state.User) UserInfo {
	return UserInfo{User: u.User, Access: u.Access, Pending: u.PasswordHash == ""}
}

// UsersOptions select what Users lists.
type UsersOptions struct {
	// All includes disabled users (a superuser's listing).
	All bool
}

// Users lists users, sorted by name. A superuser sees every user (disabled
// ones only with opts.All); anyone else sees only themselves.
func (s *Session) Users(ctx context.Context, opts UsersOptions) ([]UserInfo, error) {
	t, w, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	if may(t, w, acl.ListAllUsers, "") != nil {
		u, err := getUser(t, w.name)
		if err != nil {
			return nil, err
		}
		return []UserInfo{s.userInfo(t, u)}, nil
	}
	var out []UserInfo
	for _, u := range state.List[state.User](t, state.TableUsers, state.IndexID) {
		if u.Disabled && !opts.All {
			continue
		}
		out = append(out, s.userInfo(t, u))
	}
	slices.SortFunc(out, func(a, b UserInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// ShowUser returns one user: oneself, or anyone for a superuser. A name
// ("" means oneself) that the caller may not see is permission denied,
// whether or not it exists.
func (s *Session) ShowUser(ctx context.Context, name string) (UserInfo, error) {
	t, w, err := s.read(ctx)
	if err != nil {
		return UserInfo{}, err
	}
	id, err := s.targetUser(name)
	if err != nil {
		return UserInfo{}, err
	}
	if err := may(t, w, acl.ShowUser, id); err != nil {
		return UserInfo{}, err
	}
	u, err := getUser(t, id)
	if err != nil {
		return UserInfo{}, err
	}
	return s.userInfo(t, u), nil
}
