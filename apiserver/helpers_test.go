package apiserver

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/herd-project/herd/controller/controllertest"
	"github.com/herd-project/herd/internal/params"
	"github.com/herd-project/herd/internal/rpc"
)

// env is a controller fixture behind a live TLS loopback API server.
type env struct {
	f   *controllertest.Fixture
	srv *Server
	ts  *httptest.Server
	tls *tls.Config
}

func newEnv(t testing.TB, opts Options) *env {
	t.Helper()
	return newEnvFor(t, controllertest.New(t, nil), opts)
}

// newEnvFor serves fixture f's controller.
func newEnvFor(t testing.TB, f *controllertest.Fixture, opts Options) *env {
	t.Helper()
	if opts.LoginRate == 0 {
		opts.LoginRate = -1 // most tests log in often; the flood tests set their own
	}
	if opts.LoginAddrRate == 0 {
		opts.LoginAddrRate = -1
	}
	srv, err := New(f.Controller, opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
		ts.Close()
	})
	return &env{f: f, srv: srv, ts: ts, tls: ts.Client().Transport.(*http.Transport).TLSClientConfig}
}

func (e *env) url(path string) string { return "wss" + strings.TrimPrefix(e.ts.URL, "https") + path }

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dial opens a connection to path ("/api" or "/model/UUID/api").
func (e *env) dial(t testing.TB, path string) *rpc.Client {
	t.Helper()
	c, err := rpc.Dial(ctxFor(t), e.url(path), e.tls)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func login(ctx context.Context, c *rpc.Client, user, password string) (params.LoginResult, error) {
	var res params.LoginResult
	err := c.Call(ctx, "Admin", 3, "", "Login", params.LoginRequest{AuthTag: params.UserTag(user), Credentials: password}, &res)
	return res, err
}

// as opens a controller connection logged in as user with the fixture's
// password for them.
func (e *env) as(t testing.TB, user string) *rpc.Client {
	t.Helper()
	return e.asAt(t, "/api", user)
}

func (e *env) asAt(t testing.TB, path, user string) *rpc.Client {
	t.Helper()
	c := e.dial(t, path)
	if _, err := login(ctxFor(t), c, user, e.f.Password(user)); err != nil {
		t.Fatalf("login %s at %s: %v", user, path, err)
	}
	return c
}

// wantErr checks an RPC error's message and code.
func wantErr(t testing.TB, err error, msg, code string) {
	t.Helper()
	var e *rpc.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v (%T), want error %q (%q)", err, err, msg, code)
	}
	if (msg != "" && e.Message != msg) || e.Code != code {
		t.Fatalf("got error %q (%q), want %q (%q)", e.Message, e.Code, msg, code)
	}
}

func entities(tags ...string) params.Entities {
	p := params.Entities{Entities: []params.Entity{}}
	for _, t := range tags {
		p.Entities = append(p.Entities, params.Entity{Tag: t})
	}
	return p
}
