package controller_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/controller/controllertest"
	"github.com/herd-project/herd/models"
)

// view is a model as a watcher rebuilds it from deltas.
type view struct {
	apps, units, machines map[string]string
}

func newView() *view {
	return &view{apps: map[string]string{}, units: map[string]string{}, machines: map[string]string{}}
}

func (v *view) apply(t *testing.T, batch []controller.Delta) {
	t.Helper()
	for _, d := range batch {
		set := func(m map[string]string, k, val string) {
			if d.Removed {
				delete(m, k)
			} else {
				m[k] = val
			}
		}
		switch {
		case d.Application != nil:
			set(v.apps, d.Application.Name, d.Application.Charm+" "+string(d.Application.Life))
		case d.Unit != nil:
			set(v.units, d.Unit.Name, d.Unit.Machine)
		case d.Machine != nil:
			set(v.machines, d.Machine.ID, string(d.Machine.Status))
		case d.Model == nil:
			t.Fatalf("a delta with nothing set: %+v", d)
		}
	}
}

// statusView is the same from Status.
func statusView(t *testing.T, s *controller.Session, model string) *view {
	t.Helper()
	st, err := s.Status(context.Background(), model)
	if err != nil {
		t.Fatal(err)
	}
	v := newView()
	for _, a := range st.Applications {
		v.apps[a.Name] = a.Charm + " " + string(a.Life)
	}
	for _, u := range st.Units {
		v.units[u.Name] = u.Machine
	}
	for _, m := range st.Machines {
		v.machines[m.ID] = string(m.Status)
	}
	return v
}

// Every committed change reaches every watcher once, in order: a view
// rebuilt from the deltas equals the model's status after each step.
func TestWatchDeliversEveryChange(t *testing.T) {
	f := controllertest.New(t, nil)
	f.CreateModel(t, "admin", "m")
	ctx := f.Context()
	w1, err := f.Admin.Watch(ctx, "admin/m")
	if err != nil {
		t.Fatal(err)
	}
	w2, err := f.Admin.Watch(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	v1, v2 := newView(), newView()
	steps := []func() error{
		func() error {
			_, err := f.Admin.Deploy(ctx, "admin/m", "mysql", controller.DeployOptions{NumUnits: 2})
			return err
		},
		func() error {
			_, err := f.Admin.AddUnit(ctx, "admin/m", "mysql", controller.AddUnitOptions{})
			return err
		},
		func() error { return f.Admin.RemoveUnit(ctx, "admin/m", "mysql/0") },
		func() error {
			_, err := f.Admin.Deploy(ctx, "admin/m", "redis", controller.DeployOptions{})
			return err
		},
		func() error { return f.Admin.RemoveApplication(ctx, "admin/m", "mysql") },
	}
	// Drain both watchers after each step; then the views match the status.
	drain := func(w *controller.Watcher, v *view) {
		t.Helper()
		for {
			dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			batch, err := w.Next(dctx)
			cancel()
			if errors.Is(err, context.DeadlineExceeded) {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			v.apply(t, batch)
		}
	}
	drain(w1, v1)
	drain(w2, v2)
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		drain(w1, v1)
		drain(w2, v2)
		want := statusView(t, f.Admin, "admin/m")
		for name, v := range map[string]*view{"first": v1, "second": v2} {
			if !equalViews(v, want) {
				t.Fatalf("after step %d, the %s watcher's view %+v, status %+v", i, name, *v, *want)
			}
		}
	}
}

func equalViews(a, b *view) bool {
	eq := func(x, y map[string]string) bool {
		if len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if y[k] != v {
				return false
			}
		}
		return true
	}
	return eq(a.apps, b.apps) && eq(a.units, b.units) && eq(a.machines, b.machines)
}

