// Package nodetest installs a Node.js test client for Herd's tests: a
// folder of testdata with a package.json and its package-lock.json,
// installed with `npm ci` into a temporary folder. Tests that drive Herd
// with independent JavaScript clients (jujulib, tweetnacl) share it.
package nodetest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Install copies files (package.json, package-lock.json and the scripts)
// from folder src into a temporary folder, installs the locked packages
// there with npm (scripts off) and returns the folder and node's path. It
// skips the test only when node is not on PATH and HERD_NODE is not 1
// (CI sets it, so that there a missing node fails).
func Install(tb testing.TB, src string, files ...string) (dir, node string) {
	tb.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("HERD_NODE") == "1" {
			tb.Fatalf("HERD_NODE=1 but node is not on PATH: %v", err)
		}
		tb.Skip("node is not on PATH (set HERD_NODE=1 to make this a failure)")
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		tb.Fatalf("node is on PATH but npm is not: %v", err)
	}
	dir = tb.TempDir()
	for _, name := range files {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	install := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund")
	install.Dir = dir
	if out, err := install.CombinedOutput(); err != nil {
		tb.Fatalf("npm ci: %v\n%s", err, out)
	}
	return dir, node
}
