package users_test

import (
	"bytes"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/users"
)

func TestNames(t *testing.T) {
	good := map[string]string{
		"tom": "tom", "Tom": "tom", "tom@local": "tom", "TOM@Local": "tom", "t0": "t0",
		"a.b+c-d": "a.b+c-d", "bob@external": "bob@external", "x1@ex.ample.com": "x1@ex.ample.com",
	}
	for in, want := range good {
		got, err := users.Canonical(in)
		if err != nil || got != want {
			t.Errorf("Canonical(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "t", "-tom", "tom-", "to m", "tom@", "@local", "tóm", "tom/x", ".a", "a.", strings.Repeat("a", 300)} {
		if _, err := users.Canonical(bad); !errors.Is(err, herd.ErrInvalid) {
			t.Errorf("Canonical(%q) err = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestPasswords(t *testing.T) {
	h := users.Bcrypt{Cost: bcrypt.MinCost}
	hash, err := h.Hash("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if cost, _ := bcrypt.Cost([]byte(hash)); cost != bcrypt.MinCost {
		t.Errorf("cost = %d", cost)
	}
	if err := h.Compare(hash, "s3cret"); err != nil {
		t.Errorf("right password: %v", err)
	}
	if err := h.Compare(hash, "s3cret!"); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := h.Hash(strings.Repeat("x", 73)); !errors.Is(err, herd.ErrInvalid) {
		t.Errorf("73 bytes: %v", err)
	}
	if _, err := h.Hash(strings.Repeat("x", 72)); err != nil {
		t.Errorf("72 bytes: %v", err)
	}
	if _, err := h.Hash(""); !errors.Is(err, herd.ErrInvalid) {
		t.Errorf("empty: %v", err)
	}
	if _, err := (users.Bcrypt{Cost: 99}).Hash("x1"); !errors.Is(err, herd.ErrInvalid) {
		t.Errorf("cost 99: %v", err)
	}
}

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestTokenRoundTrip(t *testing.T) {
	in := users.Token{User: "tom", Addrs: []string{"10.0.0.1:17070", "[::1]:17070"}, SecretKey: key(7), ControllerName: "lxd-controller-1"}
	s, err := in.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(s, "=+/") {
		t.Errorf("token %q is not unpadded URL-safe base64", s)
	}
	out, err := users.DecodeToken(s)
	if err != nil {
		t.Fatal(err)
	}
	if out.User != in.User || out.ControllerName != in.ControllerName || !bytes.Equal(out.SecretKey, in.SecretKey) || strings.Join(out.Addrs, ",") != strings.Join(in.Addrs, ",") {
		t.Errorf("round trip: %+v", out)
	}
	// All five fields are encoded, strings as PrintableString.
	raw, _ := base64.URLEncoding.DecodeString(s)
	var fields []asn1.RawValue
	var seq asn1.RawValue
	if _, err := asn1.Unmarshal(raw, &seq); err != nil {
		t.Fatal(err)
	}
	rest := seq.Bytes
	for len(rest) > 0 {
		var f asn1.RawValue
		rest, err = asn1.Unmarshal(rest, &f)
		if err != nil {
			t.Fatal(err)
		}
		fields = append(fields, f)
	}
	if len(fields) != 5 || fields[0].Tag != asn1.TagPrintableString {
		t.Errorf("fields = %d, first tag %d", len(fields), fields[0].Tag)
	}
}

// encodeFields builds a token of the first n fields by hand, as older Juju
// releases wrote them, with or without padding.
func encodeFields(t testing.TB, n int, pad bool) string {
	t.Helper()
	vals := []any{"tom", []string{"1.2.3.4:17070"}, key(1), "ctl", ""}
	var body []byte
	for _, v := range vals[:n] {
		b, err := asn1.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		body = append(body, b...)
	}
	der, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: body})
	if err != nil {
		t.Fatal(err)
	}
	if pad {
		return base64.URLEncoding.EncodeToString(der)
	}
	return base64.RawURLEncoding.EncodeToString(der)
}

func TestTokenLenient(t *testing.T) {
	for n := 3; n <= 5; n++ {
		for _, pad := range []bool{false, true} {
			tok, err := users.DecodeToken(encodeFields(t, n, pad))
			if err != nil || tok.User != "tom" || len(tok.SecretKey) != 32 {
				t.Errorf("%d fields, pad %v: %+v, %v", n, pad, tok, err)
			}
			if n >= 4 && tok.ControllerName != "ctl" {
				t.Errorf("%d fields: controller %q", n, tok.ControllerName)
			}
		}
	}
	// trailing zero bytes after the DER
	good := encodeFields(t, 5, false)
	raw, _ := base64.RawURLEncoding.DecodeString(good)
	withZeros := base64.URLEncoding.EncodeToString(append(raw, 0, 0, 0, 0))
	if _, err := users.DecodeToken(withZeros); err != nil {
		t.Errorf("trailing zeros: %v", err)
	}
}

func TestTokenRejects(t *testing.T) {
	short, _ := asn1.Marshal(struct {
		User  string
		Addrs []string
		Key   []byte
	}{"tom", []string{}, []byte("short")})
	raw, _ := base64.RawURLEncoding.DecodeString(encodeFields(t, 5, false))
	cases := map[string]string{
		"bad base64":    "!!!not base64!!!",
		"empty":         "",
		"not DER":       base64.RawURLEncoding.EncodeToString([]byte("hello world")),
		"short key":     base64.RawURLEncoding.EncodeToString(short),
		"trailing junk": base64.RawURLEncoding.EncodeToString(append(raw, 1, 2, 3)),
		"two fields":    encodeFields(t, 2, false),
	}
	for name, s := range cases {
		if _, err := users.DecodeToken(s); !errors.Is(err, herd.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := users.DecodeToken(cases["short key"]); err == nil || err.Error() != "secret key not valid" {
		t.Errorf("short key message: %v", err)
	}
	if _, err := (users.Token{User: "tom", SecretKey: []byte("x")}).Encode(); !errors.Is(err, herd.ErrInvalid) {
		t.Errorf("encode short key: %v", err)
	}
}

func FuzzDecodeToken(f *testing.F) {
	for n := 3; n <= 5; n++ {
		f.Add(encodeFields(f, n, n == 4))
	}
	f.Add("MD0TA3RvbTAA")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := users.DecodeToken(s)
		if err != nil {
			if !errors.Is(err, herd.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		// Whatever decodes must encode and decode to the same content.
		enc, err := tok.Encode()
		if err != nil {
			return // e.g. a user name asn1 cannot write back; decode is what must not panic
		}
		back, err := users.DecodeToken(enc)
		if err != nil {
			t.Fatalf("re-decode of %q: %v", enc, err)
		}
		if back.User != tok.User || back.ControllerName != tok.ControllerName || back.ProxyConfig != tok.ProxyConfig ||
			!bytes.Equal(back.SecretKey, tok.SecretKey) || strings.Join(back.Addrs, "\x00") != strings.Join(tok.Addrs, "\x00") {
			t.Fatalf("round trip changed %+v into %+v", tok, back)
		}
	})
}

func FuzzTokenRoundTrip(f *testing.F) {
	f.Add("tom", "10.0.0.1:17070", "ctl", "", byte(1))
	f.Fuzz(func(t *testing.T, user, addr, ctl, proxy string, b byte) {
		in := users.Token{User: user, Addrs: []string{addr}, SecretKey: key(b), ControllerName: ctl, ProxyConfig: proxy}
		s, err := in.Encode()
		if err != nil {
			return // strings asn1 cannot encode (invalid UTF-8)
		}
		out, err := users.DecodeToken(s)
		if err != nil {
			t.Fatalf("decode %q: %v", s, err)
		}
		if out.User != user || out.Addrs[0] != addr || out.ControllerName != ctl || out.ProxyConfig != proxy {
			t.Fatalf("round trip: %+v", out)
		}
	})
}

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"tom", "Tom@local", "a", "-x", "bob@ex.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := users.Canonical(s)
		if err != nil {
			if !errors.Is(err, herd.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		again, err := users.Canonical(c)
		if err != nil || again != c {
			t.Fatalf("Canonical not idempotent: %q → %q → %q, %v", s, c, again, err)
		}
	})
}
