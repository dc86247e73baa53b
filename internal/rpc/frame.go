package rpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"sync"
)

// Request is one decoded request frame, what a Handler is given.
type Request struct {
	ID       uint64          // "request-id": the reply carries it back
	Facade   string          // "type"
	Version  int             // "version"
	ObjectID string          // "id": the object acted on (an AllWatcher's id), else ""
	Method   string          // "request"
	Params   json.RawMessage // "params", undecoded; nil when absent

	legacy bool // the capitalised form ("RequestId", ...): reply in kind
}

// Decode unmarshals the request's params into v. Absent or null params
// leave v as it is: Juju reads them as an empty object. A decoding error
// carries no code, as in Juju (rpc/server.go answers it with the
// transformed error, which has none).
func (r Request) Decode(v any) error {
	if len(r.Params) == 0 || string(r.Params) == "null" {
		return nil
	}
	return unmarshal(r.Params, v)
}

// FastMarshaler is a value that writes its JSON itself: AppendJSON appends
// exactly what json.Marshal would write to b, or reports false (and then
// encoding/json writes it). The hot params and results of
// internal/params implement it.
type FastMarshaler interface {
	AppendJSON(b []byte) ([]byte, bool)
}

// FastUnmarshaler is a value that decodes its usual JSON itself:
// UnmarshalJSONFast decodes data as json.Unmarshal would (on a zero
// value), or reports false and leaves the value as it was (and then
// encoding/json decodes it).
type FastUnmarshaler interface {
	UnmarshalJSONFast(data []byte) bool
}

// unmarshal is json.Unmarshal, by v's own decoder when it has one that
// takes data.
func unmarshal(data []byte, v any) error {
	if u, ok := v.(FastUnmarshaler); ok && u.UnmarshalJSONFast(data) {
		return nil
	}
	return json.Unmarshal(data, v)
}

// frame is every field a frame may carry, requests and replies alike, with
// Juju's names (rpc/jsoncodec/codec.go inMsgV1). encoding/json matches keys
// without regard to case, so "Type", "Version", "Id", "Request", "Params",
// "Error" and "Response" of the older capitalised form land here too; only
// the two keys whose spelling differs need frameV0.
type frame struct {
	RequestID uint64          `json:"request-id"`
	Type      string          `json:"type"`
	Version   int             `json:"version"`
	ID        string          `json:"id"`
	Request   string          `json:"request"`
	Params    json.RawMessage `json:"params"`
	Error     string          `json:"error"`
	ErrorCode string          `json:"error-code"`
	ErrorInfo map[string]any  `json:"error-info"`
	Response  json.RawMessage `json:"response"`
}

type frameV0 struct {
	RequestID uint64 `json:"RequestId"`
	ErrorCode string `json:"ErrorCode"`
}

// isRequest is rpc.Header.IsRequest: a frame naming a facade or a method
// is a request, anything else a reply.
func (f *frame) isRequest() bool { return f.Type != "" || f.Request != "" }

func (f *frame) request(legacy bool) Request {
	return Request{ID: f.RequestID, Facade: f.Type, Version: f.Version, ObjectID: f.ID, Method: f.Request, Params: f.Params, legacy: legacy}
}

// errMalformed reports a frame that is not a JSON object of the expected
// shape.
var errMalformed = errors.New("malformed frame")

// decodeFrame decodes one frame as Juju's codec does (readMessage): the
// current form, or the capitalised one when "request-id" is absent or 0.
// On a decoding error it still returns what it could read, so the caller
// can answer a frame whose request id is known (ok reports that);
// encoding/json reports a wrong-typed field only after filling the others.
//
// Params and Response may alias data, which the caller must not reuse.
func decodeFrame(data []byte) (f frame, legacy, ok bool, err error) {
	if f, ok := decodeFrameFast(data); ok {
		return f, false, true, nil
	}
	return decodeFrameJSON(data)
}

// decodeFrameJSON is decodeFrame through encoding/json (apart, so that the
// fast path's frame does not escape to the heap).
func decodeFrameJSON(data []byte) (f frame, legacy, ok bool, err error) {
	err = json.Unmarshal(data, &f)
	if f.RequestID == 0 {
		var v0 frameV0
		if err0 := json.Unmarshal(data, &v0); err0 == nil || err == nil {
			legacy = true
			f.RequestID, f.ErrorCode = v0.RequestID, v0.ErrorCode
			if err == nil {
				err = err0
			}
		}
	}
	var syntax *json.SyntaxError
	switch {
	case err == nil:
		return f, legacy, true, nil
	case errors.As(err, &syntax):
		return frame{}, false, false, errors.Join(errMalformed, err)
	}
	// A wrong type (e.g. "version": "3"): the id is usable when non-zero.
	return f, legacy, f.RequestID != 0, errors.Join(errMalformed, err)
}

// outRequest is a request as Herd's client writes it (Juju's outMsgV1:
// every field omitted when empty).
type outRequest struct {
	RequestID uint64 `json:"request-id,omitempty"`
	Type      string `json:"type,omitempty"`
	Version   int    `json:"version,omitempty"`
	ID        string `json:"id,omitempty"`
	Request   string `json:"request,omitempty"`
	Params    any    `json:"params,omitempty"`
}

