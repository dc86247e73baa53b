package register

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/crypto/nacl/secretbox"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/users"
)

// fuzzKey is the key the seed corpus under testdata/fuzz was sealed with.
var fuzzKey = func() (k [KeyLen]byte) {
	for i := range k {
		k[i] = byte(i + 1)
	}
	return k
}()

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(`{"user":"user-bob","nonce":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","cipher-text":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		user, nonce, box, err := ParseRequest(body, 0)
		if err != nil {
			if !errors.Is(err, herd.ErrInvalid) {
				t.Fatalf("error wraps no ErrInvalid: %v", err)
			}
			return
		}
		if c, err := users.Canonical(user); err != nil || c != user {
			t.Fatalf("accepted user %q is not canonical", user)
		}
		if len(box) < MinBoxBytes || len(box) > MaxBoxBytes {
			t.Fatalf("accepted a %d-byte box", len(box))
		}
		again, _ := json.Marshal(request{User: userTagPrefix + user, Nonce: nonce[:], CipherText: box})
		u2, n2, b2, err := ParseRequest(again, 0)
		if err != nil || u2 != user || n2 != nonce || string(b2) != string(box) {
			t.Fatalf("re-encoded request does not parse the same: %v", err)
		}
		// Opening never panics and fails in one of the documented ways.
		if _, err := OpenPassword(fuzzKey, nonce, box); err != nil && !errors.Is(err, herd.ErrInvalid) && !errors.Is(err, herd.ErrUnauthenticated) {
			t.Fatalf("OpenPassword: %v", err)
		}
	})
}

func FuzzOpenResponse(f *testing.F) {
	f.Add([]byte(`{"nonce":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","cipher-text":""}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := OpenResponse(fuzzKey, body)
		if err != nil {
			if !errors.Is(err, herd.ErrInvalid) && !errors.Is(err, herd.ErrUnauthenticated) {
				t.Fatalf("error wraps neither ErrInvalid nor ErrUnauthenticated: %v", err)
			}
			return
		}
		reply, err := SealResponse(fuzzKey, [NonceLen]byte{}, p, rand.Reader)
		if err != nil {
			t.Fatalf("cannot re-seal an accepted payload: %v", err)
		}
		if _, err := OpenResponse(fuzzKey, reply); err != nil {
			t.Fatalf("re-sealed payload refused: %v", err)
		}
	})
}

// FuzzOpenPassword fuzzes what is inside a box that opens.
func FuzzOpenPassword(f *testing.F) {
	for _, s := range []string{`{"password":"hunter2"}`, `{"password":""}`, `{}`, `null`, `{"password":"\ud800"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, plain []byte) {
		var nonce [NonceLen]byte
		pw, err := OpenPassword(fuzzKey, nonce, secretbox.Seal(nil, plain, &nonce, &fuzzKey))
		if err != nil {
			if !errors.Is(err, herd.ErrInvalid) {
				t.Fatalf("error wraps no ErrInvalid: %v", err)
			}
			return
		}
		if users.ValidatePassword(pw) != nil {
			t.Fatalf("accepted an invalid password")
		}
	})
}

// TestWriteFuzzSeeds regenerates the seed corpora under testdata/fuzz
// when HERD_WRITE_FUZZ_SEEDS=1.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("HERD_WRITE_FUZZ_SEEDS") != "1" {
		t.Skip("set HERD_WRITE_FUZZ_SEEDS=1 to regenerate testdata/fuzz")
	}
	tok := users.Token{User: "bob", SecretKey: fuzzKey[:]}
	req, err := Request(tok, "hunter2", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var nonce [NonceLen]byte
	copy(nonce[:], "XXXXXXXXXXXXXXXXXXXXXXXX")
	jujuBox := secretbox.Seal(nil, []byte(`{"password": "hunter2"}`), &nonce, &fuzzKey)
	jujuReq := fmt.Sprintf(`{"user": "user-bob", "nonce": %q, "cipher-text": %q}`, b64(nonce[:]), b64(jujuBox))
	write(t, "FuzzParseRequest", map[string]string{
		"herd-request":  string(req),
		"juju-request":  jujuReq,
		"local-domain":  `{"user":"user-Bob@local","nonce":"` + b64(nonce[:]) + `","cipher-text":"` + b64(jujuBox) + `"}`,
		"null":          "null",
		"short-nonce":   `{"user":"user-bob","nonce":"AAAA","cipher-text":"` + b64(jujuBox) + `"}`,
		"not-user-tag":  `{"user":"machine-0","nonce":"` + b64(nonce[:]) + `","cipher-text":"` + b64(jujuBox) + `"}`,
		"unicode-user":  `{"user":"user-b\u00f6b","nonce":"` + b64(nonce[:]) + `","cipher-text":"` + b64(jujuBox) + `"}`,
		"unknown-field": `{"user":"user-bob","x":[1,{}],"nonce":"` + b64(nonce[:]) + `","cipher-text":"` + b64(jujuBox) + `"}`,
	})
	good, err := SealResponse(fuzzKey, nonce, testPayload(t), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	proxied := testPayload(t)
	proxied.ProxyConfig = &Proxy{Type: "k8s-port-forward", Config: map[string]any{"namespace": "controller-x", "remote-port": "17070"}}
	withProxy, err := SealResponse(fuzzKey, nonce, proxied, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var zero [NonceLen]byte
	notObject := fmt.Sprintf(`{"nonce":%q,"cipher-text":%q}`, b64(zero[:]), b64(secretbox.Seal(nil, []byte(`[1]`), &zero, &fuzzKey)))
	write(t, "FuzzOpenResponse", map[string]string{
		"herd-response": string(good),
		"proxy-config":  string(withProxy),
		"failure-body":  string(FailureBody()),
		"not-object":    notObject,
		"empty-object":  "{}",
	})
}

func write(t *testing.T, target string, seeds map[string]string) {
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, s := range seeds {
		data := "go test fuzz v1\n[]byte(" + strconv.Quote(s) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSeedsAccepted keeps the seed corpora meaningful: the well-formed
// seeds must pass, so the fuzzers start from the success paths too.
func TestSeedsAccepted(t *testing.T) {
	read := func(target, name string) []byte {
		data, err := os.ReadFile(filepath.Join("testdata", "fuzz", target, name))
		if err != nil {
			t.Fatal(err)
		}
		var quoted string
		if _, err := fmt.Sscanf(string(data), "go test fuzz v1\n[]byte(%q)\n", &quoted); err != nil {
			t.Fatalf("%s/%s: %v", target, name, err)
		}
		return []byte(quoted)
	}
	for _, name := range []string{"herd-request", "juju-request", "local-domain"} {
		_, nonce, box, err := ParseRequest(read("FuzzParseRequest", name), 0)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if pw, err := OpenPassword(fuzzKey, nonce, box); err != nil || pw != "hunter2" {
			t.Fatalf("%s: %v", name, err)
		}
	}
	for _, name := range []string{"herd-response", "proxy-config"} {
		if _, err := OpenResponse(fuzzKey, read("FuzzOpenResponse", name)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}
