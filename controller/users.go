package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	store "github.com/herd-project/herd/internal/state"
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

func getUser(t *store.Txn, id string) (store.User, error) {
	u, ok := store.Get[store.User](t, store.TableUsers, store.IndexID, id)
	if !ok {
		return store.User{}, userNotFound(id)
	}
	return u, nil
}

func accessOf(t *store.Txn, id string) acl.Level {
	u, _ := store.Get[store.User](t, store.TableUsers, store.IndexID, id)
	return u.Access
}

// enabledSuperusers counts enabled users with superuser access.
func enabledSuperusers(t *store.Txn) int {
	n := 0
	for _, u := range store.List[store.User](t, store.TableUsers, store.IndexID) {
		if u.Access == acl.Superuser && !u.Disabled {
			n++
		}
	}
	return n
}

// superuserOn starts a write for a superuser's operation on user name and
// returns the transaction, the caller and the user's current row. On error
// the transaction is already aborted.
func (s *Session) superuserOn(ctx context.Context, name string) (*store.Txn, caller, store.User, error) {
	t, w, err := s.write(ctx)
	if err != nil {
		return nil, caller{}, store.User{}, err
	}
	fail := func(err error) (*store.Txn, caller, store.User, error) {
		t.Abort()
		return nil, caller{}, store.User{}, err
	}
	if !w.superuser() {
		return fail(herd.Denied())
	}
	id, err := canonicalUser(name)
	if err != nil {
		return fail(err)
	}
	u, err := getUser(t, id)
	if err != nil {
		return fail(err)
	}
	return t, w, u, nil
}

// issueSecret writes a fresh registration secret for id and returns its token.
func (s *Session) issueSecret(t *store.Txn, u users.User) (string, error) {
	key, err := s.c.random(users.SecretKeyLen)
	if err != nil {
		return "", err
	}
	now := s.c.opts.Now()
	sec := store.Secret{User: u.Name, Hash: hashBytes(key), Created: now}
	if s.c.opts.TokenTTL > 0 {
		sec.Expires = now.Add(s.c.opts.TokenTTL)
	}
	if err := t.Insert(store.TableSecrets, sec); err != nil {
		return "", err
	}
	return users.Token{User: u.Display(), Addrs: s.c.opts.Addrs, SecretKey: key, ControllerName: s.c.info.Name}.Encode()
}

// AddUser creates a user with controller access `login` and no password,
// and returns the one-time registration token (superuser only).
func (s *Session) AddUser(ctx context.Context, name, displayName string) (AddedUser, error) {
	var out AddedUser
	err := s.update(ctx, func(t *store.Txn, w caller) (err error) {
		out, err = s.addUser(t, w, name, displayName)
		return err
	})
	return out, err
}

func (s *Session) addUser(t *store.Txn, w caller, name, displayName string) (AddedUser, error) {
	if !w.superuser() {
		return AddedUser{}, herd.Denied()
	}
	id, err := canonicalUser(name)
	if err != nil {
		return AddedUser{}, err
	}
	if _, ok := store.Get[store.User](t, store.TableUsers, store.IndexID, id); ok {
		return AddedUser{}, herd.Errorf(herd.ErrAlreadyExists, "failed to create user: user %q already exists", id)
	}
	u := users.User{Name: id, GivenName: name, DisplayName: displayName, CreatedBy: w.name, Created: s.c.opts.Now()}
	if err := t.Insert(store.TableUsers, store.User{User: u, Access: acl.Login}); err != nil {
		return AddedUser{}, err
	}
	token, err := s.issueSecret(t, u)
	if err != nil {
		return AddedUser{}, err
	}
	s.c.opts.Logger.Info("user added", "user", id, "by", w.name)
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
	if _, w, err := s.read(ctx); err != nil {
		return err
	} else if id != w.name && !w.superuser() {
		return herd.Denied()
	}
	hash, err := s.c.opts.Hasher.Hash(password)
	if err != nil {
		return err
	}
	return s.update(ctx, func(t *store.Txn, w caller) error { return s.setPassword(t, w, id, hash) })
}

// setPassword stores a password hash for id, drops any registration
// secret and ends id's sessions other than the caller's.
func (s *Session) setPassword(t *store.Txn, w caller, id, hash string) error {
	if id != w.name && !w.superuser() {
		return herd.Denied()
	}
	u, err := getUser(t, id)
	if err != nil {
		return err
	}
	u.PasswordHash = hash
	if err := t.Insert(store.TableUsers, u); err != nil {
		return err
	}
	if _, err := t.DeleteAll(store.TableSecrets, store.IndexID, id); err != nil {
		return err
	}
	if err := endSessionsExcept(t, id, s.hash); err != nil {
		return err
	}
	s.c.opts.Logger.Info("password changed", "user", id, "by", w.name)
	return nil
}

// targetUser is the canonical name of name, or the caller when name is "".
func (s *Session) targetUser(name string) (string, error) {
	if name == "" {
		return s.user, nil
	}
	return canonicalUser(name)
}

func endSessionsExcept(t *store.Txn, id, keep string) error {
	for _, sess := range store.List[store.Session](t, store.TableSessions, store.IndexUser, id) {
		if sess.TokenHash == keep {
			continue
		}
		if err := t.Delete(store.TableSessions, sess); err != nil {
			return err
		}
	}
	return nil
}

