package client

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/internal/register"
	"github.com/herd-project/herd/users"
)

func TestRegister(t *testing.T) {
	f := newFake(t)
	f.regUser = "tom"
	if _, err := rand.Read(f.regKey[:]); err != nil {
		t.Fatal(err)
	}
	down := deadAddr(t)
	tok, err := users.Token{User: "tom", Addrs: []string{down, f.addr()}, SecretKey: f.regKey[:], ControllerName: "fake"}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	s, res, err := Register(ctx, tok, fakePassword, RegisterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !bytes.Equal(res.CACert, f.ca.CertPEM) || res.ControllerUUID != fakeUUID || res.ControllerName != "fake" {
		t.Errorf("result %+v", res)
	}
	if len(res.Addrs) != 2 || res.Addrs[0] != f.addr() || res.Addrs[1] != down {
		t.Errorf("addrs %v: want the one that answered first", res.Addrs)
	}
	if s.Token() != fakeToken || s.User() != "tom" {
		t.Errorf("session token %q user %q", s.Token(), s.User())
	}
	// The login after registering used the new password over a pinned
	// connection (the fake's CA only).
	calls := f.recorded()
	if len(calls) == 0 || calls[0].Method != "Login" {
		t.Fatalf("calls %+v", calls)
	}

	// The token works once; the refusal is Juju's hint.
	_, _, err = Register(ctx, tok, fakePassword, RegisterOptions{})
	if !errors.Is(err, herd.ErrUnauthenticated) || err.Error() != registrationRefused {
		t.Errorf("second use: %v", err)
	}
}

func TestRegisterRejectsForgedReply(t *testing.T) {
	f := newFake(t)
	f.regUser = "tom"
	f.regKey[0] = 1 // the server holds another key than the token's
	key := make([]byte, users.SecretKeyLen)
	tok, err := users.Token{User: "tom", Addrs: []string{f.addr()}, SecretKey: key}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Register(testCtx(t), tok, fakePassword, RegisterOptions{}); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("register with a key the server does not hold: %v", err)
	}
	if _, _, err := Register(testCtx(t), "not-a-token!", fakePassword, RegisterOptions{}); !errors.Is(err, herd.ErrInvalid) {
		t.Errorf("bad token: %v", err)
	}
	tok, _ = users.Token{User: "tom", Addrs: []string{deadAddr(t)}, SecretKey: key}.Encode()
	if _, _, err := Register(testCtx(t), tok, fakePassword, RegisterOptions{}); !errors.Is(err, herd.ErrClosed) {
		t.Errorf("every address down: %v", err)
	}
}

// TestRegisterImpostor: a server that does not hold the token's key cannot
// forge the reply; Register fails before any login, so the password goes
// nowhere but inside the sealed box.
func TestRegisterImpostor(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.Path)
		mu.Unlock()
		nonce := make([]byte, register.NonceLen)
		box := make([]byte, 64)
		rand.Read(nonce)
		rand.Read(box)
		json.NewEncoder(w).Encode(map[string][]byte{"nonce": nonce, "cipher-text": box})
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	defer srv.Close()
	key := make([]byte, users.SecretKeyLen)
	rand.Read(key)
	tok, err := users.Token{User: "tom", Addrs: []string{strings.TrimPrefix(srv.URL, "https://")}, SecretKey: key}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = Register(testCtx(t), tok, fakePassword, RegisterOptions{})
	if !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("forged reply: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(paths) != 1 || paths[0] != "POST /register" {
		t.Errorf("requests %v, want the POST alone", paths)
	}
}

// TestRegisterPinsTheSealedCA: after the exchange only the CA the sealed
// reply names is trusted; a server whose certificate another CA signed is
// refused at the login.
func TestRegisterPinsTheSealedCA(t *testing.T) {
	f := newFake(t)
	other := newFake(t)
	f.regUser = "tom"
	f.regCA = other.ca.CertPEM
	rand.Read(f.regKey[:])
	tok, err := users.Token{User: "tom", Addrs: []string{f.addr()}, SecretKey: f.regKey[:]}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = Register(testCtx(t), tok, fakePassword, RegisterOptions{})
	if !errors.Is(err, herd.ErrClosed) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("login against a certificate the pinned CA did not sign: %v", err)
	}
	for _, c := range f.recorded() {
		t.Errorf("request over an unverified connection: %+v", c)
	}
}
