package controller_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/controller/controllertest"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/provider"
	"github.com/herd-project/herd/provider/fakeprovider"
)

var errBoom = errors.New("provider exploded")

func faultWorld(t *testing.T) (*controllertest.Fixture, *controller.Session, models.Model) {
	f := controllertest.New(t, nil)
	tom := f.AddUser(t, "tom")
	m := f.CreateModel(t, "admin", "m")
	f.Grant(t, "tom", acl.Write, "admin/m")
	return f, tom, m
}

// callContext is a background context, bounded by d when d is set.
func callContext(t *testing.T, d time.Duration) context.Context {
	if d == 0 {
		return context.Background()
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// noOrphans checks that neither the store nor the provider holds anything
// of the model's but what want says.
func noOrphans(t *testing.T, f *controllertest.Fixture, m models.Model, wantMachines int) {
	t.Helper()
	st, err := f.Admin.Status(f.Context(), m.FullName())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Machines) != wantMachines || len(st.Units) != wantMachines {
		t.Errorf("store: %d machines, %d units, %d applications; want %d", len(st.Machines), len(st.Units), len(st.Applications), wantMachines)
	}
	insts, err := f.Provider.Instances(f.Context(), provider.Filter{ModelUUID: m.UUID})
	if err != nil || len(insts) != wantMachines {
		t.Errorf("provider: %d instances (%v); want %d", len(insts), err, wantMachines)
	}
}

// faultCase is a fault injected into the provider and the error the call
// must then return.
type faultCase struct {
	name   string
	inject func(p *fakeprovider.Provider)
	// deadline, when set, bounds the call's context.
	deadline time.Duration
	want     error
}

// startFaults are the faults of a call that starts three machines.
var startFaults = []faultCase{
	{"first start fails", func(p *fakeprovider.Provider) { p.FailNext(fakeprovider.Start, 1, errBoom) }, 0, errBoom},
	{"third start fails", func(p *fakeprovider.Provider) { p.FailAt(fakeprovider.Start, 3, errBoom) }, 0, errBoom},
	{"start hangs past the deadline", func(p *fakeprovider.Provider) { p.Hang(fakeprovider.Start) },
		30 * time.Millisecond, context.DeadlineExceeded},
}

func TestDeployFaults(t *testing.T) {
	for _, c := range startFaults {
		t.Run(c.name, func(t *testing.T) {
			f, tom, m := faultWorld(t)
			c.inject(f.Provider)
			ctx := callContext(t, c.deadline)
			_, err := tom.Deploy(ctx, "admin/m", "mysql", controller.DeployOptions{NumUnits: 3})
			if !errors.Is(err, c.want) {
				t.Fatalf("deploy: %v, want %v", err, c.want)
			}
			noOrphans(t, f, m, 0)
		})
	}
}

// A start that fails after others succeeded: those are stopped again, and
// the failed one too (a failed start may have taken effect, as when the
// context ends while the provider works), and what an earlier deploy made
// is left alone.
func TestDeployPartialFailureStopsWhatStarted(t *testing.T) {
	f, tom, m := faultWorld(t)
	if _, err := tom.Deploy(f.Context(), "admin/m", "mysql", controller.DeployOptions{NumUnits: 2}); err != nil {
		t.Fatal(err)
	}
	f.Provider.FailAt(fakeprovider.Start, 3, errBoom)
	if _, err := tom.Deploy(f.Context(), "admin/m", "redis", controller.DeployOptions{NumUnits: 3}); !errors.Is(err, errBoom) {
		t.Fatalf("deploy: %v", err)
	}
	noOrphans(t, f, m, 2) // mysql's two machines only
	if n := f.Provider.Calls(fakeprovider.Stop); n != 3 {
		t.Errorf("%d stops after a deploy whose third start failed, want 3", n)
	}
}

func TestDestroyFaults(t *testing.T) {
	for _, c := range []faultCase{
		{"stop fails", func(p *fakeprovider.Provider) { p.FailNext(fakeprovider.Stop, 1, errBoom) }, 0, errBoom},
		{"second stop fails", func(p *fakeprovider.Provider) { p.FailAt(fakeprovider.Stop, 2, errBoom) }, 0, errBoom},
		{"space removal fails", func(p *fakeprovider.Provider) { p.FailNext(fakeprovider.DestroyModel, 1, errBoom) }, 0, errBoom},
		{"stop hangs past the deadline", func(p *fakeprovider.Provider) { p.Hang(fakeprovider.Stop) },
			30 * time.Millisecond, context.DeadlineExceeded},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, tom, m := faultWorld(t)
			if _, err := tom.Deploy(f.Context(), "admin/m", "mysql", controller.DeployOptions{NumUnits: 2}); err != nil {
				t.Fatal(err)
			}
			c.inject(f.Provider)
			ctx := callContext(t, c.deadline)
			err := f.Admin.DestroyModel(ctx, "admin/m")
			if !errors.Is(err, c.want) {
				t.Fatalf("destroy: %v, want %v", err, c.want)
			}
			st, err := f.Admin.Status(f.Context(), "admin/m")
			if err != nil {
				t.Fatal(err)
			}
			if st.Life != models.Dying || st.StatusMessage == "" {
				t.Errorf("after a failed destroy: life %s, message %q", st.Life, st.StatusMessage)
			}
			if _, err := tom.Deploy(f.Context(), "admin/m", "redis", controller.DeployOptions{}); err == nil {
				t.Error("deploy into a dying model succeeded")
			}
			f.Provider.Fail(fakeprovider.Stop, nil)
			if err := f.Admin.DestroyModel(f.Context(), "admin/m"); err != nil {
				t.Fatalf("second destroy: %v", err)
			}
			if insts, _ := f.Provider.Instances(f.Context(), provider.Filter{ModelUUID: m.UUID}); len(insts) != 0 {
				t.Errorf("instances left: %v", insts)
			}
			if _, err := f.Admin.Status(f.Context(), "admin/m"); err == nil {
				t.Error("the model survived the second destroy")
			}
		})
	}
}

