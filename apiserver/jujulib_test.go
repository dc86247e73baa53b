package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/herd-project/herd/internal/nodetest"
	"github.com/herd-project/herd/internal/params"
)

// jujulibDir installs testdata/jujulib (@canonical/jujulib 9.1.0 and
// websocket, pinned by package-lock.json) into a temporary folder and
// returns it with node's path. It skips only when node is not on PATH and
// HERD_NODE is not 1 (CI sets it, so there a missing node fails).
func jujulibDir(t *testing.T) (dir, node string) {
	t.Helper()
	return nodetest.Install(t, filepath.Join("testdata", "jujulib"), "package.json", "package-lock.json", "drive.mjs")
}

// jujulibReport is what drive.mjs prints.
type jujulibReport struct {
	ServerVersion      string        `json:"serverVersion"`
	AdminAccess        string        `json:"adminAccess"`
	Facades            []string      `json:"facades"`
	SecretKeyLength    int           `json:"secretKeyLength"`
	ModelUUID          string        `json:"modelUUID"`
	AllModels          []string      `json:"allModels"`
	TomAccess          string        `json:"tomAccess"`
	TomModels          []string      `json:"tomModels"`
	TomAddUserError    *params.Error `json:"tomAddUserError"`
	TomAllModelsError  string        `json:"tomAllModelsError"`
	WrongPasswordError string        `json:"wrongPasswordError"`
	TomDefaultModelErr string        `json:"tomDefaultModelError"`
	TomModelAccess     string        `json:"tomModelAccess"`
	StatusApplications []string      `json:"statusApplications"`
	StatusUnits        []string      `json:"statusUnits"`
	WatchKinds         []string      `json:"watchKinds"`
	WatchUnit          []string      `json:"watchUnit"`
	WatchStoppedError  string        `json:"watchStoppedError"`
	RetryProvisioning  []any         `json:"retryProvisioning"`
}

// TestJujulib drives the server with @canonical/jujulib 9.1.0 (Node): the
// seed's steps as the Juju dashboard's library makes them, and the
// refusals the spec demands. The client trusts only the test server's
// certificate (NODE_EXTRA_CA_CERTS).
func TestJujulib(t *testing.T) {
	dir, node := jujulibDir(t)
	e := newEnv(t, Options{})
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.ts.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	in, _ := json.Marshal(map[string]string{"host": strings.TrimPrefix(e.ts.URL, "https://"), "adminPassword": e.f.Password("admin")})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, node, "drive.mjs")
	run.Dir = dir
	run.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+ca)
	run.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	run.Stdout, run.Stderr = &stdout, &stderr
	if err := run.Run(); err != nil {
		t.Fatalf("drive.mjs: %v\n%s", err, stderr.String())
	}
	var r jujulibReport
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("report %q: %v", stdout.String(), err)
	}
	t.Logf("jujulib report: %s", stdout.String())
	want := jujulibReport{
		ServerVersion:   ServerVersion,
		AdminAccess:     "superuser",
		Facades:         []string{"controller", "modelManager", "userManager"},
		SecretKeyLength: 32,
		ModelUUID:       r.ModelUUID,
		AllModels:       []string{"default", "lxd-model-1"},
		TomAccess:       "login",
		TomModels:       []string{"user-admin/lxd-model-1:write"},
		TomAddUserError: &params.Error{Message: "permission denied", Code: "unauthorized access",
			Info: r.TomAddUserError.Info},
		TomAllModelsError: "permission denied",
		// jujulib's own words for Juju's "invalid entity name or password".
		WrongPasswordError: "Have you been granted permission to a model on this controller?",
		// and for Juju's "permission denied" on a model without access.
		TomDefaultModelErr: "Ensure that you've been given 'login' permission on this controller.",
		TomModelAccess:     "write",
		StatusApplications: []string{"mysql-staging"},
		StatusUnits:        []string{"mysql-staging/0"},
		WatchKinds:         []string{"application", "machine", "model", "unit"},
		WatchUnit:          []string{"mysql-staging/0@0"},
		WatchStoppedError:  "unknown watcher id",
		RetryProvisioning:  []any{float64(0), `machine "42" not found`},
	}
	if r.TomAddUserError == nil {
		t.Fatalf("tom's AddUser was not refused: %+v", r)
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("jujulib saw\n%+v\nwant\n%+v", r, want)
	}
}
