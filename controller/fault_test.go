package controller_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
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

// machinesOf returns a model's machines as the store has them.
func machinesOf(t *testing.T, f *controllertest.Fixture, model string) []models.Machine {
	t.Helper()
	st, err := f.Admin.Status(f.Context(), model)
	if err != nil {
		t.Fatal(err)
	}
	return st.Machines
}

// waitMachines waits (up to 10s) until cond holds for the model's
// machines.
func waitMachines(t *testing.T, f *controllertest.Fixture, model string, what string, cond func([]models.Machine) bool) []models.Machine {
	t.Helper()
	ctx, cancel := context.WithTimeout(f.Context(), 10*time.Second)
	defer cancel()
	st, err := f.Admin.WaitFor(ctx, model, func(st controller.ModelStatus) bool { return cond(st.Machines) })
	if err != nil {
		t.Fatalf("waiting until %s: %v (machines %+v)", what, err, machinesOf(t, f, model))
	}
	return st.Machines
}

// Deploy records and returns at once; the provisioner starts the
// machines, and Status shows each one's progress.
func TestDeployReturnsAtOnce(t *testing.T) {
	f, tom, m := faultWorld(t)
	start := newHold(fakeprovider.Start, false)
	holdCalls(f.Provider, start)
	d, err := tom.Deploy(f.Context(), "admin/m", "mysql", controller.DeployOptions{NumUnits: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, mc := range d.Machines {
		if mc.Status != models.Pending || mc.InstanceID != "" {
			t.Errorf("Deploy returned machine %s as %s %q", mc.ID, mc.Status, mc.InstanceID)
		}
	}
	within(t, "the first start", start.reached)
	waitMachines(t, f, "admin/m", "one machine is allocating", func(ms []models.Machine) bool {
		n := 0
		for _, mc := range ms {
			if mc.Status == models.Allocating {
				n++
			}
		}
		return n >= 1
	})
	close(start.release)
	st, err := tom.WaitStarted(f.Context(), "admin/m")
	if err != nil {
		t.Fatal(err)
	}
	for _, mc := range st.Machines {
		if mc.Status != models.Started || mc.InstanceID == "" || mc.Message != "" || mc.Attempts != 0 {
			t.Errorf("machine %+v after WaitStarted", mc)
		}
	}
	noOrphans(t, f, m, 3)
}

// The provisioner starts machines side by side, at most Workers at once.
func TestStartsInParallel(t *testing.T) {
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprint(workers, " workers"), func(t *testing.T) {
			f := controllertest.New(t, &controllertest.Options{Provisioning: controller.Provisioning{Workers: workers}})
			f.CreateModel(t, "admin", "m")
			var mu sync.Mutex
			now, most := 0, 0
			f.Provider.Delay(func(ctx context.Context, op fakeprovider.Method, answer bool) {
				if op != fakeprovider.Start {
					return
				}
				mu.Lock()
				if !answer {
					now++
					most = max(most, now)
				} else {
					now--
				}
				mu.Unlock()
				if !answer {
					sleep(ctx, 5*time.Millisecond)
				}
			})
			f.Deploy(t, "admin/m", "mysql", 8)
			if most != workers {
				t.Errorf("at most %d starts at once, want %d", most, workers)
			}
		})
	}
}

// Faults of starts: a failed start is recorded on its machine and retried
// after a delay; once the fault is gone the machines start, and nothing
// runs at the provider without a row.
func TestStartFaultsRetried(t *testing.T) {
	for _, c := range []struct {
		name   string
		inject func(p *fakeprovider.Provider)
		starts int // calls of Start in all
	}{
		{"first start fails", func(p *fakeprovider.Provider) { p.FailNext(fakeprovider.Start, 1, errBoom) }, 4},
		{"third start fails", func(p *fakeprovider.Provider) { p.FailAt(fakeprovider.Start, 3, errBoom) }, 4},
		{"three starts fail", func(p *fakeprovider.Provider) { p.FailNext(fakeprovider.Start, 3, errBoom) }, 6},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, tom, m := faultWorld(t)
			c.inject(f.Provider)
			if _, err := tom.Deploy(f.Context(), "admin/m", "mysql", controller.DeployOptions{NumUnits: 3}); err != nil {
				t.Fatal(err)
			}
			if _, err := tom.WaitStarted(f.Context(), "admin/m"); err != nil {
				t.Fatal(err)
			}
			if n := f.Provider.Calls(fakeprovider.Start); n != c.starts {
				t.Errorf("%d starts, want %d", n, c.starts)
			}
			noOrphans(t, f, m, 3)
			if l := leaks(f); len(l) > 0 {
				t.Error(l)
			}
		})
	}
}

