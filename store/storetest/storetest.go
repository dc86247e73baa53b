// Package storetest is the conformance suite every store backend must
// pass: the memory store and the bbolt file store run the same tests.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) *store.Store { return store.NewMemory() })
//	}
package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/store"
	"github.com/herd-project/herd/users"
)

// Run runs the suite; newStore returns a fresh, empty store.
func Run(t *testing.T, newStore func(t *testing.T) *store.Store) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, *store.Store)
	}{
		{"CopyInCopyOut", testCopy},
		{"AbortWritesNothing", testAbort},
		{"UpdateReplaces", testUpdate},
		{"PrefixScansAreExact", testPrefix},
		{"DeleteAll", testDeleteAll},
		{"EveryTable", testEveryTable},
		{"HooksSeeCommits", testHooks},
		{"ClosedRefusesWrites", testClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

func write(t *testing.T, s *store.Store, rows ...any) {
	t.Helper()
	w := s.Write()
	defer w.Abort()
	for i := 0; i < len(rows); i += 2 {
		if err := w.Insert(rows[i].(string), rows[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

func testCopy(t *testing.T, s *store.Store) {
	m := models.Model{UUID: "u1", Name: "m", Owner: "admin", Life: models.Alive}
	write(t, s, store.TableModels, m)
	m.Name = "changed"
	got, ok := store.Get[models.Model](s.Read(), store.TableModels, store.IndexOwnerName, "admin", "m")
	if !ok || got.Name != "m" {
		t.Fatalf("got %+v, %v", got, ok)
	}
	got.Name = "changed too"
	if again, _ := store.Get[models.Model](s.Read(), store.TableModels, store.IndexID, "u1"); again.Name != "m" {
		t.Errorf("row changed through a copy: %+v", again)
	}
}

func testAbort(t *testing.T, s *store.Store) {
	before := s.Dump()
	w := s.Write()
	w.Insert(store.TableGrants, store.Grant{ModelUUID: "u", User: "tom", Level: acl.Read})
	w.Abort()
	w.Abort()
	if !reflect.DeepEqual(before, s.Dump()) {
		t.Error("an aborted write is visible")
	}
	w = s.Write() // the writer lock was released
	w.Abort()
}

func testUpdate(t *testing.T, s *store.Store) {
	write(t, s, store.TableGrants, store.Grant{ModelUUID: "u", User: "tom", Level: acl.Read})
	write(t, s, store.TableGrants, store.Grant{ModelUUID: "u", User: "tom", Level: acl.Admin})
	gs := store.List[store.Grant](s.Read(), store.TableGrants, store.IndexUser, "tom")
	if len(gs) != 1 || gs[0].Level != acl.Admin {
		t.Errorf("grants = %+v", gs)
	}
}

func testPrefix(t *testing.T, s *store.Store) {
	write(t, s,
		store.TableGrants, store.Grant{ModelUUID: "m1", User: "a1", Level: acl.Read},
		store.TableGrants, store.Grant{ModelUUID: "m10", User: "a1", Level: acl.Read},
		store.TableGrants, store.Grant{ModelUUID: "m1", User: "b2", Level: acl.Write},
		store.TableModels, models.Model{UUID: "x", Owner: "tom", Name: "a"},
		store.TableModels, models.Model{UUID: "y", Owner: "tomas", Name: "b"},
	)
	r := s.Read()
	if gs := store.List[store.Grant](r, store.TableGrants, store.IndexModel, "m1"); len(gs) != 2 {
		t.Errorf("model m1 grants = %+v", gs)
	}
	if ms := store.List[models.Model](r, store.TableModels, store.IndexOwner, "tom"); len(ms) != 1 || ms[0].UUID != "x" {
		t.Errorf("tom's models = %+v", ms)
	}
}

func testDeleteAll(t *testing.T, s *store.Store) {
	write(t, s,
		store.TableMachines, models.Machine{ModelUUID: "m1", ID: "0"},
		store.TableMachines, models.Machine{ModelUUID: "m1", ID: "1"},
		store.TableMachines, models.Machine{ModelUUID: "m2", ID: "0"},
	)
	w := s.Write()
	n, err := w.DeleteAll(store.TableMachines, store.IndexModel, "m1")
	if err != nil || n != 2 {
		t.Fatalf("DeleteAll = %d, %v", n, err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if ms := store.List[models.Machine](s.Read(), store.TableMachines, store.IndexID); len(ms) != 1 || ms[0].ModelUUID != "m2" {
		t.Errorf("left: %+v", ms)
	}
}

// testEveryTable writes a row of each kind and reads it back whole.
func testEveryTable(t *testing.T, s *store.Store) {
	now := time.Date(2026, 11, 27, 1, 2, 3, 4, time.UTC)
	rows := []any{
		store.TableController, store.Controller{ID: "controller", Name: "c", UUID: "cu", Created: now},
		store.TableUsers, store.User{User: users.User{Name: "tom", DisplayName: "Tom", Created: now}, Access: acl.AddModel, PasswordHash: "h"},
		store.TableRemovedUsers, store.RemovedUser{ID: "bob@1", User: users.User{Name: "bob"}, Removed: now},
		store.TableModels, models.Model{UUID: "mu", Name: "m", Owner: "tom", Life: models.Dying, NextMachine: 3},
		store.TableGrants, store.Grant{ModelUUID: "mu", User: "tom", Level: acl.Admin},
		store.TableApplications, models.Application{ModelUUID: "mu", Name: "mysql", Charm: "mysql", NextUnit: 1},
		store.TableUnits, models.Unit{ModelUUID: "mu", Name: "mysql/0", Application: "mysql", Machine: "0"},
		store.TableMachines, models.Machine{ModelUUID: "mu", ID: "0", InstanceID: "juju-mu-0", Status: models.Started},
		store.TableSessions, store.Session{TokenHash: "th", User: "tom", Created: now, Expires: now.Add(time.Hour)},
		store.TableSecrets, store.Secret{User: "tom", Hash: "sh", Created: now},
	}
	write(t, s, rows...)
	dump := s.Dump()
	for i := 0; i < len(rows); i += 2 {
		table := rows[i].(string)
		if got := dump[table]; len(got) != 1 || fmt.Sprint(got[0]) != fmt.Sprint(rows[i+1]) {
			t.Errorf("%s: got %v, want %v", table, got, rows[i+1])
		}
	}
}

func testHooks(t *testing.T, s *store.Store) {
	var seen []int
	s.OnCommit(func(r *store.Txn, _ []store.Change) {
		seen = append(seen, len(store.List[store.Grant](r, store.TableGrants, store.IndexID)))
	})
	write(t, s, store.TableGrants, store.Grant{ModelUUID: "a", User: "x1", Level: acl.Read})
	write(t, s, store.TableGrants, store.Grant{ModelUUID: "b", User: "x1", Level: acl.Read})
	if fmt.Sprint(seen) != "[1 2]" {
		t.Errorf("hooks saw %v", seen)
	}
}

func testClosed(t *testing.T, s *store.Store) {
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	w := s.Write()
	defer w.Abort()
	w.Insert(store.TableGrants, store.Grant{ModelUUID: "a", User: "x1", Level: acl.Read})
	if err := w.Commit(); !errors.Is(err, herd.ErrClosed) {
		t.Errorf("commit after close: %v", err)
	}
}
