package controllertest_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/controller/controllertest"
	"github.com/herd-project/herd/provider"
	"github.com/herd-project/herd/provider/fakeprovider"
)

// Fixtures in parallel tests share nothing a write changes: same names,
// different controllers, and what one does is not seen by the others,
// whether they start from the same template or are fresh. Fixtures of one
// template share their UUIDs, as documented; fresh ones do not.
func TestIsolation(t *testing.T) {
	var mu sync.Mutex
	uuids := map[string]int{}
	for i := range 4 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			f := controllertest.New(t, &controllertest.Options{Fresh: i >= 2})
			f.AddUser(t, "tom")
			f.CreateModel(t, "admin", fmt.Sprintf("only-in-%d", i))
			mu.Lock()
			uuids[f.Controller.UUID()]++
			mu.Unlock()
			ms, err := f.Admin.Models(f.Context(), controller.ModelsOptions{All: true})
			if err != nil {
				t.Fatal(err)
			}
			names := []string{}
			for _, m := range ms {
				names = append(names, m.Name)
			}
			if want := fmt.Sprintf("default,only-in-%d", i); strings.Join(names, ",") != want {
				t.Errorf("models = %v, want %s", names, want)
			}
			if n := len(f.Controller.Dump()["users"]); n != 2 {
				t.Errorf("%d users", n)
			}
		})
	}
	t.Cleanup(func() {
		counts := []int{}
		for _, n := range uuids {
			counts = append(counts, n)
		}
		slices.Sort(counts)
		if !slices.Equal(counts, []int{1, 1, 2}) {
			t.Errorf("controller UUIDs: %v; want the two template fixtures to share one, the fresh ones their own", uuids)
		}
	})
}

func TestClockExpiresSessions(t *testing.T) {
	f := controllertest.New(t, nil)
	tom := f.AddUser(t, "tom")
	f.Advance(23 * time.Hour)
	if err := tom.Check(f.Context()); err != nil {
		t.Fatalf("after 23h: %v", err)
	}
	f.Advance(2 * time.Hour)
	if err := tom.Check(f.Context()); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Fatalf("after 25h: %v", err)
	}
	// Login still works with the fixture's password, and gives a fresh session.
	again := f.LoginAs(t, "tom")
	if err := again.Check(f.Context()); err != nil {
		t.Fatal(err)
	}
	if f.Session(t, "tom") != again {
		t.Error("Session does not return the latest session")
	}
	if _, err := f.Controller.Login(f.Context(), "tom", "wrong"); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("wrong password: %v", err)
	}
}

// A fault injected on the fake provider reaches the machine's status, and
// retry-provisioning starts it once the fault is gone.
func TestFailureInjectionReachesDeploy(t *testing.T) {
	f := controllertest.New(t, &controllertest.Options{Provisioning: controller.Provisioning{Retries: -1}})
	tom := f.AddUser(t, "tom")
	f.CreateModel(t, "admin", "m")
	f.Grant(t, "tom", acl.Write, "admin/m")
	f.Provider.FailNext(fakeprovider.Start, 1, errors.New("out of capacity"))
	if _, err := tom.Deploy(f.Context(), "admin/m", "mysql", controller.DeployOptions{}); err != nil {
		t.Fatalf("deploy: %v", err)
	}
	_, err := tom.WaitStarted(f.Context(), "admin/m")
	if !errors.Is(err, herd.ErrFailedPrecondition) || !strings.Contains(err.Error(), "out of capacity") {
		t.Fatalf("waiting for a machine whose start failed: %v", err)
	}
	if err := tom.RetryProvisioning(f.Context(), "admin/m", "0"); err != nil {
		t.Fatal(err)
	}
	st, err := tom.WaitStarted(f.Context(), "admin/m")
	if err != nil || st.Machines[0].InstanceID == "" {
		t.Fatalf("after retry-provisioning: %+v, %v", st.Machines, err)
	}
}

// The Deploy builder puts an application on the fake provider, so a test
// can start from a model with units in it (here: tom removes one).
func TestDeployBuilder(t *testing.T) {
	f := controllertest.New(t, nil)
	tom := f.AddUser(t, "tom")
	f.CreateModel(t, "admin", "m")
	f.Grant(t, "tom", acl.Write, "admin/m")
	d := f.Deploy(t, "admin/m", "mysql", 2)
	if len(d.Units) != 2 || d.Units[1].Name != "mysql/1" {
		t.Fatalf("Deploy returned %+v", d)
	}
	if err := tom.RemoveUnit(f.Context(), "admin/m", "mysql/0"); err != nil {
		t.Fatal(err)
	}
	if _, err := tom.WaitFor(f.Context(), "admin/m", func(st controller.ModelStatus) bool { return len(st.Units) == 1 }); err != nil {
		t.Fatal(err)
	}
	insts, err := f.Provider.Instances(f.Context(), provider.Filter{ModelUUID: d.Application.ModelUUID})
	if err != nil || len(insts) != 1 {
		t.Fatalf("%d instances left (%v), want 1", len(insts), err)
	}
}

