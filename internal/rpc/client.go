package rpc

import (
	"context"
	"encoding/json"
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
type Client struct {
	ws   *websocket.Conn
	opts ClientOptions

	writeMu sync.Mutex

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan reply
	err     error // set once the connection is down; every call fails with it

	done chan struct{} // closed when the read loop ends
}

// replyChans recycles the channels calls wait on (capacity 1, empty).
var replyChans = sync.Pool{New: func() any { return make(chan reply, 1) }}

type reply struct {
	f   frame
	err error
}

// NewClient returns a Client over ws and starts reading replies. It takes
// ws over.
func NewClient(ws *websocket.Conn, opts ClientOptions) *Client {
	if opts.MaxFrameBytes <= 0 {
		opts.MaxFrameBytes = DefaultClientMaxFrameBytes
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	ws.SetReadLimit(opts.MaxFrameBytes)
	c := &Client{ws: ws, opts: opts, pending: make(map[uint64]chan reply), done: make(chan struct{})}
	go c.readLoop()
	return c
}

// closedError is what calls get once the connection is down: it wraps
// herd.ErrClosed and the cause.
func closedError(cause error) error {
	return &herd.Error{Kind: herd.ErrClosed, Msg: "connection is shut down", Err: cause}
}

func (c *Client) readLoop() {
	defer close(c.done)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			if websocket.IsCloseError(err, websocket.CloseNormalClosure) {
				err = nil
			}
			c.shutdown(err)
			return
		}
		f, _, ok, err := decodeFrame(data)
		if !ok || f.isRequest() {
			// A reply no call can be told about, or a request to the
			// client, which Juju's apiserver never sends: dropped.
			continue
		}
		c.mu.Lock()
		ch := c.pending[f.RequestID]
		delete(c.pending, f.RequestID)
		c.mu.Unlock()
		if ch != nil {
			ch <- reply{f: f, err: err}
		}
	}
}

// shutdown fails every pending call and every later one.
func (c *Client) shutdown(cause error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = closedError(cause)
	}
	for id, ch := range c.pending {
		ch <- reply{err: c.err}
		delete(c.pending, id)
	}
}

// Close closes the connection (close code 1000) and fails pending calls
// with an error wrapping herd.ErrClosed.
func (c *Client) Close() error {
	c.writeMu.Lock()
	err := c.ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.writeMu.Unlock()
	if err == nil {
		select { // the server's close frame ends the read loop
		case <-c.done:
		case <-time.After(time.Second):
		}
	}
	cerr := c.ws.Close()
	<-c.done
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
	ch := replyChans.Get().(chan reply)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return err
	}
	c.nextID++
	reqID := c.nextID
	c.pending[reqID] = ch
	c.mu.Unlock()

	data, err := json.Marshal(outRequest{RequestID: reqID, Type: facade, Version: version, ID: id, Request: method, Params: params})
	if err != nil {
		c.forget(reqID)
		return herd.Wrap(herd.ErrInvalid, err, fmt.Sprintf("cannot encode params of %s.%s", facade, method))
	}
	if err := c.write(data); err != nil {
		c.forget(reqID)
		c.shutdown(err)
		_ = c.ws.Close()
		return closedError(err)
	}
	select {
	case <-ctx.Done():
		c.forget(reqID)
		return ctx.Err()
	case r := <-ch:
		// Nothing else holds ch now: the read loop or shutdown took it
		// out of pending before sending.
		replyChans.Put(ch)
		return c.finish(r, facade, method, result)
	}
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
	if err := json.Unmarshal(r.f.Response, result); err != nil {
		return fmt.Errorf("rpc: %s.%s: cannot decode response: %w", facade, method, err)
	}
	return nil
}

func (c *Client) forget(id uint64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

func (c *Client) write(data []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout))
	return c.ws.WriteMessage(websocket.TextMessage, data)
}
