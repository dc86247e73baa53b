package controller

import (
	"context"
	"errors"
	"strconv"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/models"
)

// Grant raises a user's access. A model level (read, write, admin) needs a
// model and model admin (or superuser); a controller level (login,
// add-model, superuser) takes model "" and needs superuser. Granting a
// level the user already has or exceeds is herd.ErrAlreadyExists.
func (s *Session) Grant(ctx context.Context, user string, level acl.Level, model string) error {
	return s.changeAccess(ctx, user, level, model, true)
}

// Revoke lowers a user's access to the level just below the one named
// (never raising it). The target is as for Grant. Anyone may revoke their
// own model access, to leave a model. A user who does not hold the named
// level is herd.ErrNotFound, and nothing changes. Revoking controller login
// ends the user's sessions.
func (s *Session) Revoke(ctx context.Context, user string, level acl.Level, model string) error {
	return s.changeAccess(ctx, user, level, model, false)
}

func (s *Session) changeAccess(ctx context.Context, user string, level acl.Level, model string, grant bool) error {
	err := s.update(ctx, func(t *state.Txn, w caller) error { return s.access(t, w, user, level, model, grant) })
	if err == nil {
		op := "revoke"
		if grant {
			op = "grant"
		}
		s.c.opts.Logger.Info("access "+op, "user", user, "level", level.String(), "model", model, "by", s.user)
	}
	return err
}

// access grants or revokes inside t.
func (s *Session) access(t *state.Txn, w caller, user string, level acl.Level, model string, grant bool) error {
	id, err := canonicalUser(user)
	if err != nil {
		return err
	}
	if !level.Valid() {
		return herd.Errorf(herd.ErrInvalid, "access level %d not valid", uint8(level))
	}
	if level.Kind() == acl.KindController {
		if model != "" {
			return herd.Errorf(herd.ErrInvalid, "%q controller access not valid on a model", level.String())
		}
		err = s.changeControllerAccess(t, w, id, level, grant)
	} else {
		if model == "" {
			return acl.CheckKind(level, acl.KindController) // `"admin" controller access not valid`
		}
		err = s.changeModelAccess(t, w, id, level, model, grant)
	}
	return err
}

func (s *Session) changeControllerAccess(t *state.Txn, w caller, id string, level acl.Level, grant bool) error {
	if err := may(t, w, acl.ControllerAccess, id); err != nil {
		return err
	}
	u, err := getUser(t, id)
	if err != nil {
		return err
	}
	cur := u.Access
	next, err := nextLevel(cur, level, grant, id, "controller "+strconv.Quote(s.c.info.Name))
	if err != nil {
		return err
	}
	isSU := cur == acl.Superuser && !u.Disabled
	if err := acl.CheckSuperusers(isSU, next == acl.Superuser, enabledSuperusers(t)); err != nil {
		return err
	}
	if next == acl.None {
		// Without login the owner could not log in: as good as disabled.
		if err := acl.CheckOwner(id == s.c.info.Owner, id, acl.RevokingLogin); err != nil {
			return err
		}
	}
	u.Access = next
	if err := t.Insert(state.TableUsers, u); err != nil {
		return err
	}
	if next == acl.None {
		_, err := t.DeleteAll(state.TableSessions, state.IndexUser, id)
		return err
	}
	return nil
}

func (s *Session) changeModelAccess(t *state.Txn, w caller, id string, level acl.Level, ref string, grant bool) error {
	op := acl.AdminModel
	if !grant && id == w.name {
		op = acl.LeaveModel
	}
	m, _, err := s.model(t, w, ref, op, id)
	if err != nil {
		return err
	}
	if _, err := visibleUser(t, w, id); err != nil {
		return err
	}
	if m.Life != models.Alive {
		return herd.Errorf(herd.ErrFailedPrecondition, "model %q is %s", m.FullName(), m.Life)
	}
	cur := directLevel(t, m.UUID, id)
	next, err := nextLevel(cur, level, grant, id, "model "+strconv.Quote(m.FullName()))
	if err != nil {
		return err
	}
	if err := acl.CheckModelAdmins(m.FullName(), cur, next, countAdmins(t, m.UUID)); err != nil {
		return err
	}
	if next == acl.None {
		_, err := t.DeleteAll(state.TableGrants, state.IndexID, m.UUID, id)
		return err
	}
	g, _ := state.Get[state.Grant](t, state.TableGrants, state.IndexID, m.UUID, id) // keeps its last connection
	g.ModelUUID, g.User, g.Level = m.UUID, id, next
	return t.Insert(state.TableGrants, g)
}

// nextLevel applies acl.Grant or acl.Revoke, naming the user and target
// in a revoke's not-found message.
func nextLevel(cur, level acl.Level, grant bool, user, target string) (acl.Level, error) {
	if grant {
		return acl.AfterGrant(cur, level)
	}
	next, err := acl.AfterRevoke(cur, level)
	if errors.Is(err, herd.ErrNotFound) {
		return cur, herd.Errorf(herd.ErrNotFound, "user %q does not have %q access to %s", user, level.String(), target)
	}
	return next, err
}

// Explanation says why a user has the access to a model they have.
type Explanation struct {
	User   string
	Model  string // owner/name
	Access acl.Level
	// Reason is the strongest source of the access; NoReason when none.
	Reason acl.Reason
	// Direct is the user's own grant on the model (None if none).
	Direct acl.Level
	// Controller is the user's controller access.
	Controller acl.Level
	// Owner reports whether the user owns the model.
	Owner bool
}

// String reads as a sentence for test failures and tools.
func (e Explanation) String() string {
	switch e.Reason {
	case acl.ControllerSuperuser:
		return e.User + " has admin on " + e.Model + " as controller superuser"
	case acl.Owner:
		return e.User + " has " + e.Access.String() + " on " + e.Model + " as its owner"
	case acl.DirectGrant:
		return e.User + " has " + e.Access.String() + " on " + e.Model + " by direct grant"
	}
	why := "no grant on the model and not a controller superuser"
	if e.Reason == acl.Inactive {
		why = "the user is disabled or may not log in"
	} else if e.Owner {
		why = "owns the model but its admin grant was revoked"
	}
	return e.User + " has no access to " + e.Model + ": " + why
}

// Explain says why a user has the access to a model they have: direct
// grant, model owner, or controller superuser, or why they have none.
// Anyone may explain themselves; explaining someone else needs model admin
// or superuser.
func (s *Session) Explain(ctx context.Context, user, model string) (Explanation, error) {
	t, w, err := s.read(ctx)
	if err != nil {
		return Explanation{}, err
	}
	id, err := s.targetUser(user)
	if err != nil {
		return Explanation{}, err
	}
	m, _, err := s.model(t, w, model, acl.ExplainModel, id)
	if err != nil {
		return Explanation{}, err
	}
	if _, err := visibleUser(t, w, id); err != nil {
		return Explanation{}, err
	}
	return explain(t, id, m), nil
}

// explain asks the one decision about id reading m, with id's own facts.
func explain(t *state.Txn, id string, m models.Model) Explanation {
	f := facts(t, id, &m, "")
	d := acl.Decide(acl.ReadModel, f)
	return Explanation{User: id, Model: m.FullName(), Access: d.Access, Reason: d.Reason,
		Direct: f.Direct, Controller: f.Controller, Owner: f.Owner}
}
