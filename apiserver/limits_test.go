package apiserver

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/herd-project/herd"
	"github.com/herd-project/herd/internal/params"
	"github.com/herd-project/herd/internal/register"
	"github.com/herd-project/herd/internal/rpc"
)

func TestConnectionCap(t *testing.T) {
	e := newEnv(t, Options{MaxConns: 2})
	a, b := e.dial(t, "/api"), e.dial(t, "/api")
	_, err := rpc.Dial(ctxFor(t), e.url("/api"), e.tls)
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("third connection: %v, want HTTP 503", err)
	}
	if err := a.Call(ctxFor(t), "Pinger", 1, "", "Ping", nil, nil); err != nil {
		t.Errorf("a connection under the cap: %v", err)
	}
	b.Close()
	// The slot frees once the server has seen the close.
	deadline := time.Now().Add(10 * time.Second)
	for e.srv.Conns() > 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	c, err := rpc.Dial(ctxFor(t), e.url("/api"), e.tls)
	if err != nil {
		t.Fatalf("after a close: %v", err)
	}
	c.Close()
}

// A flood of logins for one user is refused with "try again" beyond the
// burst, whether the password is right or not, whichever connection
// it comes from.
func TestLoginFloodRefused(t *testing.T) {
	e := newEnv(t, Options{LoginRate: 0.5, LoginBurst: 3, LoginAddrRate: 0.5, LoginAddrBurst: 4, LoginWait: time.Millisecond})
	e.f.AddUser(t, "tom")
	ctx := ctxFor(t)
	var refused, wrong int
	for range 8 {
		c := e.dial(t, "/api")
		_, err := login(ctx, c, "tom", "wrong")
		switch rpc.CodeOf(err) {
		case rpc.CodeTryAgain:
			refused++
			wantErr(t, err, "try again", rpc.CodeTryAgain)
		case rpc.CodeUnauthorized:
			wrong++
		default:
			t.Fatalf("unexpected %v", err)
		}
		c.Close()
	}
	if wrong != 3 || refused != 5 {
		t.Errorf("%d checked, %d refused; want 3 and 5", wrong, refused)
	}
	// Another user from the same address gets the address's last token,
	// then the address is limited too.
	c := e.dial(t, "/api")
	if _, err := login(ctx, c, "admin", e.f.Password("admin")); err != nil {
		t.Fatalf("the address's last token: %v", err)
	}
	c = e.dial(t, "/api")
	_, err := login(ctx, c, "admin", e.f.Password("admin"))
	wantErr(t, err, "try again", rpc.CodeTryAgain)
}

// Within LoginWait a login beyond the burst waits for its token rather
// than failing.
func TestLoginFloodSlowed(t *testing.T) {
	e := newEnv(t, Options{LoginRate: 20, LoginBurst: 1, LoginAddrRate: 20, LoginAddrBurst: 1, LoginWait: 2 * time.Second})
	e.f.AddUser(t, "tom")
	ctx := ctxFor(t)
	start := time.Now()
	for range 5 {
		c := e.dial(t, "/api")
		if _, err := login(ctx, c, "tom", e.f.Password("tom")); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	// 4 logins beyond the burst at 20/s: 200ms at least.
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("5 logins took %v; the limiter did not slow them", d)
	}
}

func TestLimiterBoundedMemory(t *testing.T) {
	now := time.Unix(0, 0)
	l := newLimiter(1, 2, 100, func() time.Time { return now })
	for i := range 1000 {
		if _, ok := l.reserve(fmt.Sprint("k", i), 0); !ok {
			t.Fatal("a fresh key was refused")
		}
	}
	if n := l.size(); n > 100 {
		t.Errorf("%d keys held, cap 100", n)
	}
	l.reserve("hot", 0)
	l.reserve("hot", 0)
	if _, ok := l.reserve("hot", 0); ok {
		t.Error("burst of 2 allowed a third at once")
	}
	if w, ok := l.reserve("hot", 2*time.Second); !ok || w <= 0 {
		t.Errorf("within maxWait: wait %v ok %v", w, ok)
	}
	now = now.Add(time.Hour)
	if _, ok := l.reserve("hot", 0); !ok {
		t.Error("refilled bucket refused")
	}
}

