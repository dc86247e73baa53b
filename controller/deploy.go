package controller

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/provider"
)

// cleanupTimeout bounds provider calls that undo a failed operation after
// the caller's context is gone.
const cleanupTimeout = 2 * time.Minute

// DeployOptions are Deploy's optional settings.
type DeployOptions struct {
	// Name is the application name; "" means the charm name.
	Name string
	// NumUnits is how many units (each on its own machine); 0 means 1.
	NumUnits int
}

// Deployed is what Deploy returns.
type Deployed struct {
	Application models.Application
	Units       []models.Unit
	Machines    []models.Machine
}

// Deploy deploys a charm into a model as an application with
// opts.NumUnits units, each on a new machine the provider starts. It needs
// model write. Every machine is recorded (pending) before the provider
// starts it, and marked started right after, in a write that checks again
// that the model and the application still take units. If the provider
// fails, every machine started for the call is stopped and the
// application, units and machines are removed, so a failed deploy leaves
// nothing behind; the error wraps the provider's. If the model is
// destroyed meanwhile, Deploy fails with herd.ErrFailedPrecondition
// ("model ... is dying") and what it made is left to that destroy to stop
// and remove. A machine that cannot be stopped again keeps its row (with
// the error), so nothing runs that no row leads to.
func (s *Session) Deploy(ctx context.Context, model, charm string, opts DeployOptions) (Deployed, error) {
	if err := models.ValidateCharmName(charm); err != nil {
		return Deployed{}, err
	}
	name := opts.Name
	if name == "" {
		name = charm
	}
	if err := models.ValidateApplicationName(name); err != nil {
		return Deployed{}, err
	}
	n, err := unitCount(opts.NumUnits)
	if err != nil {
		return Deployed{}, err
	}
	var d Deployed
	err = s.update(ctx, func(t *state.Txn, w caller) error {
		d = Deployed{}
		m, _, err := s.modelFor(t, w, model, acl.Write)
		if err != nil {
			return err
		}
		if err := takesUnits(m, nil); err != nil {
			return err
		}
		if _, ok := state.Get[models.Application](t, state.TableApplications, state.IndexID, m.UUID, name); ok {
			return herd.Errorf(herd.ErrAlreadyExists, "application %q already exists", name)
		}
		d.Application = models.Application{ModelUUID: m.UUID, Name: name, Charm: charm, Life: models.Alive}
		return planUnits(t, &m, &d, n)
	})
	if err != nil {
		return Deployed{}, err
	}
	if err := s.provision(ctx, &d, true); err != nil {
		return Deployed{}, err
	}
	s.c.opts.Logger.Info("deployed", "application", d.Application.Name, "units", len(d.Units), "by", s.user)
	return d, nil
}

// takesUnits says whether a model, and an application in it when app is
// not nil, may take new units: neither may be dying.
func takesUnits(m models.Model, app *models.Application) error {
	if m.Life != models.Alive {
		return herd.Errorf(herd.ErrFailedPrecondition, "model %q is %s", m.FullName(), m.Life)
	}
	if app != nil && app.Dying() {
		return herd.Errorf(herd.ErrFailedPrecondition, "application %q is being removed", app.Name)
	}
	return nil
}

// wanted reads, in t, the row of machine mc planned for application app
// (found says whether it is still there) and whether the model and the
// application still take units: going is nil if so, else says which of
// them is dying or gone.
func wanted(t *state.Txn, mc models.Machine, app string) (cur models.Machine, found bool, going error) {
	cur, found = state.Get[models.Machine](t, state.TableMachines, state.IndexID, mc.ModelUUID, mc.ID)
	m, ok := state.Get[models.Model](t, state.TableModels, state.IndexID, mc.ModelUUID)
	if !ok {
		return cur, found, herd.Errorf(herd.ErrFailedPrecondition, "the model was removed meanwhile")
	}
	a, ok := state.Get[models.Application](t, state.TableApplications, state.IndexID, mc.ModelUUID, app)
	if !ok {
		return cur, found, herd.Errorf(herd.ErrFailedPrecondition, "application %q was removed meanwhile", app)
	}
	return cur, found, takesUnits(m, &a)
}

