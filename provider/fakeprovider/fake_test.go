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
	p.FailNext(fakeprovider.OpCreateModel, 1, boom)
	m := provider.ModelSpec{ControllerUUID: "c", ModelUUID: "m1"}
	if err := p.CreateModel(ctx, m); !errors.Is(err, boom) {
		t.Errorf("first call: %v", err)
	}
	if err := p.CreateModel(ctx, m); err != nil {
		t.Errorf("second call: %v", err)
	}
	p.Hang(fakeprovider.OpStart)
	c, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := p.StartInstance(c, provider.InstanceSpec{ModelUUID: "m1", MachineID: "0"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hang: %v", err)
	}
	if p.Calls(fakeprovider.OpStart) != 1 || p.Calls(fakeprovider.OpCreateModel) != 2 {
		t.Errorf("calls: start %d create %d", p.Calls(fakeprovider.OpStart), p.Calls(fakeprovider.OpCreateModel))
	}
}
