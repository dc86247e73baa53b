package store_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/store"
)

// Page trees that send bbolt's cursor round the same page for ever: the
// page tree check must refuse them, and OpenFile must, promptly, with
// ErrInvalid.
func TestFileHostilePageTree(t *testing.T) {
	path, s := create(t)
	w := s.Write()
	for i := range 2000 { // enough rows for the grants bucket to need a branch page
		if err := w.Insert(store.TableGrants, store.Grant{ModelUUID: fmt.Sprintf("model-%04d", i), User: "tom", Level: acl.Read}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.NativeEndian
	ps := os.Getpagesize() // bbolt's page size for a file it creates
	// find returns the first page whose flags are exactly want.
	find := func(want uint16) int {
		for id := 2; (id+1)*ps <= len(good); id++ {
			if le.Uint16(good[id*ps+8:]) == want && le.Uint16(good[id*ps+10:]) > 0 {
				return id
			}
		}
		t.Fatalf("no page with flags %#x in a file of %d pages", want, len(good)/ps)
		return 0
	}
	const branch, leaf = 0x01, 0x02
	cases := map[string]func(b []byte){
		// A branch page that says it has no elements: bbolt's cursor
		// still follows element 0, here pointing back at the page.
		"empty branch page pointing at itself": func(b []byte) {
			id := find(branch)
			le.PutUint16(b[id*ps+10:], 0)
			le.PutUint64(b[id*ps+16+8:], uint64(id))
		},
		// A leaf page with a stray flag bit: bbolt takes any page that
		// is not exactly a leaf for a branch, and reads each element's
		// key and value sizes as a page id, here its own.
		"leaf page with a stray flag bit": func(b []byte) {
			// The first leaf under the branch page, so a leaf of rows.
			id := int(le.Uint64(b[find(branch)*ps+16+8:]))
			if le.Uint16(b[id*ps+8:]) != leaf {
				t.Fatalf("page %d is not a leaf", id)
			}
			le.PutUint16(b[id*ps+8:], leaf|0x80)
			for e := range int(le.Uint16(b[id*ps+10:])) {
				at := id*ps + 16 + e*16
				le.PutUint32(b[at+8:], uint32(id)) // key size: low half of the "page id"
				le.PutUint32(b[at+12:], 0)         // value size: high half
			}
		},
	}
	for name, spoil := range cases {
		t.Run(name, func(t *testing.T) {
			b := append([]byte(nil), good...)
			spoil(b)
			// The walk refuses it by itself, whatever else bbolt checks
			// on the way (it checks page flags when it rebuilds its
			// freelist, which a file can ask it not to do).
			if err := store.CheckBolt(b); err == nil {
				t.Error("the page tree check let it through")
			}
			p := filepath.Join(t.TempDir(), "herd.db")
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				s, err := store.OpenFile(p, store.FileOptions{})
				if err == nil {
					s.Dump()
					s.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, herd.ErrInvalid) {
					t.Fatalf("OpenFile: %v, want ErrInvalid", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("OpenFile did not return within 10 s")
			}
		})
	}
}
