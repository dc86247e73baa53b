package rpc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"strconv"
	"sync"

	"github.com/gorilla/websocket"
)

// frameReader reads the server's websocket messages for Client, in place
// of gorilla's reader, for one reason: it can be interrupted and resumed.
// Gorilla's connection is unusable after any read error, a deadline
// included, so the goroutine blocked in its read cannot give reading up;
// this reader keeps a partly read frame in its own buffer and a timed-out
// read of the TLS connection (which survives it: crypto/tls keeps a
// partial record) loses nothing, so a call that reads its own reply can
// stop reading when its ctx ends and another goroutine can read on.
//
// Only one goroutine reads at a time (Client's read role). Writes (data
// frames, and the pongs and close frames it answers with) go through
// gorilla's Conn, which allows WriteControl concurrently with the rest.
type frameReader struct {
	conn  net.Conn                  // the TLS connection under ws
	reply func(op int, data []byte) // writes a control frame
	limit int64                     // a message's maximum size

	buf  []byte // bytes read from conn; buf[r:w] not consumed yet
	r, w int

	// The frame being read: header parsed (inFrame), remain payload bytes
	// left, and the message assembled so far (a data message may come in
	// several frames).
	inFrame bool
	fin     bool
	op      int
	remain  int64
	ctl     []byte // a control frame's payload
	msg     []byte // the data message's payload so far
	inMsg   bool   // a fragmented data message is under way
	msgOp   int
}

const frameReadBuf = 4096

// errProtocol is a frame this side does not accept from a server.
var errProtocol = errors.New("websocket: protocol error")

func (fr *frameReader) protocolError(msg string) error {
	fr.control(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseProtocolError, msg))
	return errors.Join(errProtocol, errors.New(msg))
}

func (fr *frameReader) control(op int, data []byte) {
	if fr.reply != nil {
		fr.reply(op, data)
	}
}

// fill reads more bytes from conn into buf. An error (a timeout
// included) leaves every byte read so far in place.
func (fr *frameReader) fill() error {
	if fr.r == fr.w {
		fr.r, fr.w = 0, 0
	}
	if fr.w == len(fr.buf) {
		if fr.r > 0 {
			fr.w = copy(fr.buf, fr.buf[fr.r:fr.w])
			fr.r = 0
		} else {
			fr.buf = append(fr.buf, make([]byte, len(fr.buf)+frameReadBuf)...)
			fr.buf = fr.buf[:cap(fr.buf)]
		}
	}
	n, err := fr.conn.Read(fr.buf[fr.w:])
	fr.w += n
	if n > 0 {
		return nil // an error comes again on the next read
	}
	return err
}

// next returns the next data message's payload (a fresh slice: the
// caller may keep it) and answers the control frames before it: a ping
// with a pong, a close frame with a close frame, returned as a
// *websocket.CloseError. Any error of conn (a timeout included) can be
// retried: what was read is kept.
func (fr *frameReader) next() ([]byte, error) {
	for {
		if !fr.inFrame {
			if err := fr.header(); err != nil {
				return nil, err
			}
			continue
		}
		// Payload.
		for fr.remain > 0 {
			if fr.r == fr.w {
				if err := fr.fill(); err != nil {
					return nil, err
				}
			}
			n := min(int64(fr.w-fr.r), fr.remain)
			if fr.op >= websocket.CloseMessage {
				fr.ctl = append(fr.ctl, fr.buf[fr.r:fr.r+int(n)]...)
			} else {
				fr.msg = append(fr.msg, fr.buf[fr.r:fr.r+int(n)]...)
			}
			fr.r += int(n)
			fr.remain -= n
		}
		fr.inFrame = false
		switch fr.op {
		case websocket.PingMessage:
			fr.control(websocket.PongMessage, fr.ctl)
		case websocket.PongMessage:
		case websocket.CloseMessage:
			return nil, fr.closed()
		default: // data
			if !fr.fin {
				continue
			}
			msg := fr.msg
			fr.msg, fr.inMsg = nil, false
			if msg == nil {
				msg = []byte{}
			}
			return msg, nil
		}
	}
}

