package apiserver

import (
	"errors"
	"testing"
	"time"

	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/controller/controllertest"
	"github.com/herd-project/herd/internal/params"
	"github.com/herd-project/herd/internal/rpc"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/provider/fakeprovider"
)

func fullStatusOn(t *testing.T, c *rpc.Client) params.FullStatus {
	t.Helper()
	var fs params.FullStatus
	if err := c.Call(ctxFor(t), "Client", 8, "", "FullStatus", params.StatusParams{}, &fs); err != nil {
		t.Fatal(err)
	}
	return fs
}

func retry(t *testing.T, c *rpc.Client, version int, args params.RetryProvisioningArgs) (params.ErrorResults, error) {
	t.Helper()
	var res params.ErrorResults
	err := c.Call(ctxFor(t), "MachineManager", version, "", "RetryProvisioning", args, &res)
	return res, err
}

// A machine the provider cannot start shows Juju's "provisioning error"
// with the provider's message, its unit allocating; retry-provisioning
// (MachineManager.RetryProvisioning, as Juju 3.6 serves it) starts it
// again; dying machines and applications say so.
func TestProvisioningStatusAndRetry(t *testing.T) {
	f := controllertest.New(t, &controllertest.Options{Provisioning: controller.Provisioning{Retries: -1}})
	e := newEnvFor(t, f, Options{})
	f.AddUser(t, "tom")
	f.AddUser(t, "ro")
	m := f.CreateModel(t, "admin", "m1")
	f.Grant(t, "tom", acl.Write, "admin/m1")
	f.Grant(t, "ro", acl.Read, "admin/m1")
	path := "/model/" + m.UUID + "/api"
	tom, ro := e.asAt(t, path, "tom"), e.asAt(t, path, "ro")

	f.Provider.Fail(fakeprovider.Start, errors.New("no capacity"))
	if _, err := f.Admin.Deploy(ctxFor(t), "admin/m1", "mysql", controller.DeployOptions{}); err != nil {
		t.Fatal(err)
	}
	f.Settle(t)
	fs := fullStatusOn(t, tom)
	mc := fs.Machines["0"]
	if mc.AgentStatus.Status != "pending" || mc.InstanceStatus.Status != "provisioning error" ||
		mc.InstanceStatus.Info != "fake provider: start: no capacity" || mc.InstanceStatus.Data["transient"] != nil ||
		mc.InstanceStatus.Data["attempts"] != float64(1) || mc.AgentStatus.Life != "" {
		t.Errorf("failed machine %+v", mc)
	}
	u := fs.Applications["mysql"].Units["mysql/0"]
	if u.AgentStatus.Status != "allocating" || u.WorkloadStatus.Status != "waiting" || u.WorkloadStatus.Info != "waiting for machine" {
		t.Errorf("unit of a failed machine %+v", u)
	}

	// Refusals: a read-only user as a whole; a bad tag and a machine not
	// in error item by item, as Juju's.
	_, err := retry(t, ro, 10, params.RetryProvisioningArgs{Machines: []string{"machine-0"}})
	wantErr(t, err, "permission denied", rpc.CodeUnauthorized)
	res, err := retry(t, tom, 9, params.RetryProvisioningArgs{Machines: []string{"unit-mysql-0", "machine-7"}})
	if err != nil || len(res.Results) != 2 || res.Results[0].Error == nil || res.Results[1].Error == nil || res.Results[1].Error.Code != rpc.CodeNotFound {
		t.Errorf("bad tag and missing machine: %+v %v", res.Results, err)
	}

	// A retry while the provider still fails: the machine is tried again
	// and fails again.
	calls := f.Provider.Calls(fakeprovider.Start)
	if res, err := retry(t, tom, 10, params.RetryProvisioningArgs{Machines: []string{"machine-0"}}); err != nil || len(res.Results) != 0 {
		t.Fatalf("RetryProvisioning: %+v %v", res.Results, err)
	}
	f.Settle(t)
	if got := f.Provider.Calls(fakeprovider.Start); got != calls+1 {
		t.Errorf("start calls %d, want %d", got, calls+1)
	}
	f.Provider.Fail(fakeprovider.Start, nil)
	if res, err := retry(t, tom, 10, params.RetryProvisioningArgs{All: true}); err != nil || len(res.Results) != 0 {
		t.Fatalf("RetryProvisioning all: %+v %v", res.Results, err)
	}
	f.Settle(t)
	fs = fullStatusOn(t, tom)
	if mc := fs.Machines["0"]; mc.AgentStatus.Status != "started" || mc.InstanceStatus.Status != "running" || mc.InstanceID == "" {
		t.Errorf("retried machine %+v", mc)
	}
	if u := fs.Applications["mysql"].Units["mysql/0"]; u.AgentStatus.Status != "idle" {
		t.Errorf("unit of a started machine %+v", u)
	}
	res, err = retry(t, tom, 10, params.RetryProvisioningArgs{Machines: []string{"machine-0"}})
	if err != nil || len(res.Results) != 1 || res.Results[0].Error == nil || res.Results[0].Error.Message != "machine 0 is started, not in a provisioning error" {
		t.Errorf("retry of a started machine: %+v %v", res.Results, err)
	}

	// Dying: a machine whose stop hangs, and its application.
	f.Provider.Hang(fakeprovider.Stop)
	var da params.DestroyApplicationResults
	if err := tom.Call(ctxFor(t), "Application", 22, "", "DestroyApplication", params.DestroyApplicationsParams{Applications: []params.DestroyApplicationParams{
		{ApplicationTag: "application-mysql"}}}, &da); err != nil || da.Results[0].Error != nil {
		t.Fatalf("DestroyApplication %+v %v", da.Results, err)
	}
	fs = fullStatusOn(t, tom)
	if a := fs.Applications["mysql"]; a.Life != "dying" || a.Units["mysql/0"].AgentStatus.Life != "dying" {
		t.Errorf("dying application %+v", a)
	}
	if mc := fs.Machines["0"]; mc.AgentStatus.Life != "dying" {
		t.Errorf("dying machine %+v", mc)
	}
	// A model being destroyed (its machine's stop still hangs).
	if err := f.Admin.DestroyModel(ctxFor(t), "admin/m1"); err != nil {
		t.Fatal(err)
	}
	fs = fullStatusOn(t, tom)
	if ms := fs.Model.ModelStatus; ms.Life != "dying" || ms.Status != "destroying" {
		t.Errorf("dying model %+v", ms)
	}
	f.Provider.Fail(fakeprovider.Stop, nil)
}

