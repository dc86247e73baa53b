package store_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/store"
)

func create(t *testing.T) (string, *store.Store) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "herd.db")
	s, err := store.OpenFile(path, store.FileOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	return path, s
}

func insert(t testing.TB, s *store.Store, table string, row any) {
	t.Helper()
	w := s.Write()
	defer w.Abort()
	if err := w.Insert(table, row); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

// canon renders a dump as JSON, so that times compare by value.
func canon(t *testing.T, d map[string][]any) string {
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFileReopenPreservesEverything(t *testing.T) {
	path, s := create(t)
	insert(t, s, store.TableModels, models.Model{UUID: "mu", Name: "m", Owner: "tom", Created: time.Now()})
	insert(t, s, store.TableGrants, store.Grant{ModelUUID: "mu", User: "tom", Level: acl.Admin})
	insert(t, s, store.TableGrants, store.Grant{ModelUUID: "mu", User: "bob", Level: acl.Read})
	w := s.Write()
	w.DeleteAll(store.TableGrants, store.IndexID, "mu", "bob")
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	before := canon(t, s.Dump())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	s2, err := store.OpenFile(path, store.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if after := canon(t, s2.Dump()); after != before {
		t.Errorf("after reopen:\n%s\nwant\n%s", after, before)
	}
	if _, err := store.OpenFile(path, store.FileOptions{Create: true}); !errors.Is(err, herd.ErrAlreadyExists) {
		t.Errorf("Create over an existing file: %v", err)
	}
	if _, err := store.OpenFile(path+".missing", store.FileOptions{}); !errors.Is(err, herd.ErrNotFound) {
		t.Errorf("open of a missing file: %v", err)
	}
}

func fileHash(t *testing.T, path string) [32]byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestFileCorruptTruncatedForeign(t *testing.T) {
	path, s := create(t)
	insert(t, s, store.TableGrants, store.Grant{ModelUUID: "mu", User: "tom", Level: acl.Admin})
	s.Close()
	good, _ := os.ReadFile(path)
	dir := t.TempDir()
	cases := map[string][]byte{
		"garbage":   bytes.Repeat([]byte("not a database "), 4096),
		"truncated": good[:len(good)/3],
		"empty":     {},
		// bbolt keeps two meta pages and survives one bad one (that is
		// its crash safety), so spoil both.
		"both metas": flip(flip(good, 20), os.Getpagesize()+20),
	}
	for name, content := range cases {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, content, 0o600); err != nil {
			t.Fatal(err)
		}
		h := fileHash(t, p)
		_, err := store.OpenFile(p, store.FileOptions{LockTimeout: 100 * time.Millisecond})
		if !errors.Is(err, herd.ErrInvalid) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: err = %v, want ErrInvalid naming the file", name, err)
		}
		if fileHash(t, p) != h {
			t.Errorf("%s: the file was changed", name)
		}
	}
	// A bbolt file that is not a Herd store.
	p := filepath.Join(dir, "foreign")
	db, err := bolt.Open(p, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err })
	db.Close()
	if _, err := store.OpenFile(p, store.FileOptions{}); !errors.Is(err, herd.ErrInvalid) {
		t.Errorf("foreign bbolt file: %v", err)
	}
}

func flip(b []byte, at int) []byte {
	c := bytes.Clone(b)
	c[at] ^= 0xff
	return c
}

func TestFileNewerVersionRefused(t *testing.T) {
	path, s := create(t)
	s.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("herd.meta")).Put([]byte("version"), []byte(strconv.Itoa(store.FormatVersion+1)))
	})
	db.Close()
	h := fileHash(t, path)
	_, err = store.OpenFile(path, store.FileOptions{})
	if !errors.Is(err, herd.ErrFailedPrecondition) || !strings.Contains(err.Error(), "newer") {
		t.Errorf("err = %v", err)
	}
	if fileHash(t, path) != h {
		t.Error("the file was changed")
	}
}

// helper runs this test binary as a child process in one of the modes of
// TestHelperProcess.
func helper(t *testing.T, mode, path string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.v=false")
	cmd.Env = append(os.Environ(), "HERD_STORE_HELPER="+mode, "HERD_STORE_PATH="+path)
	return cmd
}

