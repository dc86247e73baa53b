package rpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/herd-project/herd"
)

// ClientOptions are a client connection's limits. Zero fields take their
// defaults.
type ClientOptions struct {
	// MaxFrameBytes caps an incoming reply (a full status can be large).
	// Default 64 MiB.
	MaxFrameBytes int64
	// WriteTimeout bounds the write of one request. Default 10 seconds.
	WriteTimeout time.Duration
}

// DefaultClientMaxFrameBytes is ClientOptions.MaxFrameBytes's default.
const DefaultClientMaxFrameBytes = 64 << 20

// Client calls a Juju RPC server over one websocket connection. It is safe
// for concurrent use: calls are matched to replies by request id.
//
// Reading is a role that one goroutine holds at a time (Client.reading).
// A call whose reply is awaited while nobody reads takes the role and
// reads the connection itself, handing the other calls' replies to them,
// until its own reply comes: a lone call then costs no goroutine
// hand-over, as a bare websocket round trip. When it has its reply it
// passes the role to another waiting call, if any. When no call waits,
// nobody reads until the connection has been idle for idleRead; then an
// idle reader takes the role (it answers the server's pings and notices a
// close) and gives it up after the next reply it hands over, when no call
// is left waiting. A call that reads and whose ctx ends interrupts its
// read (a read deadline in the past: frameReader resumes where it
// stopped) and passes the role on.
type Client struct {
	ws   *websocket.Conn
	opts ClientOptions

	writeMu sync.Mutex

	fr frameReader // used only by the goroutine holding the read role

	mu        sync.Mutex
	nextID    uint64
	pending   map[uint64]*waiter
	err       error   // set once the connection is down; every call fails with it
	reading   bool    // someone holds the read role
	leader    *waiter // the call holding it (nil: the idle reader, or nobody)
	leaderCtx context.Context
	// watched is the last ctx a reading call had, with a context.AfterFunc
	// that interrupts the reading call whose ctx it is: kept from call to
	// call (a program often passes one ctx to many), replaced when a call
	// with another ctx reads.
	watched     context.Context
	unwatch     func() bool
	interrupted bool // the leader's ctx ended: the read deadline is in the past
	idle        *time.Timer
	idleAfter   time.Duration // idleRead; tests change it

	done chan struct{} // closed when the connection is down
}

// idleRead is how long a connection waits with nobody reading before an
// idle reader takes the role.
const idleRead = 5 * time.Millisecond

// waiter is one call awaiting its reply. ch receives the reply, or a
// lead message (the read role is now the call's), then perhaps the error
// of a connection going down: capacity 2.
type waiter struct {
	id uint64
	ch chan reply
}

// waiters recycles them (a waiter goes back only with an empty ch that
// nobody can send to any more).
var waiters = sync.Pool{New: func() any { return &waiter{ch: make(chan reply, 2)} }}

type reply struct {
	f    frame
	err  error
	lead bool // not a reply: the read role passes to the waiter
}

// aLongTimeAgo is a read deadline that interrupts a read at once.
var aLongTimeAgo = time.Unix(1, 0)

// NewClient returns a Client over ws. It takes ws over. ws must not have
// read anything beyond its handshake, unless it came from Dial (which
// keeps what gorilla's handshake read ahead).
func NewClient(ws *websocket.Conn, opts ClientOptions) *Client {
	if opts.MaxFrameBytes <= 0 {
		opts.MaxFrameBytes = DefaultClientMaxFrameBytes
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	ws.SetReadLimit(opts.MaxFrameBytes)
	c := &Client{ws: ws, opts: opts, pending: make(map[uint64]*waiter), idleAfter: idleRead, done: make(chan struct{})}
	c.fr = frameReader{conn: ws.UnderlyingConn(), limit: opts.MaxFrameBytes, buf: make([]byte, frameReadBuf)}
	c.fr.reply = func(op int, data []byte) { _ = ws.WriteControl(op, data, time.Now().Add(time.Second)) }
	if h, ok := c.fr.conn.(*handshakeConn); ok {
		c.fr.conn = h.Conn
		if rest := h.leftover(); len(rest) > 0 {
			c.fr.buf = append(c.fr.buf[:0], rest...)
			c.fr.w = len(rest)
			c.fr.buf = c.fr.buf[:max(len(c.fr.buf), frameReadBuf)]
		}
	}
	c.idle = time.AfterFunc(idleRead, c.readIdle)
	return c
}

// closedError is what calls get once the connection is down: it wraps
// herd.ErrClosed and the cause.
func closedError(cause error) error {
	return &herd.Error{Kind: herd.ErrClosed, Msg: "connection is shut down", Err: cause}
}

// readOne reads the next reply frame: ok false for a frame no call can be
// told about (dropped). A read error is final unless the read was
// interrupted (see lead).
func (c *Client) readOne() (f frame, ferr error, ok bool, err error) {
	data, err := c.fr.next()
	if err != nil {
		return frame{}, nil, false, err
	}
	f, _, ok, ferr = decodeFrame(data)
	if !ok || f.isRequest() {
		// A reply no call can be told about, or a request to the
		// client, which Juju's apiserver never sends: dropped.
		return frame{}, nil, false, nil
	}
	return f, ferr, true, nil
}

// readFailed ends the connection after a read error.
func (c *Client) readFailed(err error) {
	if websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		err = nil
	}
	c.shutdown(err)
	_ = c.ws.Close()
}

