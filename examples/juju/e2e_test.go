package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	osuser "os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/herd-project/herd/provider"
	"github.com/herd-project/herd/provider/lxdprovider"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var jujuBin string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "herd-juju")
	if err != nil {
		panic(err)
	}
	// Other OS users (tom, in the seed) run the binary too.
	os.Chmod(dir, 0o755)
	jujuBin = filepath.Join(dir, "juju")
	if out, err := exec.Command("go", "build", "-o", jujuBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const testNow = "2026-11-27T12:00:00Z"

// user is one person at the shell: their own data folder, and, for a
// user with an OS account of their own, the uid and gid to run as.
type user struct {
	t        *testing.T
	data     string
	env      []string
	uid, gid int // 0: the test's own user
}

func newUser(t *testing.T, extra ...string) *user {
	d := filepath.Join(t.TempDir(), "juju") // made by the client, 0700
	t.Cleanup(func() { killAgents(t, d) })
	return &user{t: t, data: d, env: append(append(os.Environ(), "HERD_DATA="+d, "HERD_TEST_NOW="+testNow, "HERD_TEST_NO_LIMITS=1"), extra...)}
}

// killAgents stops every controller process a user's bootstrap left
// running, so that no test leaves a process behind.
func killAgents(t *testing.T, data string) {
	dirs, _ := filepath.Glob(filepath.Join(data, "controllers", "*"))
	nodes, _ := filepath.Glob(filepath.Join(data, "controllers", "*", "nodes", "*")) // enable-ha's
	for _, dir := range append(dirs, nodes...) {
		if pid, ok := agentPID(dir); ok {
			syscall.Kill(pid, syscall.SIGKILL)
			for i := 0; i < 100 && isAgent(pid, dir); i++ {
				time.Sleep(20 * time.Millisecond)
			}
			if isAgent(pid, dir) {
				t.Errorf("controller process %d of %s does not stop", pid, dir)
			}
		}
	}
}

// osUser makes u a person with an OS account of their own: a throwaway
// user (useradd), whose home holds their data folder, and who cannot read
// anyone else's (the test's folders are 0700). It needs root; it reports
// false when the test cannot do it.
func osUser(t *testing.T, u *user) bool {
	t.Helper()
	if os.Geteuid() != 0 || os.Getenv("HERD_TEST_OSUSER") == "0" {
		return false
	}
	name := fmt.Sprintf("herdtom%d", os.Getpid()%100000)
	home, err := os.MkdirTemp("", "herd-tom-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	if out, err := exec.Command("useradd", "--no-create-home", "--home-dir", home, "--shell", "/bin/sh", name).CombinedOutput(); err != nil {
		if os.Getenv("HERD_TEST_OSUSER") == "1" || os.Getenv("CI") != "" {
			t.Fatalf("useradd: %v\n%s", err, out)
		}
		t.Logf("no OS user for tom (useradd: %v, %s): tom runs as the test's user", err, out)
		return false
	}
	t.Cleanup(func() { exec.Command("userdel", name).Run() })
	usr, err := osuser.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	u.uid, _ = strconv.Atoi(usr.Uid)
	u.gid, _ = strconv.Atoi(usr.Gid)
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(home, u.uid, u.gid); err != nil {
		t.Fatal(err)
	}
	u.data = filepath.Join(home, "juju")
	u.env = append(u.env, "HOME="+home, "HERD_DATA="+u.data) // the later ones win
	return true
}

// juju runs the built binary with args (split on spaces), stdin as given.
func (u *user) juju(stdin string, args ...string) (stdout, stderr string, code int) {
	cmd := exec.Command(jujuBin, args...)
	if u.uid != 0 {
		cmd = exec.Command("setpriv", append([]string{fmt.Sprintf("--reuid=%d", u.uid), fmt.Sprintf("--regid=%d", u.gid), "--clear-groups", jujuBin}, args...)...)
	}
	cmd.Env = u.env
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		u.t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// must runs a command that must succeed and checks its output against
// the golden file testdata/<set>/<step>.golden.
func (u *user) must(set, step, stdin, line string) string {
	u.t.Helper()
	out, errOut, code := u.juju(stdin, strings.Fields(line)...)
	if code != 0 {
		u.t.Fatalf("$ juju %s\nexit %d\n%s%s", line, code, out, errOut)
	}
	got := "$ juju " + line + "\n" + out
	if errOut != "" {
		// Informational messages go to stderr, as Juju's: kept apart.
		got += "--- stderr\n" + errOut
	}
	golden(u.t, filepath.Join("testdata", set, step+".golden"), normalize(got))
	return out + errOut
}

var (
	// progressRE is a progress line of wait-for, status --watch or
	// destroy-model ("..., waiting...", "Waiting for model to be
	// removed..."): which ones show, and how many, depends on how fast the
	// provisioner is, so goldens leave them out (TestProvisioningCommands
	// checks one).
	progressRE = regexp.MustCompile(`(?m)^(.*, waiting\.\.\.|Waiting for model to be removed.*\.\.\.)\n`)
	tokenRE    = regexp.MustCompile(`juju register [A-Za-z0-9_=-]{40,}`)
	instanceRE = regexp.MustCompile(`juju-[0-9a-f]{6}-`)
	uuidRE     = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
)

// normalize hides what differs from run to run: progress lines, tokens,
// instance ids and UUIDs.
func normalize(s string) string {
	s = progressRE.ReplaceAllString(s, "")
	s = tokenRE.ReplaceAllString(s, "juju register <TOKEN>")
	s = instanceRE.ReplaceAllString(s, "juju-<uuid>-")
	return uuidRE.ReplaceAllString(s, "<uuid>")
}

// tokenIn is the registration token a command printed.
func tokenIn(t *testing.T, out string) string {
	t.Helper()
	m := regexp.MustCompile(`juju register (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no registration token in:\n%s", out)
	}
	return m[1]
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./examples/juju -update to write it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs:\n--- want\n%s--- got\n%s", path, want, got)
	}
}

// seed runs the seed's commands exactly as written, as admin and as tom,
// each with their own data folder, and returns tom's and admin's users.
func seed(t *testing.T, set string, extra ...string) (admin, tom *user) {
	admin, tom = newUser(t, extra...), newUser(t, extra...)
	otherOSUser := osUser(t, tom)
	admin.must(set, "01-bootstrap", "", "bootstrap lxd-controller-1 lxd")
	if fi, err := os.Stat(admin.data); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("admin's data folder: %v, %v; want mode 0700", fi.Mode(), err)
	}
	if otherOSUser {
		t.Logf("tom runs as OS user %d, data folder %s", tom.uid, tom.data)
		// The premise: tom's commands cannot read the admin's folder, so
		// everything they do goes through the controller process.
		for _, p := range []string{admin.data, filepath.Join(admin.data, "controllers", "lxd-controller-1", "state.db")} {
			cmd := exec.Command("setpriv", fmt.Sprintf("--reuid=%d", tom.uid), fmt.Sprintf("--regid=%d", tom.gid), "--clear-groups", "ls", p)
			if out, err := cmd.CombinedOutput(); err == nil {
				t.Fatalf("tom can read %s:\n%s", p, out)
			}
		}
	}
	admin.must(set, "02-change-user-password", "admin-password\nadmin-password\n", "change-user-password")
	out := admin.must(set, "03-add-user", "", "add-user tom")
	token := tokenIn(t, out)
	admin.must(set, "04-create-model", "", "create-model lxd-model-1")
	admin.must(set, "05-grant", "", "grant --acl=write tom lxd-model-1")
	tom.must(set, "06-register", "tom-password\ntom-password\n\n", "register "+token)
	tom.must(set, "07a-list-controllers", "", "list-controllers")
	tom.must(set, "07b-list-models", "", "list-models")
	tom.must(set, "08-change-user-password", "tom-new-password\ntom-new-password\n", "change-user-password")
	tom.must(set, "09-deploy", "", "deploy mysql mysql-staging")
	// deploy returns at once, as Juju's; the provisioner starts the machine.
	tom.must(set, "09a-wait-for", "", "wait-for application mysql-staging")
	out = tom.must(set, "09b-list-models", "", "list-models")
	if !regexp.MustCompile(`admin/lxd-model-1\*\s+\S+\s+\S+\s+available\s+1\s+1\s+write`).MatchString(out) {
		t.Errorf("tom's models after deploy lack admin/lxd-model-1 with 1 machine and write access:\n%s", out)
	}
	tom.must(set, "10-logout", "", "logout")
	return admin, tom
}

func TestSeedOnFakeCloud(t *testing.T) {
	admin, tom := seed(t, "fake", "HERD_FAKE_PROVIDER=1")
	// After logout, tom's commands need a login again.
	if _, errOut, code := tom.juju("", "list-models"); code != 1 || !strings.HasPrefix(errOut, "ERROR not logged in") {
		t.Errorf("list-models after logout: exit %d, %s", code, errOut)
	}
	// The admin's view.
	admin.must("fake", "11-list-users", "", "list-users")
	admin.must("fake", "12-status", "", "status -m lxd-model-1")
	admin.must("fake", "13-whoami", "", "whoami")
	// Client files are private: 0600 files in 0700 folders, and tom's
	// hold no controller state.
	for _, u := range []*user{admin, tom} {
		filepath.WalkDir(u.data, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				t.Error(err)
				return nil
			}
			fi, _ := d.Info()
			if want := fs.FileMode(0o600); d.IsDir() && fi.Mode().Perm() != 0o700 || !d.IsDir() && fi.Mode().Perm() != want {
				t.Errorf("%s has mode %v", p, fi.Mode().Perm())
			}
			return nil
		})
	}
	names, _ := os.ReadDir(tom.data)
	for _, n := range names {
		switch n.Name() {
		case "controllers.yaml", "accounts.yaml", "models.yaml", "sessions.yaml":
		default:
			t.Errorf("tom's data folder holds %s", n.Name())
		}
	}
	// The controller is its own process: it outlives every command,
	// destroy-controller stops it and removes its folder.
	dir := filepath.Join(admin.data, "controllers", "lxd-controller-1")
	pid, ok := agentPID(dir)
	if !ok {
		t.Fatal("no controller process running")
	}
	admin.must("fake", "14-destroy-controller", "", "destroy-controller lxd-controller-1 -y")
	if isAgent(pid, dir) {
		t.Errorf("controller process %d still runs", pid)
	}
	if exists(dir) {
		t.Errorf("%s is still there", dir)
	}
}

// fromError is stderr from its ERROR line on (prompts come before it).
func fromError(stderr string) string {
	if i := strings.Index(stderr, "ERROR"); i >= 0 {
		return stderr[i:]
	}
	return stderr
}

// snapshot hashes every client file of the given data folders (not the
// folder of a controller the user bootstrapped, which the controller
// process writes), so a test can show a refused command changed nothing.
func snapshot(t *testing.T, dirs ...string) string {
	h := sha256.New()
	for _, d := range dirs {
		filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err == nil && e.IsDir() && p == filepath.Join(d, "controllers") {
				return filepath.SkipDir // the controller's own state: not the client's files
			}
			if err == nil && !e.IsDir() {
				b, _ := os.ReadFile(p)
				fmt.Fprintf(h, "%s %x\n", p, sha256.Sum256(b))
			}
			return nil
		})
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestErrorsChangeNothing(t *testing.T) {
	admin, tom := newUser(t, "HERD_FAKE_PROVIDER=1"), newUser(t, "HERD_FAKE_PROVIDER=1")
	admin.must("errors", "setup-bootstrap", "", "bootstrap c1 localhost-fake")
	admin.must("errors", "setup-password", "admin-password\nadmin-password\n", "change-user-password")
	out := admin.must("errors", "setup-add-user", "", "add-user tom")
	token := tokenIn(t, out)
	tom.must("errors", "setup-register", "tom-password\ntom-password\n\n", "register "+token)
	later := "HERD_TEST_NOW=" + time.Date(2026, 11, 28, 13, 0, 0, 0, time.UTC).Format(time.RFC3339)
	for _, c := range []struct {
		name  string
		who   *user
		env   []string
		stdin string
		args  string
		want  string
	}{
		{"wrong password", tom, nil, "not-my-password\n", "login", "ERROR invalid entity name or password\n"},
		{"reused token", newUser(t, "HERD_FAKE_PROVIDER=1"), nil, "x-password\nx-password\n\n", "register " + token,
			"ERROR registration token may have expired: a controller administrator must reset your user to issue a new token\n"},
		{"no access", tom, nil, "", "status -m admin/default", "ERROR permission denied\n"},
		{"no access to grant", tom, nil, "", "grant tom admin admin/default", "ERROR permission denied\n"},
		{"malformed token", newUser(t, "HERD_FAKE_PROVIDER=1"), nil, "pw\n", "register not-a-token!", "ERROR invalid registration token"},
		{"unpadded garbage token", newUser(t, "HERD_FAKE_PROVIDER=1"), nil, "pw\n", "register MD0TA3RvbTAA", "ERROR invalid registration token"},
		{"logout with no controller", newUser(t), nil, "", "logout", "ERROR no controllers registered"},
		{"passwords that differ", tom, nil, "one-password\nanother-password\n", "change-user-password", "ERROR passwords do not match\n"},
		{"register, passwords that differ", newUser(t, "HERD_FAKE_PROVIDER=1"), nil, "x-password\ny-password\n\n", "register " + token, "ERROR passwords do not match\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := *c.who
			u.env = append(append([]string{}, u.env...), c.env...)
			before := snapshot(t, admin.data, tom.data, u.data)
			_, errOut, code := u.juju(c.stdin, strings.Fields(c.args)...)
			// Prompts come first on stderr, as Juju's; then the error.
			if code != 1 || !strings.HasPrefix(fromError(errOut), c.want) {
				t.Errorf("exit %d, stderr %q; want exit 1 and %q", code, errOut, c.want)
			}
			if snapshot(t, admin.data, tom.data, u.data) != before {
				t.Error("a refused command changed files")
			}
		})
	}
	// The controller process down: commands say so, and change nothing.
	dir := filepath.Join(admin.data, "controllers", "c1")
	if err := stopAgent(dir); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, admin.data, tom.data)
	for _, u := range []*user{admin, tom} {
		if _, errOut, code := u.juju("", "list-models"); code != 1 || !regexp.MustCompile(`^ERROR cannot connect to controller c1: .* \(is the controller process running\?\)\n$`).MatchString(errOut) {
			t.Errorf("list-models with the controller down: exit %d, %q", code, errOut)
		}
	}
	// Restarted on its state, a day later: tom's session has expired
	// (the controller's clock decides), admin's too.
	restart := *admin
	restart.env = append(append([]string{}, admin.env...), later)
	if _, errOut, code := restart.juju("", "controller-agent", "--detach", dir); code != 0 {
		t.Fatalf("restart: exit %d, %s", code, errOut)
	}
	for _, u := range []*user{admin, tom} {
		if _, errOut, code := u.juju("", "list-models"); code != 1 || !strings.HasPrefix(errOut, "ERROR login expired\n") {
			t.Errorf("list-models on the restarted controller: exit %d, %q; want login expired", code, errOut)
		}
	}
	if snapshot(t, admin.data, tom.data) != before {
		t.Error("refused commands changed files")
	}
	if _, errOut, code := tom.juju("tom-password\n", "login"); code != 0 {
		t.Errorf("tom's login on the restarted controller: exit %d, %s", code, errOut)
	}
	// The bootstrap admin may not log out before choosing a password.
	fresh := newUser(t, "HERD_FAKE_PROVIDER=1")
	fresh.must("errors", "fresh-bootstrap", "", "bootstrap c2 localhost-fake")
	if _, errOut, code := fresh.juju("", "logout"); code != 1 || !strings.HasPrefix(errOut, "ERROR preventing account loss") {
		t.Errorf("logout with only the generated secret: exit %d, %s", code, errOut)
	}
	if _, _, code := fresh.juju("", "logout", "--force"); code != 0 {
		t.Errorf("logout --force: exit %d", code)
	}
}

// The seed on real LXD: the same commands, a real controller container
// and a real machine for mysql-staging, and nothing left afterwards.
func TestSeedOnLXD(t *testing.T) {
	p, err := lxdprovider.New(t.Context(), lxdprovider.Options{})
	if err != nil {
		if os.Getenv("HERD_LXD") != "" {
			t.Fatalf("HERD_LXD is set but LXD is not usable: %v", err)
		}
		t.Skipf("no LXD daemon: %v", err)
	}
	defer p.Close()
	admin, _ := seed(t, "lxd")
	cf, err := admin.client().controllers()
	if err != nil {
		t.Fatal(err)
	}
	uuid := cf.Controllers["lxd-controller-1"].UUID
	insts, err := p.Instances(t.Context(), provider.Filter{ControllerUUID: uuid})
	if err != nil || len(insts) != 2 {
		t.Errorf("LXD runs %d instances for the controller (%v), want 2: the controller and mysql-staging/0", len(insts), err)
	}
	// Units beyond the seed, on real containers.
	running := func(want int, what string) {
		t.Helper()
		if insts, err := p.Instances(t.Context(), provider.Filter{ControllerUUID: uuid}); err != nil || len(insts) != want {
			t.Errorf("LXD runs %d instances for the controller (%v), want %d: %s", len(insts), err, want, what)
		}
	}
	admin.must("lxd", "10a-add-unit", "", "add-unit mysql-staging -m lxd-model-1")
	admin.must("lxd", "10a2-wait-for", "", "wait-for unit mysql-staging/1 -m lxd-model-1")
	running(3, "the controller and mysql-staging/0 and /1")
	admin.must("lxd", "10b-remove-unit", "", "remove-unit mysql-staging/0 -m lxd-model-1")
	admin.must("lxd", "10b2-wait-for", "", "wait-for model lxd-model-1")
	running(2, "the controller and mysql-staging/1")
	admin.must("lxd", "10c-status", "", "status -m lxd-model-1")
	admin.must("lxd", "11-destroy-controller", "", "destroy-controller lxd-controller-1 -y")
	if insts, _ := p.Instances(t.Context(), provider.Filter{ControllerUUID: uuid}); len(insts) != 0 {
		t.Errorf("instances left: %v", insts)
	}
	if spaces, _ := p.ModelSpaces(t.Context(), uuid); len(spaces) != 0 {
		t.Errorf("projects left: %v", spaces)
	}
}

func (u *user) client() client { return client{dir: u.data} }

func TestUsageErrors(t *testing.T) {
	u := newUser(t, "HERD_FAKE_PROVIDER=1")
	// As Juju: exit 2 for usage and flag errors, 1 for failures.
	for _, c := range []struct {
		args, want string
		code       int
	}{
		{"frobnicate", `ERROR juju: "frobnicate" is not a juju command`, 2},
		{"bootstrap only-one", "ERROR bootstrap needs a controller name and a cloud\nUsage: juju bootstrap", 2},
		{"bootstrap c1 aws", `ERROR cloud "aws" not found: want lxd, localhost or localhost-fake`, 1},
		{"deploy", "ERROR deploy needs a charm", 2},
		{"deploy mysql", "ERROR no controllers registered", 1},
		{"grant tom", "ERROR want a user and an access level", 2},
		{"list-models --bogus", "ERROR option provided but not defined: --bogus", 2},
	} {
		_, errOut, code := u.juju("", strings.Fields(c.args)...)
		if code != c.code || !strings.HasPrefix(errOut, c.want) {
			t.Errorf("juju %s: exit %d, %q; want exit %d and %q", c.args, code, errOut, c.code, c.want)
		}
	}
	// Help on stdout, exit 0.
	for _, args := range [][]string{{"help", "add-model"}, {"add-model", "--help"}} {
		if out, _, code := u.juju("", args...); code != 0 || !strings.HasPrefix(out, "Usage: juju add-model") {
			t.Errorf("juju %v: exit %d, %q", args, code, out)
		}
	}
}

// The administrative commands of the tool, beyond the seed: reset, disable,
// enable, remove, switch, destroy-model; and bad targets change nothing.
func TestAdminCommands(t *testing.T) {
	admin, tom := newUser(t, "HERD_FAKE_PROVIDER=1"), newUser(t, "HERD_FAKE_PROVIDER=1")
	admin.must("admin", "01-bootstrap", "", "bootstrap c1 localhost-fake")
	admin.must("admin", "02-password", "admin-password\n", "change-user-password --no-prompt")
	out := admin.must("admin", "03-add-user", "", "add-user tom Tom")
	token := tokenIn(t, out)
	tom.must("admin", "04-register", "tom-password\ntom-password\n\n", "register "+token)
	admin.must("admin", "05-add-model", "", "add-model staging")
	admin.must("admin", "06-grant-3x", "", "grant tom read staging")
	admin.must("admin", "07-models-json", "", "list-models --format json")
	admin.must("admin", "08-show-user-yaml", "", "show-user tom")
	admin.must("admin", "09-disable", "", "disable-user tom")
	if _, errOut, code := tom.juju("", "whoami"); code != 1 || !strings.HasPrefix(errOut, "ERROR session not valid") {
		t.Errorf("disabled tom: exit %d, %s", code, errOut)
	}
	admin.must("admin", "10-enable", "", "enable-user tom")
	out = admin.must("admin", "11-reset", "", "change-user-password tom --reset")
	token2 := tokenIn(t, out)
	if token2 == token {
		t.Error("reset gave the same token")
	}
	before := snapshot(t, admin.data)
	for _, bad := range []string{"switch nowhere:staging", "switch c1:nothere", "destroy-controller nowhere -y", "destroy-model nothere -y", "remove-user ghost -y"} {
		if _, _, code := admin.juju("", strings.Fields(bad)...); code != 1 {
			t.Errorf("juju %s: exit %d, want 1", bad, code)
		}
	}
	if snapshot(t, admin.data) != before {
		t.Error("refused commands changed the admin's files")
	}
	admin.must("admin", "12-switch", "", "switch default")
	admin.must("admin", "13-destroy-model", "", "destroy-model staging -y")
	admin.must("admin", "14-remove-user", "", "remove-user tom -y")
	admin.must("admin", "15-users-all", "", "list-users --all")
}

// Units beyond the seed: add-unit, remove-unit, remove-application, and
// the status between them.
func TestUnitCommands(t *testing.T) {
	admin := newUser(t, "HERD_FAKE_PROVIDER=1")
	admin.must("units", "01-bootstrap", "", "bootstrap c1 localhost-fake")
	admin.must("units", "02-add-model", "", "add-model staging")
	admin.must("units", "03-deploy", "", "deploy mysql -n 2")
	admin.must("units", "03a-wait-for", "", "wait-for application mysql")
	admin.must("units", "04-add-unit", "", "add-unit mysql -n 2")
	admin.must("units", "04a-wait-for", "", "wait-for application mysql")
	admin.must("units", "05-remove-unit", "", "remove-unit mysql/1 mysql/2")
	admin.must("units", "05a-wait-for", "", "wait-for model staging")
	admin.must("units", "06-status", "", "status")
	before := snapshot(t, admin.data)
	for _, c := range []struct{ args, want string }{
		{"remove-unit mysql/9", `ERROR unit "mysql/9" not found`},
		{"remove-unit mysql", `ERROR unit name "mysql" not valid`},
		{"add-unit redis", `ERROR application "redis" not found`},
		{"add-unit mysql -n 0", `ERROR -n "0" not valid`},
		{"remove-application redis -y", `ERROR application "redis" not found`},
	} {
		if _, errOut, code := admin.juju("", strings.Fields(c.args)...); code != 1 || !strings.HasPrefix(errOut, c.want) {
			t.Errorf("juju %s: exit %d, %q; want exit 1 and %q", c.args, code, errOut, c.want)
		}
	}
	if _, _, code := admin.juju("n\n", "remove-application", "mysql"); code != 1 {
		t.Errorf("remove-application answered no: exit %d, want 1", code)
	}
	if snapshot(t, admin.data) != before {
		t.Error("refused commands changed the admin's files")
	}
	admin.must("units", "07-remove-application", "", "remove-application mysql --no-prompt")
	admin.must("units", "07a-wait-for", "", "wait-for model staging")
	admin.must("units", "08-status", "", "status --format yaml")
}

// Juju's client files, as Juju 3.6 declares them (juju/jujuclient:
// ControllerDetails, AccountDetails, ModelDetails), read back strictly: a
// field Juju does not know fails the test.
type jujuControllers struct {
	Controllers map[string]struct {
		UnresolvedAPIEndpoints []string `yaml:"unresolved-api-endpoints,omitempty"`
		ControllerUUID         string   `yaml:"uuid"`
		APIEndpoints           []string `yaml:"api-endpoints,flow"`
		PublicDNSName          string   `yaml:"public-hostname,omitempty"`
		CACert                 string   `yaml:"ca-cert"`
		Cloud                  string   `yaml:"cloud"`
		CloudRegion            string   `yaml:"region,omitempty"`
		CloudType              string   `yaml:"type,omitempty"`
		AgentVersion           string   `yaml:"agent-version,omitempty"`
		ControllerMachineCount int      `yaml:"controller-machine-count"`
		ActiveControllerCount  int      `yaml:"active-controller-machine-count"`
		MachineCount           *int     `yaml:"machine-count,omitempty"`
		ModelCount             *int     `yaml:"model-count,omitempty"`
	} `yaml:"controllers"`
	CurrentController string `yaml:"current-controller,omitempty"`
}

type jujuAccounts struct {
	Controllers map[string]struct {
		User            string `yaml:"user"`
		Password        string `yaml:"password,omitempty"`
		LastKnownAccess string `yaml:"last-known-access,omitempty"`
	} `yaml:"controllers"`
}

type jujuModels struct {
	Controllers map[string]struct {
		Models map[string]struct {
			ModelUUID    string `yaml:"uuid"`
			ModelType    string `yaml:"type"`
			ActiveBranch string `yaml:"branch,omitempty"`
		} `yaml:"models"`
		CurrentModel  string `yaml:"current-model,omitempty"`
		PreviousModel string `yaml:"previous-model,omitempty"`
	} `yaml:"controllers"`
}

func readJuju(t *testing.T, path string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s is not in Juju's shape: %v", path, err)
	}
}

// The client files are Juju's: in the folder JUJU_DATA names (over
// HERD_DATA), 0600 files in a 0700 folder, in Juju's shapes, with no
// password; the session credential is in sessions.yaml alone.
func TestClientFilesAreJujus(t *testing.T) {
	admin := newUser(t, "HERD_FAKE_PROVIDER=1")
	jujuData := filepath.Join(t.TempDir(), "jujudata")
	admin.env = append(admin.env, "JUJU_DATA="+jujuData)
	admin.data = jujuData // killAgents looks in the HERD_DATA one too: none there
	t.Cleanup(func() { killAgents(t, jujuData) })
	admin.must("files", "01-bootstrap", "", "bootstrap c1 localhost-fake")
	admin.must("files", "02-add-model", "", "add-model staging")
	var cf jujuControllers
	readJuju(t, filepath.Join(jujuData, "controllers.yaml"), &cf)
	c, ok := cf.Controllers["c1"]
	if !ok || cf.CurrentController != "c1" {
		t.Fatalf("controllers.yaml: %+v", cf)
	}
	if len(c.APIEndpoints) != 1 || !strings.HasPrefix(c.APIEndpoints[0], "127.0.0.1:") || c.ControllerUUID == "" ||
		c.Cloud != "localhost-fake" || c.CloudRegion != "default" || c.CloudType != "fake" || c.AgentVersion != "3.6.26" {
		t.Errorf("controllers.yaml's c1: %+v", c)
	}
	block, _ := pem.Decode([]byte(c.CACert))
	if block == nil {
		t.Fatalf("ca-cert is not PEM: %q", c.CACert)
	}
	if cert, err := x509.ParseCertificate(block.Bytes); err != nil || !cert.IsCA {
		t.Errorf("ca-cert is not a CA certificate: %v", err)
	}
	var af jujuAccounts
	readJuju(t, filepath.Join(jujuData, "accounts.yaml"), &af)
	if a := af.Controllers["c1"]; a.User != "admin" || a.Password != "" || a.LastKnownAccess != "superuser" {
		t.Errorf("accounts.yaml's c1: %+v", a)
	}
	var mf jujuModels
	readJuju(t, filepath.Join(jujuData, "models.yaml"), &mf)
	if m := mf.Controllers["c1"]; m.CurrentModel != "admin/staging" || m.Models["admin/staging"].ModelUUID == "" || m.Models["admin/staging"].ModelType != "iaas" {
		t.Errorf("models.yaml's c1: %+v", m)
	}
	fi, err := os.Stat(jujuData)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("%s: %v %v, want 0700", jujuData, fi.Mode(), err)
	}
	for _, name := range []string{"controllers.yaml", "accounts.yaml", "models.yaml", "sessions.yaml"} {
		fi, err := os.Stat(filepath.Join(jujuData, name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want 0600", name, fi.Mode(), err)
		}
	}
	var sf struct {
		Controllers map[string]struct {
			Token             string `yaml:"token"`
			GeneratedPassword bool   `yaml:"generated-password"`
		} `yaml:"controllers"`
	}
	readJuju(t, filepath.Join(jujuData, "sessions.yaml"), &sf)
	if s := sf.Controllers["c1"]; s.Token == "" || !s.GeneratedPassword {
		t.Errorf("sessions.yaml's c1: %+v", s)
	}
	if exists(filepath.Join(jujuData, "controllers", "c1", "state.db")) != true {
		t.Error("the controller's state is not in its folder under JUJU_DATA")
	}
	out, errOut, code := admin.juju("", "show-controller", "c1", "--format", "json")
	var show map[string]struct {
		Details struct {
			UUID         string   `json:"uuid"`
			APIEndpoints []string `json:"api-endpoints"`
			CACert       string   `json:"ca-cert"`
		} `json:"details"`
		CurrentModel string `json:"current-model"`
		Account      struct {
			User   string `json:"user"`
			Access string `json:"access"`
		} `json:"account"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &show) != nil {
		t.Fatalf("show-controller: exit %d, %s%s", code, out, errOut)
	}
	// list-controllers' document is Juju's ControllerSet.
	out, errOut, code = admin.juju("", "list-controllers", "--format", "yaml")
	var set struct {
		Controllers map[string]struct {
			CurrentModel string   `yaml:"current-model"`
			User         string   `yaml:"user"`
			Access       string   `yaml:"access"`
			RecentServer string   `yaml:"recent-server"`
			UUID         string   `yaml:"controller-uuid"`
			APIEndpoints []string `yaml:"api-endpoints"`
			CACert       string   `yaml:"ca-cert"`
			Cloud        string   `yaml:"cloud"`
			Region       string   `yaml:"region"`
			AgentVersion string   `yaml:"agent-version"`
			ModelCount   int      `yaml:"model-count"`
			MachineCount int      `yaml:"machine-count"`
			Machines     struct {
				Active int `yaml:"active"`
				Total  int `yaml:"total"`
			} `yaml:"controller-machines"`
		} `yaml:"controllers"`
		CurrentController string `yaml:"current-controller"`
	}
	dec := yaml.NewDecoder(strings.NewReader(out))
	dec.KnownFields(true)
	if code != 0 || dec.Decode(&set) != nil {
		t.Fatalf("list-controllers --format yaml: exit %d, %s%s", code, out, errOut)
	}
	// As Juju's: the user's own model unqualified, the figures of the
	// client files (bootstrap counts the controller's machine).
	if it := set.Controllers["c1"]; set.CurrentController != "c1" || it.User != "admin" || it.Access != "superuser" ||
		it.ModelCount != 2 || it.MachineCount != 1 || it.Machines.Total != 1 || it.CurrentModel != "staging" ||
		it.UUID != c.ControllerUUID || it.RecentServer != c.APIEndpoints[0] || it.CACert != c.CACert {
		t.Errorf("list-controllers --format yaml: %+v", set)
	}
	if s := show["c1"]; s.Details.UUID != c.ControllerUUID || s.Details.CACert != c.CACert || s.CurrentModel != "admin/staging" || s.Account.User != "admin" {
		t.Errorf("show-controller: %+v", s)
	}
}

// Juju 3's syntax (bootstrap CLOUD CONTROLLER), and kill-controller: it
// works with the controller process down, stops it when up, destroys the
// machines through the state and removes the controller's folder.
func TestKillController(t *testing.T) {
	admin := newUser(t, "HERD_FAKE_PROVIDER=1")
	admin.must("kill", "01-bootstrap", "", "bootstrap localhost-fake k1")
	admin.must("kill", "02-add-model", "", "add-model m1")
	admin.must("kill", "03-deploy", "", "deploy mysql -n 2")
	admin.must("kill", "03a-wait-for", "", "wait-for application mysql")
	dir := filepath.Join(admin.data, "controllers", "k1")
	pid, ok := agentPID(dir)
	if !ok {
		t.Fatal("no controller process")
	}
	// destroy-controller needs the controller up, and says so.
	syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 200 && isAgent(pid, dir); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if _, errOut, code := admin.juju("", "destroy-controller", "k1", "-y"); code != 1 || !strings.Contains(errOut, "(is the controller process running?)") {
		t.Errorf("destroy-controller with the process down: exit %d, %s", code, errOut)
	}
	if !exists(filepath.Join(dir, "state.db")) {
		t.Fatal("a failed destroy-controller removed the state")
	}
	// kill-controller does not need it.
	admin.must("kill", "04-kill-controller", "", "kill-controller k1 -y")
	if exists(dir) {
		t.Errorf("%s left behind", dir)
	}
	if out, _, code := admin.juju("", "list-controllers"); code == 0 && strings.Contains(out, "k1") {
		t.Errorf("k1 still listed:\n%s", out)
	}
	// And with the process up, it stops it.
	admin.must("kill", "05-bootstrap", "", "bootstrap localhost-fake k2")
	dir = filepath.Join(admin.data, "controllers", "k2")
	if pid, ok = agentPID(dir); !ok {
		t.Fatal("no controller process")
	}
	admin.must("kill", "06-kill-controller", "", "kill-controller k2 -y")
	if isAgent(pid, dir) || exists(dir) {
		t.Errorf("kill-controller left process %d or %s", pid, dir)
	}
}

// Commands Juju 3 users reach for: grant-cloud for the controller's
// add-model level, users MODEL, show-model, models --uuid, logout -c,
// login -u; and list-controllers with nothing registered.
func TestJuju3Commands(t *testing.T) {
	admin, tom := newUser(t, "HERD_FAKE_PROVIDER=1"), newUser(t, "HERD_FAKE_PROVIDER=1")
	if _, errOut, code := tom.juju("", "controllers"); code != 1 || !strings.HasPrefix(errOut, "ERROR No controllers registered.") {
		t.Errorf("controllers with none: exit %d, %q", code, errOut)
	}
	admin.must("juju3", "01-bootstrap", "", "bootstrap localhost-fake c3")
	token := tokenIn(t, admin.must("juju3", "02-add-user", "", "add-user tom Tom"))
	tom.must("juju3", "03-register", "tom-password\ntom-password\n\n", "register "+token)
	if _, errOut, code := tom.juju("", "add-model", "tm"); code != 1 || !strings.HasPrefix(errOut, "ERROR permission denied") {
		t.Errorf("tom's add-model before grant-cloud: exit %d, %q", code, errOut)
	}
	admin.must("juju3", "04-grant-cloud", "", "grant-cloud tom add-model localhost-fake")
	tom.must("juju3", "05-add-model", "", "add-model tm")
	tom.must("juju3", "06-grant", "", "grant admin read tm")
	tom.must("juju3", "07-users-model", "", "users tm")
	admin.must("juju3", "08-users-model", "", "users tom/tm")
	tom.must("juju3", "09-show-model", "", "show-model tm")
	tom.must("juju3", "10-models-uuid", "", "models --uuid")
	tom.must("juju3", "11-logout-c", "", "logout -c c3")
	tom.must("juju3", "12-login-u", "tom-password\n", "login -u tom -c c3")
	tom.must("juju3", "13-whoami", "", "whoami")
}

// list-controllers after logout, and with the controller down: "-" for
// what is not known, as Juju shows it.
func TestListControllersUnknown(t *testing.T) {
	admin := newUser(t, "HERD_FAKE_PROVIDER=1")
	admin.must("unknown", "01-bootstrap", "", "bootstrap localhost-fake c1")
	admin.must("unknown", "02-list-controllers", "", "list-controllers")
	admin.must("unknown", "03-logout", "", "logout --force")
	admin.must("unknown", "04-list-controllers", "", "list-controllers")
}

// destroy-controller over the network: the controller decides (superuser
// only), so tom, once a superuser, destroys the admin's controller from
// his own client; refused before, with nothing changed. The controller
// process exits by itself; the admin's kill-controller removes its folder.
func TestDestroyControllerOverNetwork(t *testing.T) {
	admin, tom := newUser(t, "HERD_FAKE_PROVIDER=1"), newUser(t, "HERD_FAKE_PROVIDER=1")
	osUser(t, tom)
	admin.must("destroy", "01-bootstrap", "", "bootstrap localhost-fake c1")
	admin.must("destroy", "02-password", "admin-password\n", "change-user-password --no-prompt")
	token := tokenIn(t, admin.must("destroy", "03-add-user", "", "add-user tom"))
	tom.must("destroy", "04-register", "tom-password\ntom-password\n\n", "register "+token)
	admin.must("destroy", "05-deploy", "", "deploy mysql -m default")
	admin.must("destroy", "05a-wait-for", "", "wait-for application mysql -m default")
	dir := filepath.Join(admin.data, "controllers", "c1")
	pid, ok := agentPID(dir)
	if !ok {
		t.Fatal("no controller process")
	}
	// Refused: tom is not a superuser.
	before := snapshot(t, admin.data, tom.data)
	if _, errOut, code := tom.juju("", "destroy-controller", "c1", "-y"); code != 1 || errOut != "ERROR permission denied\n" {
		t.Errorf("tom's destroy-controller: exit %d, %q; want exit 1 and permission denied", code, errOut)
	}
	if snapshot(t, admin.data, tom.data) != before {
		t.Error("a refused destroy-controller changed files")
	}
	if !isAgent(pid, dir) {
		t.Fatal("a refused destroy-controller stopped the controller process")
	}
	admin.must("destroy", "06-status", "", "status -m default")
	// Granted superuser, tom destroys it from his client.
	admin.must("destroy", "07-grant-superuser", "", "grant tom superuser")
	tom.must("destroy", "08-destroy-controller", "", "destroy-controller c1 -y")
	for i := 0; i < 200 && isAgent(pid, dir); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if isAgent(pid, dir) {
		t.Fatalf("controller process %d still runs after its controller was destroyed", pid)
	}
	if exists(filepath.Join(dir, pidFileName)) {
		t.Error("the controller process left its pid file")
	}
	if l := tail(filepath.Join(dir, logFileName)); !strings.Contains(l, "controller destroyed: stopping") || !strings.Contains(l, `msg="controller stopped" err=<nil>`) {
		t.Errorf("the controller's log does not say it was destroyed:\n%s", tail(filepath.Join(dir, logFileName)))
	}
	cf, err := tom.client().controllers()
	if err != nil || len(cf.Controllers) != 0 || cf.Current != "" {
		t.Errorf("tom's controllers.yaml after destroy-controller: %+v, %v", cf, err)
	}
	// The admin's client still lists it, and its process is gone:
	// kill-controller clears the folder.
	if _, errOut, code := admin.juju("", "destroy-controller", "c1", "-y"); code != 1 || !strings.Contains(errOut, `juju kill-controller c1`) {
		t.Errorf("admin's destroy-controller of a destroyed controller: exit %d, %q", code, errOut)
	}
	admin.must("destroy", "09-kill-controller", "", "kill-controller c1 -y")
	if exists(dir) {
		t.Errorf("%s left behind", dir)
	}
}

// The bootstrapping client's destroy-controller goes through the API too:
// a user without superuser is refused, the admin's destroys, and the
// controller's folder goes with the process.
func TestDestroyControllerByBootstrapper(t *testing.T) {
	admin := newUser(t, "HERD_FAKE_PROVIDER=1")
	admin.must("destroy", "10-bootstrap", "", "bootstrap localhost-fake c2")
	admin.must("destroy", "11-add-model", "", "add-model m1")
	dir := filepath.Join(admin.data, "controllers", "c2")
	pid, ok := agentPID(dir)
	if !ok {
		t.Fatal("no controller process")
	}
	admin.must("destroy", "12-destroy-controller", "", "destroy-controller c2 --destroy-all-models -y")
	if isAgent(pid, dir) || exists(dir) {
		t.Errorf("destroy-controller left process %d or %s", pid, dir)
	}
	if _, errOut, code := admin.juju("", "controllers"); code != 1 || !strings.HasPrefix(errOut, "ERROR No controllers registered.") {
		t.Errorf("controllers after destroy: exit %d, %q", code, errOut)
	}
}

// list-controllers --refresh, as Juju's: the controller's models and
// machines recorded in the client files, no hint; a user who may not list
// every model is told on stderr and sees the files' figures.
func TestListControllersRefresh(t *testing.T) {
	admin, tom := newUser(t, "HERD_FAKE_PROVIDER=1"), newUser(t, "HERD_FAKE_PROVIDER=1")
	admin.must("refresh", "01-bootstrap", "", "bootstrap localhost-fake c1")
	token := tokenIn(t, admin.must("refresh", "02-add-user", "", "add-user tom"))
	tom.must("refresh", "03-register", "tom-password\ntom-password\n\n", "register "+token)
	admin.must("refresh", "04-add-model", "", "add-model m1")
	admin.must("refresh", "05-deploy", "", "deploy mysql -n 2")
	admin.must("refresh", "05a-wait-for", "", "wait-for application mysql")
	admin.must("refresh", "06-controllers", "", "controllers")
	admin.must("refresh", "07-controllers-refresh", "", "controllers --refresh")
	admin.must("refresh", "08-controllers", "", "controllers")
	out, errOut, code := admin.juju("", "controllers", "--format", "json")
	var set struct {
		Controllers map[string]struct {
			CurrentModel string                      `json:"current-model"`
			UUID         string                      `json:"uuid"`
			ModelCount   int                         `json:"model-count"`
			MachineCount int                         `json:"machine-count"`
			Machines     struct{ Active, Total int } `json:"controller-machines"`
		} `json:"controllers"`
		Current string `json:"current-controller"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &set) != nil {
		t.Fatalf("controllers --format json: exit %d, %s%s", code, out, errOut)
	}
	if c := set.Controllers["c1"]; set.Current != "c1" || c.CurrentModel != "m1" || c.UUID == "" || c.ModelCount != 2 || c.MachineCount != 3 || c.Machines.Active != 1 || c.Machines.Total != 1 {
		t.Errorf("controllers --format json: %s", out)
	}
	tom.must("refresh", "10-controllers-refresh", "", "controllers --refresh")
	// With none registered: an error in tabular form, an empty document
	// otherwise, as Juju's.
	nobody := newUser(t)
	nobody.must("refresh", "11-controllers-yaml-none", "", "controllers --format yaml")
}

// -c/--controller and -m [controller:]model where Juju has them, and
// change-user-password --reset on oneself, which Juju answers with an
// informational message.
func TestControllerAndModelFlags(t *testing.T) {
	admin := newUser(t, "HERD_FAKE_PROVIDER=1")
	admin.must("flags", "01-bootstrap", "", "bootstrap localhost-fake c1")
	admin.must("flags", "02-bootstrap", "", "bootstrap localhost-fake c2") // c2 is current
	admin.must("flags", "03-add-model", "", "add-model m1 -c c1")
	admin.must("flags", "04-deploy", "", "deploy mysql -m c1:m1")
	admin.must("flags", "04a-wait-for", "", "wait-for application mysql -m c1:m1")
	admin.must("flags", "05-status", "", "status -m c1:admin/m1")
	admin.must("flags", "06-models", "", "models -c c1")
	admin.must("flags", "07-add-user", "", "add-user bob --controller c1")
	admin.must("flags", "08-users", "", "users -c c1")
	admin.must("flags", "09-grant", "", "grant bob read m1 -c c1")
	admin.must("flags", "10-users-model", "", "users m1 -c c1")
	admin.must("flags", "11-show-user", "", "show-user bob -c c1")
	admin.must("flags", "12-disable", "", "disable-user bob -c c1")
	admin.must("flags", "13-enable", "", "enable-user bob -c c1")
	admin.must("flags", "14-reset-self", "", "change-user-password --reset")
	admin.must("flags", "15-reset-self-named", "", "change-user-password admin --reset -c c1")
	admin.must("flags", "16-reset", "", "change-user-password bob --reset -c c1")
	admin.must("flags", "17-remove-user", "", "remove-user bob -y -c c1")
	admin.must("flags", "18-models-c2", "", "models")
	before := snapshot(t, admin.data)
	for _, c := range []struct {
		args, want string
		code       int
	}{
		{"models -c nowhere", "ERROR controller nowhere not found", 1},
		{"status -m nowhere:m1", "ERROR controller nowhere not found", 1},
		{"status -m c2:m1", `ERROR model "m1" not found`, 1},
		{"status -m :m1", `ERROR -m ":m1" not valid`, 2},
		{"whoami -c c1", "ERROR option provided but not defined: -c", 2},
		{"add-user carol -c", "ERROR option --c needs a value", 2},
	} {
		if _, errOut, code := admin.juju("", strings.Fields(c.args)...); code != c.code || !strings.HasPrefix(errOut, c.want) {
			t.Errorf("juju %s: exit %d, %q; want exit %d and %q", c.args, code, errOut, c.code, c.want)
		}
	}
	if snapshot(t, admin.data) != before {
		t.Error("refused commands changed the admin's files")
	}
}

// Following the provisioner from the CLI: deploy returns at once; a
// machine the provider cannot start ends wait-for with the provider's
// message and shows in status; retry-provisioning starts it again once
// the provider can; wait-for times out with Juju's words and a progress
// line; status --watch prints the status and ends when its time is up;
// destroy-model waits until the model is gone.
func TestProvisioningCommands(t *testing.T) {
	fault := filepath.Join(t.TempDir(), "start-fault")
	admin := newUser(t, "HERD_FAKE_PROVIDER=1", "HERD_TEST_START_FAULT="+fault, "HERD_TEST_RETRY_DELAY=20ms")
	admin.must("provisioning", "01-bootstrap", "", "bootstrap c1 localhost-fake")
	admin.must("provisioning", "02-add-model", "", "add-model m1")
	if err := os.WriteFile(fault, []byte("no capacity in zone a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	admin.must("provisioning", "03-deploy", "", "deploy mysql")
	// The controller retries the start (3 times), then gives up.
	_, errOut, code := admin.juju("", "wait-for", "application", "mysql", "--timeout", "30s")
	if code != 1 || !strings.HasSuffix(errOut, "ERROR machine 0 failed to start: no capacity in zone a\n") {
		t.Fatalf("wait-for a machine that cannot start: exit %d, %q", code, errOut)
	}
	admin.must("provisioning", "04-status-error", "", "status")
	admin.must("provisioning", "05-status-error-yaml", "", "status --format yaml")
	for _, args := range []string{"wait-for unit mysql/0", "wait-for machine 0", "wait-for model m1"} {
		if _, errOut, code := admin.juju("", strings.Fields(args)...); code != 1 || !strings.HasSuffix(errOut, "ERROR machine 0 failed to start: no capacity in zone a\n") {
			t.Errorf("%s on a machine that cannot start: exit %d, %q", args, code, errOut)
		}
	}
	if err := os.Remove(fault); err != nil {
		t.Fatal(err)
	}
	admin.must("provisioning", "06-retry-provisioning", "", "retry-provisioning 0")
	admin.must("provisioning", "07-wait-for-machine", "", "wait-for machine 0")
	admin.must("provisioning", "08-status-watch", "", "status --watch 200ms")
	for _, c := range []struct {
		args, want string
		code       int
	}{
		{"retry-provisioning 0", "ERROR machine 0 is started, not in a provisioning error\n", 1},
		{"retry-provisioning 7", "ERROR machine \"7\" not found\n", 1},
		{"retry-provisioning", "ERROR no machine specified\n", 2},
		{"retry-provisioning 0 --all", "ERROR specify machines or --all but not both\n", 2},
		{"retry-provisioning x", "ERROR invalid machine \"x\"\n", 2},
		{"wait-for application mysql --timeout soon", "ERROR --timeout \"soon\" not valid", 2},
		{"wait-for thing mysql", "ERROR wait-for \"thing\": want application, unit, machine or model", 2},
		{"status --watch 0s", "ERROR --watch \"0s\" not valid", 2},
		{"wait-for application nope --timeout 300ms",
			"application \"nope\" not found, waiting...\nERROR timed out waiting for \"nope\" to reach goal state\n", 1},
	} {
		if _, errOut, code := admin.juju("", strings.Fields(c.args)...); code != c.code || !strings.HasPrefix(errOut, c.want) {
			t.Errorf("juju %s: exit %d, %q; want exit %d and %q", c.args, code, errOut, c.code, c.want)
		}
	}
	admin.must("provisioning", "09-retry-all", "", "retry-provisioning --all")
	watchUntilInterrupted(t, admin)
	admin.must("provisioning", "10-destroy-model", "", "destroy-model m1 -y")
	if _, errOut, code := admin.juju("", "status", "-m", "m1"); code != 1 || !strings.HasPrefix(errOut, "ERROR model \"m1\" not found") {
		t.Errorf("status of a destroyed model: exit %d, %q", code, errOut)
	}
}

// watchUntilInterrupted runs status --watch while a deploy happens: the
// status is printed again as it changes, and Ctrl-C ends the watch
// (exit 0).
func watchUntilInterrupted(t *testing.T, u *user) {
	t.Helper()
	cmd := exec.Command(jujuBin, "status", "--watch", "1m")
	cmd.Env = u.env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		buf := make([]byte, 4096)
		var acc string
		for {
			n, err := stdout.Read(buf)
			acc += string(buf[:n])
			for {
				i := strings.IndexByte(acc, '\n')
				if i < 0 {
					break
				}
				lines <- acc[:i]
				acc = acc[i+1:]
			}
			if err != nil {
				return
			}
		}
	}()
	until := func(what string, pred func(string) bool) {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("status --watch ended before %s", what)
				}
				if pred(l) {
					return
				}
			case <-deadline:
				t.Fatalf("status --watch: no %s", what)
			}
		}
	}
	until("first status", func(l string) bool { return strings.HasPrefix(l, "0 ") && strings.Contains(l, "started") })
	if _, errOut, code := u.juju("", "deploy", "redis"); code != 0 {
		t.Fatalf("deploy redis: exit %d, %s", code, errOut)
	}
	until("redis's machine started", func(l string) bool { return strings.HasPrefix(l, "1 ") && strings.Contains(l, "started") })
	start := time.Now()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("status --watch after Ctrl-C: %v, want exit 0", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("status --watch took %v to end after Ctrl-C", d)
	}
}
