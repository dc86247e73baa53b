package rpc

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/herd-project/herd"
)

// testHandler serves a few methods on facade "Test", version 1.
type testHandler struct {
	release chan struct{} // Block waits for it
	started chan struct{} // Block signals on it
}

func newTestHandler() *testHandler {
	return &testHandler{release: make(chan struct{}), started: make(chan struct{}, 64)}
}

type sleepParams struct {
	Millis int `json:"millis"`
}

func (h *testHandler) Call(ctx context.Context, req Request) (any, error) {
	if req.Facade != "Test" || req.Version != 1 {
		return nil, UnknownFacade(req.Facade, req.Version)
	}
	switch req.Method {
	case "Echo":
		return req.Params, nil
	case "Sleep":
		var p sleepParams
		if err := req.Decode(&p); err != nil {
			return nil, err
		}
		select {
		case <-time.After(time.Duration(p.Millis) * time.Millisecond):
			return p, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	case "Block":
		h.started <- struct{}{}
		select {
		case <-h.release:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	case "Panic":
		panic("boom")
	case "Deny":
		return nil, herd.Denied()
	case "Unencodable":
		return map[string]any{"c": make(chan int)}, nil
	}
	return nil, UnknownMethod(req.Facade, req.Version, req.Method)
}

type testServer struct {
	*httptest.Server
	url string
	tls *tls.Config

	mu    sync.Mutex
	conns []*Conn
	errs  chan error // Serve's results
}

// startServer runs h behind a TLS loopback server; each connection gets
// opts.
func startServer(t testing.TB, h Handler, opts Options) *testServer {
	t.Helper()
	ts := &testServer{errs: make(chan error, 16)}
	ts.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := Upgrade(w, r)
		if err != nil {
			return
		}
		c := NewConn(ws, opts)
		ts.mu.Lock()
		ts.conns = append(ts.conns, c)
		ts.mu.Unlock()
		err = c.Serve(r.Context(), h)
		select {
		case ts.errs <- err:
		default:
		}
	}))
	t.Cleanup(ts.Close)
	ts.url = "wss" + strings.TrimPrefix(ts.URL, "https") + "/api"
	ts.tls = ts.Client().Transport.(*http.Transport).TLSClientConfig
	return ts
}

