package controller

import (
	"context"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/models"
)

// How the controller asks acl.Decide, the one decision: every operation
// reads the facts in its own transaction and asks; none compares levels
// itself. The fast path (authz.go) reads the same facts from its snapshot
// and asks the same function.

// facts reads what acl.Decide needs about user in t: their state and
// controller access and, for a model target m, their direct grant and
// ownership. subject is the user the operation acts on ("" for none).
func facts(t *state.Txn, user string, m *models.Model, subject string) acl.Facts {
	u, ok := state.Get[state.User](t, state.TableUsers, state.IndexID, user)
	f := acl.Facts{Active: ok && !u.Disabled && u.Access != acl.None, Controller: u.Access, Self: subject == user}
	if m != nil {
		f.Direct = directLevel(t, m.UUID, user)
		f.Owner = m.Owner == user
	}
	return f
}

// decide asks whether the caller may do op (on model m, acting on
// subject) and returns the decision, or herd.ErrPermissionDenied.
func decide(t *state.Txn, w caller, op acl.Op, m *models.Model, subject string) (acl.Decision, error) {
	d := acl.Decide(op, facts(t, w.name, m, subject))
	if !d.Allowed {
		return d, herd.Denied()
	}
	return d, nil
}

// may is decide for an operation on the controller, acting on subject.
func may(t *state.Txn, w caller, op acl.Op, subject string) error {
	_, err := decide(t, w, op, nil, subject)
	return err
}

// Allowed asks the one decision whether the session's user may do op: on
// model ("owner/name", or a name of one's own) for a model operation, or
// on the controller (model ""), acting on user subject ("" for none). It
// is what every operation calls, in its own transaction, before it acts;
// a tool or a test (controllertest.AssertAccess) asks it without acting.
// The error is nil, herd.ErrPermissionDenied, or why the question could
// not be asked (the session is no longer valid, a name is not valid, the
// model does not exist in a namespace the user may list).
func (s *Session) Allowed(ctx context.Context, op acl.Op, model, subject string) (acl.Decision, error) {
	if !op.Valid() {
		return acl.Decision{}, herd.Errorf(herd.ErrInvalid, "operation %d not valid", uint8(op))
	}
	t, w, err := s.read(ctx)
	if err != nil {
		return acl.Decision{}, err
	}
	if subject != "" {
		if subject, err = canonicalUser(subject); err != nil {
			return acl.Decision{}, err
		}
	}
	if op.Need().Kind() == acl.KindModel {
		if model == "" {
			return acl.Decision{}, herd.Errorf(herd.ErrInvalid, "%s needs a model", op)
		}
		_, d, err := s.model(t, w, model, op, subject)
		return d, err
	}
	if model != "" {
		return acl.Decision{}, herd.Errorf(herd.ErrInvalid, "%s is a controller operation: no model", op)
	}
	return decide(t, w, op, nil, subject)
}
