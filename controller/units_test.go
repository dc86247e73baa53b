package controller_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/controller/controllertest"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/provider"
	"github.com/herd-project/herd/provider/fakeprovider"
)

// layout is a model's units and machines as "unit@machine", sorted, and
// the provider's instances, as the tests compare them.
func layout(t *testing.T, f *controllertest.Fixture, model string) (units []string, machines []string, instances int) {
	t.Helper()
	st, err := f.Admin.Status(f.Context(), model)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range st.Units {
		units = append(units, u.Name+"@"+u.Machine)
	}
	for _, m := range st.Machines {
		machines = append(machines, m.ID)
	}
	insts, err := f.Provider.Instances(f.Context(), provider.Filter{ModelUUID: st.UUID})
	if err != nil {
		t.Fatal(err)
	}
	return units, machines, len(insts)
}

func wantLayout(t *testing.T, f *controllertest.Fixture, model string, units, machines []string) {
	t.Helper()
	f.Settle(t)
	gotU, gotM, insts := layout(t, f, model)
	if !slices.Equal(gotU, units) || !slices.Equal(gotM, machines) || insts != len(machines) {
		t.Fatalf("units %v, machines %v, %d instances; want units %v, machines %v, %d instances", gotU, gotM, insts, units, machines, len(machines))
	}
	// The listing's counts come from the authorization snapshot, kept
	// apart from the store; they must agree.
	ms, err := f.Admin.Models(f.Context(), controller.ModelsOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.FullName() == model && (m.Units != len(units) || m.Machines != len(machines)) {
			t.Fatalf("Models: %d units, %d machines; want %d, %d", m.Units, m.Machines, len(units), len(machines))
		}
	}
}

