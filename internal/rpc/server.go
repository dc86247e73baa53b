package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Handler serves the requests of one connection. Call runs concurrently
// with the connection's other requests (up to Options.MaxInFlight), on the
// goroutine that read the request, while a fresh goroutine reads on (but
// see InlineHandler). Its result is marshalled as the reply's "response"
// (nil reads as {}); its error becomes the reply's error through ErrorFor.
// ctx ends at the request timeout or when the connection closes.
type Handler interface {
	Call(ctx context.Context, req Request) (result any, err error)
}

// An InlineHandler is a Handler that names the requests it serves
// quickly and without ever blocking (a read of in-memory state, say).
// The connection serves those on the goroutine that read them and reads
// the next frame only afterwards: no goroutine is started and none is
// woken for them. Every other request is served as a Handler's: reading
// passes to a fresh goroutine at once. Inline must itself be quick; it is
// called on every request.
type InlineHandler interface {
	Handler
	Inline(req Request) bool
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, req Request) (any, error)

// Call calls f.
func (f HandlerFunc) Call(ctx context.Context, req Request) (any, error) { return f(ctx, req) }

// Options are a server connection's limits. A zero field takes its
// default; a negative duration disables that timer.
type Options struct {
	// MaxFrameBytes caps an incoming frame. A larger one closes the
	// connection with close code 1009 (message too big) and a reason
	// naming the cap. Default 1 MiB.
	MaxFrameBytes int64
	// MaxInFlight caps the requests served at once on the connection;
	// when reached, the next frame is not read until one finishes.
	// Default 16.
	MaxInFlight int
	// RequestTimeout bounds one request: its ctx ends then and the client
	// gets CodeDeadlineExceeded at once, whether or not the handler has
	// returned (a late result is dropped). Default 1 minute.
	RequestTimeout time.Duration
	// IdleTimeout closes a connection that sent no frame for this long
	// while no request of it was being served. Juju's clients call
	// Pinger.Ping to stay connected; Juju closes after 3 minutes without
	// one (apiserver/root.go maxClientPingInterval). Default 3 minutes.
	IdleTimeout time.Duration
	// PingPeriod is how often the server sends a websocket ping, and
	// PongWait how long it waits for any frame (a pong included) before
	// it deems the peer gone. Defaults 1 minute and 90 seconds, as Juju's
	// apiserver/websocket (PingPeriod, PongDelay).
	PingPeriod, PongWait time.Duration
	// WriteTimeout bounds the write of one frame. Default 10 seconds
	// (Juju's WriteWait).
	WriteTimeout time.Duration
	// CloseTimeout is how long Serve, once the connection is closing, waits
	// for running handlers (their ctx is cancelled) and for the peer's
	// close frame. Default 5 seconds.
	CloseTimeout time.Duration
	// Logger receives handler panics with their stack. Nil: not logged.
	Logger *slog.Logger
}

// Defaults.
const (
	DefaultMaxFrameBytes  = 1 << 20
	DefaultMaxInFlight    = 16
	DefaultRequestTimeout = time.Minute
	DefaultIdleTimeout    = 3 * time.Minute
	DefaultPingPeriod     = time.Minute
	DefaultPongWait       = 90 * time.Second
	DefaultWriteTimeout   = 10 * time.Second
	DefaultCloseTimeout   = 5 * time.Second
)

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if o.MaxFrameBytes <= 0 {
		o.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	def(&o.RequestTimeout, DefaultRequestTimeout)
	def(&o.IdleTimeout, DefaultIdleTimeout)
	def(&o.PingPeriod, DefaultPingPeriod)
	def(&o.PongWait, DefaultPongWait)
	def(&o.WriteTimeout, DefaultWriteTimeout)
	def(&o.CloseTimeout, DefaultCloseTimeout)
	return o
}

// Conn serves Juju RPC requests on one server-side websocket connection.
// Make it with NewConn, run Serve, and end it from anywhere with Close or
// CloseWith (e.g. when the connection's session ends).
type Conn struct {
	ws   *websocket.Conn
	opts Options

	ctx    context.Context // cancelled when the connection closes
	cancel context.CancelFunc

	writeMu  sync.Mutex
	sem      chan struct{} // one token per request being served
	running  sync.WaitGroup
	inFlight atomic.Int32 // requests being served; an idle timeout waits for none
	lastIn   atomic.Int64 // unix nanos of the last frame read

	closeOnce sync.Once
	closing   chan struct{} // closed by the first CloseWith
	cause     error         // why it closed; set before closing is closed
	done      chan struct{} // closed when Serve returns
}

