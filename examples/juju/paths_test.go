package main

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/herd-project/herd/users"
)

// tree lists every folder, file and link under root, with each file's
// hash, so a test can show that a refused command created, changed or
// removed nothing anywhere under root.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			m[p] = "dir"
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			m[p] = "link " + target
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			m[p] = fmt.Sprintf("%x", sha256.Sum256(b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// sameTree fails the test with every path that appeared, changed or went.
func sameTree(t *testing.T, before, after map[string]string) {
	t.Helper()
	var diffs []string
	for p, h := range after {
		if b, ok := before[p]; !ok {
			diffs = append(diffs, "appeared: "+p)
		} else if b != h {
			diffs = append(diffs, "changed: "+p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			diffs = append(diffs, "removed: "+p)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("a refused command changed the filesystem:\n%s", strings.Join(diffs, "\n"))
	}
}

// world is a small filesystem for one test: a user whose data folder is
// a few folders down from root, next to files of theirs that no juju
// command may touch.
type world struct {
	root string
	u    *user
}

func newWorld(t *testing.T) *world {
	root := t.TempDir()
	data := filepath.Join(root, "home", "me", ".local", "herd")
	for p, body := range map[string]string{
		"home/me/notes.txt":          "my notes\n",
		"home/me/.local/keep.txt":    "keep\n",
		"victim/notes.txt":           "not yours\n",
		"victim/sub/state.db/x.txt":  "a folder named state.db\n",
		"victim/linked/readme.txt":   "a folder with a link named state.db\n",
		"victim/nostate/unrelated.t": "no state file here\n",
	} {
		p = filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	u := newUser(t, "HERD_FAKE_PROVIDER=1")
	u.data = data
	u.env = append(u.env, "HERD_DATA="+data) // the later one wins
	return &world{root: root, u: u}
}

// refused runs a command that must fail with an ERROR line starting with
// want, and must leave everything under the world's root as it was.
func (w *world) refused(t *testing.T, stdin, want string, args ...string) {
	t.Helper()
	before := tree(t, w.root)
	_, errOut, code := w.u.juju(stdin, args...)
	if code != 1 || !strings.HasPrefix(errOut, "ERROR "+want) {
		t.Errorf("juju %s: exit %d, stderr %q; want exit 1 and ERROR %s...", strings.Join(args, " "), code, errOut, want)
	}
	sameTree(t, before, tree(t, w.root))
}

// A controller name is checked before any folder is made for it: names
// that climb out of the data folder, or are no name at all, leave the
// filesystem as it was.
func TestBootstrapNameMakesNoFolder(t *testing.T) {
	for _, name := range []string{
		"../x", "../../x", "../../../x", "../../../../victim/x", "x/../../y",
		"..", ".", "a/b", "/abs", "Upper", "",
	} {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.refused(t, "", fmt.Sprintf("controller name %q not valid", name), "bootstrap", name, "localhost-fake")
		})
	}
}

// token makes a registration token for tom that names the given
// controller and address, with a secret no controller issued.
func token(t *testing.T, controllerName, addr string) string {
	t.Helper()
	s, err := users.Token{User: "tom", Addrs: []string{addr}, SecretKey: make([]byte, users.SecretKeyLen), ControllerName: controllerName}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A registration token's addresses are checked before anything is sent
// or written: host:port only, so a crafted token cannot name a file, a URL
// or a path.
func TestRegisterAddressIsChecked(t *testing.T) {
	for _, addr := range []string{
		"herd+file:///tmp/x/state.db?provider=fake", "/tmp/x/state.db", "../x:17070", "example.com",
		"example.com:0", "example.com:99999", "example.com:http", "user@example.com:17070",
		"example.com/api:17070", "https://example.com:17070", ":17070",
	} {
		t.Run(addr, func(t *testing.T) {
			w := newWorld(t)
			w.refused(t, "tom-password\n", "registration token: controller address", "register", token(t, "c1", addr))
		})
	}
	// A controller name that is no name is refused too, even with a good
	// address.
	for _, name := range []string{"../../x", "a/b", ".."} {
		t.Run("name "+name, func(t *testing.T) {
			w := newWorld(t)
			w.refused(t, "tom-password\n", fmt.Sprintf("registration token: controller name %q not valid", name), "register", token(t, name, "127.0.0.1:17070"))
		})
	}
}

// The client's own files are read as untrusted too: a controllers.yaml
// whose entry has no usable address or CA, or a name that is no name, is
// refused before anything is dialled or written.
func TestClientFileIsChecked(t *testing.T) {
	ca := "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	for _, c := range []struct {
		name, ctl, want string
		ep              []string
		ca              string
		args            []string
	}{
		{"status, a path for an address", "c1", "controller c1 in", []string{"/tmp/state.db"}, ca, []string{"status"}},
		{"status, a URL for an address", "c1", "controller c1 in", []string{"herd+file:///tmp/state.db"}, ca, []string{"status"}},
		{"whoami, no address", "c1", "controller c1 in", nil, ca, []string{"whoami"}},
		{"whoami, no CA", "c1", "controller c1 in", []string{"127.0.0.1:17070"}, "", []string{"whoami"}},
		{"destroy, a name that climbs", "../../victim", `controller name "../../victim" not valid`, []string{"127.0.0.1:17070"}, ca, []string{"destroy-controller", "../../victim", "-y"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			cf := controllersFile{Current: c.ctl, Controllers: map[string]controllerEntry{c.ctl: {UUID: "u", APIEndpoints: c.ep, CACert: c.ca, Cloud: "localhost-fake", Region: "default"}}}
			if err := w.u.client().write(controllersFileName, cf); err != nil {
				t.Fatal(err)
			}
			if err := w.u.client().write(accountsFileName, accountsFile{Controllers: map[string]account{c.ctl: {User: "admin"}}}); err != nil {
				t.Fatal(err)
			}
			if err := w.u.client().write(sessionsFileName, sessionsFile{Controllers: map[string]session{c.ctl: {Token: "x"}}}); err != nil {
				t.Fatal(err)
			}
			w.refused(t, "", c.want, c.args...)
		})
	}
}

// Only the client that bootstrapped a controller holds its folder, so only
// it can kill the controller (destroy-controller goes through the API, and
// the controller decides: TestDestroyControllerOverNetwork): another
// user's kill-controller is refused and changes nothing, even a
// superuser's; the owner's destroy-controller stops the process and removes
// the folder.
func TestKillControllerOnlyFromOwnFolder(t *testing.T) {
	admin, tom := newUser(t, "HERD_FAKE_PROVIDER=1"), newUser(t, "HERD_FAKE_PROVIDER=1")
	admin.must("errors", "setup-bootstrap", "", "bootstrap c1 localhost-fake")
	out := admin.must("errors", "setup-add-user", "", "add-user tom")
	if _, errOut, code := admin.juju("", "grant", "tom", "superuser"); code != 0 {
		t.Fatalf("grant tom superuser: exit %d, %s", code, errOut)
	}
	tom.must("errors", "setup-register", "tom-password\ntom-password\n\n", "register "+tokenIn(t, out))
	dir := filepath.Join(admin.data, "controllers", "c1")
	before := tree(t, tom.data)
	if _, errOut, code := tom.juju("", "kill-controller", "c1", "-y"); code != 1 || !strings.HasPrefix(errOut, "ERROR controller c1 was not bootstrapped from this data folder") {
		t.Fatalf("tom's kill-controller: exit %d, %s", code, errOut)
	}
	sameTree(t, before, tree(t, tom.data))
	pid, ok := agentPID(dir)
	if !ok {
		t.Fatal("the controller process is not running")
	}
	if _, errOut, code := admin.juju("", "destroy-controller", "c1", "-y"); code != 0 {
		t.Fatalf("admin's destroy-controller: exit %d, %s", code, errOut)
	}
	if exists(dir) || isAgent(pid, dir) {
		t.Errorf("admin's client left %s or its process %d", dir, pid)
	}
	// tom's client still lists it, until tom forgets it.
	if _, errOut, code := tom.juju("", "whoami"); code != 1 || !strings.Contains(errOut, "(is the controller process running?)") {
		t.Errorf("tom's whoami with the controller gone: exit %d, %s", code, errOut)
	}
	if _, errOut, code := tom.juju("", "unregister", "c1", "-y"); code != 0 {
		t.Fatalf("tom's unregister: exit %d, %s", code, errOut)
	}
	if cf, _ := tom.client().controllers(); len(cf.Controllers) != 0 {
		t.Errorf("tom's client still lists %v", cf.Controllers)
	}
}

// Files already in a controller's folder, which controllers.json does not
// list (lost, or left by a failed bootstrap), are neither reused nor
// removed by a new bootstrap of that name.
func TestBootstrapKeepsLeftoverFiles(t *testing.T) {
	w := newWorld(t)
	dir := filepath.Join(w.u.data, "controllers", "c1")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"state.db": "not a store\n", "fakeprovider.json": `{"version": 1}`} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	w.refused(t, "", "controller folder", "bootstrap", "c1", "localhost-fake")
}

// A bootstrap whose controller process cannot start (its address is taken)
// leaves nothing behind: no folder, no client file, no process.
func TestBootstrapFailureLeavesNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	w := newWorld(t)
	w.u.env = append(w.u.env, "HERD_CONTROLLER_ADDR="+ln.Addr().String())
	before := tree(t, w.root)
	_, errOut, code := w.u.juju("", "bootstrap", "localhost-fake", "c1")
	if code != 1 || !strings.Contains(errOut, "ERROR cannot start the controller process: the controller process exited") || !strings.Contains(errOut, "address already in use") {
		t.Errorf("exit %d, %s", code, errOut)
	}
	after := tree(t, w.root)
	// The data folder itself may now exist (0700), empty but for the
	// controllers folder; nothing else.
	for p := range after {
		if _, ok := before[p]; !ok && p != w.u.data && p != filepath.Join(w.u.data, "controllers") {
			t.Errorf("left behind: %s", p)
		}
	}
}
