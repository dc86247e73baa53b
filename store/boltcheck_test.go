package store_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/store"
)

// Page trees that send bbolt's cursor round the same page for ever: the
// page tree check must refuse them, and OpenFile must, promptly, with
// ErrInvalid.
func TestFileHostilePageTree(t *testing.T) {
	path, s := create(t)
	w := s.Write()
	for i := range 2000 { // enough rows for the grants bucket to need a branch page
		if err := w.Insert(state.TableGrants, state.Grant{ModelUUID: fmt.Sprintf("model-%04d", i), User: "tom", Level: acl.Read}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	closeState(t, s)
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
		t.Run(name, func(t *testing.T) { refusedSpoiled(t, good, spoil) })
	}
}

// refusedSpoiled spoils a copy of good and checks that the check refuses
// it by itself, whatever else bbolt checks on the way (it checks page
// flags when it rebuilds its freelist, which a file can ask it not to
// do), and that OpenFile refuses it.
func refusedSpoiled(t *testing.T, good []byte, spoil func([]byte)) {
	t.Helper()
	b := append([]byte(nil), good...)
	spoil(b)
	if err := store.CheckBolt(b); err == nil {
		t.Error("the check let it through")
	}
	refused(t, b)
}

// refused writes b as a store file and checks that OpenFile refuses it,
// promptly, with ErrInvalid, and leaves it as it was.
func refused(t *testing.T, b []byte) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "herd.db")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		s, err := openState(p, store.FileOptions{})
		if err == nil {
			s.Dump()
			err = errors.Join(errors.New("opened"), s.Close())
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
	if after, _ := os.ReadFile(p); !bytes.Equal(after, b) {
		t.Error("the refused file was changed")
	}
}

// Freelists that bbolt would read on open and allocate from. The first was
// a crash before the check ("fatal error: runtime: out of memory", which
// no recover catches); the others would have had bbolt overwrite a meta
// page or live data on the next write.
func TestFileHostileFreelist(t *testing.T) {
	path, s := create(t)
	for i := range 20 { // a few transactions, so that pages are freed
		insert(t, s, state.TableGrants, state.Grant{ModelUUID: fmt.Sprintf("m%d", i), User: "tom", Level: acl.Read})
	}
	closeState(t, s)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.NativeEndian
	ps := os.Getpagesize()
	root, fl := currentMeta(good, ps)
	freelist := int(fl)
	if le.Uint16(good[freelist*ps+8:]) != 0x10 || le.Uint16(good[int(root)*ps+8:]) != 0x02 {
		t.Fatalf("page %d is not a freelist page, or page %d not a leaf", freelist, root)
	}
	if n := le.Uint16(good[freelist*ps+10:]); n == 0 || n == 0xFFFF {
		t.Fatalf("freelist page %d holds %d ids; want a few", freelist, n)
	}
	free := le.Uint64(good[freelist*ps+16:])
	if err := store.CheckBolt(good); err != nil {
		t.Fatalf("the good file is refused: %v", err)
	}
	for name, spoil := range map[string]func(b []byte){
		"2^33 ids": func(b []byte) {
			le.PutUint16(b[freelist*ps+10:], 0xFFFF)
			le.PutUint64(b[freelist*ps+16:], 1<<33)
		},
		"a meta page listed as free":    func(b []byte) { le.PutUint64(b[freelist*ps+16:], 1) },
		"a page of data listed as free": func(b []byte) { le.PutUint64(b[freelist*ps+16:], root) },
		"a free page listed twice": func(b []byte) {
			le.PutUint16(b[freelist*ps+10:], 2)
			le.PutUint64(b[freelist*ps+24:], free)
		},
		"not a freelist page": func(b []byte) { le.PutUint16(b[freelist*ps+8:], 0x02) },
	} {
		t.Run(name, func(t *testing.T) { refusedSpoiled(t, good, spoil) })
	}
}

// currentMeta returns the root page and the freelist page of the meta page
// bbolt uses: the one with the higher transaction id (both are valid in a
// file the store wrote).
func currentMeta(b []byte, ps int) (root, freelist uint64) {
	le := binary.NativeEndian
	at := 16 // the meta follows the page header
	if le.Uint64(b[ps+at+48:]) > le.Uint64(b[at+48:]) {
		at += ps
	}
	return le.Uint64(b[at+16:]), le.Uint64(b[at+32:])
}
