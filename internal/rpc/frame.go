package rpc

import (
	"encoding/json"
	"errors"
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
