package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herd-project/herd/internal/params"
	"github.com/herd-project/herd/internal/pki"
	"github.com/herd-project/herd/internal/register"
	"github.com/herd-project/herd/internal/rpc"
)

// A fake controller for the client's tests: a TLS server (certificate from
// a fresh pki CA) that speaks Juju's frames through internal/rpc, records
// every request and answers Admin.Login, HerdSession.SessionToken and
// whatever a test sets in answers.

const (
	fakeUUID     = "deadbeef-0bad-400d-8000-4b1d0000000a"
	fakeModel    = "0b5e55ed-0bad-400d-8000-4b1d0000000b"
	fakePassword = "s3cret-pass"
	fakeToken    = "session-token-1"
)

type call struct {
	Path    string // "/api" or "/model/UUID/api"
	Facade  string
	Version int
	Method  string
	Params  string // compact JSON
}

type answer func(ctx context.Context, path string, req rpc.Request) (any, error)

type fake struct {
	t   *testing.T
	srv *httptest.Server
	ca  pki.CA

	mu      sync.Mutex
	calls   []call
	answers map[string]answer // "Facade.Method"
	conns   []*rpc.Conn
	raw     []net.Conn          // every TCP connection accepted, for kill
	servers [][]params.HostPort // LoginResult.servers
	tokens  map[string]bool     // session tokens that resume

	// registration
	regKey  [register.KeyLen]byte
	regUser string
	regUsed bool
	regCA   []byte // the CA the reply names; nil: the fake's own
}

