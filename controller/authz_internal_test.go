package controller

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/users"
)

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func kind(err error) string {
	for _, k := range []error{herd.ErrPermissionDenied, herd.ErrUnauthenticated, herd.ErrNotFound, herd.ErrInvalid, herd.ErrClosed} {
		if errors.Is(err, k) {
			return k.Error()
		}
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return "ok"
}

// slowModels is the reference for Models: grants read from the state.
func slowModels(t *testing.T, s *Session) []string {
	r := s.c.st.Read()
	w, err := s.caller(r)
	if err != nil {
		return []string{kind(err)}
	}
	var out []string
	for _, g := range state.List[state.Grant](r, state.TableGrants, state.IndexUser, w.name) {
		m, ok := state.Get[models.Model](r, state.TableModels, state.IndexID, g.ModelUUID)
		if ok {
			lvl := g.Level // written out here, as the spec says, not asked of acl
			if w.access == acl.Superuser {
				lvl = acl.Admin
			}
			out = append(out, fmt.Sprintf("%s:%s", m.FullName(), lvl))
		}
	}
	slices.Sort(out)
	return out
}

func fastModels(s *Session) []string {
	ms, err := s.Models(context.Background(), ModelsOptions{})
	if err != nil {
		return []string{kind(err)}
	}
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%s:%s", m.FullName(), m.Access))
	}
	slices.Sort(out)
	return out
}

