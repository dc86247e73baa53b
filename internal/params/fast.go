package params

import (
	"time"

	"github.com/herd-project/herd/internal/jsonfast"
)

// The hot wire types of UserManager.UserInfo encode and decode their usual
// JSON without reflection (internal/rpc's FastMarshaler and
// FastUnmarshaler): the same bytes as json.Marshal, the same value as
// json.Unmarshal into a zero value. Anything unusual (an escape, null, an
// unknown or repeated key, an error's info, a value not zero to begin
// with) reports false and goes to encoding/json. FuzzFast checks both
// against encoding/json.

// AppendJSON appends json.Marshal(r) to b, or reports false.
func (r UserInfoRequest) AppendJSON(b []byte) ([]byte, bool) {
	e := jsonfast.Enc{B: b}
	e.Raw(`{"entities":`)
	if r.Entities == nil {
		e.Raw("null")
	} else {
		e.Raw("[")
		for i, ent := range r.Entities {
			if i > 0 {
				e.Raw(",")
			}
			e.Raw(`{"tag":`)
			e.String(ent.Tag)
			e.Raw("}")
		}
		e.Raw("]")
	}
	e.Raw(`,"include-disabled":`)
	e.Bool(r.IncludeDisabled)
	e.Raw("}")
	return e.B, e.Ok()
}

// UnmarshalJSONFast decodes data into r, a zero value, as json.Unmarshal
// would, or reports false and leaves r as it was.
func (r *UserInfoRequest) UnmarshalJSONFast(data []byte) bool {
	if r == nil || r.Entities != nil || r.IncludeDisabled {
		return false
	}
	d := jsonfast.NewDec(data)
	var out UserInfoRequest
	var seenEnt, seenInc bool
	for more := d.ObjectStart(); more && d.Ok(); more = d.ObjectNext() {
		switch string(d.Key()) {
		case "entities":
			if seenEnt {
				return false
			}
			seenEnt = true
			out.Entities = []Entity{}
			for more := d.ArrayStart(); more && d.Ok(); more = d.ArrayNext() {
				var ent Entity
				seenTag := false
				for more := d.ObjectStart(); more && d.Ok(); more = d.ObjectNext() {
					if string(d.Key()) != "tag" || seenTag {
						return false
					}
					seenTag = true
					ent.Tag = d.String()
				}
				out.Entities = append(out.Entities, ent)
			}
		case "include-disabled":
			if seenInc {
				return false
			}
			seenInc = true
			out.IncludeDisabled = d.Bool()
		default:
			return false
		}
	}
	if !d.End() {
		return false
	}
	*r = out
	return true
}

// AppendJSON appends json.Marshal(r) to b, or reports false.
func (r UserInfoResults) AppendJSON(b []byte) ([]byte, bool) {
	e := jsonfast.Enc{B: b}
	e.Raw(`{"results":`)
	if r.Results == nil {
		e.Raw("null")
	} else {
		e.Raw("[")
		for i, res := range r.Results {
			if i > 0 {
				e.Raw(",")
			}
			e.Raw("{")
			if u := res.Result; u != nil {
				e.Raw(`"result":{"username":`)
				e.String(u.Username)
				e.Raw(`,"display-name":`)
				e.String(u.DisplayName)
				e.Raw(`,"access":`)
				e.String(u.Access)
				e.Raw(`,"created-by":`)
				e.String(u.CreatedBy)
				e.Raw(`,"date-created":`)
				e.Time(u.DateCreated)
				if u.LastConnection != nil {
					e.Raw(`,"last-connection":`)
					e.Time(*u.LastConnection)
				}
				e.Raw(`,"disabled":`)
				e.Bool(u.Disabled)
				e.Raw("}")
			}
			if er := res.Error; er != nil {
				if len(er.Info) > 0 {
					return b, false
				}
				if res.Result != nil {
					e.Raw(",")
				}
				e.Raw(`"error":{"message":`)
				e.String(er.Message)
				e.Raw(`,"code":`)
				e.String(er.Code)
				e.Raw("}")
			}
			e.Raw("}")
		}
		e.Raw("]")
	}
	e.Raw("}")
	return e.B, e.Ok()
}

// UnmarshalJSONFast decodes data into r, a zero value, as json.Unmarshal
// would, or reports false and leaves r as it was.
func (r *UserInfoResults) UnmarshalJSONFast(data []byte) bool {
	if r == nil || r.Results != nil {
		return false
	}
	d := jsonfast.NewDec(data)
	var out UserInfoResults
	seen := false
	for more := d.ObjectStart(); more && d.Ok(); more = d.ObjectNext() {
		if string(d.Key()) != "results" || seen {
			return false
		}
		seen = true
		out.Results = []UserInfoResult{}
		for more := d.ArrayStart(); more && d.Ok(); more = d.ArrayNext() {
			res, ok := decodeUserInfoResult(&d)
			if !ok {
				return false
			}
			out.Results = append(out.Results, res)
		}
	}
	if !d.End() {
		return false
	}
	*r = out
	return true
}

func decodeUserInfoResult(d *jsonfast.Dec) (res UserInfoResult, ok bool) {
	for more := d.ObjectStart(); more && d.Ok(); more = d.ObjectNext() {
		switch string(d.Key()) {
		case "result":
			if res.Result != nil {
				return res, false
			}
			u := new(UserInfo)
			var seen uint8
			for more := d.ObjectStart(); more && d.Ok(); more = d.ObjectNext() {
				var bit uint8
				switch string(d.Key()) {
				case "username":
					bit, u.Username = 1, d.String()
				case "display-name":
					bit, u.DisplayName = 2, d.String()
				case "access":
					bit, u.Access = 4, d.String()
				case "created-by":
					bit, u.CreatedBy = 8, d.String()
				case "date-created":
					bit = 16
					d.Time(&u.DateCreated)
				case "last-connection":
					bit = 32
					u.LastConnection = new(time.Time)
					d.Time(u.LastConnection)
				case "disabled":
					bit, u.Disabled = 64, d.Bool()
				default:
					return res, false
				}
				if seen&bit != 0 {
					return res, false
				}
				seen |= bit
			}
			res.Result = u
		case "error":
			if res.Error != nil {
				return res, false
			}
			er := new(Error)
			var seen uint8
			for more := d.ObjectStart(); more && d.Ok(); more = d.ObjectNext() {
				var bit uint8
				switch string(d.Key()) {
				case "message":
					bit, er.Message = 1, d.String()
				case "code":
					bit, er.Code = 2, d.String()
				default:
					return res, false
				}
				if seen&bit != 0 {
					return res, false
				}
				seen |= bit
			}
			res.Error = er
		default:
			return res, false
		}
	}
	return res, d.Ok()
}
