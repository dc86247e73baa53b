package client

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/herd-project/herd"
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