// NewConn returns a Conn over ws. It takes ws over: nothing else may read
// from or write data frames to it.
func NewConn(ws *websocket.Conn, opts Options) *Conn {
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Conn{
		ws: ws, opts: opts, ctx: ctx, cancel: cancel,
		sem:     make(chan struct{}, opts.MaxInFlight),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
}

// Done is closed when Serve has returned.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Close closes the connection normally (close code 1000).
func (c *Conn) Close() error { return c.CloseWith(websocket.CloseNormalClosure, "") }

// CloseWith closes the connection, sending the websocket close code and
// reason (at most 123 bytes) to the peer. Running handlers see their ctx
// cancelled. It does not wait; Serve returns once the connection is down.
// Only the first call has an effect.
func (c *Conn) CloseWith(code int, reason string) error {
	c.closeWith(code, reason, nil)
	return nil
}

func (c *Conn) closeWith(code int, reason string, cause error) {
	c.closeOnce.Do(func() {
		c.cause = cause
		close(c.closing)
		c.cancel()
		if len(reason) > 123 {
			reason = reason[:123]
		}
		deadline := time.Now().Add(c.opts.CloseTimeout)
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), deadline)
		// Let the read loop see the peer's close frame, then give up.
		_ = c.ws.SetReadDeadline(deadline)
		time.AfterFunc(c.opts.CloseTimeout, func() { _ = c.ws.Close() })
	})
}

// Serve reads and serves requests until the connection closes. It returns
// nil when the peer closed the connection or Close was called, and
// otherwise why it closed (a read error, an oversized or unreadable frame,
// the idle timeout). It waits up to Options.CloseTimeout for running
// handlers, then closes the websocket. ctx ending closes the connection.
func (c *Conn) Serve(ctx context.Context, h Handler) error {
	defer close(c.done)
	stop := context.AfterFunc(ctx, func() { c.closeWith(websocket.CloseGoingAway, "server shutting down", nil) })
	defer stop()
	c.lastIn.Store(time.Now().UnixNano())
	c.ws.SetPongHandler(func(string) error { return c.ws.SetReadDeadline(c.readDeadline()) })
	go c.keepAlive()

	// Requests see ctx's values, and end when it ends or the connection
	// closes.
	base, cancelBase := context.WithCancel(ctx)
	defer cancelBase()
	stopBase := context.AfterFunc(c.ctx, cancelBase)
	defer stopBase()

	// Reading passes from goroutine to goroutine: the one that read a
	// request serves it, and another reads on (see readLoop). The last
	// reader reports here why reading stopped.
	readDone := make(chan error, 1)
	c.readLoop(base, h, readDone)
	readErr := <-readDone
	c.closeWith(websocket.CloseNormalClosure, "", readErr)

	waited := make(chan struct{})
	go func() { c.running.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(c.opts.CloseTimeout):
		c.log("rpc: handlers still running after close", "timeout", c.opts.CloseTimeout)
	}
	_ = c.ws.Close()
	return c.cause
}

func (c *Conn) readDeadline() time.Time {
	if c.opts.PongWait < 0 {
		return time.Time{}
	}
	return time.Now().Add(c.opts.PongWait)
}

// readLoop reads frames until one is a request, then serves it on this
// goroutine while a fresh one takes over reading: the request is served
// by the goroutine the network woke, with no hand-over, and a slow handler
// holds up none of the frames behind it. A request an InlineHandler calls
// quick is served here before reading on. When reading stops the reader
// sends why on done: nil when the connection was closed on purpose (by
// either side), the reason otherwise.
func (c *Conn) readLoop(base context.Context, h Handler, done chan<- error) {
	inline, _ := h.(InlineHandler)
	// buf holds the frames this goroutine reads: a request served inline
	// is done with it before the next frame is read; one handed to this
	// goroutine to serve keeps it (the next reader has its own).
	var buf []byte
	for {
		select {
		case c.sem <- struct{}{}:
		case <-c.closing:
			done <- nil
			return
		}
		// While the semaphore held us, no pong could be read: the
		// deadline starts now.
		select {
		case <-c.closing:
		default:
			_ = c.ws.SetReadDeadline(c.readDeadline())
		}
		req, serve, stop, err := c.readRequest(&buf)
		if stop {
			<-c.sem
			done <- err
			return
		}
		if !serve {
			<-c.sem
			continue
		}
		c.running.Add(1)
		c.inFlight.Add(1)
		if inline != nil && inline.Inline(req) {
			// Quick and never blocking: served here, and this goroutine
			// reads on afterwards (serveRequest gives back the token).
			c.serveRequest(base, h, req)
			if cap(buf) > 64<<10 {
				buf = nil // an idle connection keeps no large buffer
			}
			continue
		}
		// The goroutine that read the request serves it, and a fresh one
		// reads on at once: the request costs no hand-over to another
		// goroutine, and a slow one holds up nothing behind it.
		go c.readLoop(base, h, done)
		c.serveRequest(base, h, req)
		return
	}
}

