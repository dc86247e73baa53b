package rpc

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// serverFrame is a frame as a server writes it (unmasked).
func serverFrame(fin bool, op int, payload []byte) []byte {
	b0 := byte(op)
	if fin {
		b0 |= 0x80
	}
	var h []byte
	switch n := len(payload); {
	case n < 126:
		h = []byte{b0, byte(n)}
	case n < 1<<16:
		h = []byte{b0, 126, 0, 0}
		binary.BigEndian.PutUint16(h[2:], uint16(n))
	default:
		h = []byte{b0, 127, 0, 0, 0, 0, 0, 0, 0, 0}
		binary.BigEndian.PutUint64(h[2:], uint64(n))
	}
	return append(h, payload...)
}

// chunkConn hands out its bytes a few at a time, with a timeout error
// before every chunk, as a read interrupted again and again would see.
type chunkConn struct {
	net.Conn
	data    []byte
	rnd     *rand.Rand
	timeout bool
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if c.timeout = !c.timeout; c.timeout {
		return 0, os.ErrDeadlineExceeded
	}
	if len(c.data) == 0 {
		return 0, net.ErrClosed
	}
	n := min(len(p), len(c.data), 1+c.rnd.IntN(7))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// The reader survives a timeout at any byte: every message comes out
// whole, control frames in between are answered.
func TestFrameReaderResumes(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789"), 7000) // 8-byte length
	mid := bytes.Repeat([]byte("x"), 300)           // 2-byte length
	var stream []byte
	stream = append(stream, serverFrame(false, websocket.TextMessage, []byte("hel"))...)
	stream = append(stream, serverFrame(true, websocket.PingMessage, []byte("p1"))...)
	stream = append(stream, serverFrame(true, 0, []byte("lo"))...)
	stream = append(stream, serverFrame(true, websocket.BinaryMessage, mid)...)
	stream = append(stream, serverFrame(true, websocket.PongMessage, nil)...)
	stream = append(stream, serverFrame(true, websocket.TextMessage, big)...)
	stream = append(stream, serverFrame(true, websocket.TextMessage, nil)...)
	stream = append(stream, serverFrame(true, websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"))...)
	for seed := range uint64(5) {
		var replies [][]byte
		fr := frameReader{
			conn:  &chunkConn{data: stream, rnd: rand.New(rand.NewPCG(seed, 1))},
			limit: 1 << 20, buf: make([]byte, 16),
			reply: func(op int, data []byte) { replies = append(replies, append([]byte{byte(op)}, data...)) },
		}
		var msgs [][]byte
		var end error
		for end == nil {
			msg, err := fr.next()
			switch {
			case errors.Is(err, os.ErrDeadlineExceeded):
			case err != nil:
				end = err
			default:
				msgs = append(msgs, msg)
			}
		}
		want := [][]byte{[]byte("hello"), mid, big, {}}
		if len(msgs) != len(want) {
			t.Fatalf("seed %d: %d messages, want %d", seed, len(msgs), len(want))
		}
		for i := range want {
			if !bytes.Equal(msgs[i], want[i]) {
				t.Errorf("seed %d: message %d: %d bytes %.20q, want %d bytes", seed, i, len(msgs[i]), msgs[i], len(want[i]))
			}
		}
		var ce *websocket.CloseError
		if !errors.As(end, &ce) || ce.Code != websocket.CloseNormalClosure || ce.Text != "bye" {
			t.Errorf("seed %d: ended with %v", seed, end)
		}
		wantReplies := [][]byte{append([]byte{websocket.PongMessage}, "p1"...), append([]byte{websocket.CloseMessage}, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")...)}
		if len(replies) != 2 || !bytes.Equal(replies[0], wantReplies[0]) || !bytes.Equal(replies[1], wantReplies[1]) {
			t.Errorf("seed %d: replies %q", seed, replies)
		}
	}
}

func TestFrameReaderRefuses(t *testing.T) {
	masked := serverFrame(true, websocket.TextMessage, []byte("abcd"))
	masked[1] |= 0x80
	for name, c := range map[string]struct {
		stream []byte
		want   error
	}{
		"too big":       {serverFrame(true, websocket.TextMessage, make([]byte, 101)), websocket.ErrReadLimit},
		"too big, sum":  {append(serverFrame(false, websocket.TextMessage, make([]byte, 60)), serverFrame(true, 0, make([]byte, 60))...), websocket.ErrReadLimit},
		"masked":        {masked, errProtocol},
		"reserved bits": {append([]byte{0xc1, 0}, nil...), errProtocol},
		"long ping":     {serverFrame(true, websocket.PingMessage, make([]byte, 126)), errProtocol},
		"continuation":  {serverFrame(true, 0, []byte("x")), errProtocol},
		"opcode 3":      {serverFrame(true, 3, nil), errProtocol},
		"data in data":  {append(serverFrame(false, websocket.TextMessage, nil), serverFrame(true, websocket.TextMessage, nil)...), errProtocol},
	} {
		fr := frameReader{conn: &chunkConn{data: c.stream, rnd: rand.New(rand.NewPCG(1, 1))}, limit: 100, buf: make([]byte, 16)}
		var err error
		for {
			if _, err = fr.next(); !errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
		}
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

// What gorilla's handshake read beyond the HTTP response reaches the
// Client's reader.
func TestHandshakeLeftover(t *testing.T) {
	frame := serverFrame(true, websocket.TextMessage, []byte(`{"request-id":1,"response":{}}`))
	data := append([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"), frame...)
	h := &handshakeConn{Conn: &chunkConn{data: data, rnd: rand.New(rand.NewPCG(1, 2))}}
	p := make([]byte, 4096)
	for len(h.rec) < len(data) {
		_, _ = h.Read(p)
	}
	if got := h.leftover(); !bytes.Equal(got, frame) {
		t.Fatalf("leftover %q, want %q", got, frame)
	}
	if _, _ = h.Read(p); h.rec != nil {
		t.Fatal("still recording after leftover")
	}
}

// noIdleReader makes c's idle reader wait an hour: a call whose reply
// is awaited while nobody reads then reads it itself, every time.
func noIdleReader(t *testing.T, c *Client) {
	t.Helper()
	c.mu.Lock()
	c.idleAfter = time.Hour
	c.mu.Unlock()
	// The idle reader may hold the role now (or be about to take it):
	// a call makes it let go.
	for range 100 {
		if err := c.Call(testCtx(t), "Test", 1, "", "Echo", nil, nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
		c.mu.Lock()
		reading := c.reading
		c.mu.Unlock()
		if !reading {
			return
		}
	}
	t.Fatal("the idle reader does not let go")
}

// A call that reads its own reply and whose ctx ends returns at once and
// passes reading to a call still waiting, which gets its reply.
func TestReadingCallCancelled(t *testing.T) {
	h := newTestHandler()
	ts := startServer(t, h, Options{})
	c := ts.dial(t)
	noIdleReader(t, c)
	ctx := testCtx(t)
	actx, cancel := context.WithCancel(ctx)
	a, b := make(chan error, 1), make(chan error, 1)
	go func() { a <- c.Call(actx, "Test", 1, "", "Block", nil, nil) }()
	<-h.started
	// (The server may see the request before the call is back from
	// writing it.)
	for start := time.Now(); ; time.Sleep(time.Millisecond) {
		c.mu.Lock()
		leading, reading := c.leader != nil, c.reading
		c.mu.Unlock()
		if leading {
			break
		}
		if reading || time.Since(start) > 5*time.Second {
			t.Fatalf("the lone call does not read its reply (someone else reads: %v)", reading)
		}
	}
	go func() { b <- c.Call(ctx, "Test", 1, "", "Block", nil, nil) }()
	<-h.started
	cancel()
	select {
	case err := <-a:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled call: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancelled call still reading")
	}
	h.release <- struct{}{}
	h.release <- struct{}{}
	if err := <-b; err != nil {
		t.Fatalf("waiting call: %v", err)
	}
	for range 3 {
		if err := c.Call(ctx, "Test", 1, "", "Echo", map[string]int{"a": 1}, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// Many calls at once, some cancelled at random: every other call gets
// its own reply, and the connection serves on.
func TestReadingCallsChurn(t *testing.T) {
	h := newTestHandler()
	ts := startServer(t, h, Options{MaxInFlight: 64})
	c := ts.dial(t)
	noIdleReader(t, c)
	ctx := testCtx(t)
	errs := make(chan error, 32)
	for g := range 32 {
		go func() {
			for i := range 50 {
				cctx, cancel := context.WithCancel(ctx)
				if (g+i)%7 == 0 {
					time.AfterFunc(time.Duration(i%5)*50*time.Microsecond, cancel)
				}
				in := map[string]int{"g": g, "i": i}
				var out map[string]int
				err := c.Call(cctx, "Test", 1, "", "Echo", in, &out)
				cancel()
				switch {
				case errors.Is(err, context.Canceled):
				case err != nil:
					errs <- err
					return
				case out["g"] != g || out["i"] != i:
					errs <- errors.New("a reply went to the wrong call")
					return
				}
			}
			errs <- nil
		}()
	}
	for range 32 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Call(ctx, "Test", 1, "", "Echo", nil, nil); err != nil {
		t.Fatal(err)
	}
}

// An idle client notices that the server closed the connection.
func TestIdleClientSeesClose(t *testing.T) {
	ts := startServer(t, newTestHandler(), Options{})
	c := ts.dial(t)
	if err := c.Call(testCtx(t), "Test", 1, "", "Echo", nil, nil); err != nil {
		t.Fatal(err)
	}
	ts.mu.Lock()
	conn := ts.conns[0]
	ts.mu.Unlock()
	conn.Close()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the client never saw the close")
	}
	if err := c.Call(testCtx(t), "Test", 1, "", "Echo", nil, nil); err == nil {
		t.Fatal("call on a closed connection succeeded")
	}
}