func TestScenarioAndMatrix(t *testing.T) {
	f := controllertest.New(t, nil)
	f.BuildText(t, `
		user tom
		user alice add-model   # may create models
		user bob
		model admin/lxd-model-1
		model alice/shop
		grant tom write admin/lxd-model-1
		grant bob read alice/shop
	`)
	f.AssertAccess(t, []controllertest.Cell{
		{"tom", "admin/lxd-model-1", acl.ReadModel, true},
		{"tom", "admin/lxd-model-1", acl.WriteModel, true},
		{"tom", "admin/lxd-model-1", acl.AdminModel, false},
		{"tom", "alice/shop", acl.ReadModel, false},
		{"alice", "alice/shop", acl.AdminModel, true},
		{"bob", "alice/shop", acl.ReadModel, true},
		{"bob", "alice/shop", acl.WriteModel, false},
		{"admin", "alice/shop", acl.AdminModel, true},
		{"bob", "alice/shop", acl.LeaveModel, true},
		{"tom", "alice/shop", acl.LeaveModel, false},
		// Controller operations: the target is the user acted on.
		{"alice", "", acl.CreateModel, true},
		{"tom", "", acl.CreateModel, false},
		{"alice", "tom", acl.CreateModelFor, false},
		{"tom", "tom", acl.ChangePassword, true},
		{"tom", "bob", acl.ChangePassword, false},
		{"admin", "bob", acl.ResetPassword, true},
		{"admin", "admin", acl.ResetPassword, false},
		{"tom", "", acl.ManageUsers, false},
		{"admin", "", acl.ControllerAccess, true},
	})
	if _, err := f.Session(t, "alice").CreateModel(f.Context(), "more", controller.CreateModelOptions{}); err != nil {
		t.Errorf("alice with add-model: %v", err)
	}
}

// fakeTB records failures instead of failing the test.
type fakeTB struct {
	testing.TB
	errors []string
	fatal  bool
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	f.fatal = true
}

func TestMatrixFailureIsReadable(t *testing.T) {
	f := controllertest.New(t, nil)
	f.AddUser(t, "tom")
	f.CreateModel(t, "admin", "m")
	f.Grant(t, "tom", acl.Read, "admin/m")
	tb := &fakeTB{TB: t}
	f.AssertAccess(tb, []controllertest.Cell{
		{"tom", "admin/m", acl.ReadModel, true},
		{"tom", "admin/m", acl.WriteModel, true}, // wrong: tom has read
		{"admin", "admin/m", acl.AdminModel, true},
	})
	if len(tb.errors) != 1 {
		t.Fatalf("want one failure, got %q", tb.errors)
	}
	msg := tb.errors[0]
	for _, want := range []string{
		"access matrix: 1 of 3 cells differ",
		"user  target   op                           want     got     why",
		"tom   admin/m  change what runs in a model  allowed  denied  tom has read by direct grant",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "read a model") || strings.Contains(msg, "administer") {
		t.Errorf("message shows cells that agree:\n%s", msg)
	}
	// And a correct matrix passes.
	ok := &fakeTB{TB: t}
	f.AssertAccess(ok, []controllertest.Cell{{"tom", "admin/m", acl.WriteModel, false}})
	if len(ok.errors) != 0 {
		t.Errorf("correct matrix failed: %v", ok.errors)
	}
}

func TestHelpersFailTheTest(t *testing.T) {
	f := controllertest.New(t, nil)
	tb := &fakeTB{TB: t}
	f.Grant(tb, "ghost", acl.Read, "admin/default")
	if !tb.fatal || !strings.Contains(tb.errors[0], `user "ghost" not found`) {
		t.Errorf("Grant to a ghost: %v", tb.errors)
	}
}

func TestParseScenarioErrors(t *testing.T) {
	for _, text := range []string{
		"user",
		"user tom superuser extra",
		"user tom write",      // a model level for a user
		"grant tom login a/b", // a controller level on a model
		"grant tom write m",   // unqualified model
		"model m",
		"frobnicate tom",
	} {
		if _, err := controllertest.ParseScenario(text); !errors.Is(err, herd.ErrInvalid) || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("ParseScenario(%q) = %v", text, err)
		}
	}
	s, err := controllertest.ParseScenario("# nothing\n\nuser tom superuser\n")
	if err != nil || len(s.Users) != 1 || s.Users[0].Access != acl.Superuser {
		t.Errorf("got %+v, %v", s, err)
	}
}

