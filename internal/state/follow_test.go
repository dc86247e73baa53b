package state_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/store"
	"github.com/herd-project/herd/store/storetest"
	"github.com/herd-project/herd/users"
)

// recorder keeps a copy of every change set applied through it, as
// another controller would be handed them by Follow.
type recorder struct {
	*storetest.Memory
	mu   sync.Mutex
	sets [][]store.Record
}

func (r *recorder) Apply(ctx context.Context, changes []store.Record) error {
	if err := r.Memory.Apply(ctx, changes); err != nil {
		return err
	}
	cp := make([]store.Record, len(changes))
	for i, c := range changes {
		cp[i] = store.Record{Table: c.Table, Key: c.Key, Value: slices.Clone(c.Value)}
	}
	r.mu.Lock()
	r.sets = append(r.sets, cp)
	r.mu.Unlock()
	return nil
}

func (r *recorder) take() [][]store.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sets
	r.sets = nil
	return s
}

// hookLog records what a store's OnCommit hooks see.
type hookLog struct {
	mu      sync.Mutex
	commits [][]state.Change
}

func (h *hookLog) attach(s *state.Store) {
	s.OnCommit(func(_ *state.Txn, cs []state.Change) {
		h.mu.Lock()
		h.commits = append(h.commits, cs)
		h.mu.Unlock()
	})
}

func (h *hookLog) take() [][]state.Change {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.commits
	h.commits = nil
	return c
}

// Change sets committed on one store and applied to another with
// ApplyFollowed leave both equal; the second store's hooks see each one as
// the first store's hooks did, deletes by compound keys included; a damaged
// record is refused and changes nothing.
func TestApplyFollowed(t *testing.T) {
	mem := storetest.NewMemory()
	rec := &recorder{Memory: mem}
	a := newOn(t, rec)
	b := newOn(t, mem.Reopen())
	var ha, hb hookLog
	ha.attach(a)
	hb.attach(b)
	m := models.Model{UUID: "m1", Name: "m", Owner: "admin", Life: models.Alive}
	mustWrite(t, a, state.TableUsers, userRow("admin", state.User{Access: acl.Superuser, PasswordHash: "h"}),
		state.TableModels, m,
		state.TableGrants, state.Grant{ModelUUID: "m1", User: "admin", Level: acl.Admin},
		state.TableGrants, state.Grant{ModelUUID: "m1", User: "tom", Level: acl.Read})
	mustWrite(t, a, state.TableGrants, state.Grant{ModelUUID: "m1", User: "tom", Level: acl.Write})
	w := a.Write()
	if err := w.Delete(state.TableGrants, state.Grant{ModelUUID: "m1", User: "tom"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	sets := rec.take()
	if len(sets) != 3 {
		t.Fatalf("%d change sets recorded, want 3", len(sets))
	}
	for _, cs := range sets {
		if err := b.ApplyFollowed(cs); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := b.DumpJSON(), a.DumpJSON(); !reflect.DeepEqual(got, want) {
		t.Fatalf("followed store holds\n%v\nwant\n%v", got, want)
	}
	ca, cb := ha.take(), hb.take()
	if len(cb) != len(ca) {
		t.Fatalf("hooks ran %d times on the follower, %d on the writer", len(cb), len(ca))
	}
	for i := range ca {
		if len(ca[i]) != len(cb[i]) {
			t.Fatalf("commit %d: follower's hook saw %d changes, writer's %d", i, len(cb[i]), len(ca[i]))
		}
	}
	last := cb[2]
	if g, ok := last[0].Before.(state.Grant); !ok || g.User != "tom" || last[0].After != nil {
		t.Fatalf("followed delete reached the hook as %+v", last[0])
	}
	// A delete of a row the follower does not hold changes nothing.
	if err := b.ApplyFollowed([]store.Record{{Table: string(state.TableGrants), Key: "m1\x00nobody\x00"}}); err != nil {
		t.Fatal(err)
	}
	// A damaged record is refused, with the rest of its change set.
	before := b.DumpJSON()
	mustWrite(t, a, state.TableModels, models.Model{UUID: "m2", Name: "n", Owner: "admin"},
		state.TableGrants, state.Grant{ModelUUID: "m2", User: "admin", Level: acl.Admin})
	cs := rec.take()[0]
	bad := slices.Clone(cs)
	bad[len(bad)-1].Value = slices.Clone(bad[len(bad)-1].Value)
	bad[len(bad)-1].Value[len(bad[len(bad)-1].Value)-2] ^= 1
	if err := b.ApplyFollowed(bad); !errors.Is(err, herd.ErrInvalid) {
		t.Fatalf("damaged record: %v, want ErrInvalid", err)
	}
	if err := b.ApplyFollowed([]store.Record{{Table: "nope", Key: "k\x00"}}); !errors.Is(err, herd.ErrInvalid) {
		t.Fatalf("unknown table: %v, want ErrInvalid", err)
	}
	if !reflect.DeepEqual(before, b.DumpJSON()) {
		t.Fatal("a refused change set changed the follower")
	}
	if err := b.ApplyFollowed(cs); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if err := b.ApplyFollowed(cs); !errors.Is(err, herd.ErrClosed) {
		t.Fatalf("ApplyFollowed after Close: %v, want ErrClosed", err)
	}
}

// Reload makes memory hold what the backend holds; the hooks see the net
// differences only, and nothing when there are none.
func TestReload(t *testing.T) {
	mem := storetest.NewMemory()
	a := newOn(t, mem)
	mustWrite(t, a, state.TableUsers, userRow("old", state.User{Access: acl.Login}))
	b := newOn(t, mem.Reopen())
	var hb hookLog
	hb.attach(b)
	// b misses a's next commits (their history is gone, say): a adds
	// tom and ann, and deletes old.
	mustWrite(t, a, state.TableUsers, userRow("tom", state.User{Access: acl.Login}),
		state.TableUsers, userRow("ann", state.User{Access: acl.Login}))
	w := a.Write()
	if _, err := w.DeleteAll(state.TableUsers, state.IndexID, "old"); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	hb.take()
	if err := b.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := b.DumpJSON(), a.DumpJSON(); !reflect.DeepEqual(got, want) {
		t.Fatalf("reloaded store holds\n%v\nwant\n%v", got, want)
	}
	commits := hb.take()
	if len(commits) != 1 || len(commits[0]) != 3 {
		t.Fatalf("hooks saw %v; want one commit of 3 changes (tom, ann in; old out)", commits)
	}
	if err := b.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if commits := hb.take(); len(commits) != 1 || len(commits[0]) != 0 {
		t.Fatalf("a reload with nothing new showed the hooks %v", commits)
	}
	if err := state.NewMemory().Reload(context.Background()); !errors.Is(err, herd.ErrFailedPrecondition) {
		t.Fatalf("Reload without a backend: %v", err)
	}
}

func userRow(name string, u state.User) state.User {
	u.User = users.User{Name: name}
	return u
}
