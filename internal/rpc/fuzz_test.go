package rpc

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/herd-project/herd/internal/params"
)

// FuzzDecodeFrame: no input panics the decoder; a frame it accepts as a
// request gets a reply that decodes back to the same id, in the same form.
func FuzzDecodeFrame(f *testing.F) {
	for _, s := range []string{
		`{"request-id":1,"type":"Admin","version":3,"request":"Login","params":{"auth-tag":"user-admin","credentials":"pw"}}`,
		`{"RequestId":2,"Type":"Pinger","Version":1,"Request":"Ping","Params":{}}`,
		`{"request-id":3,"response":{"results":[]}}`,
		`{"request-id":4,"error":"permission denied","error-code":"unauthorized access","error-info":{"herd-kind":"permission denied"}}`,
		`{"request-id":5,"type":"Client","version":"8"}`,
		`{"request-id":-1}`,
		`[1,2]`,
		`null`,
		`{"request-id":1e3,"type":"X"}`,
		`{"request-id":1,"type":"X","type":"Y","Type":"Z"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, legacy, ok, err := decodeFrame(data)
		if err == nil && !ok {
			t.Fatal("no error but not ok")
		}
		if err != nil && ok && fr.RequestID == 0 {
			t.Fatal("an erroneous frame is answerable only with an id")
		}
		if !ok || !fr.isRequest() {
			return
		}
		req := fr.request(legacy)
		out, err := encodeReply(req, req.Params, nil)
		if err != nil {
			// Params are valid JSON once decoded; re-encoding cannot fail.
			t.Fatalf("encode reply: %v", err)
		}
		back, legacy2, ok2, err := decodeFrame(out)
		if !ok2 || err != nil || back.RequestID != fr.RequestID || legacy2 != legacy || back.isRequest() {
			t.Fatalf("reply %s decodes to %+v (legacy %v, ok %v, %v)", out, back, legacy2, ok2, err)
		}
		if !json.Valid(out) {
			t.Fatalf("invalid reply %s", out)
		}
		e, _ := encodeReply(req, nil, &Error{Message: string(data), Code: "x", Info: map[string]any{"k": string(data)}})
		if !json.Valid(e) {
			t.Fatalf("invalid error reply %s", e)
		}
	})
}

// slowDecode is decodeFrame without its fast path: encoding/json only.
func slowDecode(data []byte) (frame, bool, bool, error) {
	var f frame
	err := json.Unmarshal(data, &f)
	if f.RequestID == 0 {
		return frame{}, false, false, nil // the fast path never takes these
	}
	return f, false, err == nil, err
}

// FuzzDecodeFrameFast: a frame the fast path accepts decodes exactly as
// encoding/json decodes it.
func FuzzDecodeFrameFast(f *testing.F) {
	for _, s := range []string{
		`{"request-id":1,"type":"Admin","version":3,"request":"Login","params":{"auth-tag":"user-admin","credentials":"pw"}}`,
		`{"request-id":3,"response":{"results":[{"a":"\"}]"}]}}`,
		`{"request-id":4,"error":"permission denied","error-code":"unauthorized access"}`,
		` { "request-id" : 7 , "type":"X","type":"Y","params":[1,2,{"k":null}] } `,
		`{"request-id":1,"version":-3,"id":"","params":{}}`,
		`{"request-id":1,"params":{"a":1}} x`,
		`{"request-id":01}`,
		`{"request-id":1,"params":{"a":tru}}`,
		`{"request-id":1,"Type":"x","type":"y"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := decodeFrameFast(data)
		if !ok {
			return
		}
		slow, _, sok, err := slowDecode(data)
		if !sok || err != nil {
			t.Fatalf("fast path took %q, encoding/json says %v", data, err)
		}
		fj, _ := json.Marshal(fast)
		sj, _ := json.Marshal(slow)
		if string(fj) != string(sj) || string(fast.Params) != string(slow.Params) || string(fast.Response) != string(slow.Response) {
			t.Fatalf("%q: fast %s, encoding/json %s", data, fj, sj)
		}
	})
}

func TestDecodeFrameFastTakesTheUsualFrames(t *testing.T) {
	for _, s := range []string{
		`{"request-id":1,"type":"UserManager","version":3,"request":"UserInfo","params":{"entities":[{"tag":"user-admin"}],"include-disabled":false}}`,
		`{"request-id":12,"response":{"results":[{"result":{"username":"admin"}}]}}`,
		`{"request-id":2,"error":"no","error-code":"not found","response":{}}`,
	} {
		if _, ok := decodeFrameFast([]byte(s)); !ok {
			t.Errorf("fast path refused %s", s)
		}
	}
}

// The hand-written envelopes are byte for byte what encoding/json writes.
func FuzzEncodeEnvelope(f *testing.F) {
	f.Add(uint64(1), "UserManager", 3, "", "UserInfo", `{"entities":[{"tag":"user-admin"}]}`)
	f.Add(uint64(7), "AllWatcher", 0, "w-1", "Next", `[]`)
	f.Add(uint64(0), "", 0, "", "", `null`)
	f.Add(uint64(1<<63), "a<b", -1, "x\"y", "é", `"s<>&\u2028"`)
	f.Fuzz(func(t *testing.T, id uint64, facade string, version int, objID, method, params string) {
		var p any
		if json.Unmarshal([]byte(params), &p) != nil {
			p = params
		}
		got, err := encodeRequest(id, facade, version, objID, method, p)
		want, werr := json.Marshal(outRequest{RequestID: id, Type: facade, Version: version, ID: objID, Request: method, Params: p})
		if (err != nil) != (werr != nil) || string(got) != string(want) {
			t.Fatalf("request:\n got %s, %v\nwant %s, %v", got, err, want, werr)
		}
		req := Request{ID: id}
		got, err = encodeReply(req, p, nil)
		want, werr = json.Marshal(outReply{RequestID: id, Response: p})
		if p == nil {
			want, werr = json.Marshal(outReply{RequestID: id, Response: empty})
		}
		if (err != nil) != (werr != nil) || string(got) != string(want) {
			t.Fatalf("reply:\n got %s, %v\nwant %s, %v", got, err, want, werr)
		}
		raw := json.RawMessage(params)
		got, err = encodeReply(req, raw, nil)
		want, werr = json.Marshal(outReply{RequestID: id, Response: raw})
		if len(raw) == 0 {
			want, werr = json.Marshal(outReply{RequestID: id, Response: empty})
		}
		if (err != nil) != (werr != nil) || (err == nil && string(got) != string(want)) {
			t.Fatalf("raw reply:\n got %s, %v\nwant %s, %v", got, err, want, werr)
		}
	})
}