// provision starts the machines planned in d, one at a time, and records
// each as the provider reports it. Before each start it checks that the
// machine is still wanted; after each start one write records the
// instance on the machine's row, if the row is still there, and checks
// again that the model and the application take units. So a destroy that
// began meanwhile either finds the row with the instance on it and stops
// the instance itself, or removed the row before, and then provision
// stops the instance. On failure provision returns the error after
// undoing the call (the application's row too when newApp), except that
// when the model or the application is being destroyed it leaves the rows
// it made, and the instances they record, to that destroy (which reads
// the rows until none is left), rather than stop the same machines at the
// same time.
func (s *Session) provision(ctx context.Context, d *Deployed, newApp bool) error {
	app := d.Application
	failed := func(err error) error {
		return herd.Wrap(herd.ErrFailedPrecondition, err, fmt.Sprintf("cannot deploy %q", app.Name))
	}
	for i, mc := range d.Machines {
		t, _, err := s.read(ctx)
		if err != nil {
			s.undoDeploy(ctx, *d, d.Machines[:i], newApp, true)
			return err
		}
		if _, found, going := wanted(t, mc, app.Name); going != nil {
			return failed(going)
		} else if !found {
			s.undoDeploy(ctx, *d, d.Machines[:i], newApp, true)
			return failed(herd.Errorf(herd.ErrFailedPrecondition, "machine %s was removed meanwhile", mc.ID))
		}
		inst, err := s.c.prov.StartInstance(ctx, s.c.machineSpec(mc.ModelUUID, mc.ID))
		if err != nil {
			// The start may have taken effect all the same (a context
			// that ended while the provider worked): undo stops it too.
			s.undoDeploy(ctx, *d, d.Machines[:i+1], newApp, true)
			return herd.Wrap(herd.ErrFailedPrecondition, err, fmt.Sprintf("cannot deploy %q: machine %s", app.Name, mc.ID))
		}
		var found bool
		var going error
		err = s.update(ctx, func(t *state.Txn, _ caller) error {
			var cur models.Machine
			cur, found, going = wanted(t, mc, app.Name)
			if !found {
				return nil
			}
			// Recorded even when the model or the application is going:
			// the row is what leads the destroy to the instance.
			cur.InstanceID, cur.Status, cur.Message = inst.ID, machineStatus(inst.Status), ""
			return t.Insert(state.TableMachines, cur)
		})
		switch {
		case err != nil:
			s.undoDeploy(ctx, *d, d.Machines[:i+1], newApp, true)
			return failed(err)
		case found && going != nil:
			return failed(going)
		case going != nil:
			// The destroy removed the row, perhaps before the instance
			// was there: stop it; the destroy removes the rest.
			s.undoDeploy(ctx, *d, []models.Machine{mc}, newApp, false)
			return failed(going)
		case !found:
			s.undoDeploy(ctx, *d, d.Machines[:i+1], newApp, true)
			return failed(herd.Errorf(herd.ErrFailedPrecondition, "machine %s was removed meanwhile", mc.ID))
		}
		d.Machines[i].InstanceID, d.Machines[i].Status = inst.ID, machineStatus(inst.Status)
	}
	return nil
}

func machineStatus(st provider.Status) models.Status {
	switch st {
	case provider.Running:
		return models.Started
	case provider.Stopped:
		return models.Stopped
	case provider.Error:
		return models.Error
	}
	return models.Pending
}

// unitCount checks a requested number of units; 0 means 1.
func unitCount(n int) (int, error) {
	if n == 0 {
		n = 1
	}
	if n < 0 || n > 1000 {
		return 0, herd.Errorf(herd.ErrInvalid, "number of units %d not valid: want 1 to 1000", n)
	}
	return n, nil
}

// planUnits records n more units of d.Application, each on a new pending
// machine, and the application, with the model's machine counter and the
// application's unit counter moved on (numbers are never reused).
func planUnits(t *state.Txn, m *models.Model, d *Deployed, n int) error {
	app := &d.Application
	machines, _ := state.Get[state.Sequence](t, state.TableSequences, state.IndexID, m.UUID, state.MachineSequence)
	units, _ := state.Get[state.Sequence](t, state.TableSequences, state.IndexID, m.UUID, state.UnitSequence(app.Name))
	machines.ModelUUID, machines.Name = m.UUID, state.MachineSequence
	units.ModelUUID, units.Name = m.UUID, state.UnitSequence(app.Name)
	for range n {
		mid := strconv.Itoa(machines.Next)
		machines.Next++
		mc := models.Machine{ModelUUID: m.UUID, ID: mid, Status: models.Pending}
		u := models.Unit{ModelUUID: m.UUID, Name: fmt.Sprintf("%s/%d", app.Name, units.Next), Application: app.Name, Machine: mid}
		units.Next++
		d.Machines = append(d.Machines, mc)
		d.Units = append(d.Units, u)
		if err := t.Insert(state.TableMachines, mc); err != nil {
			return err
		}
		if err := t.Insert(state.TableUnits, u); err != nil {
			return err
		}
	}
	if err := t.Insert(state.TableSequences, machines); err != nil {
		return err
	}
	if err := t.Insert(state.TableSequences, units); err != nil {
		return err
	}
	return t.Insert(state.TableApplications, *app)
}