// readRequest reads one frame. It returns serve false for a frame that
// needs no serving (a reply, or a malformed frame answered with an error),
// and stop when the connection is ending, with why (nil: on purpose).
func (c *Conn) readRequest(buf *[]byte) (req Request, serve, stop bool, err error) {
	_, r, err := c.ws.NextReader()
	if err != nil {
		return Request{}, false, true, c.readFailed(err)
	}
	max := c.opts.MaxFrameBytes
	data, err := readAtMost(r, (*buf)[:0], max+1)
	*buf = data
	if err != nil {
		return Request{}, false, true, c.readFailed(err)
	}
	c.lastIn.Store(time.Now().UnixNano())
	if int64(len(data)) > max {
		err := fmt.Errorf("rpc: frame larger than %d bytes", max)
		c.closeWith(websocket.CloseMessageTooBig, fmt.Sprintf("frame larger than %d bytes", max), err)
		return Request{}, false, true, err
	}
	f, legacy, ok, err := decodeFrame(data)
	switch {
	case err != nil && !ok:
		err = fmt.Errorf("rpc: %w", err)
		c.closeWith(websocket.CloseUnsupportedData, "malformed frame: not a JSON object of Juju's RPC", err)
		return Request{}, false, true, err
	case err != nil:
		c.reply(f.request(legacy), nil, &Error{Message: "malformed request: " + jsonDetail(err), Code: CodeBadRequest})
		return Request{}, false, false, nil
	case !f.isRequest():
		// A reply to a request this side never sent: Juju ignores it.
		return Request{}, false, false, nil
	}
	return f.request(legacy), true, false, nil
}

// readAtMost reads r to its end into buf, or its first n bytes.
func readAtMost(r io.Reader, buf []byte, n int64) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, make([]byte, max(512, cap(buf)))...)[:len(buf)]
		}
		room := buf[len(buf):cap(buf)]
		if left := n - int64(len(buf)); int64(len(room)) > left {
			room = room[:left]
		}
		k, err := r.Read(room)
		buf = buf[:len(buf)+k]
		switch {
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return buf, err
		case int64(len(buf)) >= n:
			return buf, nil
		}
	}
}

func jsonDetail(err error) string {
	var te interface{ Unwrap() []error }
	if errors.As(err, &te) {
		if errs := te.Unwrap(); len(errs) == 2 {
			return errs[1].Error()
		}
	}
	return err.Error()
}

// readFailed turns a read error into Serve's result: nil for a close the
// peer or this side asked for.
func (c *Conn) readFailed(err error) error {
	select {
	case <-c.closing:
		return nil
	default:
	}
	if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived) {
		return nil
	}
	return fmt.Errorf("rpc: reading frame: %w", err)
}

// keepAlive pings the peer and closes the connection when it is idle.
func (c *Conn) keepAlive() {
	var ping, check <-chan time.Time
	if p := c.opts.PingPeriod; p > 0 {
		t := time.NewTicker(p)
		defer t.Stop()
		ping = t.C
	}
	idle := c.opts.IdleTimeout
	if idle > 0 {
		t := time.NewTicker(max(idle/8, time.Millisecond))
		defer t.Stop()
		check = t.C
	}
	for {
		select {
		case <-c.closing:
			return
		case now := <-check:
			if now.Sub(time.Unix(0, c.lastIn.Load())) >= idle && c.inFlight.Load() == 0 {
				err := fmt.Errorf("rpc: no request for %s", idle)
				c.closeWith(websocket.CloseNormalClosure, fmt.Sprintf("idle for %s", idle), err)
				return
			}
		case now := <-ping:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, now.Add(c.opts.WriteTimeout)); err != nil {
				c.closeWith(websocket.CloseGoingAway, "", fmt.Errorf("rpc: ping: %w", err))
				return
			}
		}
	}
}

