package rpc

import (
	"encoding/json"
	"strconv"
)

// decodeFrameFast decodes the common frame in one pass without reflection:
// a JSON object whose keys are all spelled exactly as Juju's current form
// writes them (see frame), with plain strings (no escapes, ASCII only),
// integers, and params or response as any object or array, which is kept
// raw (and checked with json.Valid). It reports ok false for anything else
// (an unusual spelling, the capitalised form, error-info, null, escapes,
// malformed input...), for decodeFrame, which decodes as Juju does, to
// handle: on what it accepts it gives what decodeFrame would. Params and
// Response alias data.
func decodeFrameFast(data []byte) (f frame, ok bool) {
	i := skipWS(data, 0)
	if i >= len(data) || data[i] != '{' {
		return frame{}, false
	}
	i = skipWS(data, i+1)
	if i < len(data) && data[i] == '}' {
		i++
	} else {
		for {
			key, j, ok := plainString(data, i)
			if !ok {
				return frame{}, false
			}
			j = skipWS(data, j)
			if j >= len(data) || data[j] != ':' {
				return frame{}, false
			}
			j = skipWS(data, j+1)
			switch string(key) {
			case "request-id":
				n, k, ok := plainUint(data, j)
				if !ok {
					return frame{}, false
				}
				f.RequestID, j = n, k
			case "version":
				n, k, ok := plainInt(data, j)
				if !ok {
					return frame{}, false
				}
				f.Version, j = n, k
			case "type", "id", "request", "error", "error-code":
				s, k, ok := plainString(data, j)
				if !ok {
					return frame{}, false
				}
				v := string(s)
				switch string(key) {
				case "type":
					f.Type = v
				case "id":
					f.ID = v
				case "request":
					f.Request = v
				case "error":
					f.Error = v
				case "error-code":
					f.ErrorCode = v
				}
				j = k
			case "params", "response":
				k, ok := rawExtent(data, j)
				if !ok || !json.Valid(data[j:k]) {
					return frame{}, false
				}
				raw := json.RawMessage(data[j:k:k]) // data is the frame's own buffer
				if string(key) == "params" {
					f.Params = raw
				} else {
					f.Response = raw
				}
				j = k
			default:
				return frame{}, false
			}
			j = skipWS(data, j)
			if j >= len(data) {
				return frame{}, false
			}
			if data[j] == '}' {
				i = j + 1
				break
			}
			if data[j] != ',' {
				return frame{}, false
			}
			i = skipWS(data, j+1)
		}
	}
	if skipWS(data, i) != len(data) || f.RequestID == 0 {
		// Trailing data, or no request id: the capitalised form's rules
		// apply, decodeFrame's business.
		return frame{}, false
	}
	return f, true
}

func skipWS(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// plainString reads a string of printable ASCII with no escapes at i and
// returns its contents and the index after it.
func plainString(data []byte, i int) ([]byte, int, bool) {
	if i >= len(data) || data[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(data); j++ {
		switch c := data[j]; {
		case c == '"':
			return data[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// digits returns the end of a run of decimal digits at i that is a whole
// JSON number (no fraction or exponent follows; no leading zero but "0").
func digits(data []byte, i int) (int, bool) {
	j := i
	for j < len(data) && data[j] >= '0' && data[j] <= '9' {
		j++
	}
	if j == i || (data[i] == '0' && j > i+1) || j-i > 18 {
		return 0, false
	}
	if j < len(data) && (data[j] == '.' || data[j] == 'e' || data[j] == 'E') {
		return 0, false
	}
	return j, true
}

func plainUint(data []byte, i int) (uint64, int, bool) {
	j, ok := digits(data, i)
	if !ok {
		return 0, 0, false
	}
	n, err := strconv.ParseUint(string(data[i:j]), 10, 64)
	return n, j, err == nil
}

func plainInt(data []byte, i int) (int, int, bool) {
	k := i
	if k < len(data) && data[k] == '-' {
		k++
	}
	j, ok := digits(data, k)
	if !ok {
		return 0, 0, false
	}
	n, err := strconv.ParseInt(string(data[i:j]), 10, 32)
	return int(n), j, err == nil
}

// rawExtent returns the end of the object or array at i, matching brackets
// outside strings; whether it is valid JSON is left to json.Valid.
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