// A machine whose starts keep failing is retried Retries times, then
// stays in error with the provider's message (and no instance) until
// retry-provisioning; a start that hangs past Provisioning.Timeout fails
// like any other.
func TestStartGivesUpThenRetryProvisioning(t *testing.T) {
	for _, c := range []struct {
		name   string
		inject func(p *fakeprovider.Provider)
		msg    string
	}{
		{"start fails", func(p *fakeprovider.Provider) { p.Fail(fakeprovider.Start, errBoom) }, errBoom.Error()},
		{"start hangs", func(p *fakeprovider.Provider) { p.Hang(fakeprovider.Start) }, context.DeadlineExceeded.Error()},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := controllertest.New(t, &controllertest.Options{Provisioning: controller.Provisioning{Retries: 2, Timeout: 20 * time.Millisecond}})
			tom := f.AddUser(t, "tom")
			m := f.CreateModel(t, "admin", "m")
			f.Grant(t, "tom", acl.Write, "admin/m")
			c.inject(f.Provider)
			if _, err := tom.Deploy(f.Context(), "admin/m", "mysql", controller.DeployOptions{NumUnits: 2}); err != nil {
				t.Fatal(err)
			}
			_, err := tom.WaitStarted(f.Context(), "admin/m")
			if !errors.Is(err, herd.ErrFailedPrecondition) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("WaitStarted: %v, want the provider's %q", err, c.msg)
			}
			f.Settle(t)
			for _, mc := range machinesOf(t, f, "admin/m") {
				if mc.Status != models.Error || mc.Attempts != 3 || mc.InstanceID != "" || !strings.Contains(mc.Message, c.msg) {
					t.Errorf("machine after the retries: %+v", mc)
				}
			}
			if n := f.Provider.Calls(fakeprovider.Start); n != 6 {
				t.Errorf("%d starts, want 3 for each of 2 machines", n)
			}
			if insts, _ := f.Provider.Instances(f.Context(), provider.Filter{ModelUUID: m.UUID}); len(insts) != 0 {
				t.Errorf("instances of failed starts left: %v", insts)
			}
			f.Provider.Fail(fakeprovider.Start, nil)
			before := f.Controller.Dump()
			for _, bad := range []struct {
				ids  []string
				want error
			}{{[]string{"7"}, herd.ErrNotFound}, {[]string{"0", "7"}, herd.ErrNotFound}} {
				if err := tom.RetryProvisioning(f.Context(), "admin/m", bad.ids...); !errors.Is(err, bad.want) {
					t.Errorf("retry-provisioning %v: %v, want %v", bad.ids, err, bad.want)
				}
			}
			if !reflect.DeepEqual(before, f.Controller.Dump()) {
				t.Error("a refused retry-provisioning changed the store")
			}
			if err := tom.RetryProvisioning(f.Context(), "admin/m"); err != nil {
				t.Fatal(err)
			}
			if _, err := tom.WaitStarted(f.Context(), "admin/m"); err != nil {
				t.Fatal(err)
			}
			noOrphans(t, f, m, 2)
			if err := tom.RetryProvisioning(f.Context(), "admin/m", "0"); !errors.Is(err, herd.ErrFailedPrecondition) {
				t.Errorf("retry-provisioning a started machine: %v", err)
			}
		})
	}
}

