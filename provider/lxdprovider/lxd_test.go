package lxdprovider_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/herd-project/herd/provider"
	"github.com/herd-project/herd/provider/lxdprovider"
	"github.com/herd-project/herd/provider/providertest"
)

// newLXD connects to the local daemon. Without one the test skips, unless
// HERD_LXD is set (as CI sets it), when it fails.
func newLXD(t *testing.T) *lxdprovider.Provider {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := lxdprovider.New(ctx, lxdprovider.Options{MaxConcurrent: 4})
	if err != nil {
		if os.Getenv("HERD_LXD") != "" {
			t.Fatalf("HERD_LXD is set but LXD is not usable: %v", err)
		}
		t.Skipf("no LXD daemon (set HERD_LXD=1 to make this a failure): %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

func TestConformanceLXD(t *testing.T) {
	p := newLXD(t)
	providertest.Run(t, func(*testing.T) provider.Provider { return p })
}

// A second provider value, as a restarted controller would make, finds the
// machines the first started.
func TestReconcileAcrossConnectionsLXD(t *testing.T) {
	p1 := newLXD(t)
	ctx := context.Background()
	ctl := provider.ControllerSpec{UUID: "0f0f0f0f-aaaa-4bbb-8ccc-" + time.Now().Format("150405000000"), Name: "reconcile"}
	t.Cleanup(func() { _ = p1.DestroyController(context.Background(), ctl) })
	m := provider.ModelSpec{ControllerUUID: ctl.UUID, ModelUUID: "1e1e1e1e-" + ctl.UUID[9:], ModelName: "m"}
	if err := p1.CreateModel(ctx, m); err != nil {
		t.Fatal(err)
	}
	if _, err := p1.StartInstance(ctx, provider.InstanceSpec{ControllerUUID: ctl.UUID, ModelUUID: m.ModelUUID, MachineID: "0"}); err != nil {
		t.Fatal(err)
	}
	p2 := newLXD(t)
	list, err := p2.Instances(ctx, provider.Filter{ControllerUUID: ctl.UUID})
	if err != nil || len(list) != 1 || list[0].MachineID != "0" || list[0].ModelUUID != m.ModelUUID {
		t.Fatalf("second connection sees %+v, %v", list, err)
	}
	if err := p2.DestroyController(ctx, ctl); err != nil {
		t.Fatal(err)
	}
	if list, _ := p1.Instances(ctx, provider.Filter{ControllerUUID: ctl.UUID}); len(list) != 0 {
		t.Errorf("left: %+v", list)
	}
	if spaces, err := p1.ModelSpaces(ctx, ctl.UUID); err != nil || len(spaces) != 0 {
		t.Errorf("projects left: %v, %v", spaces, err)
	}
}
