package controller

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	store "github.com/herd-project/herd/internal/state"
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
// model write. If the provider fails, every machine started for the call
// is stopped and the application, units and machines are removed, so a
// failed deploy leaves nothing behind; the error wraps the provider's.
func (s *Session) Deploy(ctx context.Context, model, charm string, opts DeployOptions) (Deployed, error) {
	d, err := s.planDeploy(ctx, model, charm, opts)
	if err != nil {
		return Deployed{}, err
	}
	if err := s.provision(ctx, &d, true); err != nil {
		return Deployed{}, err
	}
	s.c.opts.Logger.Info("deployed", "application", d.Application.Name, "units", len(d.Units), "by", s.user)
	return d, nil
}

// provision starts the machines planned in d and records what the provider
// says of them. On failure it undoes the plan (the application's row too
// when newApp) and returns the error.
func (s *Session) provision(ctx context.Context, d *Deployed, newApp bool) error {
	m := d.Application.ModelUUID
	var started []models.Machine
	for _, mc := range d.Machines {
		inst, err := s.c.prov.StartInstance(ctx, s.c.machineSpec(m, mc.ID))
		if err != nil {
			s.undoDeploy(ctx, *d, started, newApp)
			return herd.Wrap(herd.ErrFailedPrecondition, err, fmt.Sprintf("cannot deploy %q: machine %s", d.Application.Name, mc.ID))
		}
		mc.InstanceID, mc.Status = inst.ID, machineStatus(inst.Status)
		started = append(started, mc)
	}
	t := s.c.st.Write()
	defer t.Abort()
	for _, mc := range started {
		if _, ok := store.Get[models.Machine](t, store.TableMachines, store.IndexID, mc.ModelUUID, mc.ID); !ok {
			// The model or the application was removed while the
			// provider worked.
			t.Abort()
			s.undoDeploy(ctx, *d, started, newApp)
			return herd.Errorf(herd.ErrFailedPrecondition, "cannot deploy %q: the model or application was removed meanwhile", d.Application.Name)
		}
		if err := t.Insert(store.TableMachines, mc); err != nil {
			return err
		}
	}
	if err := t.Commit(); err != nil {
		s.undoDeploy(ctx, *d, started, newApp)
		return err
	}
	d.Machines = started
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

// planDeploy authorizes and records the application, its units and
// pending machines in one transaction.
func (s *Session) planDeploy(ctx context.Context, model, charm string, opts DeployOptions) (Deployed, error) {
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
	t, w, err := s.write(ctx)
	if err != nil {
		return Deployed{}, err
	}
	defer t.Abort()
	m, _, err := s.modelFor(t, w, model, acl.Write)
	if err != nil {
		return Deployed{}, err
	}
	if m.Life != models.Alive {
		return Deployed{}, herd.Errorf(herd.ErrFailedPrecondition, "model %q is %s", m.FullName(), m.Life)
	}
	if _, ok := store.Get[models.Application](t, store.TableApplications, store.IndexID, m.UUID, name); ok {
		return Deployed{}, herd.Errorf(herd.ErrAlreadyExists, "application %q already exists", name)
	}
	d := Deployed{Application: models.Application{ModelUUID: m.UUID, Name: name, Charm: charm, Life: models.Alive}}
	if err := planUnits(t, &m, &d, n); err != nil {
		return Deployed{}, err
	}
	return d, t.Commit()
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
// machine, and the application and model with their counters moved on.
func planUnits(t *store.Txn, m *models.Model, d *Deployed, n int) error {
	app := &d.Application
	for range n {
		mid := strconv.Itoa(m.NextMachine)
		m.NextMachine++
		mc := models.Machine{ModelUUID: m.UUID, ID: mid, Status: models.Pending}
		u := models.Unit{ModelUUID: m.UUID, Name: fmt.Sprintf("%s/%d", app.Name, app.NextUnit), Application: app.Name, Machine: mid}
		app.NextUnit++
		d.Machines = append(d.Machines, mc)
		d.Units = append(d.Units, u)
		if err := t.Insert(store.TableMachines, mc); err != nil {
			return err
		}
		if err := t.Insert(store.TableUnits, u); err != nil {
			return err
		}
	}
	if err := t.Insert(store.TableApplications, *app); err != nil {
		return err
	}
	return t.Insert(store.TableModels, *m)
}

// undoDeploy stops what was started and removes the rows d planned (the
// application's own only when newApp).
// It runs even when ctx is cancelled, within cleanupTimeout.
func (s *Session) undoDeploy(ctx context.Context, d Deployed, started []models.Machine, newApp bool) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	for _, mc := range started {
		if err := s.c.prov.StopInstance(cctx, s.c.machineSpec(mc.ModelUUID, mc.ID)); err != nil {
			s.c.opts.Logger.Warn("cannot stop machine of failed deploy", "machine", mc.ID, "err", err)
		}
	}
	t := s.c.st.Write()
	defer t.Abort()
	app := d.Application
	if newApp {
		_, _ = t.DeleteAll(store.TableApplications, store.IndexID, app.ModelUUID, app.Name)
	}
	for _, u := range d.Units {
		_ = t.Delete(store.TableUnits, u)
	}
	for _, mc := range d.Machines {
		_, _ = t.DeleteAll(store.TableMachines, store.IndexID, mc.ModelUUID, mc.ID)
	}
	if err := t.Commit(); err != nil {
		s.c.opts.Logger.Warn("cannot remove rows of failed deploy", "application", app.Name, "err", err)
	}
}

// DestroyModel releases every machine of a model through the provider,
// removes the model's space and then the model (model admin or
// superuser). If the provider fails, the model stays `dying` with the
// error recorded, and calling DestroyModel again resumes.
func (s *Session) DestroyModel(ctx context.Context, model string) error {
	m, machines, err := s.markDying(ctx, model)
	if err != nil {
		return err
	}
	if err := s.releaseModel(ctx, m, machines); err != nil {
		return err
	}
	t := s.c.st.Write()
	defer t.Abort()
	for _, table := range []store.Table{store.TableGrants, store.TableApplications, store.TableUnits, store.TableMachines} {
		if _, err := t.DeleteAll(table, store.IndexModel, m.UUID); err != nil {
			return err
		}
	}
	if _, err := t.DeleteAll(store.TableModels, store.IndexID, m.UUID); err != nil {
		return err
	}
	if err := t.Commit(); err != nil {
		return err
	}
	s.c.opts.Logger.Info("model destroyed", "model", m.FullName(), "by", s.user)
	return nil
}

func (s *Session) markDying(ctx context.Context, ref string) (models.Model, []models.Machine, error) {
	t, w, err := s.write(ctx)
	if err != nil {
		return models.Model{}, nil, err
	}
	defer t.Abort()
	m, _, err := s.modelFor(t, w, ref, acl.Admin)
	if err != nil {
		return models.Model{}, nil, err
	}
	m.Life, m.Status = models.Dying, models.Destroying
	if err := t.Insert(store.TableModels, m); err != nil {
		return models.Model{}, nil, err
	}
	machines := store.List[models.Machine](t, store.TableMachines, store.IndexModel, m.UUID)
	return m, machines, t.Commit()
}

// releaseModel stops the machines and removes the space; on failure it
// records the error on the model, which stays dying.
func (s *Session) releaseModel(ctx context.Context, m models.Model, machines []models.Machine) error {
	fail := func(err error) error {
		err = herd.Wrap(herd.ErrFailedPrecondition, err, "cannot destroy model "+m.FullName())
		t := s.c.st.Write()
		defer t.Abort()
		if cur, ok := store.Get[models.Model](t, store.TableModels, store.IndexID, m.UUID); ok {
			cur.StatusMessage = err.Error()
			if t.Insert(store.TableModels, cur) == nil {
				_ = t.Commit()
			}
		}
		return err
	}
	for _, mc := range machines {
		if err := s.c.prov.StopInstance(ctx, s.c.machineSpec(m.UUID, mc.ID)); err != nil {
			return fail(err)
		}
		t := s.c.st.Write()
		_, _ = t.DeleteAll(store.TableMachines, store.IndexID, m.UUID, mc.ID)
		err := t.Commit()
		t.Abort()
		if err != nil {
			return fail(err)
		}
	}
	if err := s.c.prov.DestroyModel(ctx, s.c.modelSpec(m)); err != nil {
		return fail(err)
	}
	return nil
}

// DestroyController destroys every model (releasing their machines), then
// the controller's own machine, and closes the controller (superuser
// only). A provider failure stops it part way; calling it again resumes.
func (s *Session) DestroyController(ctx context.Context) error {
	t, w, err := s.read(ctx)
	if err != nil {
		return err
	}
	if !w.superuser() {
		return herd.Denied()
	}
	for _, m := range store.List[models.Model](t, store.TableModels, store.IndexID) {
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
