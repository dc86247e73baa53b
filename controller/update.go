package controller

import (
	"context"
	"errors"

	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/store"
)

// maxAttempts bounds how often a write is run again after its commit lost
// a race to another controller.
const maxAttempts = 8

// update is the one write idiom: fn reads, decides and writes in t, and
// update commits. When the commit loses a race (another controller sharing
// the backend committed first: store.ErrConflict), fn runs again on the
// fresher state, so fn must do nothing but read and write t: no provider
// calls, no other side effects. Nothing is written when fn fails. With
// other controllers, a refusal by fn is confirmed on fresh state (see
// staleRefusal) before it is returned.
func (c *Controller) update(ctx context.Context, fn func(*state.Txn) error) error {
	fresh := false // decided on state at least as new as a read of the backend during the call
	for attempt := 1; ; attempt++ {
		if err := c.check(ctx); err != nil {
			return err
		}
		since := c.followed()
		refused := false
		err := c.attempt(func(t *state.Txn) error {
			err := fn(t)
			refused = err != nil
			return err
		})
		if refused && !fresh && attempt < maxAttempts {
			fresh = true
			stale, unconfirmed := c.staleRefusal(ctx, err, since)
			if stale {
				continue // decided on state another controller had changed
			}
			if unconfirmed != nil {
				return unconfirmed
			}
		}
		if err == nil || !isConflict(err) || attempt == maxAttempts {
			return err
		}
		c.opts.Logger.Debug("write lost a race; running it again", "attempt", attempt)
		fresh = c.awaitWinner(ctx, err) || fresh
	}
}

func (c *Controller) attempt(fn func(*state.Txn) error) error {
	t := c.st.Write()
	defer t.Abort()
	if err := fn(t); err != nil {
		return err
	}
	return t.Commit()
}

// update runs fn as Controller.update does, after validating the session
// in the same transaction.
func (s *Session) update(ctx context.Context, fn func(*state.Txn, caller) error) error {
	return s.c.update(ctx, func(t *state.Txn) error {
		w, err := s.caller(t)
		if err != nil {
			return err
		}
		return fn(t, w)
	})
}

// isConflict reports whether a commit lost a race to another controller.
func isConflict(err error) bool { return errors.Is(err, store.ErrConflict) }

// write starts a write transaction and validates the session in it, for
// Batch, whose function has side effects and so is never run again. The
// caller must `defer t.Abort()`.
func (s *Session) write(ctx context.Context) (*state.Txn, caller, error) {
	if err := s.c.check(ctx); err != nil {
		return nil, caller{}, err
	}
	t := s.c.st.Write()
	w, err := s.caller(t)
	if err != nil {
		t.Abort()
		return nil, caller{}, err
	}
	return t, w, nil
}
