package store_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/store"
)

type failing struct{ err error }

func (f failing) Apply([]store.Change) error { return f.err }
func (failing) Close() error                 { return nil }

type recording struct{ changes []store.Change }

func (r *recording) Apply(c []store.Change) error { r.changes = append(r.changes, c...); return nil }
func (*recording) Close() error                   { return nil }

func TestCopyInCopyOut(t *testing.T) {
	s := store.NewMemory()
	w := s.Write()
	m := models.Model{UUID: "u1", Name: "m", Owner: "admin", Life: models.Alive}
	if err := w.Insert(store.TableModels, m); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	m.Name = "changed after insert"
	got, ok := store.Get[models.Model](s.Read(), store.TableModels, store.IndexOwnerName, "admin", "m")
	if !ok || got.Name != "m" {
		t.Fatalf("got %+v, %v", got, ok)
	}
	got.Name = "changed after read"
	again, _ := store.Get[models.Model](s.Read(), store.TableModels, store.IndexID, "u1")
	if again.Name != "m" {
		t.Errorf("row changed through a copy: %+v", again)
	}
}

func TestAbortAndBackendFailure(t *testing.T) {
	s := store.NewMemory()
	before := s.Dump()
	w := s.Write()
	w.Insert(store.TableGrants, store.Grant{ModelUUID: "u", User: "tom", Level: acl.Read})
	w.Abort()
	w.Abort() // twice is fine
	if !reflect.DeepEqual(before, s.Dump()) {
		t.Error("aborted write is visible")
	}

	boom := errors.New("disk full")
	fs, err := store.New(failing{boom})
	if err != nil {
		t.Fatal(err)
	}
	w = fs.Write()
	w.Insert(store.TableGrants, store.Grant{ModelUUID: "u", User: "tom", Level: acl.Read})
	if err := w.Commit(); !errors.Is(err, boom) {
		t.Fatalf("commit = %v", err)
	}
	if len(fs.Dump()[store.TableGrants]) != 0 {
		t.Error("memdb committed what the backend refused")
	}
	// The writer lock was released: another write proceeds.
	w = fs.Write()
	w.Abort()
}

func TestBackendSeesChangesAndHooksRun(t *testing.T) {
	rec := &recording{}
	s, _ := store.New(rec)
	var seen int
	s.OnCommit(func(r *store.Txn, _ []store.Change) {
		seen = len(store.List[store.Grant](r, store.TableGrants, store.IndexUser, "tom"))
	})
	w := s.Write()
	w.Insert(store.TableGrants, store.Grant{ModelUUID: "a", User: "tom", Level: acl.Read})
	w.Insert(store.TableGrants, store.Grant{ModelUUID: "b", User: "tom", Level: acl.Admin})
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if len(rec.changes) != 2 || rec.changes[0].Before != nil || rec.changes[0].Table != store.TableGrants {
		t.Errorf("changes = %+v", rec.changes)
	}
	if seen != 2 {
		t.Errorf("hook saw %d grants", seen)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	w = s.Write()
	defer w.Abort()
	if err := w.Commit(); err == nil {
		t.Error("commit after close succeeded")
	}
}

func TestSchemaIndexes(t *testing.T) {
	sc := store.Schema()
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		store.TableModels:   {store.IndexID, store.IndexOwnerName},
		store.TableGrants:   {store.IndexID, store.IndexUser},
		store.TableUnits:    {store.IndexID},
		store.TableSessions: {store.IndexID, store.IndexUser},
	}
	for table, idx := range want {
		for _, name := range idx {
			if _, ok := sc.Tables[table].Indexes[name]; !ok {
				t.Errorf("%s has no index %s", table, name)
			}
		}
	}
	if len(sc.Tables) != len(store.Tables()) {
		t.Errorf("schema has %d tables, Tables() %d", len(sc.Tables), len(store.Tables()))
	}
}

// A clone starts with the state of its original; after that, writes to
// either do not show in the other, and the clone runs no hooks.
func TestClone(t *testing.T) {
	s := store.NewMemory()
	hooks := 0
	s.OnCommit(func(*store.Txn, []store.Change) { hooks++ })
	put := func(s *store.Store, uuid, name string) {
		t.Helper()
		w := s.Write()
		if err := w.Insert(store.TableModels, models.Model{UUID: uuid, Name: name, Owner: "admin"}); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	names := func(s *store.Store) []string {
		var out []string
		for _, m := range store.List[models.Model](s.Read(), store.TableModels, store.IndexID) {
			out = append(out, m.Name)
		}
		return out
	}
	put(s, "u1", "before")
	c := s.Clone()
	put(s, "u2", "original-only")
	put(c, "u3", "clone-only")
	if got := names(s); !reflect.DeepEqual(got, []string{"before", "original-only"}) {
		t.Errorf("original: %v", got)
	}
	if got := names(c); !reflect.DeepEqual(got, []string{"before", "clone-only"}) {
		t.Errorf("clone: %v", got)
	}
	if hooks != 2 {
		t.Errorf("%d hook calls, want 2 (the original's commits only)", hooks)
	}
}
