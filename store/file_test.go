package store_test

import (
	"bytes"
	"context"
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
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/store"
	"github.com/herd-project/herd/users"
)

func create(t testing.TB) (string, *state.Store) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "herd.db")
	s, err := openState(path, store.FileOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	return path, s
}

// openState opens the file and loads it into a working set, as a
// controller does.
func openState(path string, opts store.FileOptions) (*state.Store, error) {
	f, err := store.OpenFile(path, opts)
	if err != nil {
		return nil, err
	}
	s, err := state.New(context.Background(), f)
	if err != nil {
		return nil, errors.Join(err, f.Close())
	}
	return s, nil
}

func insert(t testing.TB, s *state.Store, table state.Table, row any) {
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
func canon(t *testing.T, d map[state.Table][]any) string {
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFileReopenPreservesEverything(t *testing.T) {
	path, s := create(t)
	insert(t, s, state.TableModels, models.Model{UUID: "mu", Name: "m", Owner: "tom", Created: time.Now()})
	insert(t, s, state.TableGrants, state.Grant{ModelUUID: "mu", User: "tom", Level: acl.Admin})
	insert(t, s, state.TableGrants, state.Grant{ModelUUID: "mu", User: "bob", Level: acl.Read})
	w := s.Write()
	defer w.Abort()
	if _, err := w.DeleteAll(state.TableGrants, state.IndexID, "mu", "bob"); err != nil {
		t.Fatal(err)
	}
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
	s2, err := openState(path, store.FileOptions{})
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
	missingDir := filepath.Join(path+".missing", "herd.db")
	if _, err := store.OpenFile(missingDir, store.FileOptions{Create: true}); !errors.Is(err, herd.ErrFailedPrecondition) || !strings.Contains(err.Error(), "cannot create") {
		t.Errorf("create in a missing folder: %v", err)
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
	insert(t, s, state.TableGrants, state.Grant{ModelUUID: "mu", User: "tom", Level: acl.Admin})
	closeState(t, s)
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
		_, err := openState(p, store.FileOptions{LockTimeout: 100 * time.Millisecond})
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
	err = db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err })
	if err := errors.Join(err, db.Close()); err != nil {
		t.Fatal(err)
	}
	if _, err := openState(p, store.FileOptions{}); !errors.Is(err, herd.ErrInvalid) {
		t.Errorf("foreign bbolt file: %v", err)
	}
}

func flip(b []byte, at int) []byte {
	c := bytes.Clone(b)
	c[at] ^= 0xff
	return c
}

func closeState(t testing.TB, s *state.Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// A file of a newer format version, or of version 1 (rows without
// checksums), is refused and left as it is.
func TestFileOtherVersionRefused(t *testing.T) {
	for _, tc := range []struct {
		version int
		want    string
	}{
		{store.FormatVersion + 1, "newer than this Herd's"},
		{1, "format version 1, from a Herd older than rows with checksums"},
	} {
		path, s := create(t)
		insert(t, s, state.TableGrants, state.Grant{ModelUUID: "mu", User: "tom", Level: acl.Admin})
		closeState(t, s)
		db, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("herd.meta")).Put([]byte("version"), []byte(strconv.Itoa(tc.version)))
		})
		if err := errors.Join(err, db.Close()); err != nil {
			t.Fatal(err)
		}
		h := fileHash(t, path)
		_, err = store.OpenFile(path, store.FileOptions{})
		if !errors.Is(err, herd.ErrFailedPrecondition) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("version %d: err = %v", tc.version, err)
		}
		if fileHash(t, path) != h {
			t.Errorf("version %d: the file was changed", tc.version)
		}
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
		s, err := openState(path, store.FileOptions{LockTimeout: 200 * time.Millisecond})
		if err != nil {
			fmt.Println("ERROR", err, "| failed precondition:", errors.Is(err, herd.ErrFailedPrecondition))
			os.Exit(3)
		}
		if err := s.Close(); err != nil {
			fmt.Println("ERROR", err)
			os.Exit(3)
		}
		fmt.Println("opened")
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
	closeState(t, s)
	out, err = helper(t, "open", path).Output()
	if err != nil || !strings.Contains(string(out), "opened") {
		t.Errorf("after close: %v, %s", err, out)
	}
}

