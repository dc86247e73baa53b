package controller

import (
	"context"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/users"
)

// Batch applies several operations in one store transaction: all of them
// or none. Each is authorized exactly as the Session method of the same
// name, against the state as the batch has changed it so far. It exists
// because a store write transaction costs tens of microseconds however
// little it writes, so setting up many users, models and grants (a test
// fixture, an import) is many times faster in one.
//
// A batch holds the store's write lock from start to end, so other writers
// wait: keep batches short. Password hashing and provider calls made by a
// batch happen under that lock; with bcrypt at its default cost or a slow
// provider, prefer the Session methods. If the batch fails, model spaces it
// created at the provider are removed again.
type Batch struct {
	s       *Session
	ctx     context.Context
	t       *state.Txn
	w       caller
	created []models.Model
}

// Batch runs fn with a Batch and commits what it did when fn returns nil.
// When fn (or the commit) fails, nothing is written and the error returned.
// Sessions that fn opened with Batch.Login are valid only once Batch
// returns nil.
func (s *Session) Batch(ctx context.Context, fn func(*Batch) error) error {
	t, w, err := s.write(ctx)
	if err != nil {
		return err
	}
	defer t.Abort()
	b := &Batch{s: s, ctx: ctx, t: t, w: w}
	err = fn(b)
	if err == nil {
		err = t.Commit()
	}
	if err != nil {
		t.Abort()
		for _, m := range b.created {
			s.c.undoModelSpace(ctx, m)
		}
		return err
	}
	return nil
}

// AddUser is Session.AddUser inside the batch.
func (b *Batch) AddUser(name, displayName string) (AddedUser, error) {
	return b.s.addUser(b.t, b.w, name, displayName)
}

// SetPassword is Session.ChangePassword inside the batch: a superuser may
// set anyone's password, which also redeems their registration token.
func (b *Batch) SetPassword(name, password string) error {
	id, err := b.s.targetUser(name)
	if err != nil {
		return err
	}
	if err := may(b.t, b.w, acl.ChangePassword, id); err != nil {
		return err
	}
	if err := users.ValidatePassword(password); err != nil {
		return err
	}
	hash, err := b.s.c.opts.Hasher.Hash(password)
	if err != nil {
		return err
	}
	return b.s.setPassword(b.t, b.w, id, hash)
}

// Grant is Session.Grant inside the batch.
func (b *Batch) Grant(user string, level acl.Level, model string) error {
	return b.s.access(b.t, b.w, user, level, model, true)
}

// Revoke is Session.Revoke inside the batch.
func (b *Batch) Revoke(user string, level acl.Level, model string) error {
	return b.s.access(b.t, b.w, user, level, model, false)
}

// CreateModel is Session.CreateModel inside the batch. The provider makes
// the model's space at once; it is removed again if the batch fails.
func (b *Batch) CreateModel(name string, opts CreateModelOptions) (models.Model, error) {
	m, err := b.s.newModel(b.t, b.w, name, opts)
	if err != nil {
		return models.Model{}, err
	}
	if err := b.s.c.prov.CreateModel(b.ctx, b.s.c.modelSpec(m)); err != nil {
		return models.Model{}, herd.Wrap(herd.ErrFailedPrecondition, err, "cannot create model "+m.FullName())
	}
	b.created = append(b.created, m)
	if err := b.s.insertModel(b.t, b.w, m); err != nil {
		return models.Model{}, err
	}
	return m, nil
}

// Login logs a user in with their password, inside the batch, as
// Controller.Login does; the session is valid once the batch commits.
func (b *Batch) Login(name, password string) (*Session, error) {
	id, err := users.Canonical(name)
	if err != nil {
		return nil, err
	}
	u, _ := state.Get[state.User](b.t, state.TableUsers, state.IndexID, id)
	if err := b.s.c.checkPassword(u.PasswordHash, password); err != nil {
		return nil, err
	}
	return b.s.c.openSession(b.t, id, func(state.User) bool { return true }, nil)
}
