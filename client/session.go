package client

import (
	"context"
	"crypto/tls"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/internal/params"
	"github.com/herd-project/herd/users"
)

// Session is a user logged in to a controller over the network: the
// counterpart of controller.Session, with the same operations. It is safe
// for concurrent use. Close it when done.
type Session struct {
	opts Options
	tls  *tls.Config
	user string // canonical

	mu     sync.Mutex
	ctrl   *link            // the controller connection; nil or down: redial
	models map[string]*link // model connections, by model UUID
	token  string           // the session credential; "" when the server has none
	access string           // controller access at the last login
	ctag   string           // controller tag
	known  []string         // the servers of the last login (host:port)
	ended  error            // set by Close and Logout: every later call fails with it
}

func newSession(opts Options, tlsConfig *tls.Config, user string, l *link) *Session {
	name, err := users.Canonical(user)
	if err != nil {
		name = strings.ToLower(user)
	}
	s := &Session{opts: opts, tls: tlsConfig, user: name, models: map[string]*link{}}
	s.adopt(l)
	return s
}

// adopt makes l the controller connection and remembers what its login
// said. Called with s.mu held (or before s is shared).
func (s *Session) adopt(l *link) {
	s.ctrl = l
	if ui := l.result.UserInfo; ui != nil {
		s.access = ui.ControllerAccess
	}
	if l.result.ControllerTag != "" {
		s.ctag = l.result.ControllerTag
	}
	if hp := hostPorts(l.result.Servers); len(hp) > 0 {
		s.known = hp
	}
	go l.ping(s.opts.PingInterval, s.opts.Logger)
}

// fetchToken asks the controller for the session's credential
// (HerdSession.SessionToken). A controller without the HerdSession facade
// (Juju itself) has none: the session then cannot fail over or open model
// connections.
func (s *Session) fetchToken(ctx context.Context) error {
	if _, err := s.ctrl.version("HerdSession"); err != nil {
		s.opts.Logger.Info("controller serves no HerdSession facade: no session token")
		return nil
	}
	var res params.StringResult
	if err := s.ctrl.call(ctx, "HerdSession", "SessionToken", nil, &res); err != nil {
		return err
	}
	if res.Error != nil {
		return fromParams(res.Error)
	}
	s.token = res.Result
	return nil
}

// User returns the canonical name of the session's user.
func (s *Session) User() string { return s.user }

// Token returns the session's credential, for a program that must outlive
// its process: keep it in a file only its user can read (0600) and give it
// to Conn.Resume later. It is a secret. It is "" after Logout, once the
// controller has refused to resume the session, and for a controller that
// serves no HerdSession facade.
func (s *Session) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token
}

// ControllerUUID returns the controller's UUID from the last login.
func (s *Session) ControllerUUID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	uuid, _ := params.ParseControllerTag(s.ctag)
	return uuid
}

// Addrs returns the controller's addresses this session would try to
// reconnect: the servers the last login listed, then Options.Addrs.
func (s *Session) Addrs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrs()
}

func (s *Session) addrs() []string {
	seen := map[string]bool{}
	var out []string
	for _, list := range [][]string{s.known, s.opts.Addrs} {
		for _, a := range list {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}

// Close closes the session's connections. The session goes on on the
// server (use Logout to end it) and can be resumed with Token.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended == nil {
		s.ended = herd.Errorf(herd.ErrClosed, "client session closed")
	}
	return s.closeLinks()
}

// closeLinks closes every connection. Called with s.mu held.
func (s *Session) closeLinks() error {
	var first error
	if s.ctrl != nil {
		first = s.ctrl.close()
		s.ctrl = nil
	}
	for uuid, l := range s.models {
		if err := l.close(); err != nil && first == nil {
			first = err
		}
		delete(s.models, uuid)
	}
	return first
}

// link returns the live connection for model ("": the controller),
// dialling and resuming the session when there is none or it dropped.
func (s *Session) link(ctx context.Context, model string) (*link, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended != nil {
		return nil, s.ended
	}
	l := s.ctrl
	if model != "" {
		l = s.models[model]
	}
	if l != nil && !l.down() {
		return l, nil
	}
	if l != nil {
		s.opts.Logger.Info("connection lost, reconnecting", "addr", l.addr, "model", model)
		l.close()
		if model == "" {
			s.ctrl = nil
		} else {
			delete(s.models, model)
		}
	}
	if s.token == "" {
		if model != "" {
			return nil, herd.Errorf(herd.ErrFailedPrecondition, "cannot open a model connection: the controller gave no session token")
		}
		return nil, herd.Errorf(herd.ErrClosed, "connection lost and no session token to resume it")
	}
	addrs := s.addrs()
	if l != nil {
		// The server that dropped the connection is tried last: it may be
		// gone (failover to another controller first).
		if i := slices.Index(addrs, l.addr); i >= 0 {
			addrs = append(slices.Delete(addrs, i, i+1), l.addr)
		}
	}
	addr, c, err := dialAny(ctx, s.opts, s.tls, addrs, model)
	if err != nil {
		return nil, err
	}
	nl, err := login(ctx, c, addr, params.LoginRequest{AuthTag: params.UserTag(s.user), Token: s.token})
	if err != nil {
		c.Close()
		if errors.Is(err, herd.ErrUnauthenticated) {
			// The session ended on the controller (logout, expiry, a
			// password change, ...): no later call can resume it.
			s.token = ""
			s.ended = err
			s.closeLinks()
		}
		return nil, err
	}
	if model == "" {
		s.adopt(nl)
		s.opts.Logger.Info("session resumed", "addr", addr)
		return nl, nil
	}
	s.models[model] = nl
	go nl.ping(s.opts.PingInterval, s.opts.Logger)
	return nl, nil
}

// call calls facade.method on the controller connection.
func (s *Session) call(ctx context.Context, facade, method string, args, result any) error {
	l, err := s.link(ctx, "")
	if err != nil {
		return err
	}
	return l.call(ctx, facade, method, args, result)
}

// modelCall calls facade.method on the connection to the model uuid.
func (s *Session) modelCall(ctx context.Context, uuid, facade, method string, args, result any) error {
	l, err := s.link(ctx, uuid)
	if err != nil {
		return err
	}
	return l.call(ctx, facade, method, args, result)
}

// Check reports whether the session still works (Pinger.Ping, which Herd's
// controller answers by checking the session), reconnecting if need be.
func (s *Session) Check(ctx context.Context) error {
	return s.call(ctx, "Pinger", "Ping", nil, nil)
}

// Logout ends the session on the controller (HerdSession.Logout): its
// token stops working, here and wherever it was kept. The session's
// connections are closed; every later call fails with
// herd.ErrUnauthenticated.
func (s *Session) Logout(ctx context.Context) error {
	if err := s.call(ctx, "HerdSession", "Logout", nil, nil); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = ""
	s.ended = herd.Errorf(herd.ErrUnauthenticated, "session ended: log in again") // the controller's words
	s.closeLinks()
	return nil
}
