package fakeprovider_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/herd-project/herd/provider"
	"github.com/herd-project/herd/provider/fakeprovider"
	"github.com/herd-project/herd/provider/providertest"
)

func TestConformance(t *testing.T) {
	providertest.Run(t, func(*testing.T) provider.Provider { return fakeprovider.New() })
}

func TestFaults(t *testing.T) {
	p := fakeprovider.New()
	ctx := context.Background()
	boom := errors.New("boom")
	p.FailNext(fakeprovider.CreateModel, 1, boom)
	m := provider.ModelSpec{ControllerUUID: "c", ModelUUID: "m1"}
	if err := p.CreateModel(ctx, m); !errors.Is(err, boom) {
		t.Errorf("first call: %v", err)
	}
	if err := p.CreateModel(ctx, m); err != nil {
		t.Errorf("second call: %v", err)
	}
	p.Hang(fakeprovider.Start)
	c, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := p.StartInstance(c, provider.InstanceSpec{ModelUUID: "m1", MachineID: "0"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hang: %v", err)
	}
	if p.Calls(fakeprovider.Start) != 1 || p.Calls(fakeprovider.CreateModel) != 2 {
		t.Errorf("calls: start %d create %d", p.Calls(fakeprovider.Start), p.Calls(fakeprovider.CreateModel))
	}
}

// A clone has the original's models, instances and call counts but not its
// faults, and the two change independently.
func TestClone(t *testing.T) {
	ctx := context.Background()
	p := fakeprovider.New()
	m := provider.ModelSpec{ControllerUUID: "c", ModelUUID: "m1", ModelName: "one"}
	if err := p.CreateModel(ctx, m); err != nil {
		t.Fatal(err)
	}
	if _, err := p.StartInstance(ctx, provider.InstanceSpec{ControllerUUID: "c", ModelUUID: "m1", MachineID: "0"}); err != nil {
		t.Fatal(err)
	}
	p.Fail(fakeprovider.Start, errors.New("boom"))
	c := p.Clone()
	if c.Calls(fakeprovider.Start) != 1 || c.Calls(fakeprovider.CreateModel) != 1 {
		t.Errorf("clone calls: start %d, create-model %d", c.Calls(fakeprovider.Start), c.Calls(fakeprovider.CreateModel))
	}
	if _, err := c.StartInstance(ctx, provider.InstanceSpec{ControllerUUID: "c", ModelUUID: "m1", MachineID: "1"}); err != nil {
		t.Fatalf("clone kept the fault: %v", err)
	}
	list := func(p *fakeprovider.Provider) int {
		is, err := p.Instances(ctx, provider.Filter{ControllerUUID: "c"})
		if err != nil {
			t.Fatal(err)
		}
		return len(is)
	}
	if a, b := list(p), list(c); a != 1 || b != 2 {
		t.Errorf("instances: original %d, clone %d; want 1, 2", a, b)
	}
}

// Delay holds calls without holding the provider, so a quick call
// overtakes a held one, and a done context ends a call held before it
// took effect, with no effect.
func TestDelay(t *testing.T) {
	p := fakeprovider.New()
	ctx := context.Background()
	m := provider.ModelSpec{ControllerUUID: "c", ModelUUID: "m1"}
	if err := p.CreateModel(ctx, m); err != nil {
		t.Fatal(err)
	}
	held := make(chan struct{})
	p.Delay(func(ctx context.Context, op fakeprovider.Method, answer bool) {
		if op == fakeprovider.Start && !answer {
			close(held)
			<-ctx.Done()
		}
	})
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := p.StartInstance(cctx, provider.InstanceSpec{ControllerUUID: "c", ModelUUID: "m1", MachineID: "0"})
		done <- err
	}()
	<-held
	if _, err := p.Instances(ctx, fakeprovider.AnyFilter()); err != nil {
		t.Fatalf("a call during a held start: %v", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("held start: %v", err)
	}
	if insts, _ := p.Instances(ctx, fakeprovider.AnyFilter()); len(insts) != 0 {
		t.Fatalf("a start cut short left %v", insts)
	}
	// Held after the effect: the instance is there before the call returns.
	answered := make(chan struct{})
	p.Delay(func(ctx context.Context, op fakeprovider.Method, answer bool) {
		if op == fakeprovider.Start && answer {
			<-answered
		}
	})
	go func() {
		_, err := p.StartInstance(ctx, provider.InstanceSpec{ControllerUUID: "c", ModelUUID: "m1", MachineID: "0"})
		done <- err
	}()
	for {
		if insts, _ := p.Instances(ctx, fakeprovider.AnyFilter()); len(insts) == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(answered)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
