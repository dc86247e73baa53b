package register

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/nacl/secretbox"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/internal/pki"
	"github.com/herd-project/herd/users"
)

const testPassword = "correct horse battery staple"

var (
	caOnce sync.Once
	caPEM  string
)

// testCA returns the PEM of a CA made once for the package's tests.
func testCA(t testing.TB) string {
	t.Helper()
	caOnce.Do(func() {
		ca, err := pki.NewCA("herd-test", "deadbeef-1bad-500d-9000-4b1d0d06f00d", time.Now(), rand.Reader)
		if err != nil {
			panic(err)
		}
		caPEM = string(ca.CertPEM)
	})
	return caPEM
}

func testToken(t testing.TB, user string) (users.Token, [KeyLen]byte) {
	t.Helper()
	tok := users.Token{User: user, Addrs: []string{"127.0.0.1:17070"}, SecretKey: make([]byte, KeyLen), ControllerName: "herd"}
	if _, err := rand.Read(tok.SecretKey); err != nil {
		t.Fatal(err)
	}
	key, err := Key(tok)
	if err != nil {
		t.Fatal(err)
	}
	return tok, key
}

func testPayload(t testing.TB) Payload {
	return Payload{CACert: testCA(t), ControllerUUID: "deadbeef-1bad-500d-9000-4b1d0d06f00d"}
}

