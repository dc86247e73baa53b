package apiserver

import (
	"context"
	"time"

	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/internal/params"
	"github.com/herd-project/herd/models"
)

// Client v6 to v8 (apiserver/facades/client/client): FullStatus and
// WatchAll (allwatcher.go), on a model connection.
func init() {
	serve("Client", map[string]method{"FullStatus": fullStatus, "WatchAll": watchAll})
}

// fullStatus is the connection's model as Juju's FullStatus. Patterns are
// not applied (Herd returns the whole model); Herd records no workload
// or agent status, so units and applications say what their machines say.
func fullStatus(ctx context.Context, k call) (any, error) {
	var p params.StatusParams
	if err := k.req.Decode(&p); err != nil {
		return nil, err
	}
	st, err := k.s.Status(ctx, k.modelRef())
	if err != nil {
		return nil, err
	}
	return wireStatus(st, k.c.srv.opts.Now()), nil
}

func wireStatus(st controller.ModelStatus, now time.Time) params.FullStatus {
	m := st.Model
	since := m.Created
	fs := params.NewFullStatus(params.ModelStatusInfo{
		Name:        m.Name,
		Type:        modelType,
		CloudTag:    params.CloudTag(m.Cloud),
		CloudRegion: m.Region,
		Version:     ServerVersion,
		ModelStatus: detailed(string(m.Status), m.StatusMessage, &since),
		SLA:         "unsupported",
	})
	fs.Relations = []params.RelationStatus{}
	fs.ControllerTimestamp = &now
	machines := map[string]models.Machine{}
	for _, mc := range st.Machines {
		machines[mc.ID] = mc
		agent, instance := machineStatus(mc.Status)
		fs.Machines[mc.ID] = params.MachineStatus{
			AgentStatus:        detailed(agent, "", nil),
			InstanceStatus:     detailed(instance, mc.Message, nil),
			ModificationStatus: detailed("idle", "", nil),
			InstanceID:         mc.InstanceID,
			ID:                 mc.ID,
			Containers:         map[string]params.MachineStatus{},
			Jobs:               []string{"JobHostUnits"},
		}
	}
	for _, a := range st.Applications {
		life := ""
		if a.Dying() {
			life = string(a.Life)
		}
		fs.Applications[a.Name] = params.ApplicationStatus{
			Charm:            "ch:" + a.Charm,
			Life:             life,
			Relations:        map[string][]string{},
			SubordinateTo:    []string{},
			Units:            map[string]params.UnitStatus{},
			MeterStatuses:    map[string]params.MeterStatus{},
			Status:           detailed("unknown", "", nil),
			EndpointBindings: map[string]string{},
		}
	}
	for _, u := range st.Units {
		app, ok := fs.Applications[u.Application]
		if !ok {
			continue
		}
		agent, workload := "allocating", "waiting"
		if machines[u.Machine].Status == models.Started {
			agent, workload = "idle", "unknown"
		}
		app.Units[u.Name] = params.UnitStatus{
			AgentStatus:    detailed(agent, "", nil),
			WorkloadStatus: detailed(workload, "", nil),
			Machine:        u.Machine,
			OpenedPorts:    []string{},
			Charm:          app.Charm,
			Subordinates:   map[string]params.UnitStatus{},
		}
	}
	return fs
}

// machineStatus maps a Herd machine status to Juju's agent and instance
// statuses.
func machineStatus(s models.Status) (agent, instance string) {
	switch s {
	case models.Started:
		return "started", "running"
	case models.Stopped:
		return "down", "stopped"
	case models.Error:
		return "pending", "provisioning error"
	}
	return "pending", "pending"
}

func detailed(status, info string, since *time.Time) params.DetailedStatus {
	return params.DetailedStatus{Status: status, Info: info, Data: map[string]any{}, Since: since}
}