// readIdle is the idle reader: it takes the read role if nobody holds it
// and reads until a reply it hands over leaves no call waiting.
func (c *Client) readIdle() {
	c.mu.Lock()
	if c.reading || c.err != nil {
		c.mu.Unlock()
		return
	}
	c.reading = true
	c.mu.Unlock()
	for {
		f, ferr, ok, err := c.readOne()
		if err != nil {
			c.readFailed(err)
			return
		}
		c.mu.Lock()
		if ok {
			c.deliver(f, ferr)
		}
		if c.err != nil || (ok && len(c.pending) == 0) {
			c.release()
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
	}
}

// deliver hands a reply to its call, if it still waits. c.mu held.
func (c *Client) deliver(f frame, ferr error) {
	if w := c.pending[f.RequestID]; w != nil {
		delete(c.pending, f.RequestID)
		w.ch <- reply{f: f, err: ferr}
	}
}

// release gives the read role up: to a waiting call if there is one,
// else to nobody until the idle reader. c.mu held, by the role's holder.
func (c *Client) release() {
	c.leader, c.leaderCtx = nil, nil
	if c.interrupted {
		c.interrupted = false
		_ = c.fr.conn.SetReadDeadline(time.Time{})
	}
	if c.err == nil {
		for _, w := range c.pending {
			c.leader = w
			w.ch <- reply{lead: true}
			return
		}
		c.idle.Reset(c.idleAfter)
	}
	c.reading = false
}

// lead reads as w's call, holding the read role, until w's reply comes,
// ctx ends (ok false) or the connection goes down.
func (c *Client) lead(ctx context.Context, w *waiter) (r reply, ok bool) {
	if ctx.Done() != nil {
		c.mu.Lock()
		if c.leader == w {
			c.leaderCtx = ctx
			if c.watched != ctx && c.err == nil {
				if c.unwatch != nil {
					c.unwatch()
				}
				c.watched, c.unwatch = ctx, context.AfterFunc(ctx, func() { c.interrupt(ctx) })
			}
		}
		c.mu.Unlock()
		// Had ctx ended before leaderCtx was set, interrupt found no one.
		if ctx.Err() != nil {
			c.forget(w)
			return reply{}, false
		}
	}
	for {
		f, ferr, fok, err := c.readOne()
		if err != nil {
			c.mu.Lock()
			var ne net.Error
			if c.interrupted && c.err == nil && errors.As(err, &ne) && ne.Timeout() {
				// Our ctx ended: the role goes on, the call returns.
				c.forgetLocked(w)
				c.mu.Unlock()
				return reply{}, false
			}
			c.mu.Unlock()
			c.readFailed(err)
			return <-w.ch, true // shutdown failed every pending call, w's too
		}
		if !fok {
			continue
		}
		c.mu.Lock()
		if f.RequestID == w.id && c.pending[w.id] == w {
			delete(c.pending, w.id)
			c.release()
			c.mu.Unlock()
			return reply{f: f, err: ferr}, true
		}
		c.deliver(f, ferr)
		c.mu.Unlock()
	}
}

// interrupt stops the read of the call reading with ctx, if one is.
func (c *Client) interrupt(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.leader != nil && c.leaderCtx == ctx && !c.interrupted {
		c.interrupted = true
		_ = c.fr.conn.SetReadDeadline(aLongTimeAgo)
	}
}

// shutdown fails every pending call and every later one.
func (c *Client) shutdown(cause error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = closedError(cause)
	c.idle.Stop()
	if c.unwatch != nil {
		c.unwatch()
		c.watched, c.unwatch = nil, nil
	}
	for id, w := range c.pending {
		w.ch <- reply{err: c.err}
		delete(c.pending, id)
	}
	close(c.done)
}

// Close closes the connection (close code 1000) and fails pending calls
// with an error wrapping herd.ErrClosed.
func (c *Client) Close() error {
	c.writeMu.Lock()
	err := c.ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.writeMu.Unlock()
	if err == nil {
		go c.readIdle() // unless someone reads: the server's close frame ends reading
		select {
		case <-c.done:
		case <-time.After(time.Second):
		}
	}
	cerr := c.ws.Close()
	c.shutdown(nil)
	if err != nil && !errors.Is(err, websocket.ErrCloseSent) && !errors.Is(err, net.ErrClosed) {
		return err
	}
	if errors.Is(cerr, net.ErrClosed) {
		return nil
	}
	return cerr
}

// Done is closed when the connection is down.
func (c *Client) Done() <-chan struct{} { return c.done }

// Call sends the request Facade(version).method on object id with params
// (nil sends {}) and decodes the reply's response into result (a pointer,
// or nil to discard it). A refused request returns an *Error, which wraps
// the matching herd sentinel. A cancelled ctx returns ctx.Err() at once (a
// late reply is dropped); a connection that goes down fails the call with
// an error wrapping herd.ErrClosed.
func (c *Client) Call(ctx context.Context, facade string, version int, id, method string, params, result any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if params == nil {
		params = empty
	}
	w := waiters.Get().(*waiter)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		waiters.Put(w)
		return err
	}
	c.nextID++
	w.id = c.nextID
	c.pending[w.id] = w
	c.mu.Unlock()

	b := getEncBuf()
	if err := b.request(w.id, facade, version, id, method, params); err != nil {
		putEncBuf(b)
		c.forget(w)
		return herd.Wrap(herd.ErrInvalid, err, fmt.Sprintf("cannot encode params of %s.%s", facade, method))
	}
	err := c.write(b.buf.Bytes())
	putEncBuf(b)
	if err != nil {
		c.forget(w)
		c.shutdown(err)
		_ = c.ws.Close()
		return closedError(err)
	}
	r, err := c.await(ctx, w)
	if err != nil {
		return err
	}
	return c.finish(r, facade, method, result)
}