func (c *Conn) serveRequest(base context.Context, h Handler, req Request) {
	defer c.running.Done()
	defer func() {
		// Counted as activity: the idle clock starts when the last request ends.
		c.lastIn.Store(time.Now().UnixNano())
		c.inFlight.Add(-1)
		<-c.sem
	}()
	ctx := base
	var replied atomic.Bool
	if c.opts.RequestTimeout > 0 {
		// One timer answers the timeout at once and ends ctx (as
		// context.WithTimeout would, with DeadlineExceeded): cheaper than
		// a timeout context plus a context.AfterFunc on it.
		rc := &reqCtx{deadline: time.Now().Add(c.opts.RequestTimeout)}
		rc.Context, rc.cancel = context.WithCancelCause(base)
		t := time.AfterFunc(c.opts.RequestTimeout, func() {
			rc.cancel(context.DeadlineExceeded)
			// Answer a timeout at once; a closing connection needs no answer.
			if base.Err() == nil && replied.CompareAndSwap(false, true) {
				c.reply(req, nil, &Error{Message: fmt.Sprintf("request timed out after %s", c.opts.RequestTimeout), Code: CodeDeadlineExceeded})
			}
		})
		defer func() {
			t.Stop()
			rc.cancel(context.Canceled)
		}()
		ctx = rc
	}
	result, err := c.call(ctx, h, req)
	// A closing connection needs no answer.
	if base.Err() == nil && replied.CompareAndSwap(false, true) {
		c.reply(req, result, ErrorFor(err))
	}
}

// call runs the handler; a panic becomes an error reply with the panic's
// text and no code, as Juju's rpc.Conn.runRequest answers one.
func (c *Conn) call(ctx context.Context, h Handler, req Request) (result any, err error) {
	defer func() {
		if p := recover(); p != nil {
			c.log("rpc: handler panic", "facade", req.Facade, "version", req.Version, "method", req.Method, "panic", p, "stack", string(debug.Stack()))
			result, err = nil, &Error{Message: fmt.Sprint(p)}
		}
	}()
	return h.Call(ctx, req)
}

// reply encodes and writes a reply. A result that cannot be encoded is
// answered with an error instead.
func (c *Conn) reply(req Request, result any, e *Error) {
	b := getEncBuf()
	defer putEncBuf(b)
	if err := encodeSafely(b, req, result, e); err != nil {
		b.buf.Reset()
		if err := encodeSafely(b, req, nil, &Error{Message: "cannot encode result: " + err.Error()}); err != nil {
			c.log("rpc: cannot encode reply", "err", err)
			return
		}
	}
	c.write(b.buf.Bytes())
}

func encodeSafely(b *encBuf, req Request, result any, e *Error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return b.reply(req, result, e)
}

func (c *Conn) write(data []byte) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout))
	if err := c.ws.WriteMessage(websocket.TextMessage, data); err != nil {
		// A websocket whose write failed is unusable.
		select {
		case <-c.closing:
		default:
			go c.closeWith(websocket.CloseGoingAway, "", fmt.Errorf("rpc: writing reply: %w", err))
		}
	}
}

func (c *Conn) log(msg string, args ...any) {
	if c.opts.Logger != nil {
		c.opts.Logger.Error(msg, args...)
	}
}

// reqCtx is a request's context: it ends when its connection's base
// context does, or at the request timeout, when it reports
// context.DeadlineExceeded as a context.WithTimeout would. Children of it
// attach to its cancelCtx directly (Value and Done are that one's).
type reqCtx struct {
	context.Context // a context.WithCancelCause of the base
	cancel          context.CancelCauseFunc
	deadline        time.Time
}

func (r *reqCtx) Deadline() (time.Time, bool) { return r.deadline, true }

func (r *reqCtx) Err() error {
	err := r.Context.Err()
	if err != nil && context.Cause(r.Context) == context.DeadlineExceeded {
		return context.DeadlineExceeded
	}
	return err
}