func (ts *testServer) dial(t testing.TB) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, ts.url, ts.tls)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// dialRaw opens a bare websocket, for frames Client would never send.
func (ts *testServer) dialRaw(t testing.TB) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{TLSClientConfig: ts.tls, HandshakeTimeout: 5 * time.Second}
	ws, _, err := d.Dial(ts.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	return ws
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestRoundTripConcurrent(t *testing.T) {
	ts := startServer(t, newTestHandler(), Options{})
	c := ts.dial(t)
	ctx := testCtx(t)
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := map[string]int{"n": i}
			var out map[string]int
			if err := c.Call(ctx, "Test", 1, "", "Echo", in, &out); err != nil {
				errs <- err
				return
			}
			if out["n"] != i {
				errs <- fmt.Errorf("call %d got %v", i, out)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestOutOfOrderReplies(t *testing.T) {
	ts := startServer(t, newTestHandler(), Options{})
	c := ts.dial(t)
	ctx := testCtx(t)
	slow := make(chan error, 1)
	go func() { slow <- c.Call(ctx, "Test", 1, "", "Sleep", sleepParams{Millis: 300}, nil) }()
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	var out sleepParams
	if err := c.Call(ctx, "Test", 1, "", "Sleep", sleepParams{Millis: 1}, &out); err != nil || out.Millis != 1 {
		t.Fatalf("fast call: %v %v", out, err)
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("fast call waited for the slow one: %s", d)
	}
	select {
	case err := <-slow:
		t.Fatalf("slow call finished first: %v", err)
	default:
	}
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
}

func TestSlowHandlerDoesNotBlockOthers(t *testing.T) {
	h := newTestHandler()
	ts := startServer(t, h, Options{MaxInFlight: 4})
	c := ts.dial(t)
	other := ts.dial(t)
	ctx := testCtx(t)
	blocked := make(chan error, 3)
	for range 3 {
		go func() { blocked <- c.Call(ctx, "Test", 1, "", "Block", nil, nil) }()
	}
	for range 3 {
		<-h.started
	}
	// One slot left on c, and other has its own.
	if err := c.Call(ctx, "Test", 1, "", "Echo", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := other.Call(ctx, "Test", 1, "", "Echo", nil, nil); err != nil {
		t.Fatal(err)
	}
	close(h.release)
	for range 3 {
		if err := <-blocked; err != nil {
			t.Fatal(err)
		}
	}
}

// A request is served on the goroutine that read it while another reads
// on, so a request that runs long holds up none after it.
func TestSlowRequestHandsOffReading(t *testing.T) {
	h := newTestHandler()
	ts := startServer(t, h, Options{})
	c := ts.dial(t)
	ctx := testCtx(t)
	for range 3 {
		blocked := make(chan error, 1)
		go func() { blocked <- c.Call(ctx, "Test", 1, "", "Block", nil, nil) }()
		<-h.started
		for range 3 {
			if err := c.Call(ctx, "Test", 1, "", "Echo", nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		h.release <- struct{}{}
		if err := <-blocked; err != nil {
			t.Fatal(err)
		}
	}
}

// inlineHandler is testHandler serving Test.Echo inline; it counts the
// inline calls running at once.
type inlineHandler struct {
	*testHandler
	running, most atomic.Int32
}

func (h *inlineHandler) Inline(req Request) bool { return req.Method == "Echo" }

func (h *inlineHandler) Call(ctx context.Context, req Request) (any, error) {
	if req.Method == "Echo" {
		n := h.running.Add(1)
		defer h.running.Add(-1)
		if n > h.most.Load() {
			h.most.Store(n)
		}
		time.Sleep(50 * time.Microsecond) // long enough to overlap, were they concurrent
	}
	return h.testHandler.Call(ctx, req)
}

// An InlineHandler's quick requests are served one after another by the
// reading goroutine, and a slow request that is not quick still holds
// none of them up.
func TestInlineRequests(t *testing.T) {
	h := &inlineHandler{testHandler: newTestHandler()}
	ts := startServer(t, h, Options{})
	c := ts.dial(t)
	ctx := testCtx(t)
	blocked := make(chan error, 1)
	go func() { blocked <- c.Call(ctx, "Test", 1, "", "Block", nil, nil) }()
	<-h.started
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				in := map[string]int{"i": i, "j": j}
				var out map[string]int
				if err := c.Call(ctx, "Test", 1, "", "Echo", in, &out); err != nil || out["i"] != i || out["j"] != j {
					t.Errorf("Echo %v: %v, %v", in, out, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if m := h.most.Load(); m != 1 {
		t.Errorf("%d inline requests ran at once on one connection, want 1", m)
	}
	h.release <- struct{}{}
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
}

// inlineAll serves every request inline.
type inlineAll struct{ *testHandler }

func (inlineAll) Inline(Request) bool { return true }

// An inline request that overruns the request timeout is answered at
// once and its ctx ends; the next inline requests get a live ctx.
func TestInlineRequestTimeout(t *testing.T) {
	ts := startServer(t, inlineAll{newTestHandler()}, Options{RequestTimeout: 100 * time.Millisecond})
	c := ts.dial(t)
	ctx := testCtx(t)
	for range 2 {
		for _, ms := range []int{1, 1, 1000, 1, 5, 1000} {
			start := time.Now()
			err := c.Call(ctx, "Test", 1, "", "Sleep", sleepParams{Millis: ms}, nil)
			var e *Error
			switch {
			case ms < 100 && err != nil:
				t.Fatalf("Sleep %d ms: %v", ms, err)
			case ms >= 100 && (!errors.As(err, &e) || e.Code != CodeDeadlineExceeded):
				t.Fatalf("Sleep %d ms: %v, want a timeout", ms, err)
			case ms >= 100 && time.Since(start) > 900*time.Millisecond:
				t.Fatalf("timeout answered after %v", time.Since(start))
			}
			if err := c.Call(ctx, "Test", 1, "", "Echo", nil, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestMaxInFlightWaits(t *testing.T) {
	h := newTestHandler()
	ts := startServer(t, h, Options{MaxInFlight: 2})
	c := ts.dial(t)
	ctx := testCtx(t)
	done := make(chan error, 3)
	for range 2 {
		go func() { done <- c.Call(ctx, "Test", 1, "", "Block", nil, nil) }()
	}
	<-h.started
	<-h.started
	third := make(chan error, 1)
	go func() { third <- c.Call(ctx, "Test", 1, "", "Echo", nil, nil) }()
	select {
	case err := <-third:
		t.Fatalf("third request served beyond MaxInFlight: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(h.release)
	if err := <-third; err != nil {
		t.Fatal(err)
	}
}

func TestRequestTimeout(t *testing.T) {
	ts := startServer(t, newTestHandler(), Options{RequestTimeout: 50 * time.Millisecond})
	c := ts.dial(t)
	err := c.Call(testCtx(t), "Test", 1, "", "Block", nil, nil)
	if CodeOf(err) != CodeDeadlineExceeded {
		t.Fatalf("got %v (code %q)", err, CodeOf(err))
	}
	if err := c.Call(testCtx(t), "Test", 1, "", "Echo", nil, nil); err != nil {
		t.Fatal(err)
	}
}

func TestPanicAnsweredAndConnectionServes(t *testing.T) {
	ts := startServer(t, newTestHandler(), Options{})
	c := ts.dial(t)
	ctx := testCtx(t)
	err := c.Call(ctx, "Test", 1, "", "Panic", nil, nil)
	var e *Error
	if !errors.As(err, &e) || e.Message != "boom" || e.Code != "" {
		t.Fatalf("got %#v", err)
	}
	if err := c.Call(ctx, "Test", 1, "", "Echo", nil, nil); err != nil {
		t.Fatal(err)
	}
}

func TestUnencodableResult(t *testing.T) {
	ts := startServer(t, newTestHandler(), Options{})
	c := ts.dial(t)
	err := c.Call(testCtx(t), "Test", 1, "", "Unencodable", nil, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "cannot encode result") {
		t.Fatalf("got %v", err)
	}
}

func TestNotImplementedReplies(t *testing.T) {
	ts := startServer(t, newTestHandler(), Options{})
	c := ts.dial(t)
	ctx := testCtx(t)
	for _, tc := range []struct {
		facade  string
		version int
		method  string
		msg     string
	}{
		{"Nope", 0, "X", `unknown object type "Nope"`},
		{"Nope", 1, "X", `unknown version (1) of interface "Nope"`},
		{"Test", 7, "X", `unknown version (7) of interface "Test"`},
		{"Test", 1, "X", `no such request - method Test(1).X is not implemented`},
	} {
		err := c.Call(ctx, tc.facade, tc.version, "", tc.method, nil, nil)
		var e *Error
		if !errors.As(err, &e) || e.Message != tc.msg || e.Code != CodeNotImplemented {
			t.Errorf("%s(%d).%s: got %v", tc.facade, tc.version, tc.method, err)
		}
		if !errors.Is(err, &Error{Code: CodeNotImplemented}) {
			t.Errorf("errors.Is by code fails for %v", err)
		}
	}
}

func TestPermissionDeniedOverTheWire(t *testing.T) {
	ts := startServer(t, newTestHandler(), Options{})
	c := ts.dial(t)
	err := c.Call(testCtx(t), "Test", 1, "", "Deny", nil, nil)
	if !errors.Is(err, herd.ErrPermissionDenied) || err.Error() != "permission denied" || CodeOf(err) != CodeUnauthorized {
		t.Fatalf("got %v (code %q)", err, CodeOf(err))
	}
}

func TestClientCancel(t *testing.T) {
	h := newTestHandler()
	ts := startServer(t, h, Options{})
	c := ts.dial(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan error, 1)
	go func() { done <- c.Call(ctx, "Test", 1, "", "Block", nil, nil) }()
	<-h.started
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	close(h.release) // the late reply is dropped
	if err := c.Call(testCtx(t), "Test", 1, "", "Echo", nil, nil); err != nil {
		t.Fatal(err)
	}
}

func TestConnectionDropFailsPending(t *testing.T) {
	h := newTestHandler()
	ts := startServer(t, h, Options{})
	c := ts.dial(t)
	ctx := testCtx(t)
	done := make(chan error, 4)
	for range 4 {
		go func() { done <- c.Call(ctx, "Test", 1, "", "Block", nil, nil) }()
	}
	for range 4 {
		<-h.started
	}
	ts.mu.Lock()
	conn := ts.conns[0]
	ts.mu.Unlock()
	conn.CloseWith(websocket.CloseGoingAway, "session ended")
	for range 4 {
		if err := <-done; !errors.Is(err, herd.ErrClosed) {
			t.Fatalf("pending call: got %v", err)
		}
	}
	if err := c.Call(ctx, "Test", 1, "", "Echo", nil, nil); !errors.Is(err, herd.ErrClosed) {
		t.Fatalf("call after drop: got %v", err)
	}
}

func TestClientCloseFailsPending(t *testing.T) {
	h := newTestHandler()
	ts := startServer(t, h, Options{})
	c := ts.dial(t)
	done := make(chan error, 1)
	go func() { done <- c.Call(testCtx(t), "Test", 1, "", "Block", nil, nil) }()
	<-h.started
	c.Close()
	if err := <-done; !errors.Is(err, herd.ErrClosed) {
		t.Fatalf("got %v", err)
	}
}

func TestIdleTimeoutCloses(t *testing.T) {
	ts := startServer(t, newTestHandler(), Options{IdleTimeout: 100 * time.Millisecond})
	ws := ts.dialRaw(t)
	start := time.Now()
	_, _, err := ws.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure || !strings.HasPrefix(ce.Text, "idle for") {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("closed after %s", d)
	}
	if err := <-ts.errs; err == nil || !strings.Contains(err.Error(), "no request for") {
		t.Fatalf("Serve returned %v", err)
	}
}

func TestIdleTimeoutWaitsForRunningRequest(t *testing.T) {
	h := newTestHandler()
	ts := startServer(t, h, Options{IdleTimeout: 50 * time.Millisecond})
	c := ts.dial(t)
	done := make(chan error, 1)
	go func() { done <- c.Call(testCtx(t), "Test", 1, "", "Block", nil, nil) }()
	<-h.started
	time.Sleep(200 * time.Millisecond)
	close(h.release)
	if err := <-done; err != nil {
		t.Fatalf("request cut by idle timeout: %v", err)
	}
}

func TestOversizeFrameCloses(t *testing.T) {
	ts := startServer(t, newTestHandler(), Options{MaxFrameBytes: 1024})
	ws := ts.dialRaw(t)
	big := fmt.Sprintf(`{"request-id":1,"type":"Test","version":1,"request":"Echo","params":{"x":%q}}`, strings.Repeat("a", 2000))
	if err := ws.WriteMessage(websocket.TextMessage, []byte(big)); err != nil {
		t.Fatal(err)
	}
	_, _, err := ws.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseMessageTooBig || ce.Text != "frame larger than 1024 bytes" {
		t.Fatalf("got %v", err)
	}
	// Other connections are unaffected.
	if err := ts.dial(t).Call(testCtx(t), "Test", 1, "", "Echo", nil, nil); err != nil {
		t.Fatal(err)
	}
}

func readReply(t *testing.T, ws *websocket.Conn) map[string]any {
	t.Helper()
	_, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMalformedFrames(t *testing.T) {
	ts := startServer(t, newTestHandler(), Options{})
	ws := ts.dialRaw(t)
	// A wrong-typed field with a readable id: answered, connection kept.
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"request-id":5,"type":"Test","version":"1","request":"Echo"}`)); err != nil {
		t.Fatal(err)
	}
	m := readReply(t, ws)
	if m["request-id"] != 5.0 || m["error-code"] != CodeBadRequest || !strings.HasPrefix(m["error"].(string), "malformed request") {
		t.Fatalf("got %v", m)
	}
	// Bad params are the handler's to refuse: code "", as in Juju.
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"request-id":6,"type":"Test","version":1,"request":"Sleep","params":{"millis":"x"}}`)); err != nil {
		t.Fatal(err)
	}
	if m := readReply(t, ws); m["request-id"] != 6.0 || m["error"] == nil || m["error-code"] != nil {
		t.Fatalf("got %v", m)
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"request-id":7,"type":"Test","version":1,"request":"Echo","params":{"a":1}}`)); err != nil {
		t.Fatal(err)
	}
	if m := readReply(t, ws); m["request-id"] != 7.0 || fmt.Sprint(m["response"]) != "map[a:1]" {
		t.Fatalf("got %v", m)
	}
	// Not JSON: closed with a reason.
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"request-id":8,`)); err != nil {
		t.Fatal(err)
	}
	_, _, err := ws.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseUnsupportedData || !strings.HasPrefix(ce.Text, "malformed frame") {
		t.Fatalf("got %v", err)
	}
}

func TestWireFormat(t *testing.T) {
	ts := startServer(t, newTestHandler(), Options{})
	ws := ts.dialRaw(t)
	for _, tc := range []struct{ in, want string }{
		// jujulib's request: no "id".
		{`{"type":"Test","request":"Echo","version":1,"params":{"a":1},"request-id":1}`, `{"request-id":1,"response":{"a":1}}`},
		{`{"request-id":2,"type":"Test","version":1,"request":"Echo"}`, `{"request-id":2,"response":{}}`},
		{`{"request-id":3,"type":"Test","version":1,"request":"Deny","params":{}}`,
			`{"request-id":3,"error":"permission denied","error-code":"unauthorized access","error-info":{"herd-kind":"permission denied"},"response":{}}`},
		{`{"request-id":4,"type":"Nope","version":2,"request":"X"}`,
			`{"request-id":4,"error":"unknown version (2) of interface \"Nope\"","error-code":"not implemented","response":{}}`},
		// The capitalised form is answered in kind.
		{`{"RequestId":9,"Type":"Test","Version":1,"Request":"Echo","Params":{"b":2}}`, `{"RequestId":9,"Response":{"b":2}}`},
		{`{"RequestId":10,"Type":"Test","Version":1,"Request":"X"}`,
			`{"RequestId":10,"Error":"no such request - method Test(1).X is not implemented","ErrorCode":"not implemented","Response":{}}`},
	} {
		if err := ws.WriteMessage(websocket.TextMessage, []byte(tc.in)); err != nil {
			t.Fatal(err)
		}
		_, got, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("%s\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func TestClientRequestFormat(t *testing.T) {
	frames := make(chan string, 2)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := Upgrade(w, r)
		if err != nil {
			return
		}
		defer ws.Close()
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			frames <- string(data)
			var f struct {
				ID uint64 `json:"request-id"`
			}
			_ = json.Unmarshal(data, &f)
			_ = ws.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, `{"request-id":%d,"error":"no such request - method X.Y is not implemented"}`, f.ID))
		}
	}))
	defer srv.Close()
	c, err := Dial(testCtx(t), "wss"+strings.TrimPrefix(srv.URL, "https"), srv.Client().Transport.(*http.Transport).TLSClientConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Call(testCtx(t), "Admin", 3, "", "Login", map[string]string{"auth-tag": "user-tom"}, nil)
	if got, want := <-frames, `{"request-id":1,"type":"Admin","version":3,"request":"Login","params":{"auth-tag":"user-tom"}}`; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	// Juju's client reads a codeless "no such request" as not implemented.
	if CodeOf(err) != CodeNotImplemented {
		t.Errorf("got %v (code %q)", err, CodeOf(err))
	}
	_ = c.Call(testCtx(t), "Pinger", 1, "", "Ping", nil, nil)
	if got, want := <-frames, `{"request-id":2,"type":"Pinger","version":1,"request":"Ping","params":{}}`; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func TestServeContextEndCloses(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := Upgrade(w, r)
		if err != nil {
			return
		}
		_ = NewConn(ws, Options{}).Serve(ctx, newTestHandler())
	}))
	defer srv.Close()
	c, err := Dial(testCtx(t), "wss"+strings.TrimPrefix(srv.URL, "https"), srv.Client().Transport.(*http.Transport).TLSClientConfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Call(testCtx(t), "Test", 1, "", "Echo", nil, nil); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("connection still up after the server's ctx ended")
	}
}

func TestPongDeadline(t *testing.T) {
	ts := startServer(t, newTestHandler(), Options{PingPeriod: 50 * time.Millisecond, PongWait: time.Second, IdleTimeout: -1})
	// A peer that reads answers pings (gorilla's default ping handler) and
	// stays connected past PongWait.
	c := ts.dial(t)
	time.Sleep(2500 * time.Millisecond)
	if err := c.Call(testCtx(t), "Test", 1, "", "Echo", nil, nil); err != nil {
		t.Fatalf("answering peer dropped: %v", err)
	}
	// A peer that never reads sends no pong: the server gives up on it.
	_ = ts.dialRaw(t)
	select {
	case err := <-ts.errs:
		if err == nil || !strings.Contains(err.Error(), "timeout") {
			t.Fatalf("Serve returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("silent peer still connected")
	}
}

func TestServeReturnsNilOnClientClose(t *testing.T) {
	ts := startServer(t, newTestHandler(), Options{})
	c := ts.dial(t)
	if err := c.Call(testCtx(t), "Test", 1, "", "Echo", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-ts.errs:
		if err != nil {
			t.Fatalf("Serve returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve still running")
	}
}

// A handler may end its own connection (a session that ends on logout):
// no deadlock, the peer sees the reason, Serve returns.
func TestCloseFromHandler(t *testing.T) {
	var ts *testServer
	h := HandlerFunc(func(ctx context.Context, req Request) (any, error) {
		ts.mu.Lock()
		c := ts.conns[0]
		ts.mu.Unlock()
		c.CloseWith(websocket.ClosePolicyViolation, "session ended")
		<-ctx.Done() // the handler's ctx ends with the connection
		return nil, ctx.Err()
	})
	ts = startServer(t, h, Options{})
	ws := ts.dialRaw(t)
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"request-id":1,"type":"HerdSession","version":1,"request":"Logout"}`)); err != nil {
		t.Fatal(err)
	}
	_, _, err := ws.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || ce.Text != "session ended" {
		t.Fatalf("got %v", err)
	}
	select {
	case err := <-ts.errs:
		if err != nil {
			t.Fatalf("Serve returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve still running")
	}
}