// The AllWatcher follows a machine through the provisioner: allocating,
// provisioning error with the message, then dying, and its unit with it.
func TestAllWatcherFollowsProvisioning(t *testing.T) {
	f := controllertest.New(t, &controllertest.Options{Provisioning: controller.Provisioning{Retries: -1}})
	e := newEnvFor(t, f, Options{})
	ctx := ctxFor(t)
	m := f.CreateModel(t, "admin", "m1")
	admin := e.asAt(t, "/model/"+m.UUID+"/api", "admin")
	id := watchAllOn(t, admin)
	if _, err := next(ctx, admin, id); err != nil {
		t.Fatal(err)
	}
	f.Provider.Fail(fakeprovider.Start, errors.New("no capacity"))
	if _, err := f.Admin.Deploy(ctx, "admin/m1", "mysql", controller.DeployOptions{}); err != nil {
		t.Fatal(err)
	}
	// until waits for deltas of each kind that its pred accepts.
	until := func(what string, preds map[string]func(params.EntityInfo) bool) {
		t.Helper()
		for len(preds) > 0 {
			deltas, err := next(ctx, admin, id)
			if err != nil {
				t.Fatalf("%s: Next: %v", what, err)
			}
			for _, raw := range deltas {
				d := decodeDelta(t, raw)
				kind := d.Entity.EntityId().Kind
				if pred := preds[kind]; pred != nil && pred(d.Entity) {
					delete(preds, kind)
				}
			}
		}
	}
	seen := map[string]bool{}
	until("failed start", map[string]func(params.EntityInfo) bool{"machine": func(e params.EntityInfo) bool {
		mi := e.(*params.MachineInfo)
		seen[mi.InstanceStatus.Current] = true
		return mi.InstanceStatus.Current == "provisioning error" && mi.InstanceStatus.Message == "fake provider: start: no capacity" &&
			mi.AgentStatus.Current == "pending" && mi.Life == "alive"
	}})
	if !seen["pending"] || !seen["allocating"] {
		t.Errorf("machine statuses seen %v, want pending and allocating before the error", seen)
	}
	f.Provider.Hang(fakeprovider.Stop)
	defer f.Provider.Fail(fakeprovider.Stop, nil)
	if err := f.Admin.RemoveUnit(ctx, "admin/m1", "mysql/0"); err != nil {
		t.Fatal(err)
	}
	until("dying", map[string]func(params.EntityInfo) bool{
		"machine": func(e params.EntityInfo) bool { return e.(*params.MachineInfo).Life == "dying" },
		"unit": func(e params.EntityInfo) bool {
			ui := e.(*params.UnitInfo)
			return ui.Life == "dying" && ui.AgentStatus.Current == "allocating"
		},
	})
}

// A failed start the provisioner will try again carries Juju's
// "transient" flag (and Herd's attempts), which Herd's client reads.
func TestProvisioningErrorTransient(t *testing.T) {
	f := controllertest.New(t, &controllertest.Options{Provisioning: controller.Provisioning{RetryDelay: time.Hour}})
	e := newEnvFor(t, f, Options{})
	m := f.CreateModel(t, "admin", "m1")
	admin := e.asAt(t, "/model/"+m.UUID+"/api", "admin")
	f.Provider.Fail(fakeprovider.Start, errors.New("no capacity"))
	if _, err := f.Admin.Deploy(ctxFor(t), "admin/m1", "mysql", controller.DeployOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Admin.WaitFor(ctxFor(t), "admin/m1", func(st controller.ModelStatus) bool {
		return len(st.Machines) == 1 && st.Machines[0].Status == models.Error
	}); err != nil {
		t.Fatal(err)
	}
	mc := fullStatusOn(t, admin).Machines["0"]
	if mc.InstanceStatus.Status != "provisioning error" || mc.InstanceStatus.Data["transient"] != true || mc.InstanceStatus.Data["attempts"] != float64(1) {
		t.Errorf("machine being retried %+v", mc.InstanceStatus)
	}
}
