package controller_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/controller/controllertest"
	"github.com/herd-project/herd/provider"
	"github.com/herd-project/herd/provider/lxdprovider"
)

// Deploy racing DestroyModel, and AddUnit racing RemoveApplication, on
// real LXD, a few rounds each with the removal started at different points
// of the provisioning: once the provisioner has done the removal, LXD
// keeps no instance of the model, and in the end nothing. It
// is skipped without an LXD daemon unless HERD_LXD is set.
func TestDeployRacesDestroyModelOnLXD(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p, err := lxdprovider.New(ctx, lxdprovider.Options{})
	if err != nil {
		if os.Getenv("HERD_LXD") != "" {
			t.Fatalf("HERD_LXD is set but LXD is not usable: %v", err)
		}
		t.Skipf("no LXD daemon (set HERD_LXD=1 to make this a failure): %v", err)
	}
	defer p.Close()
	b, err := controller.Bootstrap(ctx, "herd-race", controller.Options{Provider: p, Hasher: controllertest.TestHasher{}})
	if err != nil {
		t.Fatal(err)
	}
	uuid := b.Controller.UUID()
	defer func() {
		if err := b.Admin.DestroyController(ctx); err != nil {
			t.Errorf("destroy controller: %v", err)
		}
		if insts, err := p.Instances(ctx, provider.Filter{ControllerUUID: uuid}); err != nil || len(insts) != 0 {
			t.Errorf("instances left: %+v, %v", insts, err)
		}
		if spaces, err := p.ModelSpaces(ctx, uuid); err != nil || len(spaces) != 0 {
			t.Errorf("projects left: %v, %v", spaces, err)
		}
	}()
	for round := range 4 {
		m, err := b.Admin.CreateModel(ctx, fmt.Sprintf("race%d", round), controller.CreateModelOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var deployErr, destroyErr error
		var wg sync.WaitGroup
		wg.Go(func() {
			_, deployErr = b.Admin.Deploy(ctx, m.FullName(), "mysql", controller.DeployOptions{NumUnits: 2})
		})
		wg.Go(func() {
			time.Sleep(time.Duration(round) * 400 * time.Millisecond)
			destroyErr = b.Admin.DestroyModel(ctx, m.FullName())
		})
		wg.Wait()
		t.Logf("round %d: deploy: %v; destroy: %v", round, deployErr, destroyErr)
		if deployErr != nil && !errors.Is(deployErr, herd.ErrFailedPrecondition) {
			t.Errorf("round %d: deploy: %v", round, deployErr)
		}
		if destroyErr != nil {
			t.Fatalf("round %d: destroy: %v", round, destroyErr)
		}
		if err := b.Admin.WaitRemoved(ctx, m.FullName()); err != nil {
			t.Fatalf("round %d: waiting for the model to go: %v", round, err)
		}
		if _, err := b.Admin.Status(ctx, m.FullName()); !errors.Is(err, herd.ErrNotFound) {
			t.Errorf("round %d: the model survived: %v", round, err)
		}
		if insts, err := p.Instances(ctx, provider.Filter{ControllerUUID: uuid, ModelUUID: m.UUID}); err != nil || len(insts) != 0 {
			t.Errorf("round %d: instances left: %+v, %v", round, insts, err)
		}
	}
	m, err := b.Admin.CreateModel(ctx, "apps", controller.CreateModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		app := fmt.Sprintf("app%d", round)
		if _, err := b.Admin.Deploy(ctx, m.FullName(), app, controller.DeployOptions{}); err != nil {
			t.Fatal(err)
		}
		var addErr, removeErr error
		var wg sync.WaitGroup
		wg.Go(func() {
			_, addErr = b.Admin.AddUnit(ctx, m.FullName(), app, controller.AddUnitOptions{NumUnits: 2})
		})
		wg.Go(func() {
			time.Sleep(time.Duration(round) * 400 * time.Millisecond)
			removeErr = b.Admin.RemoveApplication(ctx, m.FullName(), app)
		})
		wg.Wait()
		t.Logf("round %d: add-unit: %v; remove-application: %v", round, addErr, removeErr)
		if !lostRace(addErr) {
			t.Errorf("round %d: add-unit: %v", round, addErr)
		}
		if removeErr != nil {
			t.Fatalf("round %d: remove-application: %v", round, removeErr)
		}
		if err := b.Controller.Settle(ctx); err != nil {
			t.Fatalf("round %d: waiting for the provisioner: %v", round, err)
		}
		st, err := b.Admin.Status(ctx, m.FullName())
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Applications)+len(st.Units)+len(st.Machines) != 0 {
			t.Errorf("round %d: left: %+v", round, st)
		}
		if insts, err := p.Instances(ctx, provider.Filter{ControllerUUID: uuid, ModelUUID: m.UUID}); err != nil || len(insts) != 0 {
			t.Errorf("round %d: instances left: %+v, %v", round, insts, err)
		}
	}
}
