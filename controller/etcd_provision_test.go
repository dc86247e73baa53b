package controller_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/controller/controllertest"
	"github.com/herd-project/herd/internal/etcdtest"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/provider"
	"github.com/herd-project/herd/provider/fakeprovider"
	"github.com/herd-project/herd/store/etcdstore"
)

// Three controllers on one etcd share one cloud (a fake provider every
// controller is given): exactly one provisions; when it goes in the middle
// of provisioning, another takes the lead, resumes, and every machine ends
// started with its instance, and no instance without its row.
func TestEtcdProvisionerLeadMoves(t *testing.T) {
	cl := etcdtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fp := fakeprovider.New()
	fp.Delay(func(ctx context.Context, op fakeprovider.Method, answer bool) {
		if op == fakeprovider.Start && !answer {
			sleep(ctx, 20*time.Millisecond)
		}
	})
	prefix := etcdPrefix()
	opts := func() controller.Options {
		b, err := etcdstore.Open(ctx, etcdstore.Options{Endpoints: cl.Endpoints(), Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		return controller.Options{Backend: b, Provider: fp, Hasher: controllertest.TestHasher{}, Logger: slog.New(slog.DiscardHandler),
			Provisioning: controller.Provisioning{Workers: 2, RetryDelay: 10 * time.Millisecond}}
	}
	boot, err := controller.Bootstrap(ctx, "c", opts())
	if err != nil {
		t.Fatal(err)
	}
	ctls := []*controller.Controller{boot.Controller}
	for range 2 {
		c, err := controller.Open(ctx, "", opts())
		if err != nil {
			t.Fatal(err)
		}
		ctls = append(ctls, c)
	}
	closed := map[int]bool{}
	defer func() {
		for i, c := range ctls {
			if !closed[i] {
				c.Close()
			}
		}
	}()
	leader := func() int {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			n, who := 0, -1
			for i, c := range ctls {
				if !closed[i] && c.LeadsProvisioner() {
					n, who = n+1, i
				}
			}
			if n == 1 {
				return who
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatal("no single controller leads the provisioner")
		return -1
	}
	first := leader()
	other := (first + 1) % 3
	admin, err := ctls[other].Login(ctx, controller.AdminUser, boot.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Deploy(ctx, "default", "app", controller.DeployOptions{NumUnits: 8}); err != nil {
		t.Fatal(err)
	}
	// Some machines start, then the leader goes.
	waitMachinesOf(t, admin, "default", func(ms []models.Machine) bool {
		n := 0
		for _, mc := range ms {
			if mc.Status == models.Started {
				n++
			}
		}
		return n >= 2
	})
	start := time.Now()
	if err := ctls[first].Close(); err != nil {
		t.Fatal(err)
	}
	closed[first] = true
	next := leader()
	t.Logf("controller %d led, controller %d leads %v after it closed", first, next, time.Since(start).Round(time.Millisecond))
	if next == first {
		t.Fatal("the closed controller still leads")
	}
	if _, err := admin.WaitStarted(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	defer scancel()
	if err := ctls[next].Settle(sctx); err != nil {
		t.Fatal(err)
	}
	checkProvisioned(t, ctls[next], provider.Provider(fp))
}