func newFake(t *testing.T) *fake {
	t.Helper()
	ca, err := pki.NewCA("fake", fakeUUID, time.Now(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return newFakeCA(t, ca)
}

// newFakeCA starts a fake whose certificate ca signs: two of them are
// two addresses of one controller.
func newFakeCA(t *testing.T, ca pki.CA) *fake {
	t.Helper()
	certPEM, keyPEM, err := ca.ServerCert([]string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pki.ServerTLSConfig(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	f := &fake{t: t, ca: ca, answers: map[string]answer{}, tokens: map[string]bool{fakeToken: true}}
	f.srv = httptest.NewUnstartedServer(f)
	f.srv.Listener = &trackListener{Listener: f.srv.Listener, f: f}
	f.srv.TLS = cfg
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	f.srv.StartTLS()
	t.Cleanup(f.close)
	return f
}

func (f *fake) close() {
	f.drop()
	f.srv.Close()
}

func (f *fake) addr() string { return strings.TrimPrefix(f.srv.URL, "https://") }

func (f *fake) opts() Options {
	return Options{Addrs: []string{f.addr()}, CACert: f.ca.CertPEM, ControllerName: "fake", DialTimeout: 5 * time.Second}
}

// answer sets the reply to Facade.Method.
func (f *fake) answer(key string, a answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[key] = a
}

// reply sets a canned result (a value, or JSON text) for Facade.Method.
func (f *fake) reply(key string, result any) {
	f.answer(key, func(context.Context, string, rpc.Request) (any, error) {
		if s, ok := result.(string); ok {
			return json.RawMessage(s), nil
		}
		return result, nil
	})
}

// drop closes every server connection, as a controller going away does.
func (f *fake) drop() {
	f.mu.Lock()
	conns := f.conns
	f.conns = nil
	f.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// kill cuts every TCP connection without a goodbye, as a network
// failure or a crashed controller does.
func (f *fake) kill() {
	f.mu.Lock()
	raw := f.raw
	f.raw = nil
	f.mu.Unlock()
	for _, c := range raw {
		c.Close()
	}
}

type trackListener struct {
	net.Listener
	f *fake
}

func (l *trackListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.f.mu.Lock()
		l.f.raw = append(l.f.raw, c)
		l.f.mu.Unlock()
	}
	return c, err
}

// recorded returns the calls made, Pinger and Admin included.
func (f *fake) recorded() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// last returns the last call to a facade other than Admin, Pinger and
// HerdSession.SessionToken.
func (f *fake) last(t *testing.T) call {
	t.Helper()
	calls := f.recorded()
	for i := len(calls) - 1; i >= 0; i-- {
		c := calls[i]
		if c.Facade != "Admin" && c.Facade != "Pinger" && c.Method != "SessionToken" {
			return c
		}
	}
	t.Fatal("no call recorded")
	return call{}
}

// find returns the last call of method.
func (f *fake) find(t *testing.T, method string) call {
	t.Helper()
	calls := f.recorded()
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i].Method == method {
			return calls[i]
		}
	}
	t.Fatalf("no call of %s recorded", method)
	return call{}
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/register" {
		f.serveRegister(w, r)
		return
	}
	if r.URL.Path != "/api" && !(strings.HasPrefix(r.URL.Path, "/model/") && strings.HasSuffix(r.URL.Path, "/api")) {
		http.NotFound(w, r)
		return
	}
	ws, err := rpc.Upgrade(w, r)
	if err != nil {
		return
	}
	c := rpc.NewConn(ws, rpc.Options{})
	f.mu.Lock()
	f.conns = append(f.conns, c)
	f.mu.Unlock()
	path := r.URL.Path
	c.Serve(context.Background(), rpc.HandlerFunc(func(ctx context.Context, req rpc.Request) (any, error) {
		return f.handle(ctx, path, req)
	}))
}

func (f *fake) handle(ctx context.Context, path string, req rpc.Request) (any, error) {
	var buf bytes.Buffer
	if len(req.Params) > 0 {
		if err := json.Compact(&buf, req.Params); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	f.calls = append(f.calls, call{Path: path, Facade: req.Facade, Version: req.Version, Method: req.Method, Params: buf.String()})
	a := f.answers[req.Facade+"."+req.Method]
	f.mu.Unlock()
	if a != nil {
		return a(ctx, path, req)
	}
	switch req.Facade + "." + req.Method {
	case "Admin.Login":
		return f.login(path, req)
	case "HerdSession.SessionToken":
		return params.StringResult{Result: fakeToken}, nil
	case "Pinger.Ping":
		return nil, nil
	}
	return nil, rpc.UnknownMethod(req.Facade, req.Version, req.Method)
}

func (f *fake) login(path string, req rpc.Request) (any, error) {
	var lr params.LoginRequest
	if err := req.Decode(&lr); err != nil {
		return nil, err
	}
	f.mu.Lock()
	ok := lr.AuthTag == "user-tom" && (lr.Credentials == fakePassword && lr.Token == "" || lr.Credentials == "" && f.tokens[lr.Token])
	servers := f.servers
	f.mu.Unlock()
	if !ok {
		return nil, &rpc.Error{Message: rpc.MsgBadCreds, Code: rpc.CodeUnauthorized}
	}
	model := path != "/api"
	res := params.LoginResult{
		Servers:       servers,
		ControllerTag: params.ControllerTag(fakeUUID),
		UserInfo:      &params.AuthUserInfo{Identity: "user-tom", ControllerAccess: "login"},
		Facades:       params.FacadeList(model),
		ServerVersion: "3.6.26",
	}
	if model {
		res.ModelTag = params.ModelTag(strings.TrimSuffix(strings.TrimPrefix(path, "/model/"), "/api"))
		res.UserInfo.ModelAccess = "write"
	}
	return res, nil
}

// serveRegister is the server half of Juju's exchange, for f.regUser
// holding f.regKey.
func (f *fake) serveRegister(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, register.MaxRequestBytes+1))
	fail := func() {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(register.FailureStatus)
		w.Write(register.FailureBody())
	}
	user, nonce, box, err := register.ParseRequest(body, 0)
	if err != nil {
		fail()
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if user != f.regUser || f.regUsed {
		fail()
		return
	}
	password, err := register.OpenPassword(f.regKey, nonce, box)
	if err != nil || password != fakePassword {
		fail()
		return
	}
	f.regUsed = true
	ca := f.ca.CertPEM
	if f.regCA != nil {
		ca = f.regCA
	}
	reply, err := register.SealResponse(f.regKey, nonce, register.Payload{CACert: string(ca), ControllerUUID: fakeUUID}, rand.Reader)
	if err != nil {
		fail()
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(reply)
}

// hostPort is an address as LoginResult.servers lists it.
func hostPort(t *testing.T, addr string) params.HostPort {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return params.HostPort{Address: params.Address{Value: host, Type: "ipv4", Scope: "local-machine"}, Port: p}
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// tomSession dials f and logs in as tom.
func tomSession(t *testing.T, f *fake) *Session {
	t.Helper()
	ctx := testCtx(t)
	c, err := Dial(ctx, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Login(ctx, "tom", fakePassword)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
