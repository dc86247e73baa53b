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
	e := newEnv(t, Options{MaxConns: 2, RPC: rpc.Options{IdleTimeout: 200 * time.Millisecond}})
	a, b := e.dial(t, "/api"), e.dial(t, "/api")
	for range 10 { // 1s, five idle timeouts
		for _, c := range []*rpc.Client{a, b} {
			if err := c.Call(ctxFor(t), "Pinger", 1, "", "Ping", nil, nil); err != nil {
				t.Fatalf("pre-login ping: %v", err)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, err := rpc.Dial(ctxFor(t), e.url("/api"), e.tls)
	t.Logf("legitimate client after 1s (5 idle timeouts): %v", err)
	if err != nil && strings.Contains(err.Error(), "503") {
		t.Errorf("two never-logged-in connections still hold every slot")
	}
}
