// Package jsonfast reads and writes the usual JSON of a few hot wire
// types without reflection, for hand-written decoders and encoders that
// must give exactly what encoding/json gives.
//
// A Dec accepts a strict subset of JSON only: strings of printable ASCII
// with no escapes, the literals true and false, objects and arrays. Any
// other input (null, numbers, escapes, non-ASCII, malformed JSON) makes
// it fail, and its user then hands the input to encoding/json, which
// decides as it always did. What a Dec accepts is valid JSON whose
// meaning encoding/json reads the same way, so a decoder built on it and
// that also refuses unknown and repeated keys (encoding/json matches keys
// without regard to case and lets the last of two win) decodes what it
// accepts as encoding/json would.
package jsonfast

import "time"

// Dec reads one JSON value from data. Once a read fails every later read
// fails too; Ok tells.
type Dec struct {
	data []byte
	i    int
	bad  bool
}

// NewDec returns a Dec reading data.
func NewDec(data []byte) Dec { return Dec{data: data} }

// Ok reports whether every read so far succeeded.
func (d *Dec) Ok() bool { return !d.bad }

// Fail makes the Dec fail (a decoder that met something it does not take).
func (d *Dec) Fail() { d.bad = true }

// End reports whether every read succeeded and nothing but white space
// follows.
func (d *Dec) End() bool {
	d.ws()
	return !d.bad && d.i == len(d.data)
}

func (d *Dec) ws() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next skips white space and consumes c, or fails.
func (d *Dec) next(c byte) bool {
	if d.bad {
		return false
	}
	d.ws()
	if d.i < len(d.data) && d.data[d.i] == c {
		d.i++
		return true
	}
	d.bad = true
	return false
}

// peek skips white space and consumes c if it comes next.
func (d *Dec) peek(c byte) bool {
	if d.bad {
		return false
	}
	d.ws()
	if d.i < len(d.data) && d.data[d.i] == c {
		d.i++
		return true
	}
	return false
}

// ObjectStart reads an object's "{" and reports whether a member follows
// (false for "{}" and on failure).
func (d *Dec) ObjectStart() bool {
	if !d.next('{') {
		return false
	}
	return !d.peek('}') && !d.bad
}

// Key reads a member's key and its ":". The key aliases the data.
func (d *Dec) Key() []byte {
	k := d.str()
	d.next(':')
	return k
}

// ObjectNext reads what follows a member's value: "," (true, another
// member follows) or "}" (false).
func (d *Dec) ObjectNext() bool {
	if d.peek(',') {
		return true
	}
	d.next('}')
	return false
}

// ArrayStart reads an array's "[" and reports whether an element follows
// (false for "[]" and on failure).
func (d *Dec) ArrayStart() bool {
	if !d.next('[') {
		return false
	}
	return !d.peek(']') && !d.bad
}

// ArrayNext reads what follows an element: "," (true) or "]" (false).
func (d *Dec) ArrayNext() bool {
	if d.peek(',') {
		return true
	}
	d.next(']')
	return false
}

// str reads a string of printable ASCII without escapes and returns its
// contents, aliasing the data.
func (d *Dec) str() []byte {
	if !d.next('"') {
		return nil
	}
	start := d.i
	for d.i < len(d.data) {
		c := d.data[d.i]
		switch {
		case c == '"':
			d.i++
			return d.data[start : d.i-1]
		case c < 0x20 || c > 0x7e || c == '\\':
			d.bad = true
			return nil
		}
		d.i++
	}
	d.bad = true
	return nil
}

// String reads a string value.
func (d *Dec) String() string {
	s := d.str()
	if d.bad {
		return ""
	}
	return string(s)
}

// Bool reads true or false.
func (d *Dec) Bool() bool {
	if d.bad {
		return false
	}
	d.ws()
	rest := d.data[d.i:]
	switch {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		d.i += 4
		return true
	case len(rest) >= 5 && string(rest[:5]) == "false":
		d.i += 5
		return false
	}
	d.bad = true
	return false
}

// Time reads a string into t with time.Time's UnmarshalJSON, as
// encoding/json does.
func (d *Dec) Time(t *time.Time) {
	if d.bad {
		return
	}
	d.ws()
	start := d.i
	d.str()
	if d.bad {
		return
	}
	if err := t.UnmarshalJSON(d.data[start:d.i]); err != nil {
		d.bad = true
	}
}

// Plain reports whether encoding/json writes s as it is between quotes
// (with its default HTML escaping): printable ASCII other than the quote,
// the backslash, "<", ">" and "&".
func Plain(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// Enc appends JSON to a buffer. Once a value cannot be written the way
// encoding/json would write it without escapes (String of a string that
// needs them, Time of a time json.Marshal refuses) it fails, and its user
// hands the value to encoding/json instead.
type Enc struct {
	B   []byte
	bad bool
}

// Ok reports whether every value was written.
func (e *Enc) Ok() bool { return !e.bad }

// Raw appends s as it is (punctuation and keys).
func (e *Enc) Raw(s string) { e.B = append(e.B, s...) }

// String appends s quoted, when it needs no escaping.
func (e *Enc) String(s string) {
	if !Plain(s) {
		e.bad = true
		return
	}
	e.B = append(e.B, '"')
	e.B = append(e.B, s...)
	e.B = append(e.B, '"')
}

// Bool appends true or false.
func (e *Enc) Bool(v bool) {
	if v {
		e.B = append(e.B, "true"...)
	} else {
		e.B = append(e.B, "false"...)
	}
}

// Time appends t as its MarshalJSON writes it.
func (e *Enc) Time(t time.Time) {
	e.B = append(e.B, '"')
	b, err := t.AppendText(e.B)
	if err != nil {
		e.bad = true
		return
	}
	e.B = append(b, '"')
}
