package controller

import (
	"context"
	"crypto/subtle"
	"errors"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/internal/register"
	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/users"
)

// Registration: a user redeems the secret key of their registration
// token, choosing a password. In process, Register checks the key
// directly; over the network, RegisterExchange runs Juju's /register
// exchange, where the key seals a box. Both end in redeem, one write that
// sets the password and deletes the key, so a token works once.

const registerHint = "registration token may have expired: a controller administrator must reset your user to issue a new token"

func errRegistration() error { return herd.Errorf(herd.ErrUnauthenticated, "%s", registerHint) }

// pendingKey returns id's registration key, if one is pending and not
// expired at the controller's clock.
func (c *Controller) pendingKey(t *state.Txn, id string) ([]byte, bool) {
	sec, ok := state.Get[state.Secret](t, state.TableSecrets, state.IndexID, id)
	if !ok || len(sec.Key) != users.SecretKeyLen || expiredSecret(sec, c) {
		return nil, false
	}
	return sec.Key, true
}

func expiredSecret(sec state.Secret, c *Controller) bool {
	return !sec.Expires.IsZero() && !c.opts.Now().Before(sec.Expires)
}

// dropExpiredKeys deletes the registration keys that have expired: a key
// is kept only until it is used, reset or expired. Open runs it, and so
// does a registration refused for an expired key.
func (c *Controller) dropExpiredKeys(ctx context.Context) error {
	return c.dropExpired(ctx, state.TableSecrets, func(row any) bool { return expiredSecret(row.(state.Secret), c) })
}

// dropExpiredSessions deletes the sessions that expired more than
// staleAfter ago, as Open does. (Until then, their holders are told
// "login expired" rather than that the session is unknown.)
func (c *Controller) dropExpiredSessions(ctx context.Context) error {
	now := c.opts.Now()
	return c.dropExpired(ctx, state.TableSessions, func(row any) bool { return stale(row.(state.Session), now) })
}

// staleAfter is how long an expired session is kept, so that its holder
// is told it expired.
const staleAfter = 24 * time.Hour

func stale(s state.Session, now time.Time) bool { return expiredAt(s.Expires.Add(staleAfter), now) }

// dropExpired deletes the rows of table that expired says have.
func (c *Controller) dropExpired(ctx context.Context, table state.Table, expired func(any) bool) error {
	rows := func(t *state.Txn) []any {
		var out []any
		for _, row := range state.List[any](t, table, state.IndexID) {
			if expired(row) {
				out = append(out, row)
			}
		}
		return out
	}
	if len(rows(c.st.Read())) == 0 {
		return nil
	}
	return c.update(ctx, func(t *state.Txn) error {
		for _, row := range rows(t) {
			if err := t.Delete(table, row); err != nil {
				return err
			}
		}
		return nil
	})
}

// refused logs a refused registration and drops expired keys.
func (c *Controller) refused(ctx context.Context, id string) {
	c.opts.Logger.Info("registration refused", "user", id)
	if err := c.dropExpiredKeys(context.WithoutCancel(ctx)); err != nil {
		c.opts.Logger.Warn("cannot delete expired registration keys", "err", err)
	}
}

// redeem sets id's password hash and deletes the key, in t, after
// checking that key is still the one pending (two racing registrations
// cannot both use it) and that the user may log in (enabled, with
// controller access): both ways of registering share this one check.
func (c *Controller) redeem(t *state.Txn, id string, key []byte, u *state.User, hash string) error {
	cur, ok := c.pendingKey(t, id)
	if !ok || subtle.ConstantTimeCompare(cur, key) != 1 || u.Disabled || u.Access == acl.None {
		return errRegistration()
	}
	if _, err := t.DeleteAll(state.TableSecrets, state.IndexID, id); err != nil {
		return err
	}
	u.PasswordHash = hash
	return nil
}

