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
				k, ok := validExtent(data, j)
				if !ok {
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

// maxNesting is encoding/json's limit on nested objects and arrays.
const maxNesting = 10000

// validExtent returns the end of the object or array at i when it is
// valid JSON, judged as json.Valid judges data[i:end] (FuzzValidExtent
// checks it against rawExtent and json.Valid): one pass, with no
// function call per byte.
func validExtent(data []byte, i int) (int, bool) {
	if i >= len(data) || (data[i] != '{' && data[i] != '[') {
		return 0, false
	}
	var stackBuf [64]byte
	stack := stackBuf[:0] // the open containers, '{' or '['
	j := i
	ok := true
	for {
		// A value at j (after whitespace).
		j = skipWS(data, j)
		if j >= len(data) {
			return 0, false
		}
		switch c := data[j]; {
		case c == '{' || c == '[':
			if len(stack) >= maxNesting {
				return 0, false
			}
			end := byte('}')
			if c == '[' {
				end = ']'
			}
			j = skipWS(data, j+1)
			if j < len(data) && data[j] == end {
				j++
				break // an empty one: a whole value
			}
			stack = append(stack, c)
			if c == '{' {
				if j, ok = validKey(data, j); !ok {
					return 0, false
				}
			}
			continue // its first value
		case c == '"':
			j, ok = validString(data, j)
		case c == '-' || (c >= '0' && c <= '9'):
			j, ok = validNumber(data, j)
		case c == 't':
			j, ok = literal(data, j, "true")
		case c == 'f':
			j, ok = literal(data, j, "false")
		case c == 'n':
			j, ok = literal(data, j, "null")
		default:
			return 0, false
		}
		if !ok {
			return 0, false
		}
		// After a value: a comma goes on to the next one, a closing
		// bracket closes its container.
		for next := false; !next; {
			if len(stack) == 0 {
				return j, true
			}
			j = skipWS(data, j)
			if j >= len(data) {
				return 0, false
			}
			top := stack[len(stack)-1]
			switch data[j] {
			case ',':
				j++
				if top == '{' {
					if j, ok = validKey(data, skipWS(data, j)); !ok {
						return 0, false
					}
				}
				next = true
			case '}', ']':
				if (top == '{') != (data[j] == '}') {
					return 0, false
				}
				stack = stack[:len(stack)-1]
				j++
			default:
				return 0, false
			}
		}
	}
}

// validKey reads an object's key and its colon at i; it returns the index
// after the colon.
func validKey(data []byte, i int) (int, bool) {
	if i >= len(data) || data[i] != '"' {
		return 0, false
	}
	j, ok := validString(data, i)
	if !ok {
		return 0, false
	}
	j = skipWS(data, j)
	if j >= len(data) || data[j] != ':' {
		return 0, false
	}
	return j + 1, true
}

// validString reads the string at i (data[i] is '"') as encoding/json's
// scanner does: no control characters, only JSON's escapes; other bytes,
// valid UTF-8 or not, pass.
func validString(data []byte, i int) (int, bool) {
	for j := i + 1; j < len(data); j++ {
		switch c := data[j]; {
		case c == '"':
			return j + 1, true
		case c < 0x20:
			return 0, false
		case c == '\\':
			j++
			if j >= len(data) {
				return 0, false
			}
			switch data[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(data) {
					return 0, false
				}
				for _, h := range data[j+1 : j+5] {
					if !isHex(h) {
						return 0, false
					}
				}
				j += 4
			default:
				return 0, false
			}
		}
	}
	return 0, false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// validNumber reads the number at i: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(data []byte, i int) (int, bool) {
	j := i
	if data[j] == '-' {
		j++
	}
	switch {
	case j >= len(data):
		return 0, false
	case data[j] == '0':
		j++
	case data[j] >= '1' && data[j] <= '9':
		j = digitsEnd(data, j)
	default:
		return 0, false
	}
	if j < len(data) && data[j] == '.' {
		k := digitsEnd(data, j+1)
		if k == j+1 {
			return 0, false
		}
		j = k
	}
	if j < len(data) && (data[j] == 'e' || data[j] == 'E') {
		j++
		if j < len(data) && (data[j] == '+' || data[j] == '-') {
			j++
		}
		k := digitsEnd(data, j)
		if k == j {
			return 0, false
		}
		j = k
	}
	return j, true
}

func digitsEnd(data []byte, i int) int {
	for i < len(data) && data[i] >= '0' && data[i] <= '9' {
		i++
	}
	return i
}

func literal(data []byte, i int, lit string) (int, bool) {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return 0, false
	}
	return i + len(lit), true
}