// TestHelperProcess is not a test: it is the child process of the tests
// that need a second process.
func TestHelperProcess(t *testing.T) {
	mode, path := os.Getenv("HERD_STORE_HELPER"), os.Getenv("HERD_STORE_PATH")
	if mode == "" {
		t.Skip("only a child process of other tests")
	}
	switch mode {
	case "open":
		s, err := store.OpenFile(path, store.FileOptions{LockTimeout: 200 * time.Millisecond})
		if err != nil {
			fmt.Println("ERROR", err, "| failed precondition:", errors.Is(err, herd.ErrFailedPrecondition))
			os.Exit(3)
		}
		s.Close()
		fmt.Println("opened")
	case "crash":
		crashChild(path)
	}
	os.Exit(0)
}

func TestFileSecondProcessRefused(t *testing.T) {
	path, s := create(t)
	out, err := helper(t, "open", path).Output()
	if err == nil || !strings.Contains(string(out), "is in use by another process") ||
		!strings.Contains(string(out), path) || !strings.Contains(string(out), "failed precondition: true") {
		t.Errorf("second process: %v, %s", err, out)
	}
	s.Close()
	out, err = helper(t, "open", path).Output()
	if err != nil || !strings.Contains(string(out), "opened") {
		t.Errorf("after close: %v, %s", err, out)
	}
}

// crashChild commits numbered transactions, each a grant and a machine
// (two tables), and reports each one after Commit returns.
func crashChild(path string) {
	s, err := store.OpenFile(path, store.FileOptions{LockTimeout: 10 * time.Second})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(3)
	}
	next := len(store.List[store.Grant](s.Read(), store.TableGrants, store.IndexModel, "crash")) + 1
	out := bufio.NewWriter(os.Stdout)
	for i := next; ; i++ {
		w := s.Write()
		w.Insert(store.TableGrants, store.Grant{ModelUUID: "crash", User: fmt.Sprintf("u%07d", i), Level: acl.Read})
		w.Insert(store.TableMachines, models.Machine{ModelUUID: "crash", ID: fmt.Sprintf("%07d", i)})
		if err := w.Commit(); err != nil {
			fmt.Println("ERROR", err)
			os.Exit(3)
		}
		fmt.Fprintf(out, "ack %d\n", i)
		out.Flush()
	}
}

// TestCrash kills a writer with SIGKILL at random moments and checks, after
// each kill, that every acknowledged transaction is in the file and that no
// transaction is there in part.
func TestCrash(t *testing.T) {
	cycles := 200
	if testing.Short() {
		cycles = 20
	}
	path, s := create(t)
	s.Close()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	acked, lost, partial, maxAck := 0, 0, 0, 0
	for c := range cycles {
		cmd := helper(t, "crash", path)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Kill at a random moment after the child has acknowledged a few.
		want := 1 + rng.IntN(8)
		got := 0
		deadline := time.After(20 * time.Second)
	read:
		for got < want {
			select {
			case l, ok := <-lines:
				if !ok {
					break read
				}
				if strings.HasPrefix(l, "ERROR") {
					t.Fatalf("cycle %d: child: %s", c, l)
				}
				if n, err := strconv.Atoi(strings.TrimPrefix(l, "ack ")); err == nil {
					got++
					maxAck = max(maxAck, n)
				}
			case <-deadline:
				t.Fatalf("cycle %d: child acknowledged nothing", c)
			}
		}
		time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
		for l := range lines { // acknowledgements written before the kill
			if n, err := strconv.Atoi(strings.TrimPrefix(l, "ack ")); err == nil {
				got++
				maxAck = max(maxAck, n)
			}
		}
		cmd.Wait()
		acked += got

		r, err := store.OpenFile(path, store.FileOptions{LockTimeout: 10 * time.Second})
		if err != nil {
			t.Fatalf("cycle %d: reopen: %v", c, err)
		}
		grants := map[string]bool{}
		for _, g := range store.List[store.Grant](r.Read(), store.TableGrants, store.IndexModel, "crash") {
			grants[strings.TrimPrefix(g.User, "u")] = true
		}
		machines := map[string]bool{}
		for _, m := range store.List[models.Machine](r.Read(), store.TableMachines, store.IndexModel, "crash") {
			machines[m.ID] = true
		}
		r.Close()
		for i := 1; i <= maxAck; i++ {
			if k := fmt.Sprintf("%07d", i); !grants[k] || !machines[k] {
				lost++
			}
		}
		for k := range grants {
			if !machines[k] {
				partial++
			}
		}
		for k := range machines {
			if !grants[k] {
				partial++
			}
		}
		if lost > 0 || partial > 0 {
			t.Fatalf("cycle %d: %d acknowledged transactions lost, %d partial", c, lost, partial)
		}
	}
	t.Logf("crash test: %d kill cycles, %d acknowledged transactions (highest %d), %d lost, %d partial", cycles, acked, maxAck, lost, partial)
}
