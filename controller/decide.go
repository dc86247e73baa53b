package controller

import (
	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/store"
)

// How the controller asks acl.Decide, the one decision: every operation
// reads the facts in its own transaction and asks; none compares levels
// itself. The fast path (authz.go) reads the same facts from its snapshot
// and asks the same function.

// facts reads what acl.Decide needs about user in t: their state and
// controller access and, for a model target m, their direct grant and
// ownership. subject is the user the operation acts on ("" for none).
func facts(t *store.Txn, user string, m *models.Model, subject string) acl.Facts {
	u, ok := store.Get[store.User](t, store.TableUsers, store.IndexID, user)
	f := acl.Facts{Active: ok && !u.Disabled && u.Access != acl.None, Controller: u.Access, Self: subject == user}
	if m != nil {
		f.Direct = directLevel(t, m.UUID, user)
		f.Owner = m.Owner == user
	}
	return f
}

// decide asks whether the caller may do op (on model m, acting on
// subject) and returns the decision, or herd.ErrPermissionDenied.
func decide(t *store.Txn, w caller, op acl.Op, m *models.Model, subject string) (acl.Decision, error) {
	d := acl.Decide(op, facts(t, w.name, m, subject))
	if !d.Allowed {
		return d, herd.Denied()
	}
	return d, nil
}

// may is decide for an operation on the controller, acting on subject.
func may(t *store.Txn, w caller, op acl.Op, subject string) error {
	_, err := decide(t, w, op, nil, subject)
	return err
}
