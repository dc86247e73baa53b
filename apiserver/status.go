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
	return wireStatus(st, k.c.srv.opts.Now(), k.c.srv.ctrl.Retrying), nil
}

func wireStatus(st controller.ModelStatus, now time.Time, retrying func(models.Machine) bool) params.FullStatus {
	m := st.Model
	since := m.Created
	ms := detailed(string(m.Status), m.StatusMessage, &since)
	ms.Life = lifeIfNotAlive(m.Life)
	fs := params.NewFullStatus(params.ModelStatusInfo{
		Name:        m.Name,
		Type:        modelType,
		CloudTag:    params.CloudTag(m.Cloud),
		CloudRegion: m.Region,
		Version:     ServerVersion,
		ModelStatus: ms,
		SLA:         "unsupported",
	})
	fs.Relations = []params.RelationStatus{}
	fs.ControllerTimestamp = &now
	machines := map[string]models.Machine{}
	for _, mc := range st.Machines {
		machines[mc.ID] = mc
		agent, instance := machineStatus(mc, retrying(mc))
		fs.Machines[mc.ID] = params.MachineStatus{
			AgentStatus:        agent.detailed(),
			InstanceStatus:     instance.detailed(),
			ModificationStatus: detailed("idle", "", nil),
			InstanceID:         mc.InstanceID,
			ID:                 mc.ID,
			Containers:         map[string]params.MachineStatus{},
			Jobs:               []string{"JobHostUnits"},
		}
	}
	dyingApps := map[string]bool{}
	for _, a := range st.Applications {
		dyingApps[a.Name] = a.Dying()
		fs.Applications[a.Name] = params.ApplicationStatus{
			Charm:            "ch:" + a.Charm,
			Life:             lifeIfNotAlive(a.Life),
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
		agent, workload := unitStatus(machines[u.Machine], dyingApps[u.Application])
		app.Units[u.Name] = params.UnitStatus{
			AgentStatus:    agent.detailed(),
			WorkloadStatus: workload.detailed(),
			Machine:        u.Machine,
			OpenedPorts:    []string{},
			Charm:          app.Charm,
			Subordinates:   map[string]params.UnitStatus{},
		}
	}
	return fs
}

// wstatus is one status as FullStatus and the AllWatcher both send it.
type wstatus struct {
	current, message string
	data             map[string]any
	life             models.Life // "" for alive, which Juju omits
}

func (w wstatus) detailed() params.DetailedStatus {
	d := detailed(w.current, w.message, nil)
	if w.data != nil {
		d.Data = w.data
	}
	d.Life = string(w.life)
	return d
}

func (w wstatus) info() params.StatusInfo {
	return params.StatusInfo{Current: w.current, Message: w.message, Data: w.data}
}

// machineStatus maps a Herd machine to Juju's agent and instance
// statuses, as Juju's provisioner sets them: a machine waiting for the
// provisioner is agent "pending", instance "pending"; one being started
// is instance "allocating"; a started one agent "started", instance
// "running"; one the provider could not start is instance "provisioning
// error" with the provider's message. Herd adds to that status's data
// what Juju keeps to itself: "attempts" (failed starts in a row) and, as
// Juju's retry-provisioning sets it, "transient": true while the
// provisioner will try again by itself (retrying). A dying machine's
// agent status has life "dying", as Juju's.
func machineStatus(mc models.Machine, retrying bool) (agent, instance wstatus) {
	switch mc.Status {
	case models.Started:
		agent, instance = wstatus{current: "started"}, wstatus{current: "running"}
	case models.Stopped:
		agent, instance = wstatus{current: "down"}, wstatus{current: "stopped"}
	case models.Allocating:
		agent, instance = wstatus{current: "pending"}, wstatus{current: "allocating"}
	case models.Error:
		agent, instance = wstatus{current: "pending"}, wstatus{current: "provisioning error", data: map[string]any{}}
		if mc.InstanceID != "" {
			// A stop that failed: the instance is there.
			agent.current = "error"
		}
		if mc.Attempts > 0 {
			instance.data["attempts"] = mc.Attempts
		}
		if retrying {
			instance.data["transient"] = true
		}
	default:
		agent, instance = wstatus{current: "pending"}, wstatus{current: "pending"}
	}
	instance.message = mc.Message
	if mc.Dying() {
		agent.life = models.Dying
	}
	return agent, instance
}

// unitStatus is a unit's agent and workload statuses, which Herd derives
// from its machine's (it runs no unit agents): "allocating" and
// "waiting" ("waiting for machine", Juju's words) until the machine is
// started, then "idle" and "unknown". A unit whose machine or application
// is being removed is dying.
func unitStatus(mc models.Machine, appDying bool) (agent, workload wstatus) {
	agent, workload = wstatus{current: "allocating"}, wstatus{current: "waiting", message: "waiting for machine"}
	if mc.Status == models.Started {
		agent, workload = wstatus{current: "idle"}, wstatus{current: "unknown"}
	}
	if mc.Dying() || appDying {
		agent.life = models.Dying
	}
	return agent, workload
}

// lifeIfNotAlive is a life as Juju's FullStatus sends it: "" for alive.
func lifeIfNotAlive(l models.Life) string {
	if l == models.Alive {
		return ""
	}
	return string(l)
}

func detailed(status, info string, since *time.Time) params.DetailedStatus {
	return params.DetailedStatus{Status: status, Info: info, Data: map[string]any{}, Since: since}
}