// Faults of stops and of a model's space: recorded on the machine or the
// model, which stays dying and refuses new units; retried until they
// work; then the model goes with nothing left at the provider.
func TestDestroyFaults(t *testing.T) {
	for _, c := range []struct {
		name   string
		inject func(p *fakeprovider.Provider)
		clear  func(p *fakeprovider.Provider)
		msg    string
	}{
		{"stops fail", func(p *fakeprovider.Provider) { p.Fail(fakeprovider.Stop, errBoom) },
			func(p *fakeprovider.Provider) { p.Fail(fakeprovider.Stop, nil) }, errBoom.Error()},
		{"stops hang", func(p *fakeprovider.Provider) { p.Hang(fakeprovider.Stop) },
			func(p *fakeprovider.Provider) { p.Fail(fakeprovider.Stop, nil) }, context.DeadlineExceeded.Error()},
		{"space removal fails", func(p *fakeprovider.Provider) { p.Fail(fakeprovider.DestroyModel, errBoom) },
			func(p *fakeprovider.Provider) { p.Fail(fakeprovider.DestroyModel, nil) }, errBoom.Error()},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := controllertest.New(t, &controllertest.Options{Provisioning: controller.Provisioning{Timeout: 20 * time.Millisecond}})
			tom := f.AddUser(t, "tom")
			m := f.CreateModel(t, "admin", "m")
			f.Grant(t, "tom", acl.Write, "admin/m")
			f.Deploy(t, "admin/m", "mysql", 2)
			c.inject(f.Provider)
			if err := f.Admin.DestroyModel(f.Context(), "admin/m"); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(f.Context(), 10*time.Second)
			defer cancel()
			st, err := f.Admin.WaitFor(ctx, "admin/m", func(st controller.ModelStatus) bool {
				if strings.Contains(st.StatusMessage, c.msg) {
					return true
				}
				for _, mc := range st.Machines {
					if mc.Status == models.Error && strings.Contains(mc.Message, c.msg) {
						return true
					}
				}
				return false
			})
			if err != nil {
				t.Fatalf("waiting for the failure to show: %v", err)
			}
			if st.Life != models.Dying {
				t.Errorf("model %s during the failures", st.Life)
			}
			if _, err := tom.Deploy(f.Context(), "admin/m", "redis", controller.DeployOptions{}); !errors.Is(err, herd.ErrFailedPrecondition) {
				t.Errorf("deploy into a dying model: %v", err)
			}
			if err := f.Admin.DestroyModel(f.Context(), "admin/m"); err != nil {
				t.Errorf("destroy again while dying: %v", err)
			}
			c.clear(f.Provider)
			if err := f.Admin.WaitRemoved(ctx, "admin/m"); err != nil {
				t.Fatal(err)
			}
			if insts, _ := f.Provider.Instances(f.Context(), provider.Filter{ModelUUID: m.UUID}); len(insts) != 0 {
				t.Errorf("instances left: %v", insts)
			}
			if l := leaks(f); len(l) > 0 {
				t.Error(l)
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

// Asking again to remove what the provider failed to remove retries at
// once, without waiting for the retry delay (an hour here).
func TestRemoveAgainRetriesAtOnce(t *testing.T) {
	f := controllertest.New(t, &controllertest.Options{Provisioning: controller.Provisioning{RetryDelay: time.Hour}})
	f.CreateModel(t, "admin", "m")
	f.Deploy(t, "admin/m", "mysql", 2)
	f.Provider.Fail(fakeprovider.Stop, errBoom)
	if err := f.Admin.RemoveUnit(f.Context(), "admin/m", "mysql/0"); err != nil {
		t.Fatal(err)
	}
	waitMachines(t, f, "admin/m", "the failed stop shows", func(ms []models.Machine) bool { return ms[0].Status == models.Error })
	f.Provider.Fail(fakeprovider.Stop, nil)
	if err := f.Admin.RemoveUnit(f.Context(), "admin/m", "mysql/0"); err != nil {
		t.Fatal(err)
	}
	waitMachines(t, f, "admin/m", "the unit is gone", func(ms []models.Machine) bool { return len(ms) == 1 })
	f.Provider.Fail(fakeprovider.DestroyModel, errBoom)
	if err := f.Admin.DestroyModel(f.Context(), "admin/m"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(f.Context(), 10*time.Second)
	defer cancel()
	if _, err := f.Admin.WaitFor(ctx, "admin/m", func(st controller.ModelStatus) bool { return st.StatusMessage != "" }); err != nil {
		t.Fatal(err)
	}
	f.Provider.Fail(fakeprovider.DestroyModel, nil)
	if err := f.Admin.DestroyModel(f.Context(), "admin/m"); err != nil {
		t.Fatal(err)
	}
	if err := f.Admin.WaitRemoved(ctx, "admin/m"); err != nil {
		t.Fatal(err)
	}
}