// The unit life cycle: numbers go on and are never reused, removing a unit
// takes its machine, removing the application takes everything.
func TestUnitLifecycle(t *testing.T) {
	f, tom, _ := faultWorld(t)
	ctx := f.Context()
	if _, err := tom.Deploy(ctx, "admin/m", "mysql", controller.DeployOptions{NumUnits: 2}); err != nil {
		t.Fatal(err)
	}
	d, err := tom.AddUnit(ctx, "admin/m", "mysql", controller.AddUnitOptions{NumUnits: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Units) != 2 || d.Units[0].Name != "mysql/2" || d.Machines[1].ID != "3" || d.Machines[1].Status != models.Pending {
		t.Fatalf("AddUnit returned %+v", d)
	}
	wantLayout(t, f, "admin/m", []string{"mysql/0@0", "mysql/1@1", "mysql/2@2", "mysql/3@3"}, []string{"0", "1", "2", "3"})

	if err := tom.RemoveUnit(ctx, "admin/m", "mysql/1"); err != nil {
		t.Fatal(err)
	}
	if _, err := tom.AddUnit(ctx, "admin/m", "mysql", controller.AddUnitOptions{}); err != nil {
		t.Fatal(err)
	}
	wantLayout(t, f, "admin/m", []string{"mysql/0@0", "mysql/2@2", "mysql/3@3", "mysql/4@4"}, []string{"0", "2", "3", "4"})

	// Removing every unit leaves the application, as in Juju.
	for _, u := range []string{"mysql/0", "mysql/2", "mysql/3", "mysql/4"} {
		if err := tom.RemoveUnit(ctx, "admin/m", u); err != nil {
			t.Fatal(err)
		}
	}
	wantLayout(t, f, "admin/m", nil, nil)
	if st, _ := f.Admin.Status(ctx, "admin/m"); len(st.Applications) != 1 {
		t.Fatalf("applications after removing every unit: %v", st.Applications)
	}
	if _, err := tom.AddUnit(ctx, "admin/m", "mysql", controller.AddUnitOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := tom.Deploy(ctx, "admin/m", "redis", controller.DeployOptions{NumUnits: 2}); err != nil {
		t.Fatal(err)
	}
	wantLayout(t, f, "admin/m", []string{"mysql/5@5", "redis/0@6", "redis/1@7"}, []string{"5", "6", "7"})

	if err := tom.RemoveApplication(ctx, "admin/m", "mysql"); err != nil {
		t.Fatal(err)
	}
	wantLayout(t, f, "admin/m", []string{"redis/0@6", "redis/1@7"}, []string{"6", "7"})
	// The name is free again; a new application starts at unit 0.
	if _, err := tom.Deploy(ctx, "admin/m", "mysql", controller.DeployOptions{}); err != nil {
		t.Fatal(err)
	}
	wantLayout(t, f, "admin/m", []string{"mysql/0@8", "redis/0@6", "redis/1@7"}, []string{"6", "7", "8"})
}

// Bad input and missing targets fail with the right sentinel and change
// nothing.
func TestUnitErrors(t *testing.T) {
	f, tom, _ := faultWorld(t)
	ctx := f.Context()
	if _, err := tom.Deploy(ctx, "admin/m", "mysql", controller.DeployOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Admin.CreateModel(ctx, "hidden", controller.CreateModelOptions{}); err != nil {
		t.Fatal(err)
	}
	reader := f.AddUser(t, "rita")
	f.Grant(t, "rita", acl.Read, "admin/m")
	f.Settle(t)
	before := f.Controller.Dump()
	starts := f.Provider.Calls(fakeprovider.Start)
	for _, c := range []struct {
		name string
		run  func() error
		want error
	}{
		{"add to a missing application", func() error {
			_, err := tom.AddUnit(ctx, "admin/m", "redis", controller.AddUnitOptions{})
			return err
		}, herd.ErrNotFound},
		{"add an invalid application name", func() error {
			_, err := tom.AddUnit(ctx, "admin/m", "My_SQL", controller.AddUnitOptions{})
			return err
		}, herd.ErrInvalid},
		{"add -1 units", func() error {
			_, err := tom.AddUnit(ctx, "admin/m", "mysql", controller.AddUnitOptions{NumUnits: -1})
			return err
		}, herd.ErrInvalid},
		{"add 1001 units", func() error {
			_, err := tom.AddUnit(ctx, "admin/m", "mysql", controller.AddUnitOptions{NumUnits: 1001})
			return err
		}, herd.ErrInvalid},
		{"add to a model without access", func() error {
			_, err := tom.AddUnit(ctx, "admin/hidden", "mysql", controller.AddUnitOptions{})
			return err
		}, herd.ErrPermissionDenied},
		{"add as a reader", func() error {
			_, err := reader.AddUnit(ctx, "admin/m", "mysql", controller.AddUnitOptions{})
			return err
		}, herd.ErrPermissionDenied},
		{"remove a missing unit", func() error { return tom.RemoveUnit(ctx, "admin/m", "mysql/7") }, herd.ErrNotFound},
		{"remove a unit of a missing application", func() error { return tom.RemoveUnit(ctx, "admin/m", "redis/0") }, herd.ErrNotFound},
		{"remove an invalid unit name", func() error { return tom.RemoveUnit(ctx, "admin/m", "mysql/01") }, herd.ErrInvalid},
		{"remove a unit as a reader", func() error { return reader.RemoveUnit(ctx, "admin/m", "mysql/0") }, herd.ErrPermissionDenied},
		{"remove a unit of a hidden model", func() error { return tom.RemoveUnit(ctx, "admin/hidden", "mysql/0") }, herd.ErrPermissionDenied},
		{"remove a missing application", func() error { return tom.RemoveApplication(ctx, "admin/m", "redis") }, herd.ErrNotFound},
		{"remove an invalid application name", func() error { return tom.RemoveApplication(ctx, "admin/m", "-x") }, herd.ErrInvalid},
		{"remove an application as a reader", func() error { return reader.RemoveApplication(ctx, "admin/m", "mysql") }, herd.ErrPermissionDenied},
	} {
		if err := c.run(); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if !reflect.DeepEqual(before, f.Controller.Dump()) {
		t.Error("a refused call changed the store")
	}
	if n := f.Provider.Calls(fakeprovider.Start); n != starts {
		t.Errorf("refused calls started %d machines", n-starts)
	}
	if n := f.Provider.Calls(fakeprovider.Stop); n != 0 {
		t.Errorf("refused calls stopped %d machines", n)
	}

	// In a dying model, every unit operation is refused.
	f.Provider.Fail(fakeprovider.Stop, errBoom) // keeps it dying
	if err := f.Admin.DestroyModel(ctx, "admin/m"); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	if _, err := tom.AddUnit(ctx, "admin/m", "mysql", controller.AddUnitOptions{}); !errors.Is(err, herd.ErrFailedPrecondition) {
		t.Errorf("add to a dying model: %v", err)
	}
	if err := tom.RemoveUnit(ctx, "admin/m", "mysql/0"); !errors.Is(err, herd.ErrFailedPrecondition) {
		t.Errorf("remove a unit of a dying model: %v", err)
	}
	if err := tom.RemoveApplication(ctx, "admin/m", "mysql"); !errors.Is(err, herd.ErrFailedPrecondition) {
		t.Errorf("remove an application of a dying model: %v", err)
	}
}

// AddUnit adds to an application whose earlier units run; a start that
// fails for one of the new units is retried, and the numbers are never
// reused.
func TestAddUnitFaults(t *testing.T) {
	f, tom, _ := faultWorld(t)
	f.Deploy(t, "admin/m", "mysql", 1)
	f.Provider.FailAt(fakeprovider.Start, 2, errBoom)
	if _, err := tom.AddUnit(f.Context(), "admin/m", "mysql", controller.AddUnitOptions{NumUnits: 3}); err != nil {
		t.Fatal(err)
	}
	wantLayout(t, f, "admin/m", []string{"mysql/0@0", "mysql/1@1", "mysql/2@2", "mysql/3@3"}, []string{"0", "1", "2", "3"})
	if n := f.Provider.Calls(fakeprovider.Start); n != 5 {
		t.Errorf("%d starts, want 1 + 3 + 1 retry", n)
	}
	if err := tom.RemoveUnit(f.Context(), "admin/m", "mysql/3"); err != nil {
		t.Fatal(err)
	}
	if _, err := tom.AddUnit(f.Context(), "admin/m", "mysql", controller.AddUnitOptions{}); err != nil {
		t.Fatal(err)
	}
	wantLayout(t, f, "admin/m", []string{"mysql/0@0", "mysql/1@1", "mysql/2@2", "mysql/4@4"}, []string{"0", "1", "2", "4"})
}

// A failed stop is shown on the unit's machine, which stays (with its
// unit) and is retried until the stop works. A dying application refuses
// new units and its name until it is gone.
func TestRemoveFaults(t *testing.T) {
	f, tom, _ := faultWorld(t)
	ctx := f.Context()
	f.Deploy(t, "admin/m", "mysql", 3)
	f.Provider.Fail(fakeprovider.Stop, errBoom)
	if err := tom.RemoveUnit(ctx, "admin/m", "mysql/0"); err != nil {
		t.Fatal(err)
	}
	ms := waitMachines(t, f, "admin/m", "the failed stop shows", func(ms []models.Machine) bool {
		return ms[0].Status == models.Error && strings.Contains(ms[0].Message, errBoom.Error())
	})
	if !ms[0].Dying() || ms[0].InstanceID == "" {
		t.Errorf("machine 0 after a failed stop: %+v", ms[0])
	}
	if st, _ := f.Admin.Status(ctx, "admin/m"); len(st.Units) != 3 {
		t.Fatalf("after a failed stop: %+v", st.Units)
	}
	if err := tom.RemoveUnit(ctx, "admin/m", "mysql/0"); err != nil {
		t.Errorf("removing a unit being removed: %v", err)
	}
	f.Provider.Fail(fakeprovider.Stop, nil)
	wantLayout(t, f, "admin/m", []string{"mysql/1@1", "mysql/2@2"}, []string{"1", "2"})

	f.Provider.Fail(fakeprovider.Stop, errBoom)
	if err := tom.RemoveApplication(ctx, "admin/m", "mysql"); err != nil {
		t.Fatal(err)
	}
	st, _ := f.Admin.Status(ctx, "admin/m")
	if len(st.Applications) != 1 || !st.Applications[0].Dying() {
		t.Fatalf("after remove-application: %+v", st.Applications)
	}
	if _, err := tom.AddUnit(ctx, "admin/m", "mysql", controller.AddUnitOptions{}); !errors.Is(err, herd.ErrFailedPrecondition) {
		t.Errorf("add-unit to a dying application: %v", err)
	}
	if _, err := tom.Deploy(ctx, "admin/m", "mysql", controller.DeployOptions{}); !errors.Is(err, herd.ErrAlreadyExists) {
		t.Errorf("deploy over a dying application: %v", err)
	}
	f.Provider.Fail(fakeprovider.Stop, nil)
	wantLayout(t, f, "admin/m", nil, nil)
	if st, _ := f.Admin.Status(ctx, "admin/m"); len(st.Applications) != 0 {
		t.Fatalf("applications left: %+v", st.Applications)
	}
}

// AddUnit, RemoveUnit and RemoveApplication racing on one application:
// whatever order they land in, no unit is left without its application or
// machine, and the provider runs exactly the machines the store records.
func TestUnitRaces(t *testing.T) {
	for round := range 20 {
		f, tom, _ := faultWorld(t)
		ctx := f.Context()
		if _, err := tom.Deploy(ctx, "admin/m", "mysql", controller.DeployOptions{NumUnits: 2}); err != nil {
			t.Fatal(err)
		}
		removeApp := round%2 == 0
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range 4 {
			wg.Go(func() {
				switch i {
				case 0, 1:
					_, errs[i] = tom.AddUnit(ctx, "admin/m", "mysql", controller.AddUnitOptions{NumUnits: 2})
				case 2:
					errs[i] = tom.RemoveUnit(ctx, "admin/m", "mysql/1")
				case 3:
					if removeApp {
						errs[i] = tom.RemoveApplication(ctx, "admin/m", "mysql")
					}
				}
			})
		}
		wg.Wait()
		f.Settle(t)
		for i, err := range errs {
			// What may fail, fails for losing the race: the application
			// or unit was gone or going.
			if err != nil && (i == 3 || !removeApp || !(errors.Is(err, herd.ErrNotFound) || errors.Is(err, herd.ErrFailedPrecondition))) {
				t.Fatalf("round %d, call %d: %v", round, i, err)
			}
		}
		st, err := f.Admin.Status(ctx, "admin/m")
		if err != nil {
			t.Fatal(err)
		}
		apps := map[string]bool{}
		for _, a := range st.Applications {
			apps[a.Name] = true
		}
		machines := map[string]bool{}
		for _, m := range st.Machines {
			machines[m.ID] = true
		}
		for _, u := range st.Units {
			if !apps[u.Application] || !machines[u.Machine] {
				t.Fatalf("round %d: unit %s without its application or machine: %+v", round, u.Name, st)
			}
		}
		units, ms, insts := layout(t, f, "admin/m")
		if len(units) != len(ms) || insts != len(ms) {
			t.Fatalf("round %d: %d units, %d machines, %d instances", round, len(units), len(ms), insts)
		}
		want := 5 // 2 deployed + 2 × 2 added - 1 removed
		if removeApp {
			want = 0
		}
		if len(units) != want || (removeApp && len(st.Applications) != 0) {
			t.Fatalf("round %d: %d units and %d applications left, want %d units", round, len(units), len(st.Applications), want)
		}
	}
}
