// Package controllertest gives tests a ready Herd controller in
// microseconds, in the spirit of net/http/httptest: a bootstrapped
// *controller.Controller on the fake provider and the memory store, a
// logged-in admin session, the fake provider (to inject failures) and a
// clock the test moves. Everything is closed by tb.Cleanup.
//
//	f := controllertest.New(t, nil)
//	tom := f.AddUser(t, "tom")
//	f.CreateModel(t, "admin", "lxd-model-1")
//	f.Grant(t, "tom", acl.Write, "admin/lxd-model-1")
//	f.Advance(25 * time.Hour) // tom's session has now expired
//
// Helpers take a testing.TB, call tb.Helper() and fail the test themselves.
//
// Passwords are hashed with TestHasher, a fast hasher that is for tests
// only (one SHA-256, no work factor); set Options.Hasher to use bcrypt.
// Fixture users still log in with passwords (Password(name) gives each
// one's), so login paths stay testable.
//
// A scenario can be built by New itself (Options.Scenario), which starts
// each fixture from a template made the first time: about 50 µs for an
// admin, 3 logged-in users, 2 models and 3 grants, against about 270 µs
// to bootstrap and build them (BenchmarkFixture, BenchmarkFixtureFresh).
//
// Each fixture is independent: its own store, provider, clock and
// Controller, so parallel tests may each have their own. Fixtures made
// from one template share the values that were random when it was built
// (the admin's password, session tokens, UUIDs); Options.Fresh gives a
// fixture its own.
package controllertest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/internal/hooks"
	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/provider/fakeprovider"
	"github.com/herd-project/herd/store"
	"github.com/herd-project/herd/users"
)

// Options configure a fixture; nil means the defaults.
type Options struct {
	// Name is the controller's name; "" means "test-controller".
	Name string
	// Start is the clock's starting time; zero means 2026-01-01 00:00 UTC.
	Start time.Time
	// SessionTTL and TokenTTL as in controller.Options.
	SessionTTL, TokenTTL time.Duration
	// Hasher hashes passwords; nil means TestHasher.
	Hasher users.Hasher
	// Logger receives the controller's events; nil discards them.
	Logger *slog.Logger
	// Scenario, when set, is built by New as Build builds it, and each of
	// its users is logged in.
	Scenario *Scenario
	// Fresh makes New bootstrap and build from scratch even when it could
	// start from a template (see New).
	Fresh bool
	// Addrs are the controller's API addresses (host:port), written into
	// registration tokens; a fixture with Addrs is always fresh.
	// apiservertest sets them to its server's address.
	Addrs []string
	// Backend, when set, keeps the fixture's state (as
	// controller.Options.Backend: several controllers on one etcd, say);
	// such a fixture is always fresh, and its controller owns the
	// backend.
	Backend store.Backend
	// Provisioning tunes the provisioner as in controller.Options; a
	// zero RetryDelay means FixtureRetryDelay here, so that tests of
	// failing starts do not wait Juju's 10 s.
	Provisioning controller.Provisioning
}

// FixtureRetryDelay is a fixture's wait before retrying a failed start.
const FixtureRetryDelay = 5 * time.Millisecond

// Fixture is a bootstrapped controller and what a test needs around it.
type Fixture struct {
	Controller *controller.Controller
	// Admin is a logged-in session of the bootstrap admin (superuser).
	Admin *controller.Session
	// Provider is the fake provider, for failure injection.
	Provider *fakeprovider.Provider
	// Clock is the controller's clock.
	Clock *Clock

	ctx           context.Context
	adminPassword string
	mu            sync.Mutex
	sessions      map[string]*controller.Session
}

