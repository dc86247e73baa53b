package store_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/store"
)

// FuzzOpenFile feeds arbitrary bytes to OpenFile, and loads what opens,
// as a store file: it must
// fail with herd.ErrInvalid or herd.ErrFailedPrecondition, or open, and
// never panic or crash (bbolt faults on some corrupt files; OpenFile
// turns that into an error).
func FuzzOpenFile(f *testing.F) {
	dir := f.TempDir()
	good := filepath.Join(dir, "good.db")
	s, err := openState(good, store.FileOptions{Create: true})
	if err != nil {
		f.Fatal(err)
	}
	insert(f, s, state.TableGrants, state.Grant{ModelUUID: "m", User: "tom", Level: acl.Write})
	closeState(f, s)
	b, err := os.ReadFile(good)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:4096])
	f.Add(b[:len(b)/2])
	f.Add([]byte("not a database at all"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return // empty is its own case, tested elsewhere
		}
		p := filepath.Join(t.TempDir(), "f.db")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		type result struct {
			s   *state.Store
			err error
		}
		done := make(chan result, 1)
		go func() {
			s, err := openState(p, store.FileOptions{})
			done <- result{s, err}
		}()
		var s *state.Store
		var err error
		select {
		case r := <-done:
			s, err = r.s, r.err
		case <-time.After(5 * time.Second):
			t.Fatalf("OpenFile did not return within 5 s")
		}
		if err != nil {
			if !errors.Is(err, herd.ErrInvalid) && !errors.Is(err, herd.ErrFailedPrecondition) {
				t.Fatalf("error %v wraps neither ErrInvalid nor ErrFailedPrecondition", err)
			}
			return
		}
		s.Dump()
		closeState(t, s)
	})
}
