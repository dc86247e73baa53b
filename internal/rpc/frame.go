package rpc

import (
	"encoding/json"
	"errors"
	"strconv"
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
	return json.Unmarshal(r.Params, v)
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

// encodeRequest is json.Marshal(outRequest{...}), written around the
// marshalled params when the strings need no escaping (a facade's and a
// method's names always).
func encodeRequest(id uint64, facade string, version int, objID, method string, params any) ([]byte, error) {
	if id == 0 || !plainJSON(facade) || !plainJSON(objID) || !plainJSON(method) || params == nil {
		return json.Marshal(outRequest{RequestID: id, Type: facade, Version: version, ID: objID, Request: method, Params: params})
	}
	p, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(p)+len(facade)+len(objID)+len(method)+80)
	b = append(b, `{"request-id":`...)
	b = strconv.AppendUint(b, id, 10)
	str := func(key, v string) {
		if v != "" {
			b = append(b, key...)
			b = append(b, v...)
			b = append(b, '"')
		}
	}
	str(`,"type":"`, facade)
	if version != 0 {
		b = append(b, `,"version":`...)
		b = strconv.AppendInt(b, int64(version), 10)
	}
	str(`,"id":"`, objID)
	str(`,"request":"`, method)
	b = append(b, `,"params":`...)
	b = append(b, p...)
	return append(b, '}'), nil
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
	if raw, ok := result.(json.RawMessage); result == nil || e != nil || (ok && len(raw) == 0) {
		result = empty
	}
	if !req.legacy && e == nil && req.ID != 0 {
		// The usual reply, written around the marshalled result: the same
		// bytes as json.Marshal(outReply{...}) without its reflection.
		resp, err := json.Marshal(result)
		if err != nil {
			return nil, err
		}
		b := make([]byte, 0, len(resp)+40)
		b = append(b, `{"request-id":`...)
		b = strconv.AppendUint(b, req.ID, 10)
		b = append(b, `,"response":`...)
		b = append(b, resp...)
		return append(b, '}'), nil
	}
	if req.legacy {
		r := outReplyV0{RequestId: req.ID, Response: result}
		if e != nil {
			r.Error, r.ErrorCode = e.Error(), e.Code
		}
		return json.Marshal(r)
	}
	r := outReply{RequestID: req.ID, Response: result}
	if e != nil {
		r.Error, r.ErrorCode, r.ErrorInfo = e.Error(), e.Code, e.Info
	}
	return json.Marshal(r)
}
