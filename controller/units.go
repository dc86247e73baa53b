package controller

import (
	"context"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/models"
)

// AddUnitOptions are AddUnit's optional settings.
type AddUnitOptions struct {
	// NumUnits is how many units to add (each on its own machine); 0
	// means 1.
	NumUnits int
}

// AddUnit adds opts.NumUnits units to an application, each on a new
// machine, as `juju add-unit` does: it needs model write, and the
// application must exist and not be dying. The units and their machines
// (pending) are recorded and returned (with the application); the
// provisioner starts the machines, as for Deploy. Unit and machine numbers
// continue from the highest ever used and are never reused.
func (s *Session) AddUnit(ctx context.Context, model, application string, opts AddUnitOptions) (Deployed, error) {
	if err := models.ValidateApplicationName(application); err != nil {
		return Deployed{}, err
	}
	n, err := unitCount(opts.NumUnits)
	if err != nil {
		return Deployed{}, err
	}
	var d Deployed
	err = s.update(ctx, func(t *state.Txn, w caller) error {
		d = Deployed{}
		m, app, err := s.application(t, w, model, application)
		if err != nil {
			return err
		}
		if err := takesUnits(m, &app); err != nil {
			return err
		}
		d.Application = app
		return planUnits(t, &m, &d, n)
	})
	if err != nil {
		return Deployed{}, err
	}
	s.c.opts.Logger.Info("units added", "application", application, "units", len(d.Units), "by", s.user)
	return d, nil
}

// application finds, in t, an application in a live model the caller may
// write to.
func (s *Session) application(t *state.Txn, w caller, model, application string) (models.Model, models.Application, error) {
	m, err := s.liveModel(t, w, model)
	if err != nil {
		return models.Model{}, models.Application{}, err
	}
	app, ok := state.Get[models.Application](t, state.TableApplications, state.IndexID, m.UUID, application)
	if !ok {
		return models.Model{}, models.Application{}, herd.Errorf(herd.ErrNotFound, "application %q not found", application)
	}
	return m, app, nil
}

// liveModel finds, in t, a live model the caller may write to.
func (s *Session) liveModel(t *state.Txn, w caller, model string) (models.Model, error) {
	m, _, err := s.modelFor(t, w, model, acl.Write)
	if err == nil && m.Life != models.Alive {
		err = herd.Errorf(herd.ErrFailedPrecondition, "model %q is %s", m.FullName(), m.Life)
	}
	return m, err
}

// RemoveUnit removes a unit and its machine, as `juju remove-unit` does
// (each unit has a machine of its own here, so the machine goes too). It
// needs model write. The machine is marked dying and the call returns;
// the provisioner stops it (after its start, if one is under way) and
// then removes the machine and the unit. The application stays, even with
// no units left. Removing a unit already being removed is not an error
// (a stop that failed is retried at once); one that is gone is
// herd.ErrNotFound.
func (s *Session) RemoveUnit(ctx context.Context, model, unit string) error {
	if _, _, err := models.ParseUnitName(unit); err != nil {
		return err
	}
	var uuid string
	err := s.update(ctx, func(t *state.Txn, w caller) error {
		m, err := s.liveModel(t, w, model)
		if err != nil {
			return err
		}
		uuid = m.UUID
		u, ok := state.Get[models.Unit](t, state.TableUnits, state.IndexID, m.UUID, unit)
		if !ok {
			return herd.Errorf(herd.ErrNotFound, "unit %q not found", unit)
		}
		return markUnitDying(t, u)
	})
	if err != nil {
		return err
	}
	s.c.provisioner.retryNow(uuid)
	s.c.opts.Logger.Info("unit removing", "unit", unit, "by", s.user)
	return nil
}

// markUnitDying marks u's machine dying in t; a unit without a machine
// (state written before units went with their machines) is removed.
func markUnitDying(t *state.Txn, u models.Unit) error {
	mc, ok := state.Get[models.Machine](t, state.TableMachines, state.IndexID, u.ModelUUID, u.Machine)
	if !ok {
		_, err := t.DeleteAll(state.TableUnits, state.IndexID, u.ModelUUID, u.Name)
		return err
	}
	if mc.Dying() {
		return nil
	}
	mc.Life = models.Dying
	return t.Insert(state.TableMachines, mc)
}

// RemoveApplication removes an application with all its units and their
// machines, as `juju remove-application` does. It needs model write. The
// application and its units' machines are marked dying in one write and
// the call returns; from then on no unit can be added and the name cannot
// be deployed again until the provisioner has stopped the machines and
// removed the units and the application (see Provisioning).
func (s *Session) RemoveApplication(ctx context.Context, model, application string) error {
	if err := models.ValidateApplicationName(application); err != nil {
		return err
	}
	n, uuid := 0, ""
	err := s.update(ctx, func(t *state.Txn, w caller) error {
		m, app, err := s.application(t, w, model, application)
		if err != nil {
			return err
		}
		uuid = m.UUID
		if !app.Dying() {
			app.Life = models.Dying
			if err := t.Insert(state.TableApplications, app); err != nil {
				return err
			}
		}
		units := unitsOf(t, m.UUID, application)
		n = len(units)
		for _, u := range units {
			if err := markUnitDying(t, u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.c.provisioner.retryNow(uuid)
	s.c.opts.Logger.Info("application removing", "application", application, "units", n, "by", s.user)
	return nil
}

func unitsOf(t *state.Txn, modelUUID, application string) []models.Unit {
	var us []models.Unit
	for _, u := range state.List[models.Unit](t, state.TableUnits, state.IndexModel, modelUUID) {
		if u.Application == application {
			us = append(us, u)
		}
	}
	return us
}
