package params

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

var fastSeeds = []string{
	`{"entities":[{"tag":"user-admin"}],"include-disabled":true}`,
	`{"entities":[],"include-disabled":false}`,
	`{"entities":null,"include-disabled":false}`,
	` { "entities" : [ { "tag" : "user-tom" } , {"tag":"user-ann"} ] } `,
	`{"entities":[{"tag":"user-a"}],"entities":[{}]}`,
	`{"Entities":[{"Tag":"user-a"}]}`,
	`{"entities":[{"tag":"user-\u0061"}]}`,
	`{"results":[{"result":{"username":"admin","display-name":"admin","access":"superuser","created-by":"admin","date-created":"2026-11-29T08:07:37.123456789Z","last-connection":"2026-11-29T08:07:38+01:00","disabled":false}}]}`,
	`{"results":[{"error":{"message":"user bob not found","code":"not found"}},{"result":{}},{}]}`,
	`{"results":[{"error":{"message":"user \"bob\" not found","code":"not found"}}]}`,
	`{"results":[{"error":{"message":"m","code":"c","info":{"a":1}}}]}`,
	`{"results":[{"result":{"date-created":"2026-13-29T08:07:37Z"}}]}`,
	`{"results":[{"result":{"last-connection":null}}]}`,
	`{"results":[]}`, `{}`, `[]`, `null`, `{"results":[{"result":{"disabled":true,"disabled":false}}]}`,
}

// checkFastDecode: whatever UnmarshalJSONFast takes, json.Unmarshal
// decodes without error into the same value; what it refuses it leaves
// zero.
func checkFastDecode[T any, PT interface {
	*T
	UnmarshalJSONFast([]byte) bool
}](t *testing.T, data []byte) {
	var fast, ref T
	if !PT(&fast).UnmarshalJSONFast(data) {
		var zero T
		if !reflect.DeepEqual(fast, zero) {
			t.Fatalf("%T: refused %q but changed the value: %#v", fast, data, fast)
		}
		return
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatalf("%T: took %q, which encoding/json refuses: %v", fast, data, err)
	}
	if !reflect.DeepEqual(fast, ref) {
		t.Fatalf("%T: %q:\nfast %#v\njson %#v", fast, data, fast, ref)
	}
}

// checkFastEncode: what AppendJSON writes is json.Marshal's bytes (after
// a prefix it keeps).
func checkFastEncode(t *testing.T, v interface{ AppendJSON([]byte) ([]byte, bool) }) {
	out, ok := v.AppendJSON([]byte("prefix"))
	want, err := json.Marshal(v)
	if !ok {
		return
	}
	if err != nil {
		t.Fatalf("%#v: written, but json.Marshal fails: %v", v, err)
	}
	if !bytes.Equal(out, append([]byte("prefix"), want...)) {
		t.Fatalf("%#v:\nfast %s\njson prefix%s", v, out, want)
	}
}

func FuzzFastDecode(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFastDecode[UserInfoRequest](t, data)
		checkFastDecode[UserInfoResults](t, data)
		// Whatever encoding/json decodes, AppendJSON writes as it does.
		var req UserInfoRequest
		if json.Unmarshal(data, &req) == nil {
			checkFastEncode(t, req)
		}
		var res UserInfoResults
		if json.Unmarshal(data, &res) == nil {
			checkFastEncode(t, res)
		}
	})
}

func FuzzFastEncode(f *testing.F) {
	f.Add("admin", "Tom <t>", "superuser", "admin", int64(1764403657123456789), int64(3600), int64(-5), true, false, "not found", "user \"x\"", uint8(7))
	f.Add("", "", "", "", int64(0), int64(0), int64(0), false, true, "", "", uint8(0))
	f.Add("a", "é", "login", "b", int64(-9223372036854775807), int64(-1), int64(300000000000000000), false, false, "m", "c", uint8(3))
	f.Fuzz(func(t *testing.T, name, display, access, by string, created, zone, last int64, hasLast, disabled bool, msg, code string, shape uint8) {
		loc := time.FixedZone("", int(zone%(24*3600)))
		u := &UserInfo{Username: name, DisplayName: display, Access: access, CreatedBy: by,
			DateCreated: time.Unix(0, created).In(loc), Disabled: disabled}
		if hasLast {
			l := time.Unix(last, created%1e9).UTC()
			u.LastConnection = &l
		}
		e := &Error{Message: msg, Code: code}
		if shape&8 != 0 {
			e.Info = map[string]any{"k": msg}
		}
		var res UserInfoResults
		if shape&16 == 0 {
			res.Results = []UserInfoResult{}
		}
		if shape&1 != 0 {
			res.Results = append(res.Results, UserInfoResult{Result: u})
		}
		if shape&2 != 0 {
			res.Results = append(res.Results, UserInfoResult{Error: e})
		}
		if shape&4 != 0 {
			res.Results = append(res.Results, UserInfoResult{Result: u, Error: e}, UserInfoResult{})
		}
		checkFastEncode(t, res)
		if out, ok := res.AppendJSON(nil); ok {
			checkFastDecode[UserInfoResults](t, out)
		}
		req := UserInfoRequest{IncludeDisabled: disabled}
		if shape&16 == 0 {
			req.Entities = []Entity{}
		}
		for i := range shape & 3 {
			req.Entities = append(req.Entities, Entity{Tag: []string{name, display, msg}[i]})
		}
		checkFastEncode(t, req)
		if out, ok := req.AppendJSON(nil); ok {
			checkFastDecode[UserInfoRequest](t, out)
		}
	})
}

// The usual frames take the fast paths.
func TestFastTakesTheUsual(t *testing.T) {
	for _, s := range fastSeeds[:2] {
		var r UserInfoRequest
		if !r.UnmarshalJSONFast([]byte(s)) {
			t.Errorf("refused %s", s)
		}
	}
	for _, s := range fastSeeds[7:9] {
		var r UserInfoResults
		if !r.UnmarshalJSONFast([]byte(s)) {
			t.Errorf("refused %s", s)
		}
		if _, ok := r.AppendJSON(nil); !ok {
			t.Errorf("cannot write %#v", r)
		}
	}
}
