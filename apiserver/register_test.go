package apiserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/controller/controllertest"
	"github.com/herd-project/herd/internal/pki"
	"github.com/herd-project/herd/internal/register"
	"github.com/herd-project/herd/internal/rpc"
	"github.com/herd-project/herd/users"
)

// The seed's registration across the network, on the controller's own
// TLS certificate: tom, knowing only the token, runs Juju's /register
// exchange, learns the controller's CA from the sealed reply, pins it and
// logs in with his new password. The token works once.
func TestRegisterOverTheNetwork(t *testing.T) {
	f := controllertest.New(t, &controllertest.Options{Fresh: true})
	srv, err := New(f.Controller, Options{LoginRate: -1, LoginAddrRate: -1})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	addr := ln.Addr().String()

	added, err := f.Admin.AddUser(f.Context(), "tom", "Tom")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := users.DecodeToken(added.Token)
	if err != nil {
		t.Fatal(err)
	}
	key, err := register.Key(tok)
	if err != nil {
		t.Fatal(err)
	}
	post := func() (int, []byte) {
		t.Helper()
		body, err := register.Request(tok, "tom's new password", rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		// First contact: the certificate cannot be checked yet; the sealed
		// reply proves the controller instead.
		hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		resp, err := hc.Post("https://"+addr+"/register", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}
	code, out := post()
	if code != http.StatusOK {
		t.Fatalf("register: HTTP %d %s", code, out)
	}
	payload, err := register.OpenResponse(key, out)
	if err != nil {
		t.Fatal(err)
	}
	if payload.ControllerUUID != f.Controller.UUID() || payload.CACert != string(f.Controller.CACert()) {
		t.Fatalf("sealed reply: uuid %q, CA %d bytes; want the controller's", payload.ControllerUUID, len(payload.CACert))
	}
	cfg, err := pki.ClientTLSConfig([]byte(payload.CACert))
	if err != nil {
		t.Fatal(err)
	}
	c, err := rpc.Dial(ctxFor(t), "wss://"+addr+"/api", cfg)
	if err != nil {
		t.Fatalf("dial with the pinned CA: %v", err)
	}
	defer c.Close()
	if _, err := login(ctxFor(t), c, "tom", "tom's new password"); err != nil {
		t.Fatalf("login after registering: %v", err)
	}
	// Once only.
	if code, out := post(); code != register.FailureStatus || !bytes.Equal(out, register.FailureBody()) {
		t.Errorf("second use of the token: HTTP %d %s, want the failure answer", code, out)
	}
	// And another CA is not trusted.
	other, err := pki.NewCA("other", "uuid", time.Now(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ = pki.ClientTLSConfig(other.CertPEM)
	if c, err := rpc.Dial(ctxFor(t), "wss://"+addr+"/api", cfg); err == nil {
		c.Close()
		t.Error("a client pinning another CA connected")
	}
	if _, err := f.Controller.Login(f.Context(), "tom", "tom's new password"); err != nil {
		t.Errorf("in-process login with the password set over the network: %v", err)
	}
	if err := f.Controller.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Controller.RegisterExchange(context.Background(), nil); !errors.Is(err, herd.ErrClosed) {
		t.Errorf("exchange on a closed controller: %v", err)
	}
}
