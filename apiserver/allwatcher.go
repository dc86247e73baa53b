package apiserver

import (
	"context"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/internal/params"
	"github.com/herd-project/herd/internal/rpc"
	"github.com/herd-project/herd/models"
)

// Client.WatchAll and the AllWatcher facade (v3), on a model connection:
// Juju's way of following a model (apiserver/facades/client/client
// WatchAll, apiserver/watcher.go SrvAllWatcher). WatchAll opens a
// Session.Watch of the connection's model (which checks read access, and
// checks it again at every commit) and returns its id; AllWatcher.Next,
// called with that id as the request's "id", gives the model as it is,
// then the deltas of each commit that changed it; AllWatcher.Stop ends it.
// The API layer translates and never decides: every delta comes from the
// Session's watcher, every refusal is the Session's.
func init() {
	serve("AllWatcher", map[string]method{"Next": allWatcherNext, "Stop": allWatcherStop})
}

// MaxWatchers bounds the watchers one connection holds at once (Herd's
// addition: Juju has no bound). Each holds up to the controller's
// WatchBuffer unread batches.
const MaxWatchers = 64

// Juju's errors for a watcher id the connection does not hold and for a
// Next cut short by Stop (apiserver/errors ErrUnknownWatcher,
// core/multiwatcher NewErrStopped).
var (
	errUnknownWatcher = &rpc.Error{Message: "unknown watcher id", Code: rpc.CodeNotFound}
	errWatcherStopped = &rpc.Error{Message: "watcher was stopped"}
)

// watchers are a connection's watchers by id. Ids are the connection's
// own ("1", "2", ..., as Juju's per-connection resources): an id is
// nobody else's business, and another connection's id is not found.
type watchers struct {
	mu     sync.Mutex
	last   int
	byID   map[string]*allWatcher
	closed bool // the connection has closed: no more watchers
}

// add registers w under a fresh id; it refuses once the connection has
// closed or holds MaxWatchers.
func (ws *watchers) add(w *allWatcher) (string, error) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.closed {
		return "", herd.Errorf(herd.ErrClosed, "connection is closing")
	}
	if len(ws.byID) >= MaxWatchers {
		return "", herd.Errorf(herd.ErrFailedPrecondition, "too many watchers on this connection (at most %d): stop one first", MaxWatchers)
	}
	if ws.byID == nil {
		ws.byID = map[string]*allWatcher{}
	}
	ws.last++
	id := strconv.Itoa(ws.last)
	ws.byID[id] = w
	return id, nil
}

func (ws *watchers) get(id string) *allWatcher {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return ws.byID[id]
}

func (ws *watchers) remove(id string) *allWatcher {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	w := ws.byID[id]
	delete(ws.byID, id)
	return w
}

// closeAll stops every watcher; it runs when the connection has closed.
func (ws *watchers) closeAll() {
	ws.mu.Lock()
	all := ws.byID
	ws.byID, ws.closed = nil, true
	ws.mu.Unlock()
	for _, w := range all {
		w.stop()
	}
}

// watchOpened, when set (by tests), sees every Session watcher WatchAll
// opens.
var watchOpened func(*controller.Watcher)

// allWatcher is one AllWatcher: a Session watcher and what the
// translation remembers of the model.
type allWatcher struct {
	w        *controller.Watcher
	turn     chan struct{} // one Next at a time, so batches go out in order
	stopped  chan struct{} // closed by stop
	stopOnce sync.Once
	pending  []params.Delta // translated, not yet answered (under turn)

	// For units' statuses and lives, which Herd derives from their
	// machines' and applications': each machine, each application's
	// dying, and each unit, as last sent.
	machines map[string]models.Machine
	apps     map[string]bool
	units    map[string]models.Unit
	ctrlUUID string
	retrying func(models.Machine) bool
}

func (a *allWatcher) stop() {
	a.stopOnce.Do(func() {
		close(a.stopped)
		_ = a.w.Stop()
	})
}