// undoDeploy stops the machines of d whose start was attempted (a start
// that failed may have taken effect) and, when rows, removes the rows d
// planned: the application's own too when newApp and no other call has
// added units to it meanwhile. A machine that cannot be stopped keeps its
// row and unit, marked with the error (its row is put back if a destroy
// removed it), so that the instance is not lost. It runs even when ctx is
// cancelled, within cleanupTimeout; what it cannot do it logs.
func (s *Session) undoDeploy(ctx context.Context, d Deployed, attempted []models.Machine, newApp, rows bool) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	kept := map[string]string{} // machine ID: why it could not be stopped
	for _, mc := range attempted {
		if err := s.c.prov.StopInstance(cctx, s.c.machineSpec(mc.ModelUUID, mc.ID)); err != nil {
			s.c.opts.Logger.Warn("cannot stop machine of failed deploy", "machine", mc.ID, "err", err)
			kept[mc.ID] = "cannot stop after a failed deploy: " + err.Error()
		}
	}
	if !rows && len(kept) == 0 {
		return
	}
	app := d.Application
	err := s.update(cctx, func(t *state.Txn, _ caller) error {
		for _, u := range d.Units {
			if _, ok := kept[u.Machine]; ok || !rows {
				continue
			}
			if _, err := t.DeleteAll(state.TableUnits, state.IndexID, u.ModelUUID, u.Name); err != nil {
				return err
			}
		}
		for _, mc := range d.Machines {
			msg, ok := kept[mc.ID]
			if !ok && !rows {
				continue
			}
			if !ok {
				if _, err := t.DeleteAll(state.TableMachines, state.IndexID, mc.ModelUUID, mc.ID); err != nil {
					return err
				}
				continue
			}
			if _, ok := state.Get[models.Model](t, state.TableModels, state.IndexID, mc.ModelUUID); !ok {
				continue // logged below
			}
			cur, ok := state.Get[models.Machine](t, state.TableMachines, state.IndexID, mc.ModelUUID, mc.ID)
			if !ok {
				cur = mc
			}
			cur.Status, cur.Message = models.Error, msg
			if err := t.Insert(state.TableMachines, cur); err != nil {
				return err
			}
		}
		if rows && newApp && len(unitsOf(t, app.ModelUUID, app.Name)) == 0 {
			if _, err := t.DeleteAll(state.TableApplications, state.IndexID, app.ModelUUID, app.Name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.c.opts.Logger.Error("cannot remove rows of failed deploy", "application", app.Name, "err", err)
	}
	if len(kept) > 0 {
		s.c.opts.Logger.Error("failed deploy left machines it could not stop", "application", app.Name, "machines", len(kept))
	}
}

// DestroyModel releases every machine of a model through the provider,
// removes the model's space and then the model (model admin or
// superuser). The model is marked dying first, so it takes no new units;
// then the machines are stopped and removed one by one, reading the
// model's machines again until none is left, so a machine a deploy
// recorded meanwhile is released too. If the provider fails, the model
// stays `dying` with the error recorded, and calling DestroyModel again
// resumes.
func (s *Session) DestroyModel(ctx context.Context, model string) error {
	var m models.Model
	err := s.update(ctx, func(t *state.Txn, w caller) error {
		var err error
		m, _, err = s.modelFor(t, w, model, acl.Admin)
		if err != nil {
			return err
		}
		m.Life, m.Status = models.Dying, models.Destroying
		return t.Insert(state.TableModels, m)
	})
	if err != nil {
		return err
	}
	if err := s.releaseModel(ctx, m); err != nil {
		return err
	}
	err = s.update(ctx, func(t *state.Txn, _ caller) error {
		if left := state.List[models.Machine](t, state.TableMachines, state.IndexModel, m.UUID); len(left) > 0 {
			// Cannot happen while the model is dying: no deploy adds
			// machines to it. Say so rather than lose them.
			return herd.Errorf(herd.ErrFailedPrecondition, "cannot destroy model %s: %d machines appeared meanwhile", m.FullName(), len(left))
		}
		for _, table := range []state.Table{state.TableGrants, state.TableApplications, state.TableUnits, state.TableSequences} {
			if _, err := t.DeleteAll(table, state.IndexModel, m.UUID); err != nil {
				return err
			}
		}
		_, err := t.DeleteAll(state.TableModels, state.IndexID, m.UUID)
		return err
	})
	if err != nil {
		return err
	}
	s.c.opts.Logger.Info("model destroyed", "model", m.FullName(), "by", s.user)
	return nil
}

// releaseModel releases the model's machines until none is left, and
// removes the space; on failure it records the error on the model, which
// stays dying.
func (s *Session) releaseModel(ctx context.Context, m models.Model) error {
	fail := func(err error) error {
		err = herd.Wrap(herd.ErrFailedPrecondition, err, "cannot destroy model "+m.FullName())
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		rerr := s.update(cctx, func(t *state.Txn, _ caller) error {
			cur, ok := state.Get[models.Model](t, state.TableModels, state.IndexID, m.UUID)
			if !ok {
				return nil
			}
			cur.StatusMessage = err.Error()
			return t.Insert(state.TableModels, cur)
		})
		if rerr != nil {
			s.c.opts.Logger.Warn("cannot record why a model destroy failed", "model", m.FullName(), "err", rerr)
		}
		return err
	}
	for {
		t, _, err := s.read(ctx)
		if err != nil {
			return fail(err)
		}
		machines := state.List[models.Machine](t, state.TableMachines, state.IndexModel, m.UUID)
		if len(machines) == 0 {
			break
		}
		for _, mc := range machines {
			if _, err := s.releaseMachine(ctx, mc); err != nil {
				return fail(err)
			}
		}
	}
	if err := s.c.prov.DestroyModel(ctx, s.c.modelSpec(m)); err != nil {
		return fail(err)
	}
	return nil
}

// pendingStopRetries is how many times releaseMachine asks again to stop
// a machine still pending, waiting twice as long each time from 100ms
// (about 3s in all): its start may be under way, and LXD refuses to stop
// an instance it is still creating or starting ("instance is busy").
const pendingStopRetries = 5

// releaseMachine stops mc's instance and then removes mc's row with the
// units on it, unless the row changed meanwhile: then a deploy recorded
// an instance it started after the stop was asked for, and released is
// false so that the caller reads the row again and stops that. A failed
// stop is recorded on the machine and returned; for a machine still
// pending, whose start may be under way, it is retried a few times first
// (see pendingStopRetries).
func (s *Session) releaseMachine(ctx context.Context, mc models.Machine) (released bool, err error) {
	wait := 100 * time.Millisecond
	for try := 0; ; try++ {
		err = s.c.prov.StopInstance(ctx, s.c.machineSpec(mc.ModelUUID, mc.ID))
		if err == nil || mc.Status != models.Pending || mc.InstanceID != "" || try == pendingStopRetries {
			break
		}
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
		}
		timer.Stop()
		wait *= 2
		t, _, rerr := s.read(ctx)
		if rerr != nil {
			break
		}
		if cur, ok := state.Get[models.Machine](t, state.TableMachines, state.IndexID, mc.ModelUUID, mc.ID); !ok || cur != mc {
			return false, nil // gone or changed: the caller reads it again
		}
	}
	if err != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		rerr := s.update(cctx, func(t *state.Txn, _ caller) error {
			cur, ok := state.Get[models.Machine](t, state.TableMachines, state.IndexID, mc.ModelUUID, mc.ID)
			if !ok {
				return nil
			}
			cur.Status, cur.Message = models.Error, "cannot stop: "+err.Error()
			return t.Insert(state.TableMachines, cur)
		})
		if rerr != nil {
			s.c.opts.Logger.Warn("cannot record a failed stop", "machine", mc.ID, "err", rerr)
		}
		return false, fmt.Errorf("machine %s: %w", mc.ID, err)
	}
	err = s.update(ctx, func(t *state.Txn, _ caller) error {
		released = false
		cur, ok := state.Get[models.Machine](t, state.TableMachines, state.IndexID, mc.ModelUUID, mc.ID)
		if ok && cur != mc {
			return nil
		}
		released = true
		for _, u := range state.List[models.Unit](t, state.TableUnits, state.IndexModel, mc.ModelUUID) {
			if u.Machine != mc.ID {
				continue
			}
			if _, err := t.DeleteAll(state.TableUnits, state.IndexID, u.ModelUUID, u.Name); err != nil {
				return err
			}
		}
		_, err := t.DeleteAll(state.TableMachines, state.IndexID, mc.ModelUUID, mc.ID)
		return err
	})
	return released, err
}

// DestroyController destroys every model (releasing their machines), then
// the controller's own machine, and closes the controller (superuser
// only). A provider failure stops it part way; calling it again resumes.
func (s *Session) DestroyController(ctx context.Context) error {
	t, w, err := s.read(ctx)
	if err != nil {
		return err
	}
	if err := may(t, w, acl.ControllerAccess, ""); err != nil {
		return err
	}
	for _, m := range state.List[models.Model](t, state.TableModels, state.IndexID) {
		if err := s.DestroyModel(ctx, m.FullName()); err != nil {
			return err
		}
	}
	if err := s.c.prov.DestroyController(ctx, provider.ControllerSpec{UUID: s.c.info.UUID, Name: s.c.info.Name}); err != nil {
		return herd.Wrap(herd.ErrFailedPrecondition, err, "cannot destroy controller "+s.c.info.Name)
	}
	s.c.opts.Logger.Info("controller destroyed", "controller", s.c.info.Name, "by", w.name)
	return s.c.Close()
}