// await waits for w's reply, reading it itself while nobody else reads.
func (c *Client) await(ctx context.Context, w *waiter) (reply, error) {
	c.mu.Lock()
	// Still pending (an idle reader may have handed the reply over
	// already) and nobody reads: read it ourselves.
	if c.pending[w.id] == w && !c.reading && c.err == nil {
		c.reading, c.leader = true, w
		c.mu.Unlock()
		return c.led(ctx, w)
	}
	c.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			c.forget(w)
			return reply{}, ctx.Err()
		case r := <-w.ch:
			if r.lead {
				return c.led(ctx, w)
			}
			// Nothing else can send on w.ch now: its reply or the
			// connection's end took it out of pending.
			waiters.Put(w)
			return r, nil
		}
	}
}

func (c *Client) led(ctx context.Context, w *waiter) (reply, error) {
	r, ok := c.lead(ctx, w)
	if !ok {
		return reply{}, ctx.Err()
	}
	if r.err == nil || r.f.RequestID != 0 {
		waiters.Put(w) // its reply came through lead; nothing was sent on w.ch
	}
	return r, nil
}

func (c *Client) finish(r reply, facade, method string, result any) error {
	switch {
	case r.err != nil && r.f.RequestID == 0:
		return r.err // the connection went down
	case r.f.Error != "":
		code := r.f.ErrorCode
		// Juju's client does this too (rpc/client.go): an rpcreflect
		// error sent without its code is "not implemented".
		if code == "" && strings.HasPrefix(r.f.Error, "no such request ") {
			code = CodeNotImplemented
		}
		return &Error{Message: r.f.Error, Code: code, Info: r.f.ErrorInfo}
	case r.err != nil:
		return fmt.Errorf("rpc: %s.%s: cannot read reply: %w", facade, method, r.err)
	case result == nil || len(r.f.Response) == 0:
		return nil
	}
	if err := unmarshal(r.f.Response, result); err != nil {
		return fmt.Errorf("rpc: %s.%s: cannot decode response: %w", facade, method, err)
	}
	return nil
}

// forget takes w out of pending when its call returns without a reply.
// Should the read role have passed to it meanwhile, it passes on. w is
// not recycled: a late send may still be on its way.
func (c *Client) forget(w *waiter) {
	c.mu.Lock()
	c.forgetLocked(w)
	c.mu.Unlock()
}

func (c *Client) forgetLocked(w *waiter) {
	if c.pending[w.id] == w {
		delete(c.pending, w.id)
	}
	if c.leader == w {
		c.release()
		return
	}
	for {
		select {
		case r := <-w.ch:
			if r.lead {
				c.release()
				return
			}
		default:
			return
		}
	}
}

func (c *Client) write(data []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout))
	return c.ws.WriteMessage(websocket.TextMessage, data)
}