func TestCreateModelFaults(t *testing.T) {
	f := controllertest.New(t, nil)
	before := f.Controller.Dump()
	f.Provider.FailNext(fakeprovider.CreateModel, 1, errBoom)
	if _, err := f.Admin.CreateModel(f.Context(), "m", controller.CreateModelOptions{}); !errors.Is(err, errBoom) {
		t.Fatalf("create: %v", err)
	}
	f.Provider.Hang(fakeprovider.CreateModel)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := f.Admin.CreateModel(ctx, "m", controller.CreateModelOptions{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("create: %v", err)
	}
	if len(before[`models`]) != len(f.Controller.Dump()[`models`]) {
		t.Error("a failed create left a model")
	}
}

// A failed deploy whose machines cannot be stopped either keeps their rows
// (with the error) and units, so every instance still has a row that leads
// to it; removing the application later finishes the job.
func TestDeployUndoKeepsWhatItCannotStop(t *testing.T) {
	f, tom, m := faultWorld(t)
	ctx := f.Context()
	f.Provider.FailAt(fakeprovider.Start, 3, errBoom)
	f.Provider.Fail(fakeprovider.Stop, errBoom)
	if _, err := tom.Deploy(ctx, "admin/m", "mysql", controller.DeployOptions{NumUnits: 3}); !errors.Is(err, errBoom) {
		t.Fatalf("deploy: %v", err)
	}
	st, err := f.Admin.Status(ctx, "admin/m")
	if err != nil {
		t.Fatal(err)
	}
	// All three were tried (the third start failed, but might have
	// started), so all three are kept.
	if len(st.Machines) != 3 || len(st.Units) != 3 || len(st.Applications) != 1 {
		t.Fatalf("after the failed deploy: %+v", st)
	}
	for _, mc := range st.Machines {
		if mc.Status != models.Error || mc.Message == "" {
			t.Errorf("machine %s kept as %s %q, want an error", mc.ID, mc.Status, mc.Message)
		}
	}
	if l := leaks(f); len(l) > 0 {
		t.Error(l)
	}
	f.Provider.Fail(fakeprovider.Stop, nil)
	if err := tom.RemoveApplication(ctx, "admin/m", "mysql"); err != nil {
		t.Fatal(err)
	}
	noOrphans(t, f, m, 0)
}

// A deploy that finds its machine's row removed by a destroy and cannot
// stop the instance puts the row back (with the error): the destroy, which
// could not remove the model's space while the instance ran, finishes when
// called again.
func TestDeployCannotStopItsLostMachine(t *testing.T) {
	f, tom, m := faultWorld(t)
	ctx := f.Context()
	f.Provider.FailAt(fakeprovider.Stop, 2, errBoom) // the destroy's stop passes, the deploy's fails
	deployErr, destroyErr := interleave(t, f.Provider, true, func() error {
		_, err := tom.Deploy(ctx, "admin/m", "mysql", controller.DeployOptions{})
		return err
	}, func() error { return f.Admin.DestroyModel(ctx, "admin/m") })
	if !errors.Is(deployErr, herd.ErrFailedPrecondition) {
		t.Errorf("deploy: %v", deployErr)
	}
	if destroyErr == nil {
		t.Fatal("the model's space went while an instance ran in it")
	}
	if l := leaks(f); len(l) > 0 {
		t.Error(l)
	}
	if err := f.Admin.DestroyModel(ctx, "admin/m"); err != nil {
		t.Fatalf("destroy again: %v", err)
	}
	if insts, _ := f.Provider.Instances(ctx, provider.Filter{ModelUUID: m.UUID}); len(insts) != 0 {
		t.Errorf("instances left: %v", insts)
	}
}