// encBuf is a buffer frames are encoded into, with a json.Encoder that
// writes to it, recycled: encoding a frame then allocates nothing of its
// own (json.Marshal returns a fresh copy of what it wrote).
type encBuf struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var encBufs = sync.Pool{New: func() any {
	b := new(encBuf)
	b.enc = json.NewEncoder(&b.buf)
	return b
}}

func getEncBuf() *encBuf { return encBufs.Get().(*encBuf) }

func putEncBuf(b *encBuf) {
	if b.buf.Cap() > 64<<10 {
		return // a large frame's buffer is not kept
	}
	b.buf.Reset()
	encBufs.Put(b)
}

// value appends v as json.Marshal writes it. On an error it appends
// nothing.
func (b *encBuf) value(v any) error {
	if m, ok := v.(FastMarshaler); ok && !nilPointer(v) {
		if out, ok := m.AppendJSON(b.buf.AvailableBuffer()); ok {
			b.buf.Write(out)
			return nil
		}
	}
	if err := b.enc.Encode(v); err != nil {
		return err
	}
	b.buf.Truncate(b.buf.Len() - 1) // Encode's newline
	return nil
}

// nilPointer reports whether v is a nil pointer: a value receiver's
// AppendJSON called through one would panic, where json.Marshal writes
// null.
func nilPointer(v any) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// encodeRequest is json.Marshal(outRequest{...}).
func encodeRequest(id uint64, facade string, version int, objID, method string, params any) ([]byte, error) {
	b := getEncBuf()
	defer putEncBuf(b)
	if err := b.request(id, facade, version, objID, method, params); err != nil {
		return nil, err
	}
	return bytes.Clone(b.buf.Bytes()), nil
}

// request writes json.Marshal(outRequest{...}) into b, written around the
// marshalled params when the strings need no escaping (a facade's and a
// method's names always).
func (b *encBuf) request(id uint64, facade string, version int, objID, method string, params any) error {
	if id == 0 || !plainJSON(facade) || !plainJSON(objID) || !plainJSON(method) || params == nil {
		return b.value(outRequest{RequestID: id, Type: facade, Version: version, ID: objID, Request: method, Params: params})
	}
	var num [20]byte
	w := &b.buf
	w.WriteString(`{"request-id":`)
	w.Write(strconv.AppendUint(num[:0], id, 10))
	str := func(key, v string) {
		if v != "" {
			w.WriteString(key)
			w.WriteString(v)
			w.WriteByte('"')
		}
	}
	str(`,"type":"`, facade)
	if version != 0 {
		w.WriteString(`,"version":`)
		w.Write(strconv.AppendInt(num[:0], int64(version), 10))
	}
	str(`,"id":"`, objID)
	str(`,"request":"`, method)
	w.WriteString(`,"params":`)
	if err := b.value(params); err != nil {
		return err
	}
	w.WriteByte('}')
	return nil
}

// plainJSON reports whether encoding/json writes s as it is between
// quotes: printable ASCII other than the quote, the backslash and the
// characters it escapes for HTML.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// outReply is a reply in the current form. Response is always set (to {}
// when there is nothing to say, also on an error reply) as Juju's server
// does: jujulib tells replies by the presence of "error" or "response".
type outReply struct {
	RequestID uint64         `json:"request-id,omitempty"`
	Error     string         `json:"error,omitempty"`
	ErrorCode string         `json:"error-code,omitempty"`
	ErrorInfo map[string]any `json:"error-info,omitempty"`
	Response  any            `json:"response,omitempty"`
}

// outReplyV0 is a reply in the capitalised form (Juju's outMsgV0): the
// request id is always written, there is no error-info.
type outReplyV0 struct {
	RequestId uint64
	Error     string `json:",omitempty"`
	ErrorCode string `json:",omitempty"`
	Response  any    `json:",omitempty"`
}

var empty = struct{}{}

func encodeReply(req Request, result any, e *Error) ([]byte, error) {
	b := getEncBuf()
	defer putEncBuf(b)
	if err := b.reply(req, result, e); err != nil {
		return nil, err
	}
	return bytes.Clone(b.buf.Bytes()), nil
}

// reply writes a reply into b: json.Marshal of outReply or outReplyV0.
func (b *encBuf) reply(req Request, result any, e *Error) error {
	if raw, ok := result.(json.RawMessage); result == nil || e != nil || (ok && len(raw) == 0) {
		result = empty
	}
	if !req.legacy && e == nil && req.ID != 0 {
		// The usual reply, written around the marshalled result: the same
		// bytes as json.Marshal(outReply{...}) without its reflection.
		var num [20]byte
		b.buf.WriteString(`{"request-id":`)
		b.buf.Write(strconv.AppendUint(num[:0], req.ID, 10))
		b.buf.WriteString(`,"response":`)
		if err := b.value(result); err != nil {
			return err
		}
		b.buf.WriteByte('}')
		return nil
	}
	if req.legacy {
		r := outReplyV0{RequestId: req.ID, Response: result}
		if e != nil {
			r.Error, r.ErrorCode = e.Error(), e.Code
		}
		return b.value(r)
	}
	r := outReply{RequestID: req.ID, Response: result}
	if e != nil {
		r.Error, r.ErrorCode, r.ErrorInfo = e.Error(), e.Code, e.Info
	}
	return b.value(r)
}
