package state_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/store"
	"github.com/herd-project/herd/store/storetest"
	"github.com/herd-project/herd/users"
)

func newOn(t *testing.T, b store.Backend) *state.Store {
	t.Helper()
	s, err := state.New(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func write(t *testing.T, s *state.Store, rows ...any) error {
	t.Helper()
	w := s.Write()
	defer w.Abort()
	for i := 0; i < len(rows); i += 2 {
		if err := w.Insert(rows[i].(state.Table), rows[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	return w.Commit()
}

func mustWrite(t *testing.T, s *state.Store, rows ...any) {
	t.Helper()
	if err := write(t, s, rows...); err != nil {
		t.Fatal(err)
	}
}

func TestCopyInCopyOut(t *testing.T) {
	s := state.NewMemory()
	m := models.Model{UUID: "u1", Name: "m", Owner: "admin", Life: models.Alive}
	mustWrite(t, s, state.TableModels, m)
	m.Name = "changed after insert"
	got, ok := state.Get[models.Model](s.Read(), state.TableModels, state.IndexOwnerName, "admin", "m")
	if !ok || got.Name != "m" {
		t.Fatalf("got %+v, %v", got, ok)
	}
	got.Name = "changed after read"
	if again, _ := state.Get[models.Model](s.Read(), state.TableModels, state.IndexID, "u1"); again.Name != "m" {
		t.Errorf("row changed through a copy: %+v", again)
	}
}

func TestAbort(t *testing.T) {
	s := state.NewMemory()
	before := s.Dump()
	w := s.Write()
	if err := w.Insert(state.TableGrants, state.Grant{ModelUUID: "u", User: "tom", Level: acl.Read}); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	w.Abort() // twice is fine
	if !reflect.DeepEqual(before, s.Dump()) {
		t.Error("aborted write is visible")
	}
	s.Write().Abort() // the writer lock was released
}

// A commit the backend refuses, failing or conflicting, is in neither the
// backend nor memory; the writer lock is released and a retry succeeds.
func TestBackendRefusesCommit(t *testing.T) {
	boom := errors.New("disk full")
	for name, tc := range map[string]struct {
		inject func(*storetest.Memory)
		want   error
	}{
		"failure":  {func(m *storetest.Memory) { m.FailNext(boom) }, boom},
		"conflict": {func(m *storetest.Memory) { m.ConflictNext() }, store.ErrConflict},
	} {
		t.Run(name, func(t *testing.T) {
			m := storetest.NewMemory()
			s := newOn(t, m)
			mustWrite(t, s, state.TableGrants, state.Grant{ModelUUID: "u", User: "bob", Level: acl.Read})
			before, applied := s.DumpJSON(), m.Applied()
			tc.inject(m)
			err := write(t, s, state.TableGrants, state.Grant{ModelUUID: "u", User: "tom", Level: acl.Read})
			if !errors.Is(err, tc.want) {
				t.Fatalf("commit = %v, want %v", err, tc.want)
			}
			if !reflect.DeepEqual(before, s.DumpJSON()) || m.Applied() != applied {
				t.Error("memory or the backend took what the backend refused")
			}
			if again := newOn(t, m.Reopen()); !reflect.DeepEqual(before, again.DumpJSON()) {
				t.Error("the backend holds what it refused")
			}
			mustWrite(t, s, state.TableGrants, state.Grant{ModelUUID: "u", User: "tom", Level: acl.Read})
			if again := newOn(t, m.Reopen()); !reflect.DeepEqual(s.DumpJSON(), again.DumpJSON()) {
				t.Error("the retry did not reach the backend")
			}
		})
	}
}

// Every table round-trips through a backend, deletes included.
func TestReloadEveryTable(t *testing.T) {
	now := time.Date(2026, 11, 27, 1, 2, 3, 4, time.UTC)
	m := storetest.NewMemory()
	s := newOn(t, m)
	mustWrite(t, s,
		state.TableController, state.Controller{ID: "controller", Name: "c", UUID: "cu", ProviderType: "fake", Created: now, Addrs: []string{"a:1"}},
		state.TableUsers, state.User{User: users.User{Name: "tom", DisplayName: "Tom", CreatedBy: "admin", Created: now}, Access: acl.AddModel, PasswordHash: "h"},
		state.TableUsers, state.User{User: users.User{Name: "bob", Created: now}, Access: acl.Login},
		state.TableRemovedUsers, state.RemovedUser{ID: "bob@1", User: users.User{Name: "bob"}, Removed: now},
		state.TableModels, models.Model{UUID: "mu", Name: "m", Owner: "tom", Life: models.Dying},
		state.TableGrants, state.Grant{ModelUUID: "mu", User: "tom", Level: acl.Admin},
		state.TableApplications, models.Application{ModelUUID: "mu", Name: "mysql", Charm: "mysql"},
		state.TableSequences, state.Sequence{ModelUUID: "mu", Name: "machine", Next: 3},
		state.TableNodes, state.Node{ID: "n1", Addrs: []string{"a:1", "b:1"}, Started: now},
		state.TableUnits, models.Unit{ModelUUID: "mu", Name: "mysql/0", Application: "mysql", Machine: "0"},
		state.TableMachines, models.Machine{ModelUUID: "mu", ID: "0", InstanceID: "juju-mu-0", Status: models.Started},
		state.TableMachines, models.Machine{ModelUUID: "mu", ID: "1"},
		state.TableSessions, state.Session{TokenHash: "th", User: "tom", Created: now, Expires: now.Add(time.Hour)},
		state.TableSecrets, state.Secret{User: "tom", Key: []byte("k"), Created: now},
	)
	w := s.Write()
	defer w.Abort()
	if err := w.Delete(state.TableUsers, state.User{User: users.User{Name: "bob"}}); err != nil {
		t.Fatal(err)
	}
	if n, err := w.DeleteAll(state.TableMachines, state.IndexID, "mu", "1"); n != 1 || err != nil {
		t.Fatalf("DeleteAll = %d, %v", n, err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	dump := s.DumpJSON()
	if len(dump) != len(state.Tables()) || len(dump[string(state.TableUsers)]) != 1 || len(dump[string(state.TableMachines)]) != 1 {
		t.Fatalf("dump = %v", dump)
	}
	again := newOn(t, m.Reopen())
	if !reflect.DeepEqual(dump, again.DumpJSON()) {
		t.Errorf("reloaded\n%v\nwant\n%v", again.DumpJSON(), dump)
	}
	if got, _ := state.Get[state.Controller](again.Read(), state.TableController, state.IndexID, "controller"); !got.Created.Equal(now) || got.ProviderType != "fake" {
		t.Errorf("controller row = %+v", got)
	}
}

func TestPrefixScansAreExact(t *testing.T) {
	s := state.NewMemory()
	mustWrite(t, s,
		state.TableGrants, state.Grant{ModelUUID: "m1", User: "a1", Level: acl.Read},
		state.TableGrants, state.Grant{ModelUUID: "m10", User: "a1", Level: acl.Read},
		state.TableGrants, state.Grant{ModelUUID: "m1", User: "b2", Level: acl.Write},
		state.TableModels, models.Model{UUID: "x", Owner: "tom", Name: "a"},
		state.TableModels, models.Model{UUID: "y", Owner: "tomas", Name: "b"},
	)
	r := s.Read()
	if gs := state.List[state.Grant](r, state.TableGrants, state.IndexModel, "m1"); len(gs) != 2 {
		t.Errorf("model m1 grants = %+v", gs)
	}
	if ms := state.List[models.Model](r, state.TableModels, state.IndexOwner, "tom"); len(ms) != 1 || ms[0].UUID != "x" {
		t.Errorf("tom's models = %+v", ms)
	}
}

func TestHooksSeeCommits(t *testing.T) {
	s := newOn(t, storetest.NewMemory())
	var seen []int
	var tables []state.Table
	s.OnCommit(func(r *state.Txn, changes []state.Change) {
		seen = append(seen, len(state.List[state.Grant](r, state.TableGrants, state.IndexID)))
		for _, c := range changes {
			tables = append(tables, c.Table)
		}
	})
	mustWrite(t, s, state.TableGrants, state.Grant{ModelUUID: "a", User: "x1", Level: acl.Read})
	mustWrite(t, s, state.TableGrants, state.Grant{ModelUUID: "b", User: "x1", Level: acl.Read})
	if !reflect.DeepEqual(seen, []int{1, 2}) || !reflect.DeepEqual(tables, []state.Table{state.TableGrants, state.TableGrants}) {
		t.Errorf("hooks saw %v, %v", seen, tables)
	}
}

func TestClosedRefusesCommits(t *testing.T) {
	m := storetest.NewMemory()
	s := newOn(t, m)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := write(t, s, state.TableGrants, state.Grant{ModelUUID: "a", User: "x1", Level: acl.Read}); !errors.Is(err, herd.ErrClosed) {
		t.Errorf("commit after close: %v", err)
	}
	if err := m.Apply(context.Background(), nil); !errors.Is(err, herd.ErrClosed) {
		t.Errorf("the backend was not closed: %v", err)
	}
}

// Reading with a name that is not a constant, arguments the index does
// not take or the wrong row type is a bug, and says so.
func TestMisusePanics(t *testing.T) {
	s := state.NewMemory()
	mustWrite(t, s, state.TableGrants, state.Grant{ModelUUID: "a", User: "x1", Level: acl.Read})
	for name, f := range map[string]func(){
		"unknown table":  func() { state.List[any](s.Read(), "grants", state.IndexID) },
		"unknown index":  func() { state.Get[state.Grant](s.Read(), state.TableGrants, "by_level", acl.Read) },
		"wrong argument": func() { state.Get[state.Grant](s.Read(), state.TableGrants, state.IndexUser, 7) },
		"wrong row type": func() { state.List[state.User](s.Read(), state.TableGrants, state.IndexID) },
		"DeleteAll": func() {
			w := s.Write()
			defer w.Abort()
			_, _ = w.DeleteAll(state.TableGrants, "nope", "a")
		},
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "a bug in the caller") {
					t.Errorf("%s: recovered %v", name, r)
				}
			}()
			f()
		}()
	}
}

// A clone starts with the state of its original; after that, writes to
// either do not show in the other, and the clone runs no hooks.
func TestClone(t *testing.T) {
	s := state.NewMemory()
	hooks := 0
	s.OnCommit(func(*state.Txn, []state.Change) { hooks++ })
	names := func(s *state.Store) []string {
		var out []string
		for _, m := range state.List[models.Model](s.Read(), state.TableModels, state.IndexID) {
			out = append(out, m.Name)
		}
		return out
	}
	mustWrite(t, s, state.TableModels, models.Model{UUID: "u1", Name: "before", Owner: "admin"})
	c := s.Clone()
	mustWrite(t, s, state.TableModels, models.Model{UUID: "u2", Name: "original-only", Owner: "admin"})
	mustWrite(t, c, state.TableModels, models.Model{UUID: "u3", Name: "clone-only", Owner: "admin"})
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
