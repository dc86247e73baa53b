package controller

import (
	"context"
	"errors"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	store "github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/users"
)

const registerHint = "registration token may have expired: a controller administrator must reset your user to issue a new token"

func badLogin() error { return herd.Errorf(herd.ErrUnauthenticated, "invalid entity name or password") }

// dummy returns a hash to compare against when the user is unknown, so a
// failed login takes the same time whether or not the name exists.
func (c *Controller) dummy() string {
	c.dummyOnce.Do(func() {
		b, err := c.random(18)
		if err != nil {
			b = make([]byte, 18)
		}
		c.dummyHash, _ = c.opts.Hasher.Hash(encodeSecret(b))
	})
	return c.dummyHash
}

// Login checks a user's password and returns a new session. A wrong name
// or password is herd.ErrUnauthenticated with one message for both, and
// takes the same time for both.
func (c *Controller) Login(ctx context.Context, name, password string) (*Session, error) {
	if err := c.check(ctx); err != nil {
		return nil, err
	}
	id, err := users.Canonical(name)
	if err != nil {
		return nil, err
	}
	r := c.st.Read()
	u, ok := store.Get[store.User](r, store.TableUsers, store.IndexID, id)
	if !ok || u.PasswordHash == "" || u.Disabled || u.Access == acl.None {
		_ = c.opts.Hasher.Compare(c.dummy(), password)
		c.opts.Logger.Info("login failed", "user", id)
		return nil, badLogin()
	}
	if err := c.opts.Hasher.Compare(u.PasswordHash, password); err != nil {
		c.opts.Logger.Info("login failed", "user", id)
		return nil, badLogin()
	}
	return c.newSession(ctx, id, func(cur store.User) bool { return cur.PasswordHash == u.PasswordHash }, nil)
}

// newSession writes a session for user id in one transaction, after
// still(current row) confirms that what was checked outside the
// transaction still holds. extra, if set, runs in the same transaction.
func (c *Controller) newSession(ctx context.Context, id string, still func(store.User) bool, extra func(*store.Txn, *store.User) error) (*Session, error) {
	if err := c.check(ctx); err != nil {
		return nil, err
	}
	txn := c.st.Write()
	defer txn.Abort()
	s, err := c.openSession(txn, id, still, extra)
	if err != nil {
		return nil, err
	}
	if err := txn.Commit(); err != nil {
		return nil, err
	}
	return s, nil
}

// openSession is newSession inside a transaction the caller commits.
func (c *Controller) openSession(txn *store.Txn, id string, still func(store.User) bool, extra func(*store.Txn, *store.User) error) (*Session, error) {
	token, hash, err := c.newToken()
	if err != nil {
		return nil, err
	}
	now := c.opts.Now()
	u, ok := store.Get[store.User](txn, store.TableUsers, store.IndexID, id)
	if !ok || u.Disabled || u.Access == acl.None || !still(u) {
		return nil, badLogin()
	}
	if extra != nil {
		if err := extra(txn, &u); err != nil {
			return nil, err
		}
	}
	u.LastLogin = now
	sess := store.Session{TokenHash: hash, User: id, Created: now, Expires: now.Add(c.opts.SessionTTL)}
	if err := txn.Insert(store.TableUsers, u); err != nil {
		return nil, err
	}
	if err := txn.Insert(store.TableSessions, sess); err != nil {
		return nil, err
	}
	c.opts.Logger.Info("login", "user", id)
	return newSessionValue(c, token, hash, id, sess.Expires), nil
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
	keyHash := hashBytes(tok.SecretKey)
	now := c.opts.Now()
	valid := func(t *store.Txn) bool {
		sec, ok := store.Get[store.Secret](t, store.TableSecrets, store.IndexID, id)
		match := equalSecret(sec.Hash, keyHash)
		return ok && match && (sec.Expires.IsZero() || now.Before(sec.Expires))
	}
	if !valid(c.st.Read()) {
		c.opts.Logger.Info("registration refused", "user", id)
		return nil, herd.Errorf(herd.ErrUnauthenticated, "%s", registerHint)
	}
	hash, err := c.opts.Hasher.Hash(password)
	if err != nil {
		return nil, err
	}
	s, err := c.newSession(ctx, id, func(store.User) bool { return true }, func(t *store.Txn, u *store.User) error {
		// Checked again inside the write, so two racing registrations
		// cannot both use the token.
		if !valid(t) {
			return herd.Errorf(herd.ErrUnauthenticated, "%s", registerHint)
		}
		if _, err := t.DeleteAll(store.TableSecrets, store.IndexID, id); err != nil {
			return err
		}
		u.PasswordHash = hash
		return nil
	})
	if err != nil {
		if errors.Is(err, herd.ErrUnauthenticated) {
			return nil, herd.Errorf(herd.ErrUnauthenticated, "%s", registerHint)
		}
		return nil, err
	}
	c.opts.Logger.Info("user registered", "user", id)
	return s, nil
}

// Resume returns the session a token (from Session.Token) names, checked
// as every call checks it. Tools that keep a session between runs use it.
func (c *Controller) Resume(ctx context.Context, token string) (*Session, error) {
	if err := c.check(ctx); err != nil {
		return nil, err
	}
	hash := hashString(token)
	sess, ok := store.Get[store.Session](c.st.Read(), store.TableSessions, store.IndexID, hash)
	if !ok {
		return nil, herd.Errorf(herd.ErrUnauthenticated, "session not valid: log in again")
	}
	s := newSessionValue(c, token, hash, sess.User, sess.Expires)
	if _, err := s.caller(c.st.Read()); err != nil {
		return nil, err
	}
	return s, nil
}

// expiredAt reports whether a session that expires at exp is over at now.
func expiredAt(exp, now time.Time) bool { return !now.Before(exp) }
