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
// Each fixture is independent: its own store, provider, clock and random
// secrets, so parallel tests may each have their own.
package controllertest

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/provider/fakeprovider"
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
}

// Fixture is a bootstrapped controller and what a test needs around it.
type Fixture struct {
	Controller *controller.Controller
	// Admin is a logged-in session of the bootstrap admin (superuser).
	Admin *controller.Session
	// Provider is the fake provider, for failure injection.
	Provider *fakeprovider.Provider
	// Clock is the controller's clock.
	Clock *Clock

	adminPassword string
	mu            sync.Mutex
	sessions      map[string]*controller.Session
}

// New bootstraps a controller for tb. It is closed by tb.Cleanup.
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
	if o.Hasher == nil {
		o.Hasher = TestHasher{}
	}
	clock := NewClock(o.Start)
	prov := fakeprovider.New()
	b, err := controller.Bootstrap(context.Background(), o.Name, controller.Options{
		Provider: prov, Now: clock.Now, Hasher: o.Hasher,
		SessionTTL: o.SessionTTL, TokenTTL: o.TokenTTL, Logger: o.Logger,
	})
	if err != nil {
		tb.Fatalf("controllertest: bootstrap: %v", err)
	}
	tb.Cleanup(func() { b.Controller.Close() })
	return &Fixture{Controller: b.Controller, Admin: b.Admin, Provider: prov, Clock: clock,
		adminPassword: b.Secret, sessions: map[string]*controller.Session{controller.AdminUser: b.Admin}}
}

// Context is the context the helpers use.
func (f *Fixture) Context() context.Context { return context.Background() }

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
	err := f.Admin.Batch(f.Context(), func(b *controller.Batch) (err error) {
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
	added, err := f.Admin.AddUser(f.Context(), name, "")
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
	m, err := f.Admin.CreateModel(f.Context(), name, controller.CreateModelOptions{Owner: owner})
	if err != nil {
		tb.Fatalf("controllertest: CreateModel(%q, %q): %v", owner, name, err)
	}
	return m
}

// Grant grants a level as the admin; model is owner/name, or "" for a
// controller level.
func (f *Fixture) Grant(tb testing.TB, user string, level acl.Level, model string) {
	tb.Helper()
	if err := f.Admin.Grant(f.Context(), user, level, model); err != nil {
		tb.Fatalf("controllertest: Grant(%q, %s, %q): %v", user, level, model, err)
	}
}

// Revoke revokes a level as the admin.
func (f *Fixture) Revoke(tb testing.TB, user string, level acl.Level, model string) {
	tb.Helper()
	if err := f.Admin.Revoke(f.Context(), user, level, model); err != nil {
		tb.Fatalf("controllertest: Revoke(%q, %s, %q): %v", user, level, model, err)
	}
}

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
