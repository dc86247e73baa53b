package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/url"
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

func fileAddr(host, path string) string {
	return (&url.URL{Scheme: "herd+file", Host: host, Path: path, RawQuery: "provider=fake"}).String()
}

// A registration token's address is checked before the client opens
// anything: a crafted one cannot make `juju register` write a file in a
// folder of the attacker's choosing, nor reach a file that is not a
// controller's state file.
func TestRegisterAddressIsChecked(t *testing.T) {
	admin := newUser(t, "HERD_FAKE_PROVIDER=1")
	admin.must("errors", "setup-bootstrap", "", "bootstrap c1 localhost-fake")
	real := filepath.Join(admin.data, "controllers", "c1", "state.db")
	real, err := filepath.Abs(real)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		addr func(root string) string
		want string
	}{
		{"no state file in the folder", func(r string) string { return fileAddr("", filepath.Join(r, "victim", "nostate", "state.db")) },
			"controller address"},
		{"climbs with ..", func(r string) string {
			return fileAddr("", filepath.Join(r, "home")+"/../victim/nostate/state.db")
		}, "controller address"},
		{"a user's file", func(r string) string { return fileAddr("", filepath.Join(r, "victim", "notes.txt")) },
			"controller address"},
		{"a folder named state.db", func(r string) string { return fileAddr("", filepath.Join(r, "victim", "sub", "state.db")) },
			"controller address"},
		{"a link named state.db", func(r string) string { return fileAddr("", filepath.Join(r, "victim", "linked", "state.db")) },
			"controller address"},
		{"a folder that is not there", func(r string) string { return fileAddr("", filepath.Join(r, "nowhere", "deeper", "state.db")) },
			"controller address"},
		{"a host", func(r string) string {
			return fileAddr("example.invalid", filepath.Join(r, "victim", "nostate", "state.db"))
		},
			"controller address"},
		{"a relative path", func(r string) string {
			rel, err := filepath.Rel(mustGetwd(t), filepath.Join(r, "victim", "nostate", "state.db"))
			if err != nil {
				t.Fatal(err)
			}
			return "herd+file:" + filepath.ToSlash(rel) + "?provider=fake"
		}, "controller address"},
		{"a doubled slash", func(r string) string { return fileAddr("", filepath.Join(r, "victim", "nostate")+"//state.db") },
			"controller address"},
		{"a second provider", func(r string) string { return fileAddr("", real) + "&provider=lxd" }, "controller address"},
		{"another scheme", func(r string) string {
			return "file://" + filepath.Join(r, "victim", "nostate", "state.db") + "?provider=fake"
		},
			"controller address"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			if err := os.Symlink(real, filepath.Join(w.root, "victim", "linked", "state.db")); err != nil {
				t.Fatal(err)
			}
			w.refused(t, "tom-password\n", c.want, "register", token(t, "c1", c.addr(w.root)))
		})
	}
	// A controller name that is no name is refused too, even with the
	// address of a real controller.
	for _, name := range []string{"../../x", "a/b", ".."} {
		t.Run("name "+name, func(t *testing.T) {
			w := newWorld(t)
			w.refused(t, "tom-password\n", fmt.Sprintf("registration token: controller name %q not valid", name), "register", token(t, name, fileAddr("", real)))
		})
	}
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

// The client's own files are read as untrusted too: a controllers.json
// whose entry names a folder outside the data folder, or a name that is no
// name, is refused before anything is opened or written.
func TestClientFileIsChecked(t *testing.T) {
	admin := newUser(t, "HERD_FAKE_PROVIDER=1")
	admin.must("errors", "setup-bootstrap", "", "bootstrap c1 localhost-fake")
	real, err := filepath.Abs(filepath.Join(admin.data, "controllers", "c1", "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, ctl, path, want string
		args                  []string
	}{
		{"status, path to a folder without state", "c1", "victim/nostate/state.db", "controller c1 in", []string{"status"}},
		{"status, path with ..", "c1", "home/../victim/nostate/state.db", "controller c1 in", []string{"status"}},
		{"whoami, user's file", "c1", "victim/notes.txt", "controller c1 in", []string{"whoami"}},
		{"destroy, a name that climbs", "../../victim", "", `controller name "../../victim" not valid`, []string{"destroy-controller", "../../victim", "-y"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			path := real
			if c.path != "" {
				path = w.root + "/" + c.path
			}
			cf := controllersFile{Current: c.ctl, Controllers: map[string]controllerEntry{c.ctl: {Path: path, Provider: "fake", Cloud: "localhost-fake", Region: "default"}}}
			b, _ := json.Marshal(cf)
			if err := os.MkdirAll(w.u.data, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(w.u.data, "controllers.json"), b, 0o600); err != nil {
				t.Fatal(err)
			}
			b, _ = json.Marshal(accountsFile{c.ctl: {User: "admin", Token: "x"}})
			if err := os.WriteFile(filepath.Join(w.u.data, "accounts.json"), b, 0o600); err != nil {
				t.Fatal(err)
			}
			w.refused(t, "", c.want, c.args...)
		})
	}
}

// A registered user who may destroy a controller destroys it, but leaves
// its folder, which is in the bootstrapping user's data folder, to that
// user's client: a client removes only folders it made.
func TestDestroyControllerRemovesOnlyOwnFolder(t *testing.T) {
	admin, tom := newUser(t, "HERD_FAKE_PROVIDER=1"), newUser(t, "HERD_FAKE_PROVIDER=1")
	admin.must("errors", "setup-bootstrap", "", "bootstrap c1 localhost-fake")
	out := admin.must("errors", "setup-add-user", "", "add-user tom")
	if _, errOut, code := admin.juju("", "grant", "tom", "superuser"); code != 0 {
		t.Fatalf("grant tom superuser: exit %d, %s", code, errOut)
	}
	tom.must("errors", "setup-register", "tom-password\n", "register "+tokenIn(t, out))
	dir := filepath.Join(admin.data, "controllers", "c1")
	if _, errOut, code := tom.juju("", "destroy-controller", "c1", "-y"); code != 0 {
		t.Fatalf("tom's destroy-controller: exit %d, %s", code, errOut)
	}
	if !exists(filepath.Join(dir, "state.db")) {
		t.Fatalf("tom's client removed %s, in admin's data folder", dir)
	}
	if cf, _ := tom.client().controllers(); len(cf.Controllers) != 0 {
		t.Errorf("tom's client still lists %v", cf.Controllers)
	}
	// The owner's client cleans up when it destroys the controller in turn.
	if _, errOut, code := admin.juju("", "destroy-controller", "c1", "-y"); code != 0 {
		t.Fatalf("admin's destroy-controller: exit %d, %s", code, errOut)
	}
	if exists(dir) {
		t.Errorf("admin's client left %s", dir)
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