// New bootstraps a controller for tb, builds opts.Scenario if set, and
// closes the controller by tb.Cleanup.
//
// Templates: the first New in a process for given options bootstraps and
// builds for real, then keeps a copy of the resulting state (store and
// fake provider) as a template; later calls with the same Name, Start,
// TTLs and Scenario start from a copy of it, which costs microseconds
// (go-memdb's trees are immutable, so the copy is a pointer). A fixture
// made so is the same as a fresh one, and as isolated: its own store,
// provider, clock and Controller, sharing nothing that a write changes.
// What it shares with the other fixtures of its template are values that
// were random: the admin's generated password, the session tokens (its
// sessions are resumed, not logged in again) and the UUIDs. Set Fresh for
// new ones. Fixtures with a Hasher or a Logger are always fresh: neither
// is part of a template's key, and a Logger expects the build's events.
func New(tb testing.TB, opts *Options) *Fixture {
	tb.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Name == "" {
		o.Name = "test-controller"
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if o.Provisioning.RetryDelay == 0 {
		o.Provisioning.RetryDelay = FixtureRetryDelay
	}
	var (
		f   *Fixture
		err error
	)
	if o.Fresh || o.Hasher != nil || o.Logger != nil || len(o.Addrs) > 0 || o.Backend != nil {
		f, err = fresh(o)
	} else {
		f, err = fromTemplate(o)
	}
	if f != nil {
		f.ctx = tb.Context()
		tb.Cleanup(func() { f.Controller.Close() })
	}
	if err != nil {
		tb.Fatalf("controllertest: %v", err)
	}
	return f
}

// fresh bootstraps a controller and builds o.Scenario.
func fresh(o Options) (*Fixture, error) {
	if o.Hasher == nil {
		o.Hasher = TestHasher{}
	}
	clock := NewClock(o.Start)
	prov := fakeprovider.New()
	b, err := controller.Bootstrap(context.Background(), o.Name, controller.Options{
		Provider: prov, Now: clock.Now, Hasher: o.Hasher,
		SessionTTL: o.SessionTTL, TokenTTL: o.TokenTTL, Logger: o.Logger, Addrs: o.Addrs,
		Provisioning: o.Provisioning, Backend: o.Backend,
	})
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	f := &Fixture{Controller: b.Controller, Admin: b.Admin, Provider: prov, Clock: clock,
		adminPassword: b.Secret, sessions: map[string]*controller.Session{controller.AdminUser: b.Admin}}
	if o.Scenario != nil {
		if err := f.build(*o.Scenario); err != nil {
			return f, err
		}
	}
	return f, nil
}

// template is the state a fresh fixture reached, kept to start others from.
type template struct {
	st            *state.Store // never written
	prov          *fakeprovider.Provider
	adminPassword string
	tokens        map[string]string // user → session token, admin included
}

type templateEntry struct {
	once sync.Once
	t    *template
	err  error
}

var templates sync.Map // templateKey → *templateEntry

func templateKey(o Options) string {
	var sc Scenario
	if o.Scenario != nil {
		sc = *o.Scenario
	}
	return fmt.Sprintf("%q %s %d %d %#v %#v", o.Name, o.Start.Format(time.RFC3339Nano), o.SessionTTL, o.TokenTTL, sc, o.Provisioning)
}

// fromTemplate makes a fixture from the template for o, building the
// template first if this is its first use.
func fromTemplate(o Options) (*Fixture, error) {
	v, _ := templates.LoadOrStore(templateKey(o), &templateEntry{})
	e := v.(*templateEntry)
	e.once.Do(func() {
		f, err := fresh(o)
		if f != nil {
			defer f.Controller.Close()
		}
		if err != nil {
			e.err = err
			return
		}
		t := &template{st: hooks.State(f.Controller).Clone(), prov: f.Provider.Clone(),
			adminPassword: f.adminPassword, tokens: map[string]string{}}
		for u, s := range f.sessions {
			t.tokens[u] = s.Token()
		}
		e.t = t
	})
	if e.err != nil {
		return nil, e.err
	}
	t := e.t
	clock := NewClock(o.Start)
	prov := t.prov.Clone()
	ctx := context.Background()
	c, err := controller.Open(ctx, "", controller.Options{
		Backend: &hooks.Working{State: t.st.Clone()}, Provider: prov, Now: clock.Now, Hasher: TestHasher{},
		SessionTTL: o.SessionTTL, TokenTTL: o.TokenTTL, Provisioning: o.Provisioning,
	})
	if err != nil {
		return nil, fmt.Errorf("from template: %w", err)
	}
	f := &Fixture{Controller: c, Provider: prov, Clock: clock, adminPassword: t.adminPassword,
		sessions: make(map[string]*controller.Session, len(t.tokens))}
	for u, tok := range t.tokens {
		s, err := c.Resume(ctx, tok)
		if err != nil {
			return f, fmt.Errorf("from template: resume %s: %w", u, err)
		}
		f.sessions[u] = s
	}
	f.Admin = f.sessions[controller.AdminUser]
	return f, nil
}

// Context is the context the helpers use: the test's, which ends when
// the test does.
func (f *Fixture) Context() context.Context {
	if f.ctx == nil {
		return context.Background()
	}
	return f.ctx
}

// admin returns the admin's session for the builders, logging the admin
// in again when Advance has taken the session past its expiry, so that a
// fixture outlives the sessions it hands out. It fails the test if the
// admin's password was changed meanwhile.
func (f *Fixture) admin(tb testing.TB) *controller.Session {
	tb.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.Admin.Check(f.Context()); err == nil || !errors.Is(err, herd.ErrUnauthenticated) {
		return f.Admin
	}
	s, err := f.Controller.Login(f.Context(), controller.AdminUser, f.adminPassword)
	if err != nil {
		tb.Fatalf("controllertest: the admin's session has ended and the admin cannot log in again: %v", err)
	}
	f.Admin = s
	f.sessions[controller.AdminUser] = s
	return s
}

// Advance moves the controller's clock forward.
func (f *Fixture) Advance(d time.Duration) { f.Clock.Advance(d) }

// Password returns the password a fixture user logs in with: admin's
// generated secret for the admin, "<name>-password" for others.
func (f *Fixture) Password(name string) string {
	if c, err := users.Canonical(name); err == nil && c == controller.AdminUser {
		return f.adminPassword
	}
	return name + "-password"
}

// AddUser adds a user with password Password(name), raises their
// controller access to the levels given (e.g. acl.AddModel), logs them in
// and returns the session. It is one store transaction (a Batch); use
// Register in a test that is about registration.
func (f *Fixture) AddUser(tb testing.TB, name string, access ...acl.Level) *controller.Session {
	tb.Helper()
	var s *controller.Session
	err := f.admin(tb).Batch(f.Context(), func(b *controller.Batch) (err error) {
		s, err = f.addUser(b, name, access)
		return err
	})
	if err != nil {
		tb.Fatalf("controllertest: AddUser(%q): %v", name, err)
	}
	f.remember(s)
	return s
}

func (f *Fixture) addUser(b *controller.Batch, name string, access []acl.Level) (*controller.Session, error) {
	if _, err := b.AddUser(name, ""); err != nil {
		return nil, err
	}
	for _, l := range access {
		if err := b.Grant(name, l, ""); err != nil {
			return nil, err
		}
	}
	if err := b.SetPassword(name, f.Password(name)); err != nil {
		return nil, err
	}
	return b.Login(name, f.Password(name))
}

// Register adds a user the way the seed does: the admin adds them, and
// they redeem the registration token with Password(name).
func (f *Fixture) Register(tb testing.TB, name string) *controller.Session {
	tb.Helper()
	added, err := f.admin(tb).AddUser(f.Context(), name, "")
	if err != nil {
		tb.Fatalf("controllertest: Register(%q): %v", name, err)
	}
	s, err := f.Controller.Register(f.Context(), added.Token, f.Password(name))
	if err != nil {
		tb.Fatalf("controllertest: Register(%q): %v", name, err)
	}
	f.remember(s)
	return s
}

func (f *Fixture) remember(s *controller.Session) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sessions[s.User()] = s
}