func keys(t *testing.T, data []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("not a JSON object: %v", err)
	}
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func TestRoundTrip(t *testing.T) {
	tok, key := testToken(t, "Tom@local")
	body, err := Request(tok, testPassword, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	user, nonce, box, err := ParseRequest(body, 0)
	if err != nil {
		t.Fatal(err)
	}
	if user != "tom" {
		t.Errorf("user = %q, want tom", user)
	}
	pw, err := OpenPassword(key, nonce, box)
	if err != nil || pw != testPassword {
		t.Fatalf("OpenPassword: err %v, password right: %v", err, pw == testPassword)
	}
	for _, want := range []Payload{
		testPayload(t),
		{CACert: testCA(t), ControllerUUID: "u", ProxyConfig: &Proxy{Type: "k8s-port-forward", Config: map[string]any{"namespace": "controller-x", "port": "17070"}}},
	} {
		reply, err := SealResponse(key, nonce, want, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		got, err := OpenResponse(key, reply)
		if err != nil {
			t.Fatal(err)
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if !bytes.Equal(gj, wj) {
			t.Errorf("payload = %s, want %s", gj, wj)
		}
	}
}

// TestWireShape checks the JSON field names and encodings against Juju's
// params (rpc/params/registration.go), decoding by hand.
func TestWireShape(t *testing.T) {
	tok, key := testToken(t, "bob")
	body, err := Request(tok, testPassword, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(keys(t, body), ","); got != "cipher-text,nonce,user" {
		t.Fatalf("request fields = %s", got)
	}
	var req struct {
		User       string `json:"user"`
		Nonce      string `json:"nonce"`
		CipherText string `json:"cipher-text"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatal(err)
	}
	if req.User != "user-bob" {
		t.Errorf("user = %q", req.User)
	}
	nonce, err := base64.StdEncoding.DecodeString(req.Nonce)
	if err != nil || len(nonce) != 24 {
		t.Fatalf("nonce %q: %v, %d bytes", req.Nonce, err, len(nonce))
	}
	ct, err := base64.StdEncoding.DecodeString(req.CipherText)
	if err != nil {
		t.Fatal(err)
	}
	var n [24]byte
	copy(n[:], nonce)
	plain, ok := secretbox.Open(nil, ct, &n, &key)
	if !ok {
		t.Fatal("box does not open with the token's key")
	}
	if string(plain) != `{"password":"`+testPassword+`"}` {
		t.Errorf("sealed payload has the wrong shape (%d bytes)", len(plain))
	}

	reply, err := SealResponse(key, n, testPayload(t), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(keys(t, reply), ","); got != "cipher-text,nonce" {
		t.Fatalf("response fields = %s", got)
	}
	var resp struct {
		Nonce      string `json:"nonce"`
		CipherText string `json:"cipher-text"`
	}
	if err := json.Unmarshal(reply, &resp); err != nil {
		t.Fatal(err)
	}
	rn, _ := base64.StdEncoding.DecodeString(resp.Nonce)
	rct, _ := base64.StdEncoding.DecodeString(resp.CipherText)
	copy(n[:], rn)
	plain, ok = secretbox.Open(nil, rct, &n, &key)
	if !ok || len(rn) != 24 {
		t.Fatal("reply does not open")
	}
	if got := strings.Join(keys(t, plain), ","); got != "ca-cert,controller-uuid,proxy-config" {
		t.Errorf("payload fields = %s", got)
	}
	if !bytes.Contains(plain, []byte(`"proxy-config":null`)) {
		t.Errorf("no proxy config is not written as null, as Juju writes it")
	}
}

// TestJujuRequest parses a request built as Juju's own test does
// (apiserver/registration_test.go): a literal JSON body.
func TestJujuRequest(t *testing.T) {
	_, key := testToken(t, "bob")
	nonce := []byte(strings.Repeat("X", 24))
	var n [24]byte
	copy(n[:], nonce)
	box := secretbox.Seal(nil, []byte(`{"password": "hunter2"}`), &n, &key)
	body := `{"user": "user-bob", "nonce": "` + base64.StdEncoding.EncodeToString(nonce) +
		`", "cipher-text": "` + base64.StdEncoding.EncodeToString(box) + `", "future-field": 1}`
	user, gotNonce, gotBox, err := ParseRequest([]byte(body), 0)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := OpenPassword(key, gotNonce, gotBox)
	if err != nil || user != "bob" || pw != "hunter2" {
		t.Fatalf("user %q, password ok %v, err %v", user, pw == "hunter2", err)
	}
}

func TestTamperedRefused(t *testing.T) {
	tok, key := testToken(t, "tom")
	body, err := Request(tok, testPassword, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, nonce, box, err := ParseRequest(body, 0)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, herd.ErrUnauthenticated) || err.Error() != FailureMessage {
			t.Errorf("%s: err = %v, want ErrUnauthenticated %q", what, err, FailureMessage)
		}
	}
	for i := range box {
		b := bytes.Clone(box)
		b[i] ^= 0x01
		_, err := OpenPassword(key, nonce, b)
		check("cipher-text byte flipped", err)
	}
	for i := range nonce {
		n := nonce
		n[i] ^= 0x80
		_, err := OpenPassword(key, n, box)
		check("nonce byte flipped", err)
	}
	_, err = OpenPassword(key, nonce, box[:len(box)-1])
	check("cipher-text cut", err)
	// The user is not sealed, but the server opens the box with the named
	// user's key: another user's key does not open it.
	_, alice := testToken(t, "alice")
	var req map[string]any
	_ = json.Unmarshal(body, &req)
	req["user"] = "user-alice"
	forged, _ := json.Marshal(req)
	user, n, b, err := ParseRequest(forged, 0)
	if err != nil || user != "alice" {
		t.Fatal(user, err)
	}
	_, err = OpenPassword(alice, n, b)
	check("user changed", err)
	check("decoy", Decoy(nonce, box))
	if !errors.Is(Decoy(nonce, box), ErrRegistration) {
		t.Error("Decoy is not ErrRegistration")
	}
}

func TestFailureBody(t *testing.T) {
	var r struct {
		Error *struct {
			Message string         `json:"message"`
			Code    string         `json:"code"`
			Info    map[string]any `json:"info"`
		} `json:"error"`
	}
	if err := json.Unmarshal(FailureBody(), &r); err != nil || r.Error == nil {
		t.Fatalf("FailureBody is not a params.ErrorResult: %v", err)
	}
	if r.Error.Message != "secret key not valid" || r.Error.Code != "not valid" || FailureStatus != 500 {
		t.Errorf("failure = %d %+v, want Juju's 500 not valid", FailureStatus, r.Error)
	}
	if ErrRegistration.Error() != r.Error.Message {
		t.Errorf("ErrRegistration %q differs from the body", ErrRegistration)
	}
	// The client half reads a failure body as a malformed reply.
	_, key := testToken(t, "tom")
	if _, err := OpenResponse(key, FailureBody()); !errors.Is(err, herd.ErrInvalid) {
		t.Errorf("OpenResponse(failure body) = %v", err)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestParseRequestRejects(t *testing.T) {
	n24, box := b64(make([]byte, 24)), b64(make([]byte, 40))
	obj := func(user, nonce, ct string) string {
		return `{"user":` + user + `,"nonce":` + nonce + `,"cipher-text":` + ct + `}`
	}
	q := func(s string) string { return `"` + s + `"` }
	cases := map[string]string{
		"empty":             "",
		"null":              "null",
		"array":             "[]",
		"string":            `"user-bob"`,
		"not JSON":          "{",
		"trailing junk":     obj(q("user-bob"), q(n24), q(box)) + "x",
		"no user":           obj(q(""), q(n24), q(box)),
		"no prefix":         obj(q("bob"), q(n24), q(box)),
		"machine tag":       obj(q("machine-0"), q(n24), q(box)),
		"prefix only":       obj(q("user-"), q(n24), q(box)),
		"bad name":          obj(q("user-bob smith"), q(n24), q(box)),
		"long name":         obj(q("user-"+strings.Repeat("a", 256)), q(n24), q(box)),
		"user not string":   obj("1", q(n24), q(box)),
		"no nonce":          obj(q("user-bob"), "null", q(box)),
		"short nonce":       obj(q("user-bob"), q(b64(make([]byte, 23))), q(box)),
		"long nonce":        obj(q("user-bob"), q(b64(make([]byte, 25))), q(box)),
		"nonce not base64":  obj(q("user-bob"), q("!!!!"), q(box)),
		"no cipher-text":    obj(q("user-bob"), q(n24), `""`),
		"short cipher-text": obj(q("user-bob"), q(n24), q(b64(make([]byte, MinBoxBytes-1)))),
		"long cipher-text":  obj(q("user-bob"), q(n24), q(b64(make([]byte, MaxBoxBytes+1)))),
		"too large":         obj(q("user-bob"), q(n24), q(box)) + strings.Repeat(" ", MaxRequestBytes),
	}
	for name, body := range cases {
		_, _, _, err := ParseRequest([]byte(body), 0)
		if !errors.Is(err, herd.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	good := obj(q("user-bob"), q(n24), q(box))
	if _, _, _, err := ParseRequest([]byte(good), 0); err != nil {
		t.Fatalf("good request refused: %v", err)
	}
	if _, _, _, err := ParseRequest([]byte(good), len(good)-1); !errors.Is(err, herd.ErrInvalid) {
		t.Errorf("the caller's cap is not applied: %v", err)
	}
}

func TestOpenPasswordRejects(t *testing.T) {
	_, key := testToken(t, "bob")
	var nonce [24]byte
	_, _ = rand.Read(nonce[:])
	seal := func(s string) []byte { return secretbox.Seal(nil, []byte(s), &nonce, &key) }
	for _, inner := range []string{"", "[]", "null", "{}", `{"password":5}`, `{"password":null}`, `{"password":""}`, `{"password":"` + strings.Repeat("x", 73) + `"}`, "{", `"pw"`} {
		_, err := OpenPassword(key, nonce, seal(inner))
		if !errors.Is(err, herd.ErrInvalid) {
			t.Errorf("payload %.20q: err = %v, want ErrInvalid", inner, err)
		}
	}
	// The password never appears in an error.
	secret := strings.Repeat("s3cret", 13)
	_, err := OpenPassword(key, nonce, seal(`{"password":"`+secret+`"}`))
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("over-long password: err %v", err)
	}
	pw, err := OpenPassword(key, nonce, seal(`{"password":"\u00e9t\u00e9", "extra": true}`))
	if err != nil || pw != "été" {
		t.Errorf("escaped password: %v", err)
	}
}

func TestRequestRejects(t *testing.T) {
	tok, _ := testToken(t, "bob")
	bad := tok
	bad.SecretKey = bad.SecretKey[:31]
	if _, err := Request(bad, testPassword, rand.Reader); !errors.Is(err, herd.ErrInvalid) {
		t.Errorf("short key: %v", err)
	}
	bad = tok
	bad.User = "bob smith"
	if _, err := Request(bad, testPassword, rand.Reader); !errors.Is(err, herd.ErrInvalid) {
		t.Errorf("bad user: %v", err)
	}
	for _, pw := range []string{"", strings.Repeat("x", 73)} {
		if _, err := Request(tok, pw, rand.Reader); !errors.Is(err, herd.ErrInvalid) {
			t.Errorf("password of %d bytes: %v", len(pw), err)
		}
	}
	if _, err := Request(tok, testPassword, bytes.NewReader(make([]byte, 10))); !errors.Is(err, herd.ErrFailedPrecondition) {
		t.Errorf("short random source: %v", err)
	}
}

// constReader returns the same bytes forever.
type constReader []byte

func (c constReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = c[i%len(c)]
	}
	return len(p), nil
}

func TestSealResponseFreshNonce(t *testing.T) {
	_, key := testToken(t, "bob")
	p := testPayload(t)
	seen := map[string]bool{}
	for range 2000 {
		var reqNonce [NonceLen]byte
		_, _ = rand.Read(reqNonce[:])
		reply, err := SealResponse(key, reqNonce, p, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		var r response
		if err := json.Unmarshal(reply, &r); err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(r.Nonce, reqNonce[:]) {
			t.Fatal("reply reuses the request's nonce")
		}
		if seen[string(r.Nonce)] {
			t.Fatal("reply nonce repeated")
		}
		seen[string(r.Nonce)] = true
	}
	// A random source that hands back the request's nonce is caught.
	var reqNonce [NonceLen]byte
	_, _ = rand.Read(reqNonce[:])
	if _, err := SealResponse(key, reqNonce, p, constReader(reqNonce[:])); !errors.Is(err, herd.ErrFailedPrecondition) {
		t.Errorf("nonce reuse not refused: %v", err)
	}
	if _, err := SealResponse(key, reqNonce, p, constReader{0}); !errors.Is(err, herd.ErrFailedPrecondition) {
		t.Errorf("zero nonce not refused: %v", err)
	}
	if _, err := SealResponse(key, reqNonce, p, io.LimitReader(rand.Reader, 3)); !errors.Is(err, herd.ErrFailedPrecondition) {
		t.Errorf("short random source: %v", err)
	}
	if _, err := SealResponse(key, reqNonce, Payload{}, rand.Reader); !errors.Is(err, herd.ErrInvalid) {
		t.Errorf("empty payload: %v", err)
	}
}

func TestOpenResponseRejects(t *testing.T) {
	_, key := testToken(t, "bob")
	_, other := testToken(t, "bob")
	var reqNonce [NonceLen]byte
	good, err := SealResponse(key, reqNonce, testPayload(t), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenResponse(other, good); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("reply under another key: %v, want ErrUnauthenticated", err)
	}
	sealWith := func(p any) []byte {
		plain, _ := json.Marshal(p)
		var n [NonceLen]byte
		_, _ = rand.Read(n[:])
		b, _ := json.Marshal(response{Nonce: n[:], CipherText: secretbox.Seal(nil, plain, &n, &key)})
		return b
	}
	cases := map[string][]byte{
		"empty":       nil,
		"array":       []byte("[]"),
		"short nonce": []byte(`{"nonce":"` + b64(make([]byte, 23)) + `","cipher-text":""}`),
		"too large":   bytes.Repeat([]byte(" "), MaxResponseBytes+1),
		"not object":  sealWith([]string{"x"}),
		"no uuid":     sealWith(Payload{CACert: testCA(t)}),
		"no CA":       sealWith(Payload{ControllerUUID: "u"}),
		"bad CA":      sealWith(Payload{CACert: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", ControllerUUID: "u"}),
	}
	for name, body := range cases {
		if _, err := OpenResponse(key, body); !errors.Is(err, herd.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}
