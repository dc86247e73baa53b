// Package apiservertest starts a live Herd API server for a test, in the
// spirit of net/http/httptest: a controllertest fixture's controller
// served over TLS (its own CA) on a loopback port, and Herd's Go client
// logged in as any fixture user.
//
//	f := controllertest.New(t, nil)
//	f.AddUser(t, "tom")
//	srv := apiservertest.New(t, f)
//	tom := srv.Client(t, "tom") // a *client.Session over the network
//
// It lives beside package apiserver rather than in controllertest, so that
// the API server's own tests can use controllertest without an import
// cycle. The server's login and registration flood limits are off (tests
// log in and register often, all from one address); every other limit is
// apiserver's default. Everything is closed by
// tb.Cleanup.
package apiservertest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/herd-project/herd/apiserver"
	"github.com/herd-project/herd/client"
	"github.com/herd-project/herd/controller/controllertest"
)

// Server is a live API server in front of a fixture's controller.
type Server struct {
	// Fixture is the controller served.
	Fixture *controllertest.Fixture
	// Addr is the server's loopback address, host:port.
	Addr string
	// CACert is the controller's CA certificate (PEM), which clients pin.
	CACert []byte
	// API is the server itself, for tests of its limits.
	API *apiserver.Server
}

// New serves f's controller on a loopback port, with apiserver.Options
// opts (the flood limits default to off), until the test ends.
// When f is nil, New makes a fixture whose controller knows the server's
// address, so that its registration tokens lead to the server (Juju's
// /register, client.Register); a fixture made before has none in its
// tokens.
func New(tb testing.TB, f *controllertest.Fixture, opts ...apiserver.Options) *Server {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("apiservertest: %v", err)
	}
	if f == nil {
		f = controllertest.New(tb, &controllertest.Options{Addrs: []string{ln.Addr().String()}})
	}
	var o apiserver.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.LoginRate == 0 {
		o.LoginRate = -1
	}
	if o.LoginAddrRate == 0 {
		o.LoginAddrRate = -1
	}
	if o.RegisterRate == 0 {
		o.RegisterRate = -1
	}
	api, err := apiserver.New(f.Controller, o)
	if err != nil {
		ln.Close()
		tb.Fatalf("apiservertest: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- api.Serve(ctx, ln, nil) }()
	tb.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ccancel()
		_ = api.Close(cctx)
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("apiservertest: serve: %v", err)
		}
	})
	return &Server{Fixture: f, Addr: ln.Addr().String(), CACert: f.Controller.CACert(), API: api}
}

// Options are the client options that reach this server: its address
// and its CA, pinned.
func (s *Server) Options() client.Options {
	return client.Options{Addrs: []string{s.Addr}, CACert: s.CACert, ControllerName: s.Fixture.Controller.Name()}
}

// Client dials the server and logs in as a fixture user with
// Fixture.Password(user), and closes the session when the test ends.
func (s *Server) Client(tb testing.TB, user string) *client.Session {
	tb.Helper()
	ctx := s.Fixture.Context()
	c, err := client.Dial(ctx, s.Options())
	if err != nil {
		tb.Fatalf("apiservertest: dial: %v", err)
	}
	sess, err := c.Login(ctx, user, s.Fixture.Password(user))
	if err != nil {
		c.Close()
		tb.Fatalf("apiservertest: login as %q: %v", user, err)
	}
	tb.Cleanup(func() { sess.Close() })
	return sess
}
