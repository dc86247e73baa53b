package rpc

import (
	"context"
	"encoding/pem"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herd-project/herd"
)

// jujulibScript drives a server with the real @canonical/jujulib client:
// connect, a refused login, a login, Pinger.Ping, a refused
// Client.FullStatus and an unknown facade.
const jujulibScript = `
const lib = process.env.JUJULIB;
const { connect } = await import(lib + "/dist/api/client.js");
const PingerV1 = (await import(lib + "/dist/api/facades/pinger/PingerV1.js")).default;
const ClientV8 = (await import(lib + "/dist/api/facades/client/ClientV8.js")).default;
const url = process.argv[2];
const opts = { wsclass: WebSocket, facades: [PingerV1, ClientV8] };
const out = [];
try {
  await (await connect(url, opts)).login({ username: "admin", password: "wrong" });
  out.push("bad login succeeded");
} catch (e) { out.push("bad login: " + e.message); }
const conn = await (await connect(url, opts)).login({ username: "admin", password: "pw" });
out.push("login: " + conn.info.user.identity);
out.push("ping: " + JSON.stringify(await conn.facades.pinger.ping()));
try { await conn.facades.client.fullStatus({ patterns: [] }); out.push("status succeeded"); }
catch (e) { out.push("status: " + e.message); }
try {
  await new Promise((res, rej) => conn.transport.write({ type: "Nope", request: "X", version: 2, params: {} }, res, rej));
  out.push("Nope succeeded");
} catch (e) { out.push("Nope: " + e.message); }
console.log(out.join("\n"));
process.exit(0);
`

// TestJujulib runs the real jujulib (npm @canonical/jujulib, unpacked in
// $HERD_JUJULIB, e.g. the "package" folder of `npm pack
// @canonical/jujulib@9.1.0`) against a Conn over TLS on loopback. Skipped
// without it or without node 20+ (its WebSocket).
func TestJujulib(t *testing.T) {
	lib := os.Getenv("HERD_JUJULIB")
	if lib == "" {
		t.Skip("HERD_JUJULIB not set")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node")
	}
	h := HandlerFunc(func(ctx context.Context, req Request) (any, error) {
		switch {
		case req.Facade == "Admin" && req.Version == 3 && req.Method == "Login":
			var p struct {
				AuthTag     string `json:"auth-tag"`
				Credentials string `json:"credentials"`
			}
			if err := req.Decode(&p); err != nil {
				return nil, err
			}
			if p.Credentials != "pw" {
				return nil, herd.Errorf(herd.ErrUnauthenticated, MsgBadCreds)
			}
			return map[string]any{
				"controller-tag": "controller-deadbeef", "server-version": "3.6.26",
				"user-info": map[string]any{"identity": p.AuthTag, "controller-access": "superuser"},
				"facades":   []map[string]any{{"name": "Pinger", "versions": []int{1}}, {"name": "Client", "versions": []int{8}}},
			}, nil
		case req.Facade == "Pinger" && req.Version == 1 && req.Method == "Ping":
			return nil, nil
		case req.Facade == "Client" && req.Version == 8 && req.Method == "FullStatus":
			return nil, herd.Denied()
		}
		return nil, UnknownFacade(req.Facade, req.Version)
	})
	ts := startServer(t, h, Options{})
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "check.mjs")
	if err := os.WriteFile(script, []byte(jujulibScript), 0o600); err != nil {
		t.Fatal(err)
	}
	libAbs, err := filepath.Abs(lib)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--experimental-websocket", "--no-warnings", script, ts.url)
	cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+ca, "JUJULIB="+(&url.URL{Scheme: "file", Path: libAbs}).String())
	outb, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, outb)
	}
	want := strings.Join([]string{
		// jujulib recognises Juju's exact message and rewords it.
		"bad login: Have you been granted permission to a model on this controller?",
		"login: user-admin",
		"ping: {}",
		"status: permission denied",
		`Nope: unknown version (2) of interface "Nope"`,
	}, "\n")
	if got := strings.TrimSpace(string(outb)); got != want {
		t.Fatalf("jujulib saw:\n%s\nwant:\n%s", got, want)
	}
}