// A watcher that does not read is ended, with a clear error, once its
// buffer is full; commits and other watchers go on.
func TestSlowWatcherFallsBehind(t *testing.T) {
	ctx := context.Background()
	b, err := controller.Bootstrap(ctx, "c", controller.Options{Hasher: controllertest.TestHasher{}, WatchBuffer: 8}) // a deploy is 3 commits: planned, allocating, started
	if err != nil {
		t.Fatal(err)
	}
	defer b.Controller.Close()
	admin := b.Admin
	slow, err := admin.Watch(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	fast, err := admin.Watch(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for i := range 6 {
		if _, err := admin.Deploy(ctx, "default", "app", controller.DeployOptions{Name: "app" + string(rune('a'+i))}); err != nil {
			t.Fatal(err)
		}
		for { // the fast watcher keeps up
			dctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			_, err := fast.Next(dctx)
			cancel()
			if err != nil {
				break
			}
			got++
		}
	}
	if got < 7 {
		t.Errorf("the reading watcher got %d batches, want the first state and every deploy's", got)
	}
	if _, err := slow.Next(ctx); !errors.Is(err, herd.ErrFailedPrecondition) {
		t.Errorf("the watcher that fell behind: %v, want an error saying so", err)
	}
}

// Access is checked on every batch; a destroyed model ends the watch after
// its removal; Stop ends it.
func TestWatchEnds(t *testing.T) {
	f := controllertest.New(t, nil)
	ctx := f.Context()
	f.CreateModel(t, "admin", "m")
	tom := f.AddUser(t, "tom")
	if _, err := tom.Watch(ctx, "admin/m"); !errors.Is(err, herd.ErrPermissionDenied) {
		t.Errorf("watching without access: %v", err)
	}
	f.Grant(t, "tom", acl.Read, "admin/m")
	w, err := tom.Watch(ctx, "admin/m")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Next(ctx); err != nil { // the first state
		t.Fatal(err)
	}
	f.Revoke(t, "tom", acl.Read, "admin/m")
	f.Deploy(t, "admin/m", "mysql", 1)
	if _, err := w.Next(ctx); !errors.Is(err, herd.ErrPermissionDenied) {
		t.Errorf("after tom's access was revoked: %v", err)
	}

	aw, err := f.Admin.Watch(ctx, "admin/m")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Admin.DestroyModel(ctx, "admin/m"); err != nil {
		t.Fatal(err)
	}
	var removed bool
	for !removed {
		batch, err := aw.Next(ctx)
		if err != nil {
			t.Fatalf("before the model's removal: %v", err)
		}
		removed = slices.ContainsFunc(batch, func(d controller.Delta) bool { return d.Removed && d.Model != nil })
	}
	if _, err := aw.Next(ctx); !errors.Is(err, herd.ErrNotFound) {
		t.Errorf("after the model's removal: %v", err)
	}

	f.CreateModel(t, "admin", "n")
	sw, err := f.Admin.Watch(ctx, "admin/n")
	if err != nil {
		t.Fatal(err)
	}
	sw.Stop()
	if _, err := sw.Next(ctx); !errors.Is(err, herd.ErrClosed) {
		t.Errorf("after Stop: %v", err)
	}

	// Closing the controller ends a watcher waiting in Next.
	cw, err := f.Admin.Watch(ctx, "admin/n")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cw.Next(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := cw.Next(ctx); done <- err }()
	time.Sleep(5 * time.Millisecond)
	f.Controller.Close()
	select {
	case err := <-done:
		if !errors.Is(err, herd.ErrClosed) {
			t.Errorf("after the controller closed: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("a watcher went on waiting after the controller closed")
	}
}

// WaitFor returns once the condition holds, and fails at the deadline.
func TestWaitFor(t *testing.T) {
	f := controllertest.New(t, nil)
	ctx := f.Context()
	f.CreateModel(t, "admin", "m")
	started := func(n int) func(controller.ModelStatus) bool {
		return func(st controller.ModelStatus) bool {
			k := 0
			for _, m := range st.Machines {
				if m.Status == models.Started {
					k++
				}
			}
			return k >= n
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := f.Admin.WaitFor(ctx, "admin/m", started(2))
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	f.Deploy(t, "admin/m", "mysql", 2)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WaitFor did not return once two machines had started")
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, err := f.Admin.WaitFor(dctx, "admin/m", started(3)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting for what never comes: %v", err)
	}
}
