package controller

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/internal/state"
)

// Session is a logged-in user. Every operation is a method of Session and
// checks, on every call, that the session is still valid (not expired, not
// logged out, its user enabled and still allowed to log in) and that the
// user's access allows the operation. A Session is safe for concurrent use.
type Session struct {
	c       *Controller
	token   string
	hash    string
	user    string
	expires time.Time
	// memo is the last validation, for the authorization fast path.
	memo atomic.Pointer[sessionMemo]
}

func newSessionValue(c *Controller, token, hash, user string, expires time.Time) *Session {
	return &Session{c: c, token: token, hash: hash, user: user, expires: expires}
}

// Token returns the session's opaque token. Keep it secret: whoever holds
// it can Resume the session until it expires or is ended.
func (s *Session) Token() string { return s.token }

// User returns the canonical name of the session's user.
func (s *Session) User() string { return s.user }

// Expires returns when the session ends by itself.
func (s *Session) Expires() time.Time { return s.expires }

// caller is who is calling, as read in the transaction of the call.
type caller struct {
	name   string
	access acl.Level // controller access
}

// caller validates the session inside t and returns who it is.
func (s *Session) caller(t *state.Txn) (caller, error) {
	sess, ok := state.Get[state.Session](t, state.TableSessions, state.IndexID, s.hash)
	if !ok || !equalSecret(sess.TokenHash, s.hash) {
		return caller{}, herd.Errorf(herd.ErrUnauthenticated, "session ended: log in again")
	}
	if expiredAt(sess.Expires, s.c.opts.Now()) {
		return caller{}, herd.Errorf(herd.ErrUnauthenticated, "login expired")
	}
	u, ok := state.Get[state.User](t, state.TableUsers, state.IndexID, sess.User)
	if !ok {
		return caller{}, herd.Errorf(herd.ErrUnauthenticated, "user %q removed", sess.User)
	}
	if u.Disabled {
		return caller{}, herd.Errorf(herd.ErrUnauthenticated, "user %q is disabled", sess.User)
	}
	if u.Access == acl.None {
		return caller{}, herd.Errorf(herd.ErrUnauthenticated, "user %q has no controller access", sess.User)
	}
	return caller{name: sess.User, access: u.Access}, nil
}

// read starts a read transaction and validates the session in it.
func (s *Session) read(ctx context.Context) (*state.Txn, caller, error) {
	if err := s.c.check(ctx); err != nil {
		return nil, caller{}, err
	}
	t := s.c.st.Read()
	w, err := s.caller(t)
	if err != nil {
		return nil, caller{}, err
	}
	return t, w, nil
}

// Check reports whether the session is still valid: not expired, not
// ended, its user enabled and allowed to log in. It reads the
// authorization snapshot (see Authorize) and does not allocate.
func (s *Session) Check(ctx context.Context) error {
	if err := s.c.check(ctx); err != nil {
		return err
	}
	_, err := s.fastCaller(s.c.auth.cur.Load())
	return err
}

// Logout ends the session on the controller; the token stops working.
// (An expired session is already over: its record goes at its user's next
// login, or when the controller next opens.)
func (s *Session) Logout(ctx context.Context) error {
	err := s.update(ctx, func(t *state.Txn, _ caller) error {
		_, err := t.DeleteAll(state.TableSessions, state.IndexID, s.hash)
		return err
	})
	if err != nil {
		return err
	}
	s.c.opts.Logger.Info("logout", "user", s.user)
	return nil
}

// EndSessions ends every session of a user (a superuser's call; it ends
// the caller's own session too when name is the caller).
func (s *Session) EndSessions(ctx context.Context, name string) (int, error) {
	var n int
	err := s.userUpdate(ctx, acl.ManageUsers, name, func(t *state.Txn, _ caller, u state.User) (err error) {
		n, err = t.DeleteAll(state.TableSessions, state.IndexUser, u.Name)
		return err
	})
	return n, err
}

// WhoAmI is what Session.WhoAmI reports.
type WhoAmI struct {
	Controller string
	User       string
	Access     acl.Level
	Expires    time.Time
}

// WhoAmI returns the session's controller, user and controller access.
func (s *Session) WhoAmI(ctx context.Context) (WhoAmI, error) {
	_, w, err := s.read(ctx)
	if err != nil {
		return WhoAmI{}, err
	}
	return WhoAmI{Controller: s.c.info.Name, User: w.name, Access: w.access, Expires: s.expires}, nil
}