func FuzzParseScenario(f *testing.F) {
	f.Add("user tom\nmodel admin/m\ngrant tom write admin/m\n")
	f.Add("user alice add-model # x\n")
	f.Fuzz(func(t *testing.T, text string) {
		s, err := controllertest.ParseScenario(text)
		if err != nil {
			if !errors.Is(err, herd.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		for _, g := range s.Grants {
			if g.Level.Kind() != acl.KindModel {
				t.Fatalf("grant of %v accepted", g.Level)
			}
		}
	})
}

func TestTestHasher(t *testing.T) {
	h := controllertest.TestHasher{}
	hash, err := h.Hash("pw")
	if err != nil || !strings.HasPrefix(hash, "test-only-") {
		t.Fatalf("%q, %v", hash, err)
	}
	if h.Compare(hash, "pw") != nil || h.Compare(hash, "pX") == nil {
		t.Error("compare")
	}
	if _, err := h.Hash(strings.Repeat("x", 73)); !errors.Is(err, herd.ErrInvalid) {
		t.Error("73 bytes accepted")
	}
}

// loopTB runs cleanups at the end of each iteration, so a benchmark does
// not keep b.N controllers alive.
type loopTB struct {
	testing.TB
	cleanups []func()
}

func (l *loopTB) Cleanup(f func()) { l.cleanups = append(l.cleanups, f) }
func (l *loopTB) done() {
	for i := len(l.cleanups) - 1; i >= 0; i-- {
		l.cleanups[i]()
	}
	l.cleanups = l.cleanups[:0]
}

var benchScenario = controllertest.Scenario{
	Users:  []controllertest.ScenarioUser{{Name: "tom"}, {Name: "alice", Access: acl.AddModel}, {Name: "bob"}},
	Models: []controllertest.ScenarioModel{{Owner: "admin", Name: "lxd-model-1"}, {Owner: "alice", Name: "shop"}},
	Grants: []controllertest.ScenarioGrant{
		{User: "tom", Level: acl.Write, Model: "admin/lxd-model-1"},
		{User: "bob", Level: acl.Read, Model: "admin/lxd-model-1"},
		{User: "tom", Level: acl.Read, Model: "alice/shop"},
	},
}

// BenchmarkFixture: a new controller (admin logged in), 3 users with
// passwords, each logged in, 2 models, 3 grants, as New makes it: from
// the scenario's template after the first call.
func BenchmarkFixture(b *testing.B) {
	b.ReportAllocs()
	tb := &loopTB{TB: b}
	for b.Loop() {
		controllertest.New(tb, &controllertest.Options{Scenario: &benchScenario})
		tb.done()
	}
}

// BenchmarkFixtureFresh is the same fixture bootstrapped and built from
// scratch every time (Options.Fresh): one Bootstrap, then the scenario in
// one store transaction.
func BenchmarkFixtureFresh(b *testing.B) {
	b.ReportAllocs()
	tb := &loopTB{TB: b}
	for b.Loop() {
		controllertest.New(tb, &controllertest.Options{Scenario: &benchScenario, Fresh: true})
		tb.done()
	}
}

// BenchmarkFixtureStepByStep is the same scenario with one call (one store
// transaction) per step, for comparison.
func BenchmarkFixtureStepByStep(b *testing.B) {
	b.ReportAllocs()
	tb := &loopTB{TB: b}
	for b.Loop() {
		f := controllertest.New(tb, nil)
		f.AddUser(tb, "tom")
		f.AddUser(tb, "alice", acl.AddModel)
		f.AddUser(tb, "bob")
		f.CreateModel(tb, "admin", "lxd-model-1")
		f.CreateModel(tb, "alice", "shop")
		for _, g := range benchScenario.Grants {
			f.Grant(tb, g.User, g.Level, g.Model)
		}
		tb.done()
	}
}

// normalized is a fixture's whole store with what is random per build
// (UUIDs, hex hashes and tokens, instance ids, registration keys, the CA)
// replaced by placeholders, one line a row.
func normalized(f *controllertest.Fixture) []string {
	uuid := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	hex := regexp.MustCompile(`[0-9a-f]{64}|juju-[0-9a-f]{6}|-----BEGIN [A-Z ]+-----[^-]*-----END [A-Z ]+-----|"Key":"[^"]*"`)
	var out []string
	for table, rows := range f.Controller.Dump() {
		for _, r := range rows {
			line := fmt.Sprintf("%s %+v", table, r)
			out = append(out, hex.ReplaceAllString(uuid.ReplaceAllString(line, "UUID"), "HEX"))
		}
	}
	slices.Sort(out)
	return out
}

// A fixture made from a template is the fixture a fresh build makes: the
// same rows (but for random values), the same provider calls, a valid
// session for every user, and passwords that log in.
func TestTemplateMatchesFresh(t *testing.T) {
	sc := benchScenario
	opts := controllertest.Options{Scenario: &sc, SessionTTL: 5 * time.Hour}
	fresh := func() *controllertest.Fixture {
		o := opts
		o.Fresh = true
		return controllertest.New(t, &o)
	}()
	for i := range 2 { // the first builds the template, the second only copies it
		f := controllertest.New(t, &opts)
		if got, want := normalized(f), normalized(fresh); !slices.Equal(got, want) {
			t.Fatalf("fixture %d differs from a fresh one:\n%s\nwant\n%s", i, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		for _, op := range []fakeprovider.Method{fakeprovider.Bootstrap, fakeprovider.CreateModel, fakeprovider.Start} {
			if got, want := f.Provider.Calls(op), fresh.Provider.Calls(op); got != want {
				t.Errorf("fixture %d: %d %s calls, fresh %d", i, got, op, want)
			}
		}
		for _, u := range []string{"admin", "tom", "alice", "bob"} {
			if err := f.Session(t, u).Check(f.Context()); err != nil {
				t.Errorf("fixture %d: %s's session: %v", i, u, err)
			}
			f.LoginAs(t, u)
		}
		if f.Controller == fresh.Controller || f.Admin.Token() == fresh.Admin.Token() {
			t.Error("template fixture shares the fresh one's controller or token")
		}
		f.Advance(5 * time.Hour)
		if err := f.Admin.Check(f.Context()); !errors.Is(err, herd.ErrUnauthenticated) {
			t.Errorf("fixture %d: admin session after its TTL: %v", i, err)
		}
	}
}

// A scenario that cannot be built fails the test, from a template as
// fresh, each time New is called with it.
func TestNewScenarioError(t *testing.T) {
	bad := controllertest.Scenario{Users: []controllertest.ScenarioUser{{Name: "tom"}},
		Grants: []controllertest.ScenarioGrant{{User: "tom", Level: acl.Read, Model: "admin/nowhere"}}}
	for i, fresh := range []bool{false, false, true} {
		ft := &fakeTB{TB: t}
		controllertest.New(ft, &controllertest.Options{Scenario: &bad, Fresh: fresh})
		if !ft.fatal || len(ft.errors) != 1 || !strings.Contains(ft.errors[0], `grant tom read admin/nowhere`) || !strings.Contains(ft.errors[0], "not found") {
			t.Errorf("call %d (fresh %v): errors %q, fatal %v", i, fresh, ft.errors, ft.fatal)
		}
	}
}

// The fixture's builders keep working after Advance has ended every
// session (the fixture's admin is logged in again), while the sessions it
// handed out expire as they should.
func TestFixtureSurvivesTime(t *testing.T) {
	f := controllertest.New(t, nil)
	tom := f.AddUser(t, "tom")
	oldAdmin := f.Admin
	f.Advance(25 * time.Hour)
	if err := tom.Check(f.Context()); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("tom's session after 25 hours: %v", err)
	}
	if err := oldAdmin.Check(f.Context()); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("the old admin session after 25 hours: %v", err)
	}
	f.CreateModel(t, "admin", "m")
	f.Grant(t, "tom", acl.Write, "admin/m")
	bob := f.AddUser(t, "bob")
	f.BuildText(t, "user carol\ngrant carol read admin/m")
	f.Deploy(t, "admin/m", "mysql", 1)
	if err := bob.Check(f.Context()); err != nil {
		t.Errorf("a session made after the advance: %v", err)
	}
	f.AssertAccess(t, []controllertest.Cell{{"tom", "admin/m", acl.WriteModel, true}, {"carol", "admin/m", acl.ReadModel, true}})
}

func TestFixtureContextEndsWithTest(t *testing.T) {
	var ctx context.Context
	t.Run("inner", func(t *testing.T) {
		ctx = controllertest.New(t, nil).Context()
		if ctx.Err() != nil {
			t.Fatalf("context ended during the test: %v", ctx.Err())
		}
	})
	if ctx.Err() == nil {
		t.Error("the fixture's context outlived its test")
	}
}