// TestAuthorizeMatchesSlowPath runs thousands of random grants, revokes,
// disables, removals, logouts, model creations and destructions and clock
// moves, and after each compares the fast path (Authorize, Check, Models)
// with the slow evaluation through the store, for every session, model and
// level.
func TestAuthorizeMatchesSlowPath(t *testing.T) {
	steps := 2000
	if testing.Short() {
		steps = 300
	}
	ctx := context.Background()
	ck := &testClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	b, err := Bootstrap(ctx, "c", Options{Now: ck.Now, PasswordCost: bcrypt.MinCost, SessionTTL: 3 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c, admin := b.Controller, b.Admin
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"u1", "u2", "u3", "u4", "u5"}
	sessions := map[string]*Session{"admin": admin}
	pw := "pw"
	addUser := func(n string) {
		if err := admin.Batch(ctx, func(bt *Batch) error {
			if _, err := bt.AddUser(n, ""); err != nil {
				return err
			}
			return bt.SetPassword(n, pw)
		}); err == nil {
			sessions[n], _ = c.Login(ctx, n, pw)
		}
	}
	for _, n := range names {
		addUser(n)
	}
	refs := []string{"admin/m1", "admin/m2", "u1/m3", "u2/m4", "admin/ghost", "m1", "U1/m3", "u1/ghost", "u1/m3/x", "u1/-m", "u1@local/m3", "x/m1"}
	levels := []acl.Level{acl.Read, acl.Write, acl.Admin, acl.Login, acl.AddModel, acl.Superuser}
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	checks, mismatches := 0, 0
	for step := range steps {
		actor := admin
		if rng.IntN(4) == 0 {
			if s, ok := sessions[pick(names)]; ok && s != nil {
				actor = s
			}
		}
		switch op := rng.IntN(12); op {
		case 0, 1, 2:
			_ = actor.Grant(ctx, pick(names), levels[rng.IntN(3)], pick(refs[:4]))
		case 3, 4:
			_ = actor.Revoke(ctx, pick(names), levels[rng.IntN(3)], pick(refs[:4]))
		case 5:
			l := levels[3+rng.IntN(3)]
			if rng.IntN(2) == 0 {
				_ = actor.Grant(ctx, pick(names), l, "")
			} else {
				_ = actor.Revoke(ctx, pick(names), l, "")
			}
		case 6:
			n := pick(names)
			if rng.IntN(2) == 0 {
				_ = admin.DisableUser(ctx, n)
			} else {
				_ = admin.EnableUser(ctx, n)
			}
		case 7:
			n := pick(names)
			if s := sessions[n]; s != nil && rng.IntN(2) == 0 {
				_ = s.Logout(ctx)
			} else {
				sessions[n], _ = c.Login(ctx, n, pw)
			}
		case 8:
			ref := pick(refs[:4])
			owner, name := ref[:2], ref[len(ref)-2:]
			if ref[:5] == "admin" {
				owner, name = "admin", ref[6:]
			}
			if rng.IntN(2) == 0 {
				_, _ = admin.CreateModel(ctx, name, CreateModelOptions{Owner: owner})
			} else {
				_ = admin.DestroyModel(ctx, ref)
			}
		case 9:
			n := pick(names)
			if rng.IntN(3) == 0 {
				_ = admin.RemoveUser(ctx, n)
				delete(sessions, n)
			} else {
				addUser(n)
			}
		case 10:
			ck.advance(time.Duration(rng.IntN(90)) * time.Minute)
			admin, _ = c.Login(ctx, "admin", b.Secret)
			sessions["admin"] = admin
		case 11:
			_, _ = actor.Deploy(ctx, pick(refs[:4]), "app", DeployOptions{Name: fmt.Sprintf("a%d", step)})
		}
		// The provisioner finishes what the step asked (a destroyed model
		// goes a moment later) before the paths are compared.
		if err := c.Settle(ctx); err != nil {
			t.Fatal(err)
		}
		for n, s := range sessions {
			if s == nil {
				continue
			}
			if fast, slow := kind(s.Check(ctx)), kind(s.read2()); fast != slow {
				mismatches++
				t.Errorf("step %d: %s Check: fast %s, slow %s", step, n, fast, slow)
			}
			for _, ref := range refs {
				for _, l := range levels {
					target := ref
					if l.Kind() == acl.KindController {
						target = ""
					}
					fast, slow := kind(s.Authorize(target, l)), kind(s.authorizeSlow(target, l))
					checks++
					if fast != slow {
						mismatches++
						t.Errorf("step %d: %s %s on %q: fast %s, slow %s", step, n, l, target, fast, slow)
					}
				}
			}
			if f, sl := fastModels(s), slowModels(t, s); !slices.Equal(f, sl) {
				mismatches++
				t.Errorf("step %d: %s Models: fast %v, slow %v", step, n, f, sl)
			}
		}
		if mismatches > 10 {
			t.Fatal("too many mismatches")
		}
	}
	t.Logf("%d steps, %d authorization checks compared, %d mismatches", steps, checks, mismatches)
}

// read2 validates the session through the store, as operations do.
func (s *Session) read2() error {
	_, _, err := s.read(context.Background())
	return err
}

// With the wall clock, the fast path reads the coarse clock: a session is
// refused within about a millisecond of its expiry.
func TestAuthorizeWallClockExpiry(t *testing.T) {
	ctx := context.Background()
	b, err := Bootstrap(ctx, "c", Options{PasswordCost: bcrypt.MinCost, SessionTTL: 80 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Controller.Close()
	if err := b.Admin.Authorize("admin/default", acl.Admin); err != nil {
		t.Fatalf("fresh session: %v", err)
	}
	if err := b.Admin.Check(ctx); err != nil {
		t.Fatalf("fresh session: %v", err)
	}
	time.Sleep(time.Until(b.Admin.Expires()) + 20*time.Millisecond)
	if err := b.Admin.Authorize("admin/default", acl.Admin); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("expired session: %v", err)
	}
	if err := b.Admin.Check(ctx); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("expired session Check: %v", err)
	}
}

// On the wall clock, Authorize answers from the snapshot for every
// session, existing model and level, with the same answer as the store
// and without allocating (the store path allocates, so a check that fell
// through to it would show here).
func TestAuthorizeFastPathTaken(t *testing.T) {
	ctx := context.Background()
	b, err := Bootstrap(ctx, "c", Options{PasswordCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Controller.Close()
	sessions := map[string]*Session{"admin": b.Admin}
	err = b.Admin.Batch(ctx, func(bt *Batch) error {
		for _, n := range []string{"tom", "ann", "bob"} {
			if _, err := bt.AddUser(n, ""); err != nil {
				return err
			}
			if err := bt.SetPassword(n, "pw"); err != nil {
				return err
			}
		}
		if err := bt.Grant("ann", acl.AddModel, ""); err != nil {
			return err
		}
		for _, m := range []struct{ owner, name string }{{"admin", "m1"}, {"ann", "m2"}, {"tom", "m3"}} {
			if _, err := bt.CreateModel(m.name, CreateModelOptions{Owner: m.owner}); err != nil {
				return err
			}
		}
		for _, g := range []struct {
			user  string
			level acl.Level
			model string
		}{{"tom", acl.Write, "admin/m1"}, {"bob", acl.Read, "admin/m1"}, {"tom", acl.Read, "ann/m2"}} {
			if err := bt.Grant(g.user, g.level, g.model); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"tom", "ann", "bob"} {
		if sessions[n], err = b.Controller.Login(ctx, n, "pw"); err != nil {
			t.Fatal(err)
		}
	}
	allowed := 0
	for n, s := range sessions {
		for _, ref := range []string{"admin/default", "admin/m1", "ann/m2", "tom/m3"} {
			for _, l := range []acl.Level{acl.Read, acl.Write, acl.Admin} {
				fast, slow := s.Authorize(ref, l), s.authorizeSlow(ref, l)
				if kind(fast) != kind(slow) {
					t.Errorf("%s %s on %s: fast %v, slow %v", n, l, ref, fast, slow)
				}
				if fast == nil {
					allowed++
				}
				if a := testing.AllocsPerRun(10, func() { _ = s.Authorize(ref, l) }); a != 0 {
					t.Errorf("%s %s on %s: %v allocations: not the fast path", n, l, ref, a)
				}
			}
		}
	}
	for n, s := range sessions {
		if a := testing.AllocsPerRun(10, func() { _ = s.Check(ctx) }); a != 0 {
			t.Errorf("%s: Check: %v allocations", n, a)
		}
		for _, l := range []acl.Level{acl.Login, acl.AddModel, acl.Superuser} {
			if a := testing.AllocsPerRun(10, func() { _ = s.Authorize("", l) }); a != 0 {
				t.Errorf("%s: Authorize(%s): %v allocations", n, l, a)
			}
		}
	}
	// admin: 12; tom: m1 read+write, m2 read, m3 (own) all three; ann: m2
	// all three; bob: m1 read.
	if allowed != 12+3+3+3+1 {
		t.Errorf("%d checks allowed, want 22", allowed)
	}
}

// decideModel answers as acl.Decide for every model operation and every
// fact, valid or not.
func TestDecideModelIsDecide(t *testing.T) {
	for want := range acl.Level(9) {
		for c := range acl.Level(9) {
			for d := range acl.Level(9) {
				for _, active := range []bool{false, true} {
					for _, owner := range []bool{false, true} {
						for _, self := range []bool{false, true} {
							f := acl.Facts{Active: active, Controller: c, Direct: d, Owner: owner, Self: self}
							if got, ref := decideModel(want, f), acl.Decide(acl.ModelOp(want), f).Allowed; got != ref {
								t.Errorf("decideModel(%v, %+v) = %v, Decide says %v", want, f, got, ref)
							}
						}
					}
				}
			}
		}
	}
}

// BenchmarkApplyGrant is the snapshot's share of a commit with one grant
// change at 100k grants (10k users, 1k models): apply alone, no store.
func BenchmarkApplyGrant(b *testing.B) {
	var a authz
	a.cur.Store(&authSnap{})
	var changes []state.Change
	for i := range 10_000 {
		changes = append(changes, state.Change{Table: state.TableUsers, After: state.User{User: users.User{Name: fmt.Sprintf("user-%05d", i)}, Access: acl.Login}})
	}
	for m := range 1_000 {
		uuid := fmt.Sprintf("uuid-%04d", m)
		changes = append(changes, state.Change{Table: state.TableModels, After: models.Model{UUID: uuid, Name: fmt.Sprintf("model-%04d", m), Owner: "admin"}})
		for g := range 100 {
			changes = append(changes, state.Change{Table: state.TableGrants, After: state.Grant{ModelUUID: uuid, User: fmt.Sprintf("user-%05d", (m*100+g)%10_000), Level: acl.Level(1 + g%3)}})
		}
	}
	a.apply(changes)
	read := state.Grant{ModelUUID: "uuid-0005", User: "user-00001", Level: acl.Read}
	write := read
	write.Level = acl.Write
	up := []state.Change{{Table: state.TableGrants, Before: read, After: write}}
	down := []state.Change{{Table: state.TableGrants, Before: write, After: read}}
	a.apply([]state.Change{{Table: state.TableGrants, After: read}})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			a.apply(up)
		} else {
			a.apply(down)
		}
	}
}

var decideSink bool

// BenchmarkDecideModel is one model decision: acl.Decide called, and read
// from modelDecisions.
func BenchmarkDecideModel(b *testing.B) {
	f := acl.Facts{Active: true, Controller: acl.Login, Direct: acl.Write}
	b.Run("Decide", func(b *testing.B) {
		for b.Loop() {
			decideSink = acl.Decide(acl.ModelOp(acl.Read), f).Allowed
		}
	})
	b.Run("table", func(b *testing.B) {
		for b.Loop() {
			decideSink = decideModel(acl.Read, f)
		}
	})
}
