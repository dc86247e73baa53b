package controller_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/controller/controllertest"
	"github.com/herd-project/herd/internal/hooks"
	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/provider"
	"github.com/herd-project/herd/provider/fakeprovider"
	"github.com/herd-project/herd/store"
	"github.com/herd-project/herd/store/storetest"
)

// otherCloud is a provider of another type than the fake it wraps.
type otherCloud struct{ provider.Provider }

func (otherCloud) Type() string { return "other-cloud" }

// Open refuses a provider of another type than the controller was
// bootstrapped on, and refuses to stand a new fake provider in for a real
// one; before, both opened, on a provider that knew none of the
// controller's machines.
func TestOpenWithWrongProvider(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "controller.db")
	opts := controller.Options{Path: path, Provider: otherCloud{fakeprovider.New()}, Hasher: controllertest.TestHasher{}}
	b, err := controller.Bootstrap(ctx, "c1", opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Controller.Close(); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		prov provider.Provider
		want []string
	}{
		"another type": {fakeprovider.New(), []string{`"other-cloud", not "fake"`}},
		"none":         {nil, []string{`"other-cloud"`, "none was set"}},
	} {
		o := opts
		o.Provider = tc.prov
		_, err := controller.Open(ctx, path, o)
		if !errors.Is(err, herd.ErrFailedPrecondition) {
			t.Errorf("%s: err = %v, want ErrFailedPrecondition", name, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %s", name, err, w)
			}
		}
	}
	// The refusals released the file; the right provider opens it.
	c, err := controller.Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

// A controller bootstrapped on the fake provider reopens without one: the
// fake keeps nothing between processes, so a new one stands in.
func TestOpenFakeWithoutProvider(t *testing.T) {
	ctx := context.Background()
	m := storetest.NewMemory()
	b, err := controller.Bootstrap(ctx, "c1", controller.Options{Backend: m, Hasher: controllertest.TestHasher{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Controller.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := controller.Open(ctx, "", controller.Options{Backend: m.Reopen(), Hasher: controllertest.TestHasher{}})
	if err != nil {
		t.Fatal(err)
	}
	if c.UUID() != b.Controller.UUID() {
		t.Errorf("reopened %s", c.UUID())
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	// A refused Open leaves the caller's backend open.
	held := m.Reopen()
	if _, err := controller.Open(ctx, "", controller.Options{Backend: held, Provider: otherCloud{fakeprovider.New()}}); !errors.Is(err, herd.ErrFailedPrecondition) {
		t.Fatalf("wrong provider: %v", err)
	}
	if err := held.Load(ctx, func(store.Record) error { return nil }); err != nil {
		t.Errorf("the backend was closed by a refused Open: %v", err)
	}
}

// A controller from before the CA was kept gets one on its first open,
// written to its state, so that later opens keep the same CA.
func TestOpenMakesMissingCA(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "controller.db")
	opts := controller.Options{Path: path, Hasher: controllertest.TestHasher{}}
	b, err := controller.Bootstrap(ctx, "c1", opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Controller.CACert()) == 0 {
		t.Fatal("bootstrap made no CA")
	}
	// Take the CA out, as a file from before it was kept has none.
	w := hooks.State(b.Controller).Write()
	info, _ := state.Get[state.Controller](w, state.TableController, state.IndexID, "controller")
	info.CACert, info.CAKey = "", ""
	if err := w.Insert(state.TableController, info); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := b.Controller.Close(); err != nil {
		t.Fatal(err)
	}
	var first []byte
	for i := range 2 {
		c, err := controller.Open(ctx, path, opts)
		if err != nil {
			t.Fatal(err)
		}
		ca := c.CACert()
		if _, err := c.TLSConfig("127.0.0.1"); err != nil || len(ca) == 0 {
			t.Fatalf("open %d: CA %d bytes, TLS config: %v", i, len(ca), err)
		}
		if i == 1 && string(ca) != string(first) {
			t.Error("the CA made on the first open was not kept")
		}
		first = ca
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// Open deletes registration keys that expired while the controller was
// closed.
func TestOpenDropsExpiredKeys(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "controller.db")
	clock := controllertest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	opts := controller.Options{Path: path, Hasher: controllertest.TestHasher{}, Now: clock.Now}
	b, err := controller.Bootstrap(ctx, "c1", opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Admin.AddUser(ctx, "tom", ""); err != nil {
		t.Fatal(err)
	}
	if n := len(b.Controller.Dump()["registration_secrets"]); n != 1 {
		t.Fatalf("%d pending keys, want 1", n)
	}
	if err := b.Controller.Close(); err != nil {
		t.Fatal(err)
	}
	clock.Advance(8 * 24 * time.Hour)
	c, err := controller.Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n := len(c.Dump()["registration_secrets"]); n != 0 {
		t.Errorf("%d pending keys after their expiry, want 0", n)
	}
}