// An oversized frame closes only its own connection.
func TestOversizeFrameClosesOnlyItsConnection(t *testing.T) {
	e := newEnv(t, Options{RPC: rpc.Options{MaxFrameBytes: 4096}})
	ctx := ctxFor(t)
	bad, good := e.as(t, "admin"), e.as(t, "admin")
	big := params.AddUsers{Users: []params.AddUser{{Username: "x", DisplayName: strings.Repeat("a", 8192)}}}
	err := bad.Call(ctx, "UserManager", 3, "", "AddUser", big, nil)
	if !errors.Is(err, herd.ErrClosed) {
		t.Errorf("oversized frame: %v, want the connection closed", err)
	}
	var info params.UserInfoResults
	if err := good.Call(ctx, "UserManager", 3, "", "UserInfo", params.UserInfoRequest{}, &info); err != nil {
		t.Errorf("the other connection: %v", err)
	}
}

// A malformed request and a slow one do not disturb concurrent good
// requests on the same connection.
func TestBadRequestDoesNotDisturbOthers(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := ctxFor(t)
	c := e.as(t, "admin")
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				// entities of the wrong type
				err := c.Call(ctx, "UserManager", 3, "", "UserInfo", map[string]any{"entities": "nope"}, nil)
				if err == nil {
					errs <- errors.New("a malformed request succeeded")
				}
				return
			}
			var info params.UserInfoResults
			if err := c.Call(ctx, "UserManager", 3, "", "UserInfo", params.UserInfoRequest{}, &info); err != nil || len(info.Results) != 1 {
				errs <- fmt.Errorf("good request: %v %+v", err, info)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// A raw frame that is not JSON closes that connection only.
	d := websocket.Dialer{TLSClientConfig: e.tls, HandshakeTimeout: 5 * time.Second}
	ws, _, err := d.Dial(e.url("/api"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_ = ws.WriteMessage(websocket.TextMessage, []byte("{not json"))
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := ws.ReadMessage(); err == nil {
		t.Error("a non-JSON frame was answered")
	}
	if err := c.Call(ctx, "Pinger", 1, "", "Ping", nil, nil); err != nil {
		t.Errorf("after another connection's garbage: %v", err)
	}
}

func postRegister(t *testing.T, e *env, body []byte) (int, []byte) {
	t.Helper()
	resp, err := e.ts.Client().Post(e.ts.URL+"/register", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func registerBody(user string) []byte {
	b, _ := json.Marshal(map[string]any{"user": "user-" + user, "nonce": make([]byte, 24), "cipher-text": make([]byte, 40)})
	return b
}

func TestRegisterRoute(t *testing.T) {
	e := newEnv(t, Options{})
	// The default hook is the controller's exchange: tom has no pending
	// key, so the answer is the one failure answer.
	if code, out := postRegister(t, e, registerBody("tom")); code != register.FailureStatus || !bytes.Equal(out, register.FailureBody()) {
		t.Errorf("the controller's exchange, no such user: HTTP %d %s, want the failure answer", code, out)
	}

	var mu sync.Mutex
	var got [][]byte
	e = newEnv(t, Options{RegisterRate: 0.001, RegisterBurst: 2, Register: func(ctx context.Context, body []byte) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, body)
		if bytes.Contains(body, []byte("user-bad")) {
			return nil, herd.Errorf(herd.ErrUnauthenticated, "no pending key")
		}
		return []byte(`{"nonce":"AA==","cipher-text":"AA=="}`), nil
	}})
	code, out := postRegister(t, e, registerBody("tom"))
	if code != http.StatusOK || string(out) != `{"nonce":"AA==","cipher-text":"AA=="}` {
		t.Errorf("registered: HTTP %d %s", code, out)
	}
	failure := func(what string, code int, out []byte) {
		t.Helper()
		if code != register.FailureStatus || !bytes.Equal(out, register.FailureBody()) {
			t.Errorf("%s: HTTP %d %s, want the failure answer", what, code, out)
		}
	}
	code, out = postRegister(t, e, registerBody("bad"))
	failure("the hook's refusal", code, out)
	// The source address has used its burst of 2.
	code, out = postRegister(t, e, registerBody("ann"))
	failure("beyond the rate", code, out)
	if len(got) != 2 {
		t.Errorf("the hook saw %d requests, want 2", len(got))
	}

	e = newEnv(t, Options{RegisterMaxBytes: 512, Register: func(context.Context, []byte) ([]byte, error) { return []byte("{}"), nil }})
	code, out = postRegister(t, e, bytes.Repeat([]byte("x"), 4096))
	failure("oversized", code, out)
	code, out = postRegister(t, e, []byte("{garbage"))
	failure("malformed", code, out)
	resp, err := e.ts.Client().Get(e.ts.URL + "/register")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	failure("GET", resp.StatusCode, b)
	if resp, err := e.ts.Client().Get(e.ts.URL + "/nope"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown path: %v %v", resp, err)
	}
}

// Serve runs the hardened http.Server on a listener; Close ends it and
// every websocket connection.
func TestServeAndClose(t *testing.T) {
	e := newEnv(t, Options{})
	srv, err := New(e.f.Controller, Options{LoginRate: -1, LoginAddrRate: -1})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background(), ln, e.ts.TLS) }()
	url := "wss://" + ln.Addr().String() + "/api"
	c, err := rpc.Dial(ctxFor(t), url, e.tls)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := login(ctxFor(t), c, "admin", e.f.Password("admin")); err != nil {
		t.Fatal(err)
	}
	// A TLS 1.1 client is refused.
	old := e.tls.Clone()
	old.MaxVersion = tls.VersionTLS11
	if conn, err := tls.Dial("tcp", ln.Addr().String(), old); err == nil {
		conn.Close()
		t.Error("TLS 1.1 accepted")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve after Close: %v", err)
	}
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Error("the connection outlived Close")
	}
}

