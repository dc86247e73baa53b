package apiserver

import (
	"strings"
	"testing"
	"time"

	"github.com/herd-project/herd/internal/rpc"
)

// A peer that never logs in cannot keep connection slots by pinging: a
// connection must log in within Options.LoginTimeout.
func TestPreLoginPingDoesNotHoldSlots(t *testing.T) {
	e := newEnv(t, Options{MaxConns: 2, LoginTimeout: 300 * time.Millisecond, RPC: rpc.Options{IdleTimeout: 200 * time.Millisecond}})
	a, b := e.dial(t, "/api"), e.dial(t, "/api")
	closed := 0
	for range 10 { // 1s: the login deadline passes
		for _, c := range []*rpc.Client{a, b} {
			if err := c.Call(ctxFor(t), "Pinger", 1, "", "Ping", nil, nil); err != nil {
				closed++
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if closed == 0 {
		t.Error("connections that never logged in were still served after the login deadline")
	}
	c, err := rpc.Dial(ctxFor(t), e.url("/api"), e.tls)
	if err != nil && strings.Contains(err.Error(), "503") {
		t.Fatalf("two never-logged-in connections still hold every slot")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A client that logs in in time stays.
	if _, err := login(ctxFor(t), c, "admin", e.f.Password("admin")); err != nil {
		t.Fatal(err)
	}
	for range 5 { // past the login deadline, pinging within the idle timeout
		time.Sleep(100 * time.Millisecond)
		if err := c.Call(ctxFor(t), "Pinger", 1, "", "Ping", nil, nil); err != nil {
			t.Fatalf("a logged-in connection was closed at the login deadline: %v", err)
		}
	}
}