// validExtent judges as rawExtent plus json.Valid did.
func FuzzValidExtent(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, `{"a":1}`, `[1,2,3]`, `{"a":{"b":[true,false,null,"x\u00e9\n"]}}`,
		`{"a":-0.5e+10,"b":1E5,"c":0}`, `{"a":01}`, `{"a":1.}`, `{"a":-}`, `[1,]`, `{"a":1,}`,
		`{,}`, `[tru]`, `{"a" : [ 1 , { } ] }  `, "[\"\x01\"]", "[\"\xff\"]", `["\x"]`,
		`{"a":"\u12"}`, `[}`, `{]`, `{"a"}`, `{"a":}`, `[1 2]`, `{"a":1"b":2}`, `[1]]`, `["}"]`,
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		strings.Repeat(`{"a":`, 9999) + "[]" + strings.Repeat("}", 9999),
		strings.Repeat(`{"a":`, 10000) + "[]" + strings.Repeat("}", 10000),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, wok := rawExtent(data, 0)
		wok = wok && json.Valid(data[:want])
		got, ok := validExtent(data, 0)
		if ok != wok || (ok && got != want) {
			t.Fatalf("validExtent(%.80q) = %d, %v; want %d, %v", data, got, ok, want, wok)
		}
	})
}

// rawExtent is the fast path's former way of finding a value's end (with
// json.Valid after it), the reference for validExtent: the end of the
// object or array at i, matching brackets outside strings.
func rawExtent(data []byte, i int) (int, bool) {
	if i >= len(data) || (data[i] != '{' && data[i] != '[') {
		return 0, false
	}
	depth := 0
	for j := i; j < len(data); j++ {
		switch data[j] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return j + 1, true
			}
		case '"':
			for j++; j < len(data) && data[j] != '"'; j++ {
				if data[j] == '\\' {
					j++
				}
			}
		}
	}
	return 0, false
}

// A FastMarshaler's reply and request envelopes are what encoding/json
// writes for the same value; a FastUnmarshaler's params decode as
// json.Unmarshal decodes them.
func TestFastMarshalerEnvelopes(t *testing.T) {
	at := time.Date(2026, 11, 29, 8, 7, 37, 123456789, time.UTC)
	res := params.UserInfoResults{Results: []params.UserInfoResult{
		{Result: &params.UserInfo{Username: "admin", DisplayName: "admin", Access: "superuser", CreatedBy: "admin", DateCreated: at, LastConnection: &at}},
		{Error: &params.Error{Message: "user bob not found", Code: "not found"}},
	}}
	if _, ok := res.AppendJSON(nil); !ok {
		t.Fatal("AppendJSON refused the usual results")
	}
	escaped := params.UserInfoResults{Results: append(res.Results, params.UserInfoResult{
		Error: &params.Error{Message: `user "<bob>" not found`, Code: "not found"}, // escapes: encoding/json's
	})}
	for _, res := range []params.UserInfoResults{res, escaped} {
		got, err := encodeReply(Request{ID: 9}, res, nil)
		want, werr := json.Marshal(outReply{RequestID: 9, Response: res})
		if err != nil || werr != nil || string(got) != string(want) {
			t.Fatalf("reply:\n got %s, %v\nwant %s, %v", got, err, want, werr)
		}
	}
	req := params.UserInfoRequest{Entities: []params.Entity{{Tag: "user-admin"}}, IncludeDisabled: true}
	got, err := encodeRequest(3, "UserManager", 3, "", "UserInfo", req)
	want, werr := json.Marshal(outRequest{RequestID: 3, Type: "UserManager", Version: 3, Request: "UserInfo", Params: req})
	if err != nil || werr != nil || string(got) != string(want) {
		t.Fatalf("request:\n got %s, %v\nwant %s, %v", got, err, want, werr)
	}
	f, ok := decodeFrameFast(got)
	if !ok {
		t.Fatalf("fast path refused %s", got)
	}
	var dec params.UserInfoRequest
	if err := f.request(false).Decode(&dec); err != nil || !reflect.DeepEqual(dec, req) {
		t.Fatalf("Decode: %#v, %v; want %#v", dec, err, req)
	}
	// Nil pointers: as encoding/json, no panic.
	var nilRes *params.UserInfoResults
	got, err = encodeReply(Request{ID: 9}, nilRes, nil)
	want, werr = json.Marshal(outReply{RequestID: 9, Response: nilRes})
	if err != nil || werr != nil || string(got) != string(want) {
		t.Fatalf("nil reply:\n got %s, %v\nwant %s, %v", got, err, want, werr)
	}
	var nilReq *params.UserInfoRequest
	if err := f.request(false).Decode(nilReq); err == nil {
		t.Fatal("Decode into a nil pointer: no error")
	}
}
