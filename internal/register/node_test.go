package register

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/internal/nodetest"
)

// nodeClient installs testdata/node (tweetnacl, pinned by its
// package-lock.json) into a temporary folder and returns a function that
// runs register.mjs with one command on stdin. It skips only when node is
// not on PATH and HERD_NODE is not 1 (CI sets it, so there a missing node
// fails).
func nodeClient(t *testing.T) func(cmd any) ([]byte, error) {
	t.Helper()
	dir, node := nodetest.Install(t, filepath.Join("testdata", "node"), "package.json", "package-lock.json", "register.mjs")
	return func(cmd any) ([]byte, error) {
		in, err := json.Marshal(cmd)
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		run := exec.CommandContext(ctx, node, "register.mjs")
		run.Dir = dir
		run.Stdin = bytes.NewReader(in)
		var stderr bytes.Buffer
		run.Stderr = &stderr
		out, err := run.Output()
		if err != nil {
			return nil, errors.New(strings.TrimSpace(stderr.String()))
		}
		return out, nil
	}
}

// TestNodeClient runs the exchange between an independent JavaScript
// client (tweetnacl) and Herd's server half.
func TestNodeClient(t *testing.T) {
	node := nodeClient(t)
	_, key := testToken(t, "tom")
	key64 := base64.StdEncoding.EncodeToString(key[:])
	password := "pässwörd \"quoted\" \\ </script>"

	body, err := node(map[string]string{"op": "request", "user": "tom", "key": key64, "password": password})
	if err != nil {
		t.Fatalf("node request: %v", err)
	}
	user, nonce, box, err := ParseRequest(body, 0)
	if err != nil {
		t.Fatalf("Go refuses Node's request: %v", err)
	}
	got, err := OpenPassword(key, nonce, box)
	if err != nil || user != "tom" || got != password {
		t.Fatalf("Node's request: user %q, password right %v, err %v", user, got == password, err)
	}

	want := testPayload(t)
	reply, err := SealResponse(key, nonce, want, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	out, err := node(map[string]string{"op": "open", "key": key64, "body": string(reply)})
	if err != nil {
		t.Fatalf("Node cannot open Go's reply: %v", err)
	}
	var p Payload
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	if p.CACert != want.CACert || p.ControllerUUID != want.ControllerUUID || p.ProxyConfig != nil {
		t.Errorf("Node opened %+v", p)
	}

	// The other way round fails on both sides: a wrong key.
	_, other := testToken(t, "tom")
	if _, err := OpenPassword(other, nonce, box); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("Node's request opened under another key: %v", err)
	}
	other64 := base64.StdEncoding.EncodeToString(other[:])
	if _, err := node(map[string]string{"op": "open", "key": other64, "body": string(reply)}); err == nil || !strings.Contains(err.Error(), "response payload not valid") {
		t.Errorf("Node opened a reply under another key: %v", err)
	}
	// And Node refuses Herd's failure answer.
	if _, err := node(map[string]string{"op": "open", "key": key64, "body": string(FailureBody())}); err == nil {
		t.Error("Node accepted the failure body")
	}
}