// Register redeems a registration token: the user it names chooses a
// password and is logged in. A token works once; a used, reset-superseded
// or expired token is herd.ErrUnauthenticated with Juju's hint.
func (c *Controller) Register(ctx context.Context, token, password string) (*Session, error) {
	if err := c.check(ctx); err != nil {
		return nil, err
	}
	tok, err := users.DecodeToken(token)
	if err != nil {
		return nil, err
	}
	id, err := users.Canonical(tok.User)
	if err != nil {
		return nil, err
	}
	if err := users.ValidatePassword(password); err != nil {
		return nil, err
	}
	if ok, err := c.keyMatches(ctx, id, tok.SecretKey); err != nil {
		return nil, err
	} else if !ok {
		c.refused(ctx, id)
		return nil, errRegistration()
	}
	hash, err := c.opts.Hasher.Hash(password)
	if err != nil {
		return nil, err
	}
	s, err := c.newSession(ctx, id, func(state.User) bool { return true }, func(t *state.Txn, u *state.User) error {
		return c.redeem(t, id, tok.SecretKey, u, hash)
	})
	if err != nil {
		if errors.Is(err, herd.ErrUnauthenticated) {
			return nil, errRegistration()
		}
		return nil, err
	}
	c.opts.Logger.Info("user registered", "user", id)
	return s, nil
}

// keyMatches reports whether key is id's pending registration key,
// catching up once with the other controllers (one may have issued it
// just now) before it says no; a refusal it cannot confirm with them is
// an error (see confirmRefusal).
func (c *Controller) keyMatches(ctx context.Context, id string, key []byte) (bool, error) {
	since := c.followed()
	cur, ok := c.pendingKey(c.st.Read(), id)
	if ok && subtle.ConstantTimeCompare(cur, key) == 1 {
		return true, nil
	}
	stale, unconfirmed := c.confirmRefusal(ctx, since, "registration")
	if !stale {
		return false, unconfirmed
	}
	cur, ok = c.pendingKey(c.st.Read(), id)
	return ok && subtle.ConstantTimeCompare(cur, key) == 1, nil
}

// RegisterExchange answers the body of Juju's `POST /register` (see the
// apiserver package): it opens the client's box with the user's pending
// key (which proves the client holds the token), sets the password and
// deletes the key in one write, and returns the reply, sealed under the
// same key with a fresh nonce, that carries the controller's CA
// certificate and UUID. It opens no session: the client logs in next.
// Every refusal (no such user, no pending key, an expired key, a box that
// does not open, a disabled user) is the same error, so that nothing is
// learnt from it, and takes about the same time.
func (c *Controller) RegisterExchange(ctx context.Context, body []byte) ([]byte, error) {
	if err := c.check(ctx); err != nil {
		return nil, err
	}
	id, nonce, box, err := register.ParseRequest(body, register.MaxRequestBytes)
	if err != nil {
		return nil, err
	}
	since := c.followed()
	key, ok := c.pendingKey(c.st.Read(), id)
	if !ok { // issued on another controller just now?
		stale, unconfirmed := c.confirmRefusal(ctx, since, "registration")
		if unconfirmed != nil {
			return nil, unconfirmed
		}
		if stale {
			key, ok = c.pendingKey(c.st.Read(), id)
		}
	}
	if !ok {
		_ = register.Decoy(nonce, box) // the same work as opening a real box
		c.refused(ctx, id)
		return nil, register.ErrRegistration
	}
	var k [register.KeyLen]byte
	copy(k[:], key)
	password, err := register.OpenPassword(k, nonce, box)
	if err != nil {
		c.refused(ctx, id)
		return nil, err
	}
	hash, err := c.opts.Hasher.Hash(password)
	if err != nil {
		return nil, err
	}
	err = c.update(ctx, func(t *state.Txn) error {
		u, ok := state.Get[state.User](t, state.TableUsers, state.IndexID, id)
		if !ok {
			return register.ErrRegistration
		}
		if err := c.redeem(t, id, key, &u, hash); err != nil {
			return register.ErrRegistration
		}
		return t.Insert(state.TableUsers, u)
	})
	if err != nil {
		return nil, err
	}
	c.opts.Logger.Info("user registered", "user", id)
	return register.SealResponse(k, nonce, register.Payload{CACert: c.info.CACert, ControllerUUID: c.info.UUID}, c.randReader())
}
