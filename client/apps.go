package client

import (
	"context"
	"slices"
	"strings"

	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/internal/params"
	"github.com/herd-project/herd/models"
)

// The calls on a model (Status, Deploy, AddUnit, RemoveUnit,
// RemoveApplication) go over a model connection, wss://ADDR/model/UUID/api,
// opened on first use and logged in with the session token (the password
// is never kept), then kept until Close.

// Status returns a model with its applications, units and machines
// (Client.FullStatus on the model connection): model read access.
func (s *Session) Status(ctx context.Context, model string) (controller.ModelStatus, error) {
	m, err := s.resolve(ctx, model)
	if err != nil {
		return controller.ModelStatus{}, err
	}
	return s.status(ctx, m)
}

func (s *Session) status(ctx context.Context, m params.ModelSummary) (controller.ModelStatus, error) {
	st, _, err := s.fullStatus(ctx, m)
	return st, err
}

// fullStatus reads model m with Client.FullStatus, and the machines the
// provisioner is still retrying (a provisioning error marked
// "transient").
func (s *Session) fullStatus(ctx context.Context, m params.ModelSummary) (controller.ModelStatus, map[string]bool, error) {
	sum, err := modelSummary(m)
	if err != nil {
		return controller.ModelStatus{}, nil, err
	}
	var fs params.FullStatus
	if err := s.modelCall(ctx, m.UUID, "Client", "FullStatus", params.StatusParams{Patterns: []string{}}, &fs); err != nil {
		return controller.ModelStatus{}, nil, err
	}
	st := controller.ModelStatus{
		Applications: []models.Application{},
		Units:        []models.Unit{},
		Machines:     []models.Machine{},
	}
	for name, a := range fs.Applications {
		st.Applications = append(st.Applications, models.Application{ModelUUID: m.UUID, Name: name, Charm: charmName(a.Charm), Life: life(a.Life)})
		for uname, u := range a.Units {
			st.Units = append(st.Units, models.Unit{ModelUUID: m.UUID, Name: uname, Application: name, Machine: u.Machine})
		}
	}
	retrying := map[string]bool{}
	for id, mc := range fs.Machines {
		status, msg := machineStatus(mc)
		wm := models.Machine{ModelUUID: m.UUID, ID: id, InstanceID: mc.InstanceID, Status: status, Message: msg}
		if l := models.Life(mc.AgentStatus.Life); l != "" && l != models.Alive {
			wm.Life = l
		}
		if status == models.Error {
			wm.Attempts = attempts(mc.InstanceStatus.Data)
			retrying[id] = mc.InstanceStatus.Data["transient"] == true
		}
		st.Machines = append(st.Machines, wm)
	}
	slices.SortFunc(st.Applications, func(a, b models.Application) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(st.Units, func(a, b models.Unit) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(st.Machines, func(a, b models.Machine) int { return machineOrder(a.ID, b.ID) })
	sum.Machines, sum.Units = len(st.Machines), len(st.Units)
	if l := fs.Model.ModelStatus.Life; l != "" {
		sum.Model.Life = models.Life(l)
	}
	st.ModelSummary = sum
	return st, retrying, nil
}

// life reads a life as FullStatus sends it ("" is alive).
func life(l string) models.Life {
	if l == "" {
		return models.Alive
	}
	return models.Life(l)
}

// machineStatus reads Herd's machine status back from Juju's instance
// status (what the provider says: "running", "stopped", "provisioning
// error", "allocating", "pending"), else from the agent status
// ("started", "down", "error"), and the message from the instance status.
func machineStatus(mc params.MachineStatus) (models.Status, string) {
	switch mc.InstanceStatus.Status {
	case "running", "started":
		return models.Started, mc.InstanceStatus.Info
	case "stopped":
		return models.Stopped, mc.InstanceStatus.Info
	case "provisioning error", "error":
		return models.Error, mc.InstanceStatus.Info
	case "allocating":
		return models.Allocating, mc.InstanceStatus.Info
	case "pending":
		return models.Pending, mc.InstanceStatus.Info
	}
	switch mc.AgentStatus.Status {
	case "started":
		return models.Started, mc.InstanceStatus.Info
	case "down", "stopped":
		return models.Stopped, mc.InstanceStatus.Info
	case "error":
		return models.Error, mc.InstanceStatus.Info
	}
	return models.Pending, mc.InstanceStatus.Info
}

// machineOrder sorts machine ids numerically ("2" before "10").
func machineOrder(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// charmName reads the charm's name from a charm URL
// ("ch:amd64/jammy/mysql-42", "ch:mysql", "local:mysql-3").
func charmName(url string) string {
	if _, rest, ok := strings.Cut(url, ":"); ok {
		url = rest
	}
	if i := strings.LastIndex(url, "/"); i >= 0 {
		url = url[i+1:]
	}
	if i := strings.LastIndex(url, "-"); i > 0 {
		rev := url[i+1:]
		if rev != "" && strings.Trim(rev, "0123456789") == "" {
			url = url[:i]
		}
	}
	return url
}

// CharmURL is the charm URL Deploy sends for a charm name, Charmhub's
// form without a revision, with origin source "charm-hub": the controller
// records it and downloads nothing.
func CharmURL(charm string) string { return "ch:" + charm }

// Deploy deploys a charm into a model as an application (Application.Deploy
// on the model connection): model write. opts.Name "" means the charm
// name; opts.NumUnits 0 means 1. The result is read back with
// Client.FullStatus: the application, its units and their machines, whose
// statuses are whatever the controller's provisioner has made of them by
// then (pending, allocating, ...): wait for them with WaitStarted.
func (s *Session) Deploy(ctx context.Context, model, charm string, opts controller.DeployOptions) (controller.Deployed, error) {
	m, err := s.resolve(ctx, model)
	if err != nil {
		return controller.Deployed{}, err
	}
	name := opts.Name
	if name == "" {
		name = charm
	}
	n := opts.NumUnits
	if n == 0 {
		n = 1
	}
	args := params.ApplicationsDeploy{Applications: []params.ApplicationDeploy{{
		ApplicationName: name,
		CharmURL:        CharmURL(charm),
		CharmOrigin:     &params.CharmOrigin{Source: "charm-hub", Type: "charm"},
		NumUnits:        n,
	}}}
	var res params.ErrorResults
	if err := s.modelCall(ctx, m.UUID, "Application", "Deploy", args, &res); err != nil {
		return controller.Deployed{}, err
	}
	if err := errorResult("Application", "Deploy", res); err != nil {
		return controller.Deployed{}, err
	}
	return s.deployed(ctx, m, name, nil)
}

// deployed reads back application app of model m with its units (only
// those named in only, when not nil) and their machines.
func (s *Session) deployed(ctx context.Context, m params.ModelSummary, app string, only []string) (controller.Deployed, error) {
	st, err := s.status(ctx, m)
	if err != nil {
		return controller.Deployed{}, err
	}
	var d controller.Deployed
	for _, a := range st.Applications {
		if a.Name == app {
			d.Application = a
		}
	}
	machines := map[string]bool{}
	for _, u := range st.Units {
		if u.Application == app && (only == nil || slices.Contains(only, u.Name)) {
			d.Units = append(d.Units, u)
			machines[u.Machine] = true
		}
	}
	for _, mc := range st.Machines {
		if machines[mc.ID] {
			d.Machines = append(d.Machines, mc)
		}
	}
	return d, nil
}

// AddUnit adds opts.NumUnits units (0 means 1) to an application
// (Application.AddUnits on the model connection): model write. The
// result holds the application and only the new units and their
// machines.
func (s *Session) AddUnit(ctx context.Context, model, application string, opts controller.AddUnitOptions) (controller.Deployed, error) {
	if err := models.ValidateApplicationName(application); err != nil {
		return controller.Deployed{}, err
	}
	m, err := s.resolve(ctx, model)
	if err != nil {
		return controller.Deployed{}, err
	}
	n := opts.NumUnits
	if n == 0 {
		n = 1
	}
	var res params.AddApplicationUnitsResults
	args := params.AddApplicationUnits{ApplicationName: application, NumUnits: n, Placement: []*params.Placement{}}
	if err := s.modelCall(ctx, m.UUID, "Application", "AddUnits", args, &res); err != nil {
		return controller.Deployed{}, err
	}
	return s.deployed(ctx, m, application, append([]string{}, res.Units...))
}

// RemoveUnit removes a unit and its machine (Application.DestroyUnit on
// the model connection): model write.
func (s *Session) RemoveUnit(ctx context.Context, model, unit string) error {
	if _, _, err := models.ParseUnitName(unit); err != nil {
		return err
	}
	m, err := s.resolve(ctx, model)
	if err != nil {
		return err
	}
	var res params.DestroyUnitResults
	args := params.DestroyUnitsParams{Units: []params.DestroyUnitParams{{UnitTag: params.UnitTag(unit)}}}
	if err := s.modelCall(ctx, m.UUID, "Application", "DestroyUnit", args, &res); err != nil {
		return err
	}
	if err := oneResult("Application", "DestroyUnit", len(res.Results)); err != nil {
		return err
	}
	return fromParams(res.Results[0].Error)
}

// RemoveApplication removes an application with its units and their
// machines (Application.DestroyApplication on the model connection):
// model write.
func (s *Session) RemoveApplication(ctx context.Context, model, application string) error {
	if err := models.ValidateApplicationName(application); err != nil {
		return err
	}
	m, err := s.resolve(ctx, model)
	if err != nil {
		return err
	}
	var res params.DestroyApplicationResults
	args := params.DestroyApplicationsParams{Applications: []params.DestroyApplicationParams{{ApplicationTag: params.ApplicationTag(application)}}}
	if err := s.modelCall(ctx, m.UUID, "Application", "DestroyApplication", args, &res); err != nil {
		return err
	}
	if err := oneResult("Application", "DestroyApplication", len(res.Results)); err != nil {
		return err
	}
	return fromParams(res.Results[0].Error)
}