// Session returns the last session the fixture made for a user (by
// AddUser or LoginAs), or fails the test.
func (f *Fixture) Session(tb testing.TB, name string) *controller.Session {
	tb.Helper()
	c, err := users.Canonical(name)
	if err != nil {
		tb.Fatalf("controllertest: Session(%q): %v", name, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[c]
	if !ok {
		tb.Fatalf("controllertest: no session for %q: call AddUser or LoginAs first", name)
	}
	return s
}

// LoginAs logs a user in with Password(name) and returns the new session.
func (f *Fixture) LoginAs(tb testing.TB, name string) *controller.Session {
	tb.Helper()
	s, err := f.Controller.Login(f.Context(), name, f.Password(name))
	if err != nil {
		tb.Fatalf("controllertest: LoginAs(%q): %v", name, err)
	}
	f.remember(s)
	return s
}

// CreateModel creates a model owned by owner (as the admin does for
// anyone) and returns it.
func (f *Fixture) CreateModel(tb testing.TB, owner, name string) models.Model {
	tb.Helper()
	m, err := f.admin(tb).CreateModel(f.Context(), name, controller.CreateModelOptions{Owner: owner})
	if err != nil {
		tb.Fatalf("controllertest: CreateModel(%q, %q): %v", owner, name, err)
	}
	return m
}

// Grant grants a level as the admin; model is owner/name, or "" for a
// controller level.
func (f *Fixture) Grant(tb testing.TB, user string, level acl.Level, model string) {
	tb.Helper()
	if err := f.admin(tb).Grant(f.Context(), user, level, model); err != nil {
		tb.Fatalf("controllertest: Grant(%q, %s, %q): %v", user, level, model, err)
	}
}

// Revoke revokes a level as the admin.
func (f *Fixture) Revoke(tb testing.TB, user string, level acl.Level, model string) {
	tb.Helper()
	if err := f.admin(tb).Revoke(f.Context(), user, level, model); err != nil {
		tb.Fatalf("controllertest: Revoke(%q, %s, %q): %v", user, level, model, err)
	}
}

// Deploy deploys a charm into a model as the admin, with units units (0
// means 1), each on a machine of the fake provider, waits until the
// provisioner has started them all, and returns what was deployed, the
// machines as started. The application is named after the charm.
func (f *Fixture) Deploy(tb testing.TB, model, charm string, units int) controller.Deployed {
	tb.Helper()
	admin := f.admin(tb)
	d, err := admin.Deploy(f.Context(), model, charm, controller.DeployOptions{NumUnits: units})
	if err != nil {
		tb.Fatalf("controllertest: Deploy(%q, %q, %d): %v", model, charm, units, err)
	}
	st, err := admin.WaitStarted(f.Context(), controller.UUIDRef(d.Application.ModelUUID), d.Application.Name)
	if err != nil {
		tb.Fatalf("controllertest: Deploy(%q, %q, %d): waiting for the machines: %v", model, charm, units, err)
	}
	for i, mc := range d.Machines {
		for _, cur := range st.Machines {
			if cur.ID == mc.ID {
				d.Machines[i] = cur
			}
		}
	}
	return d
}

// Settle waits up to SettleTimeout until the controller's provisioner has
// done all that the state asks (see controller.Controller.Settle), and
// fails the test if it has not.
func (f *Fixture) Settle(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(f.Context(), SettleTimeout)
	defer cancel()
	if err := f.Controller.Settle(ctx); err != nil {
		tb.Fatalf("controllertest: the provisioner did not settle: %v", err)
	}
}

// SettleTimeout bounds Fixture.Settle.
const SettleTimeout = 10 * time.Second

// Clock is a clock a test moves by hand. It is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