// ResetPassword clears another user's password and issues a new
// registration token; earlier tokens and all their sessions stop working
// (superuser only; not on oneself, not on a disabled user).
func (s *Session) ResetPassword(ctx context.Context, name string) (string, error) {
	t, w, u, err := s.superuserOn(ctx, name)
	if err != nil {
		return "", err
	}
	defer t.Abort()
	id := u.Name
	if id == w.name {
		return "", herd.Errorf(herd.ErrInvalid, "You cannot reset your own password")
	}
	if u.Disabled {
		return "", herd.Errorf(herd.ErrFailedPrecondition, "cannot reset password of disabled user %q", id)
	}
	u.PasswordHash = ""
	if err := t.Insert(store.TableUsers, u); err != nil {
		return "", err
	}
	if _, err := t.DeleteAll(store.TableSessions, store.IndexUser, id); err != nil {
		return "", err
	}
	token, err := s.issueSecret(t, u.User)
	if err != nil {
		return "", err
	}
	if err := t.Commit(); err != nil {
		return "", err
	}
	s.c.opts.Logger.Info("password reset", "user", id, "by", w.name)
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
	t, w, u, err := s.superuserOn(ctx, name)
	if err != nil {
		return err
	}
	defer t.Abort()
	id := u.Name
	if u.Disabled == disable {
		return nil
	}
	if disable {
		if err := acl.CheckOwner(id == s.c.info.Owner, id, acl.OpDisable); err != nil {
			return err
		}
		isSU := accessOf(t, id) == acl.Superuser
		if err := acl.CheckSuperusers(isSU, false, enabledSuperusers(t)); err != nil {
			return err
		}
		if _, err := t.DeleteAll(store.TableSessions, store.IndexUser, id); err != nil {
			return err
		}
	}
	u.Disabled = disable
	if err := t.Insert(store.TableUsers, u); err != nil {
		return err
	}
	if err := t.Commit(); err != nil {
		return err
	}
	s.c.opts.Logger.Info("user enabled state changed", "user", id, "disabled", disable, "by", w.name)
	return nil
}

// RemoveUser removes a user (superuser only): the record is kept for audit,
// and all the user's grants, sessions and tokens go. The same name can be
// added again later as a fresh user. A user who still owns models, or who
// is the last admin of a model, cannot be removed
// (herd.ErrFailedPrecondition): destroy those models or grant admin to
// another user first.
func (s *Session) RemoveUser(ctx context.Context, name string) error {
	t, w, u, err := s.superuserOn(ctx, name)
	if err != nil {
		return err
	}
	defer t.Abort()
	id := u.Name
	if err := acl.CheckOwner(id == s.c.info.Owner, id, acl.OpRemove); err != nil {
		return err
	}
	if err := acl.CheckSuperusers(accessOf(t, id) == acl.Superuser && !u.Disabled, false, enabledSuperusers(t)); err != nil {
		return err
	}
	if owned := store.List[models.Model](t, store.TableModels, store.IndexOwner, id); len(owned) > 0 {
		return herd.Errorf(herd.ErrFailedPrecondition, "cannot remove user %q: they own %d model(s), the first %q", id, len(owned), owned[0].FullName())
	}
	grants := store.List[store.Grant](t, store.TableGrants, store.IndexUser, id)
	for _, g := range grants {
		if g.Level == acl.Admin {
			if err := acl.CheckModelAdmins(g.ModelUUID, acl.Admin, acl.None, countAdmins(t, g.ModelUUID)); err != nil {
				return err
			}
		}
	}
	now := s.c.opts.Now()
	rm := store.RemovedUser{ID: fmt.Sprintf("%s@%d", id, now.UnixNano()), User: u.User, Removed: now, RemovedBy: w.name}
	if err := t.Insert(store.TableRemovedUsers, rm); err != nil {
		return err
	}
	for _, del := range []struct {
		table store.Table
		index store.Index
	}{
		{store.TableUsers, store.IndexID}, {store.TableSecrets, store.IndexID},
		{store.TableSessions, store.IndexUser}, {store.TableGrants, store.IndexUser},
	} {
		if _, err := t.DeleteAll(del.table, del.index, id); err != nil {
			return err
		}
	}
	if err := t.Commit(); err != nil {
		return err
	}
	s.c.opts.Logger.Info("user removed", "user", id, "by", w.name)
	return nil
}

func (s *Session) userInfo(t *store.Txn, u store.User) UserInfo {
	return UserInfo{User: u.User, Access: u.Access, Pending: u.PasswordHash == ""}
}

// Users lists users, sorted by name. A superuser sees every user (disabled
// ones only with all); anyone else sees only themselves.
func (s *Session) Users(ctx context.Context, all bool) ([]UserInfo, error) {
	t, w, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	if !w.superuser() {
		u, err := getUser(t, w.name)
		if err != nil {
			return nil, err
		}
		return []UserInfo{s.userInfo(t, u)}, nil
	}
	var out []UserInfo
	for _, u := range store.List[store.User](t, store.TableUsers, store.IndexID) {
		if u.Disabled && !all {
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
	if id != w.name && !w.superuser() {
		return UserInfo{}, herd.Denied()
	}
	u, err := getUser(t, id)
	if err != nil {
		return UserInfo{}, err
	}
	return s.userInfo(t, u), nil
}
