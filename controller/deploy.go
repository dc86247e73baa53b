package controller

import (
	"context"
	"fmt"
	"strconv"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/provider"
)

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
// opts.NumUnits units, each on a new machine, as `juju deploy` does: it
// needs model write, records the application, its units and their
// machines (pending) in one write and returns them; the provisioner then
// starts the machines (see Provisioning). Wait for them with WaitStarted,
// or follow them with Watch; a machine the provider cannot start shows
// status error with the provider's message. A model being destroyed takes
// no new application (herd.ErrFailedPrecondition).
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

// DestroyModel destroys a model, as `juju destroy-model` does (model
// admin or superuser): it marks the model and every machine and
// application in it dying in one write, and returns; from then on the
// model takes no new units, and the provisioner stops its machines,
// removes its space at the provider and then the model (see
// Provisioning). Wait for that with WaitRemoved. If the provider fails,
// the model stays dying with the error in its status message while the
// provisioner tries again; calling DestroyModel again retries at once.
func (s *Session) DestroyModel(ctx context.Context, model string) error {
	var m models.Model
	err := s.update(ctx, func(t *state.Txn, w caller) error {
		var err error
		m, _, err = s.modelFor(t, w, model, acl.Admin)
		if err != nil {
			return err
		}
		return markModelDying(t, m)
	})
	if err != nil {
		return err
	}
	s.c.provisioner.retryNow(m.UUID)
	s.c.opts.Logger.Info("model destroying", "model", m.FullName(), "by", s.user)
	return nil
}

// markModelDying marks m, its applications and its machines dying in t.
func markModelDying(t *state.Txn, m models.Model) error {
	if m.Life == models.Alive {
		m.Life, m.Status = models.Dying, models.Destroying
		if err := t.Insert(state.TableModels, m); err != nil {
			return err
		}
	}
	for _, a := range state.List[models.Application](t, state.TableApplications, state.IndexModel, m.UUID) {
		if !a.Dying() {
			a.Life = models.Dying
			if err := t.Insert(state.TableApplications, a); err != nil {
				return err
			}
		}
	}
	for _, mc := range state.List[models.Machine](t, state.TableMachines, state.IndexModel, m.UUID) {
		if !mc.Dying() {
			mc.Life = models.Dying
			if err := t.Insert(state.TableMachines, mc); err != nil {
				return err
			}
		}
	}
	return nil
}

// DestroyController destroys every model, waits until the provisioner
// has released their machines and removed them, then removes the
// controller's own machine and closes the controller (superuser only).
// If ctx ends first, or the provider fails, the models stay dying and
// the provisioner goes on; calling it again resumes.
func (s *Session) DestroyController(ctx context.Context) error {
	var uuids []string
	err := s.update(ctx, func(t *state.Txn, w caller) error {
		if err := may(t, w, acl.ControllerAccess, ""); err != nil {
			return err
		}
		uuids = uuids[:0]
		for _, m := range state.List[models.Model](t, state.TableModels, state.IndexID) {
			if err := markModelDying(t, m); err != nil {
				return err
			}
			uuids = append(uuids, m.UUID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, uuid := range uuids {
		s.c.provisioner.retryNow(uuid)
	}
	var why string
	err = s.c.waitUntil(ctx, func(t *state.Txn) bool {
		ms := state.List[models.Model](t, state.TableModels, state.IndexID)
		if len(ms) > 0 {
			why = ms[0].StatusMessage
		}
		return len(ms) == 0
	})
	if err != nil {
		if why != "" {
			err = herd.Wrap(herd.ErrFailedPrecondition, err, "cannot destroy controller "+s.c.info.Name+": "+why)
		}
		return err
	}
	if err := s.c.prov.DestroyController(ctx, provider.ControllerSpec{UUID: s.c.info.UUID, Name: s.c.info.Name}); err != nil {
		return herd.Wrap(herd.ErrFailedPrecondition, err, "cannot destroy controller "+s.c.info.Name)
	}
	if s.c.st.Follower() != nil {
		// Other controller processes share the state: record that it is
		// destroyed, and each of them closes as it follows the commit.
		s.c.destroying.Store(true)
		err := s.c.update(ctx, func(t *state.Txn) error {
			info, ok := state.Get[state.Controller](t, state.TableController, state.IndexID, "controller")
			if !ok {
				return herd.Errorf(herd.ErrNotFound, "store holds no controller")
			}
			info.Destroyed = true
			return t.Insert(state.TableController, info)
		})
		if err != nil {
			return err
		}
	}
	s.c.opts.Logger.Info("controller destroyed", "controller", s.c.info.Name, "by", s.user)
	return s.c.Close()
}