// A client that opens TCP and never finishes the TLS handshake, or never
// finishes its request headers, is cut off by Serve's timeouts; a
// websocket that outlives them keeps working.
func TestServeStalledClients(t *testing.T) {
	e := newEnv(t, Options{})
	srv, err := New(e.f.Controller, Options{LoginRate: -1, LoginAddrRate: -1, ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln, e.ts.TLS) }()
	defer func() {
		cancel()
		<-served
		_ = srv.Close(context.Background())
	}()

	closedWithin := func(what string, conn net.Conn) {
		t.Helper()
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		_, err := io.ReadAll(conn)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("%s: still open after 5s", what)
		} else if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s: closed after %v", what, d)
		}
	}
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	closedWithin("no TLS handshake", raw)

	tc, err := tls.Dial("tcp", ln.Addr().String(), e.tls)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	_, _ = tc.Write([]byte("GET /api HTTP/1.1\r\nHost: x\r\n")) // never ends
	closedWithin("unfinished headers", tc)

	c, err := rpc.Dial(ctxFor(t), "wss://"+ln.Addr().String()+"/api", e.tls)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := login(ctxFor(t), c, "admin", e.f.Password("admin")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // beyond ReadTimeout
	if err := c.Call(ctxFor(t), "Pinger", 1, "", "Ping", nil, nil); err != nil {
		t.Errorf("a websocket after ReadTimeout: %v", err)
	}
}

// Floods are counted per IPv4 address and per IPv6 /64.
func TestRemoteHostKeys(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:1234":               "127.0.0.1",
		"[::1]:1234":                   "::/64",
		"[2001:db8:1:2:3:4:5:6]:17070": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ff::1]:1":       "2001:db8:1:2::/64",
		"[::ffff:10.0.0.1]:1":          "::ffff:10.0.0.1",
		"not an address":               "not an address",
	} {
		if got := remoteHost(in); got != want {
			t.Errorf("remoteHost(%q) = %q, want %q", in, got, want)
		}
	}
}
