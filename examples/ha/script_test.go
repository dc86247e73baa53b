package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// scripts/ha-demo.sh runs to its end within a minute: etcd, the CLI's
// controller on it with enable-ha, the seed with the first controller
// process killed midway, and everything stopped.
func TestHADemoScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI and runs controller processes")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, "../../scripts/ha-demo.sh")
	cmd.Env = append(cmd.Environ(), "HERD_DEMO_TIMEOUT=55")
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ha-demo.sh: %v after %v\n%s", err, time.Since(start).Round(time.Millisecond), out)
	}
	t.Logf("ran in %v", time.Since(start).Round(time.Millisecond))
	for _, want := range []string{"adding machines: 1, 2", "killing the first controller process", "Welcome, tom.",
		"Application \"mysql-staging\" is running", "Destroyed controller \"ha\"", "ha-demo: done: everything stopped and removed"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