// header reads and checks a frame header.
func (fr *frameReader) header() error {
	for fr.w-fr.r < 2 {
		if err := fr.fill(); err != nil {
			return err
		}
	}
	b0, b1 := fr.buf[fr.r], fr.buf[fr.r+1]
	need := 2
	switch b1 & 0x7f {
	case 126:
		need += 2
	case 127:
		need += 8
	}
	for fr.w-fr.r < need {
		if err := fr.fill(); err != nil {
			return err
		}
	}
	h := fr.buf[fr.r : fr.r+need]
	var n int64
	switch b1 & 0x7f {
	case 126:
		n = int64(binary.BigEndian.Uint16(h[2:]))
	case 127:
		u := binary.BigEndian.Uint64(h[2:])
		if u > 1<<62 {
			return fr.protocolError("invalid payload length")
		}
		n = int64(u)
	default:
		n = int64(b1 & 0x7f)
	}
	fr.r += need
	fin, op := b0&0x80 != 0, int(b0&0x0f)
	switch {
	case b0&0x70 != 0:
		return fr.protocolError("unexpected reserved bits")
	case b1&0x80 != 0:
		return fr.protocolError("incorrect mask flag")
	}
	switch op {
	case websocket.CloseMessage, websocket.PingMessage, websocket.PongMessage:
		if n > 125 || !fin {
			return fr.protocolError("invalid control frame")
		}
		fr.ctl = fr.ctl[:0]
	case websocket.TextMessage, websocket.BinaryMessage:
		if fr.inMsg {
			return fr.protocolError("data before FIN")
		}
		fr.inMsg, fr.msgOp = true, op
	case 0: // continuation
		if !fr.inMsg {
			return fr.protocolError("continuation after FIN")
		}
	default:
		return fr.protocolError("unknown opcode " + strconv.Itoa(op))
	}
	if op < websocket.CloseMessage && int64(len(fr.msg))+n > fr.limit {
		fr.control(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseMessageTooBig, ""))
		return websocket.ErrReadLimit
	}
	fr.inFrame, fr.fin, fr.op, fr.remain = true, fin, op, n
	return nil
}

// closed answers the peer's close frame as gorilla's default close
// handler does and returns it as gorilla's reader would.
func (fr *frameReader) closed() error {
	code, text := websocket.CloseNoStatusReceived, ""
	if len(fr.ctl) >= 2 {
		code = int(binary.BigEndian.Uint16(fr.ctl))
		text = string(fr.ctl[2:])
	}
	reply := []byte{}
	if code != websocket.CloseNoStatusReceived {
		reply = websocket.FormatCloseMessage(code, "")
	}
	fr.control(websocket.CloseMessage, reply)
	return &websocket.CloseError{Code: code, Text: text}
}

// handshakeConn is the TLS connection Dial gives gorilla's Dialer: it
// keeps what gorilla read during the handshake, so that frames the
// server sent right behind its HTTP response, which gorilla's buffer
// holds, are not lost to frameReader.
type handshakeConn struct {
	net.Conn
	mu   sync.Mutex
	rec  []byte
	done bool
}

func (h *handshakeConn) Read(p []byte) (int, error) {
	n, err := h.Conn.Read(p)
	h.mu.Lock()
	if !h.done {
		h.rec = append(h.rec, p[:n]...)
	}
	h.mu.Unlock()
	return n, err
}

// leftover stops recording and returns the bytes read beyond the HTTP
// response (the websocket's first bytes).
func (h *handshakeConn) leftover() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.done = true
	rec := h.rec
	h.rec = nil
	if i := bytes.Index(rec, []byte("\r\n\r\n")); i >= 0 {
		return rec[i+4:]
	}
	return nil
}