// watchAll is Client.WatchAll.
func watchAll(ctx context.Context, k call) (any, error) {
	w, err := k.s.Watch(ctx, k.modelRef())
	if err != nil {
		return nil, err
	}
	a := &allWatcher{
		w: w, turn: make(chan struct{}, 1), stopped: make(chan struct{}),
		machines: map[string]models.Machine{}, apps: map[string]bool{}, units: map[string]models.Unit{},
		ctrlUUID: k.c.srv.ctrl.UUID(), retrying: k.c.srv.ctrl.Retrying,
	}
	id, err := k.c.watchers.add(a)
	if err != nil {
		_ = w.Stop()
		return nil, err
	}
	if watchOpened != nil {
		watchOpened(w)
	}
	return params.AllWatcherId{AllWatcherId: id}, nil
}

// allWatcherNext is AllWatcher.Next: it waits for the watcher's next
// batch and returns it as Juju's deltas. The request's deadline bounds
// the wait (the client gets code "deadline exceeded" and calls Next
// again: nothing is lost); a client that gives up on a Next itself loses
// that Next's answer, as with Juju. A watcher that fell behind, whose
// session ended or lost access, or whose model was destroyed (after its
// removal delta) returns the Session's error.
func allWatcherNext(ctx context.Context, k call) (any, error) {
	a := k.c.watchers.get(k.req.ObjectID)
	if a == nil {
		return nil, errUnknownWatcher
	}
	select {
	case a.turn <- struct{}{}:
	case <-a.stopped:
		return nil, errWatcherStopped
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-a.turn }()
	if len(a.pending) > 0 {
		deltas := a.pending
		a.pending = nil
		return params.AllWatcherNextResults{Deltas: deltas}, nil
	}
	// Stop waiting a little before the request's deadline, so that a
	// batch taken is answered, never dropped as a late result.
	wait := ctx
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		wait, cancel = context.WithDeadline(ctx, dl.Add(-nextMargin))
		defer cancel()
	}
	for {
		batch, err := a.w.Next(wait)
		if err != nil {
			select {
			case <-a.stopped:
				return nil, errWatcherStopped
			default:
			}
			return nil, err
		}
		deltas := a.translate(batch)
		if len(deltas) == 0 {
			continue
		}
		if ctx.Err() != nil {
			// Too late to answer: the next Next gives them.
			a.pending = deltas
			return nil, ctx.Err()
		}
		return params.AllWatcherNextResults{Deltas: deltas}, nil
	}
}

// nextMargin is how long before the request's deadline Next stops
// waiting for a batch.
const nextMargin = 50 * time.Millisecond

// allWatcherStop is AllWatcher.Stop: the watcher ends, a Next waiting on
// it returns Juju's "watcher was stopped", and its id is then unknown.
func allWatcherStop(ctx context.Context, k call) (any, error) {
	a := k.c.watchers.remove(k.req.ObjectID)
	if a == nil {
		return nil, errUnknownWatcher
	}
	a.stop()
	return nil, nil
}

