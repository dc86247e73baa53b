package controller

import (
	"context"
	"errors"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/users"
)

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
	since := c.followed()
	u, err := c.loginUser(id, password)
	if err != nil { // another controller may have just changed the user
		stale, unconfirmed := c.confirmRefusal(ctx, since, "login")
		if unconfirmed != nil {
			return nil, unconfirmed
		}
		if stale {
			u, err = c.loginUser(id, password)
		}
	}
	if err != nil {
		c.opts.Logger.Info("login failed", "user", id)
		return nil, err
	}
	return c.newSession(ctx, id, func(cur state.User) bool { return cur.PasswordHash == u.PasswordHash }, nil)
}

// loginUser returns user id's row if password is theirs and they may log in.
func (c *Controller) loginUser(id, password string) (state.User, error) {
	u, ok := state.Get[state.User](c.st.Read(), state.TableUsers, state.IndexID, id)
	if !ok || u.Disabled || u.Access == acl.None {
		u.PasswordHash = ""
	}
	return u, c.checkPassword(u.PasswordHash, password)
}

// checkPassword compares password with hash ("" for a user who may not log
// in, compared with a dummy so that the time taken does not tell). A
// password over bcrypt's 72 bytes fails like a wrong one, after the same
// work: bcrypt reads only the first 72 bytes, so comparing one would
// accept any password that starts right.
func (c *Controller) checkPassword(hash, password string) error {
	ok := hash != "" && len(password) <= users.MaxPasswordLen
	if hash == "" {
		hash = c.dummy()
	}
	if len(password) > users.MaxPasswordLen {
		password = password[:users.MaxPasswordLen]
	}
	if err := c.opts.Hasher.Compare(hash, password); err != nil || !ok {
		return badLogin()
	}
	return nil
}

// newSession writes a session for user id in one transaction, after
// still(current row) confirms that what was checked outside the
// transaction still holds. extra, if set, runs in the same transaction.
func (c *Controller) newSession(ctx context.Context, id string, still func(state.User) bool, extra func(*state.Txn, *state.User) error) (*Session, error) {
	var s *Session
	err := c.update(ctx, func(t *state.Txn) (err error) {
		s, err = c.openSession(t, id, still, extra)
		return err
	})
	if err != nil {
		return nil, err
	}
	c.opts.Logger.Info("login", "user", id)
	c.sweep(ctx)
	return s, nil
}

// sweepEvery is how often (on the controller's clock) a login also
// deletes every user's expired sessions and registration keys, so that a
// controller that runs for months keeps no more than the last hour's.
const sweepEvery = time.Hour

// sweep deletes expired sessions and keys, at most once per sweepEvery.
func (c *Controller) sweep(ctx context.Context) {
	now := c.opts.Now().UnixNano()
	last := c.lastSweep.Load()
	if now-last < int64(sweepEvery) || !c.lastSweep.CompareAndSwap(last, now) {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if err := errors.Join(c.dropExpiredSessions(ctx), c.dropExpiredKeys(ctx)); err != nil {
		c.opts.Logger.Warn("cannot delete expired sessions and registration keys", "err", err)
	}
}

// openSession is newSession inside a transaction the caller commits.
func (c *Controller) openSession(txn *state.Txn, id string, still func(state.User) bool, extra func(*state.Txn, *state.User) error) (*Session, error) {
	token, hash, err := c.newToken()
	if err != nil {
		return nil, err
	}
	now := c.opts.Now()
	u, ok := state.Get[state.User](txn, state.TableUsers, state.IndexID, id)
	if !ok || u.Disabled || u.Access == acl.None || !still(u) {
		return nil, badLogin()
	}
	// The user's long-expired sessions go as a new one comes: the
	// sessions table holds no more than each user's live ones and the
	// last day's expired ones.
	for _, old := range state.List[state.Session](txn, state.TableSessions, state.IndexUser, id) {
		if stale(old, now) {
			if err := txn.Delete(state.TableSessions, old); err != nil {
				return nil, err
			}
		}
	}
	if extra != nil {
		if err := extra(txn, &u); err != nil {
			return nil, err
		}
	}
	u.LastLogin = now
	sess := state.Session{TokenHash: hash, User: id, Created: now, Expires: now.Add(c.opts.SessionTTL)}
	if err := txn.Insert(state.TableUsers, u); err != nil {
		return nil, err
	}
	if err := txn.Insert(state.TableSessions, sess); err != nil {
		return nil, err
	}
	return newSessionValue(c, token, hash, id, sess.Expires), nil
}

// Resume returns the session a token (from Session.Token) names, checked
// as every call checks it. Tools that keep a session between runs use it.
func (c *Controller) Resume(ctx context.Context, token string) (*Session, error) {
	if err := c.check(ctx); err != nil {
		return nil, err
	}
	hash := hashString(token)
	since := c.followed()
	sess, ok := state.Get[state.Session](c.st.Read(), state.TableSessions, state.IndexID, hash)
	if !ok { // logged in on another controller just now?
		stale, unconfirmed := c.confirmRefusal(ctx, since, "session not valid")
		if unconfirmed != nil {
			return nil, unconfirmed
		}
		if stale {
			sess, ok = state.Get[state.Session](c.st.Read(), state.TableSessions, state.IndexID, hash)
		}
	}
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
