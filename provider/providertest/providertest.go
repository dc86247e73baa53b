// Package providertest is the conformance suite every provider.Provider
// must pass. It runs against fakeprovider always and against lxdprovider
// wherever an LXD daemon answers, so the fake stays honest about what a
// real provider does.
//
// A provider's test file is a few lines:
//
//	func TestConformance(t *testing.T) {
//		providertest.Run(t, func(t *testing.T) provider.Provider { return fakeprovider.New() })
//	}
//
// Every test uses fresh random controller and model UUIDs and destroys its
// controller on cleanup, so the suite may share one daemon with other work.
package providertest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/provider"
)

// Run runs the suite. newProvider returns the provider under test; it may
// return the same one each time.
func Run(t *testing.T, newProvider func(t *testing.T) provider.Provider) {
	tests := []struct {
		name string
		fn   func(*testing.T, *fixture)
	}{
		{"Bootstrap", testBootstrap},
		{"ModelSpace", testModelSpace},
		{"StartStopListStatus", testStartStopList},
		{"IdempotentTeardown", testIdempotentTeardown},
		{"NotFound", testNotFound},
		{"ParallelStarts", testParallelStarts},
		{"Cancellation", testCancellation},
		{"ReconcileByTags", testReconcile},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newProvider(t)
			f := &fixture{t: t, p: p, ctl: provider.ControllerSpec{UUID: uuid(t), Name: "conformance"}}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				if err := p.DestroyController(ctx, f.ctl); err != nil {
					t.Errorf("cleanup: DestroyController: %v", err)
				}
			})
			tc.fn(t, f)
		})
	}
}

type fixture struct {
	t   *testing.T
	p   provider.Provider
	ctl provider.ControllerSpec
}

func uuid(t testing.TB) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func (f *fixture) model() provider.ModelSpec {
	f.t.Helper()
	m := provider.ModelSpec{ControllerUUID: f.ctl.UUID, ModelUUID: uuid(f.t), ModelName: "m"}
	if err := f.p.CreateModel(ctx(f.t), m); err != nil {
		f.t.Fatalf("CreateModel: %v", err)
	}
	return m
}

func (f *fixture) spec(m provider.ModelSpec, id string) provider.InstanceSpec {
	return provider.InstanceSpec{ControllerUUID: f.ctl.UUID, ModelUUID: m.ModelUUID, MachineID: id}
}

func testBootstrap(t *testing.T, f *fixture) {
	c := ctx(t)
	inst, err := f.p.Bootstrap(c, f.ctl)
	if err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	if inst.ID != provider.InstanceName(f.ctl.UUID, "0") || inst.Status != provider.Running || inst.ControllerUUID != f.ctl.UUID {
		t.Errorf("Bootstrap = %+v", inst)
	}
	list, err := f.p.Instances(c, provider.Filter{ControllerUUID: f.ctl.UUID})
	if err != nil || len(list) != 1 || list[0].ID != inst.ID {
		t.Errorf("Instances = %+v, %v", list, err)
	}
	if err := f.p.DestroyController(c, f.ctl); err != nil {
		t.Fatalf("DestroyController: %v", err)
	}
	if list, _ := f.p.Instances(c, provider.Filter{ControllerUUID: f.ctl.UUID}); len(list) != 0 {
		t.Errorf("after DestroyController: %+v", list)
	}
	if err := f.p.DestroyController(c, f.ctl); err != nil {
		t.Errorf("second DestroyController: %v", err)
	}
}

func testModelSpace(t *testing.T, f *fixture) {
	c := ctx(t)
	m := f.model()
	if err := f.p.CreateModel(c, m); !errors.Is(err, herd.ErrAlreadyExists) {
		t.Errorf("CreateModel twice: %v", err)
	}
	if err := f.p.DestroyModel(c, m); err != nil {
		t.Fatalf("DestroyModel: %v", err)
	}
	if _, err := f.p.StartInstance(c, f.spec(m, "0")); !errors.Is(err, herd.ErrNotFound) {
		t.Errorf("StartInstance in a destroyed model: %v", err)
	}
	if err := f.p.CreateModel(c, m); err != nil {
		t.Errorf("CreateModel after destroy: %v", err)
	}
}

func testStartStopList(t *testing.T, f *fixture) {
	c := ctx(t)
	m := f.model()
	other := f.model()
	inst, err := f.p.StartInstance(c, f.spec(m, "0"))
	if err != nil {
		t.Fatalf("StartInstance: %v", err)
	}
	want := provider.InstanceName(m.ModelUUID, "0")
	if inst.ID != want || inst.Status != provider.Running || inst.ModelUUID != m.ModelUUID || inst.MachineID != "0" || inst.ControllerUUID != f.ctl.UUID {
		t.Errorf("StartInstance = %+v, want id %s running with tags", inst, want)
	}
	if _, err := f.p.StartInstance(c, f.spec(m, "0")); !errors.Is(err, herd.ErrAlreadyExists) {
		t.Errorf("StartInstance twice: %v", err)
	}
	if _, err := f.p.StartInstance(c, f.spec(other, "0")); err != nil {
		t.Errorf("same machine id in another model: %v", err)
	}
	got, err := f.p.Instance(c, f.spec(m, "0"))
	if err != nil || got.ID != inst.ID || got.Status != provider.Running {
		t.Errorf("Instance = %+v, %v", got, err)
	}
	list, err := f.p.Instances(c, provider.Filter{ControllerUUID: f.ctl.UUID, ModelUUID: m.ModelUUID})
	if err != nil || len(list) != 1 || list[0].ID != inst.ID {
		t.Errorf("Instances(model) = %+v, %v", list, err)
	}
	if list, _ := f.p.Instances(c, provider.Filter{ControllerUUID: f.ctl.UUID}); len(list) != 2 {
		t.Errorf("Instances(controller) = %+v", list)
	}
	if err := f.p.StopInstance(c, f.spec(m, "0")); err != nil {
		t.Fatalf("StopInstance: %v", err)
	}
	if list, _ := f.p.Instances(c, provider.Filter{ModelUUID: m.ModelUUID}); len(list) != 0 {
		t.Errorf("after stop: %+v", list)
	}
}