// translate turns a batch into Juju's deltas, in the batch's order. A
// unit's statuses and life follow its machine's and its application's
// (as in FullStatus), so a machine that starts, stops or becomes dying,
// or an application that becomes dying, is followed by a change of each
// of its units the batch does not already carry.
func (a *allWatcher) translate(batch []controller.Delta) []params.Delta {
	restate := map[string]bool{}    // machines whose units' statuses changed
	restateApp := map[string]bool{} // applications whose units' lives changed
	for _, d := range batch {
		switch {
		case d.Machine != nil:
			mc := *d.Machine
			before, had := a.machines[mc.ID]
			if d.Removed {
				delete(a.machines, mc.ID)
				continue
			}
			a.machines[mc.ID] = mc
			if had && ((before.Status == models.Started) != (mc.Status == models.Started) || before.Dying() != mc.Dying()) {
				restate[mc.ID] = true
			}
		case d.Application != nil:
			ap := *d.Application
			before, had := a.apps[ap.Name]
			if d.Removed {
				delete(a.apps, ap.Name)
				continue
			}
			a.apps[ap.Name] = ap.Dying()
			if had && before != ap.Dying() {
				restateApp[ap.Name] = true
			}
		}
	}
	out := make([]params.Delta, 0, len(batch))
	inBatch := map[string]bool{}
	for _, d := range batch {
		var e params.EntityInfo
		switch {
		case d.Model != nil:
			e = a.model(*d.Model)
		case d.Application != nil:
			e = application(*d.Application)
		case d.Machine != nil:
			mc := *d.Machine
			e = machine(mc, a.retrying(mc))
		case d.Unit != nil:
			u := *d.Unit
			if d.Removed {
				delete(a.units, u.Name)
			} else {
				a.units[u.Name] = u
			}
			inBatch[u.Name] = true
			e = a.unit(u)
		default:
			continue
		}
		out = append(out, params.Delta{Removed: d.Removed, Entity: e})
	}
	if len(restate) > 0 || len(restateApp) > 0 {
		var names []string
		for name, u := range a.units {
			if (restate[u.Machine] || restateApp[u.Application]) && !inBatch[name] {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		for _, name := range names {
			out = append(out, params.Delta{Entity: a.unit(a.units[name])})
		}
	}
	return out
}

func life(l models.Life) string {
	if l == "" {
		return string(models.Alive)
	}
	return string(l)
}

// model is a model as Juju's ModelUpdate (state/allwatcher.go
// backingModel): owner and cloud by name, Juju's model type, the SLA
// Juju sends for none, a small config.
func (a *allWatcher) model(m models.Model) *params.ModelUpdate {
	st := params.StatusInfo{Current: string(m.Status), Message: m.StatusMessage}
	if !m.Created.IsZero() {
		t := m.Created
		st.Since = &t
	}
	return &params.ModelUpdate{
		ModelUUID:      m.UUID,
		Name:           m.Name,
		Life:           life(m.Life),
		Owner:          m.Owner,
		ControllerUUID: a.ctrlUUID,
		Config:         map[string]any{"name": m.Name, "type": m.Type, "uuid": m.UUID, "agent-version": ServerVersion},
		Status:         st,
		SLA:            params.ModelSLAInfo{Level: defaultSLA.Level},
		Type:           modelType,
		Cloud:          m.Cloud,
		CloudRegion:    m.Region,
		Version:        ServerVersion,
	}
}

// application is an application as Juju's ApplicationInfo. Herd records
// the charm's name; its status is Juju's "unset" (no charm sets one), which
// Juju's clients derive from the units.
func application(ap models.Application) *params.ApplicationInfo {
	return &params.ApplicationInfo{
		ModelUUID: ap.ModelUUID,
		Name:      ap.Name,
		CharmURL:  "ch:" + ap.Charm,
		Life:      life(ap.Life),
		Status:    params.StatusInfo{Current: "unset"},
	}
}

// machine is a machine as Juju's MachineInfo, its statuses as FullStatus
// maps them (with retrying for the "transient" flag).
func machine(mc models.Machine, retrying bool) *params.MachineInfo {
	agent, instance := machineStatus(mc, retrying)
	return &params.MachineInfo{
		ModelUUID:      mc.ModelUUID,
		Id:             mc.ID,
		InstanceId:     mc.InstanceID,
		AgentStatus:    agent.info(),
		InstanceStatus: instance.info(),
		Life:           life(mc.Life),
		Jobs:           []string{"JobHostUnits"},
	}
}

// unit is a unit as Juju's UnitInfo, its statuses and life as FullStatus
// derives them from its machine and application; no ports ([] as Juju
// sends), no charm URL (Juju has none until the unit's agent sets it).
func (a *allWatcher) unit(u models.Unit) *params.UnitInfo {
	agent, workload := unitStatus(a.machines[u.Machine], a.apps[u.Application])
	l := string(agent.life)
	if l == "" {
		l = string(models.Alive)
	}
	return &params.UnitInfo{
		ModelUUID:      u.ModelUUID,
		Name:           u.Name,
		Application:    u.Application,
		Life:           l,
		MachineId:      u.Machine,
		Ports:          []params.Port{},
		PortRanges:     []params.PortRange{},
		WorkloadStatus: workload.info(),
		AgentStatus:    agent.info(),
	}
}