// TestFileRowDamageRefused flips bytes inside the rows of a store file.
// bbolt keeps no checksum of its data pages, so before rows carried their
// own, such a file opened without error with changed values: a secret's
// hash, a user's CreatedBy. Now every flip is refused with ErrInvalid
// naming the table, and nothing is loaded.
func TestFileRowDamageRefused(t *testing.T) {
	now := time.Date(2026, 11, 27, 1, 2, 3, 0, time.UTC)
	path, s := create(t)
	insert(t, s, state.TableUsers, state.User{User: users.User{Name: "tom", DisplayName: "Tom", CreatedBy: "admin", Created: now}, Access: acl.Login, PasswordHash: "$2a$10$abcdefghijklmnopqrstuv"})
	insert(t, s, state.TableSecrets, state.Secret{User: "tom", Key: bytes.Repeat([]byte{0xab}, 32), Created: now})
	insert(t, s, state.TableGrants, state.Grant{ModelUUID: "mu", User: "tom", Level: acl.Write})
	closeState(t, s)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Where each row's value lies in the file: bbolt writes pages anew
	// on every commit, so a free page may hold an old copy too.
	type span struct {
		table string
		at    []int
		size  int
	}
	var spans []span
	f, err := store.OpenFile(path, store.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = f.Load(context.Background(), func(r store.Record) error {
		sp := span{table: r.Table, size: len(r.Value)}
		for at := 0; ; at++ {
			i := bytes.Index(good[at:], r.Value)
			if i < 0 {
				break
			}
			at += i
			sp.at = append(sp.at, at)
		}
		if len(sp.at) == 0 {
			return fmt.Errorf("row of %s not found in the file", r.Table)
		}
		spans = append(spans, sp)
		return nil
	})
	if err := errors.Join(err, f.Close()); err != nil {
		t.Fatal(err)
	}
	if len(spans) != 3 {
		t.Fatalf("%d rows in the file", len(spans))
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
	dir := t.TempDir()
	for i := range 60 {
		sp := spans[i%len(spans)]
		off, mask := rng.IntN(sp.size), byte(1+rng.IntN(255))
		b := bytes.Clone(good)
		for _, at := range sp.at {
			b[at+off] ^= mask
		}
		p := filepath.Join(dir, fmt.Sprintf("flip-%d.db", i))
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := openState(p, store.FileOptions{})
		if err == nil {
			t.Errorf("a byte of a %s row flipped at offset %d: the file opened, holding %v", sp.table, off, s.Dump()[state.Table(sp.table)])
			closeState(t, s)
			continue
		}
		if !errors.Is(err, herd.ErrInvalid) || !strings.Contains(err.Error(), "table "+sp.table) {
			t.Errorf("a byte of a %s row flipped: err = %v, want ErrInvalid naming the table", sp.table, err)
		}
	}
}

// What bbolt holds but no row is: a bucket inside a table, or a table
// this Herd does not know. Both are refused, naming what was found.
func TestFileStrayBucketsRefused(t *testing.T) {
	for name, tc := range map[string]struct {
		spoil func(tx *bolt.Tx) error
		want  string
	}{
		"bucket in a table": {func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte(state.TableGrants))
			if err != nil {
				return err
			}
			_, err = bk.CreateBucket([]byte("nested"))
			return err
		}, "holds a bucket"},
		"unknown table": {func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucket([]byte("other"))
			if err != nil {
				return err
			}
			return bk.Put([]byte("k"), []byte("v"))
		}, `unknown table "other"`},
	} {
		path, s := create(t)
		insert(t, s, state.TableGrants, state.Grant{ModelUUID: "mu", User: "tom", Level: acl.Admin})
		closeState(t, s)
		db, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := errors.Join(db.Update(tc.spoil), db.Close()); err != nil {
			t.Fatal(err)
		}
		if _, err := openState(path, store.FileOptions{}); !errors.Is(err, herd.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want ErrInvalid saying %s", name, err, tc.want)
		}
	}
}

// A store file that others may read (copied with a loose mode, or made by
// hand) is made the owner's alone when it is opened.
func TestFileMadePrivateOnOpen(t *testing.T) {
	path, s := create(t)
	closeState(t, s)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := store.OpenFile(path, store.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after opening a 0644 store file: %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}