func testIdempotentTeardown(t *testing.T, f *fixture) {
	c := ctx(t)
	m := f.model()
	if _, err := f.p.StartInstance(c, f.spec(m, "3")); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := f.p.StopInstance(c, f.spec(m, "3")); err != nil {
			t.Errorf("StopInstance #%d: %v", i+1, err)
		}
	}
	if err := f.p.StopInstance(c, f.spec(m, "99")); err != nil {
		t.Errorf("StopInstance of a machine that never was: %v", err)
	}
	for i := range 2 {
		if err := f.p.DestroyModel(c, m); err != nil {
			t.Errorf("DestroyModel #%d: %v", i+1, err)
		}
	}
}

func testNotFound(t *testing.T, f *fixture) {
	c := ctx(t)
	m := f.model()
	if _, err := f.p.Instance(c, f.spec(m, "7")); !errors.Is(err, herd.ErrNotFound) {
		t.Errorf("Instance of a missing machine: %v", err)
	}
	if _, err := f.p.StartInstance(c, f.spec(m, "7")); err != nil {
		t.Fatal(err)
	}
	if err := f.p.StopInstance(c, f.spec(m, "7")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.Instance(c, f.spec(m, "7")); !errors.Is(err, herd.ErrNotFound) {
		t.Errorf("Instance of a stopped machine: %v", err)
	}
}

func testParallelStarts(t *testing.T, f *fixture) {
	c := ctx(t)
	m := f.model()
	const n = 10
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.p.StartInstance(c, f.spec(m, fmt.Sprint(i)))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("start %d: %v", i, err)
		}
	}
	list, err := f.p.Instances(c, provider.Filter{ModelUUID: m.ModelUUID})
	if err != nil || len(list) != n {
		t.Fatalf("Instances = %d, %v; want %d", len(list), err, n)
	}
	for _, inst := range list {
		if inst.Status != provider.Running {
			t.Errorf("%s is %s", inst.ID, inst.Status)
		}
	}
	if err := f.p.DestroyController(c, f.ctl); err != nil {
		t.Fatal(err)
	}
	if list, _ := f.p.Instances(c, provider.Filter{ModelUUID: m.ModelUUID}); len(list) != 0 {
		t.Errorf("left after DestroyController: %d", len(list))
	}
}

func testCancellation(t *testing.T, f *fixture) {
	m := f.model()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.p.StartInstance(cancelled, f.spec(m, "0")); !errors.Is(err, context.Canceled) {
		t.Errorf("StartInstance with a cancelled context: %v", err)
	}
	if err := f.p.CreateModel(cancelled, provider.ModelSpec{ControllerUUID: f.ctl.UUID, ModelUUID: uuid(t)}); !errors.Is(err, context.Canceled) {
		t.Errorf("CreateModel with a cancelled context: %v", err)
	}
	if _, err := f.p.Instances(cancelled, provider.Filter{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Instances with a cancelled context: %v", err)
	}
	if list, _ := f.p.Instances(ctx(t), provider.Filter{ModelUUID: m.ModelUUID}); len(list) != 0 {
		t.Errorf("a cancelled start left %+v", list)
	}
}

// testReconcile: what a provider lists comes from the instances' tags, so a
// second look (as a restarted controller would take) finds the same.
func testReconcile(t *testing.T, f *fixture) {
	c := ctx(t)
	if _, err := f.p.Bootstrap(c, f.ctl); err != nil {
		t.Fatal(err)
	}
	m := f.model()
	for _, id := range []string{"0", "1"} {
		if _, err := f.p.StartInstance(c, f.spec(m, id)); err != nil {
			t.Fatal(err)
		}
	}
	list, err := f.p.Instances(c, provider.Filter{ControllerUUID: f.ctl.UUID})
	if err != nil || len(list) != 3 {
		t.Fatalf("Instances = %+v, %v", list, err)
	}
	byMachine := map[string]provider.Instance{}
	for _, inst := range list {
		byMachine[inst.ModelUUID+"/"+inst.MachineID] = inst
	}
	if _, ok := byMachine["/0"]; !ok {
		t.Errorf("controller machine not found by tags: %+v", list)
	}
	for _, id := range []string{"0", "1"} {
		if inst, ok := byMachine[m.ModelUUID+"/"+id]; !ok || inst.ControllerUUID != f.ctl.UUID {
			t.Errorf("machine %s not found by tags: %+v", id, list)
		}
	}
}
