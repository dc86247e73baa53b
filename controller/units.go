package controller

import (
	"context"
	"fmt"

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
// machine the provider starts, as `juju add-unit` does. It needs model
// write; the application must exist and not be dying. Unit and machine
// numbers continue from the highest ever used and are never reused. The
// machines are provisioned as Deploy's are: if the provider fails, the
// machines started for the call are stopped and the new units and
// machines removed; the application and its other units are untouched. If
// the application or the model starts dying meanwhile, AddUnit fails with
// herd.ErrFailedPrecondition and leaves its units to the removal. The
// result holds the application and only the new units and machines.
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
	if err := s.provision(ctx, &d, false); err != nil {
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

// RemoveUnit stops a unit's machine through the provider and removes the
// unit and its machine, as `juju remove-unit` does (each unit has a machine
// of its own here, so the machine goes too). It needs model write. The
// application stays, even with no units left. If the provider fails,
// nothing is removed, the machine records the error, and calling again
// retries; removing a unit that is already gone is ErrNotFound. A unit
// whose machine is still being started is removed all the same: the call
// adding it then fails and stops the machine it started.
func (s *Session) RemoveUnit(ctx context.Context, model, unit string) error {
	if _, _, err := models.ParseUnitName(unit); err != nil {
		return err
	}
	t, w, err := s.read(ctx)
	if err != nil {
		return err
	}
	m, err := s.liveModel(t, w, model)
	if err != nil {
		return err
	}
	u, ok := state.Get[models.Unit](t, state.TableUnits, state.IndexID, m.UUID, unit)
	if !ok {
		return herd.Errorf(herd.ErrNotFound, "unit %q not found", unit)
	}
	if err := s.removeUnit(ctx, u); err != nil {
		return herd.Wrap(herd.ErrFailedPrecondition, err, fmt.Sprintf("cannot remove unit %q", unit))
	}
	s.c.opts.Logger.Info("unit removed", "unit", unit, "by", s.user)
	return nil
}

// RemoveApplication removes an application with all its units and their
// machines, as `juju remove-application` does. It needs model write. The
// application is marked dying first, so no unit can be added meanwhile and
// its name cannot be deployed again until it is gone; its units are then
// read again until none is left, so one that a racing AddUnit had planned
// goes too. If the provider fails, the units removed so far stay removed,
// the application stays dying, and calling again resumes.
func (s *Session) RemoveApplication(ctx context.Context, model, application string) error {
	if err := models.ValidateApplicationName(application); err != nil {
		return err
	}
	var m models.Model
	err := s.update(ctx, func(t *state.Txn, w caller) error {
		var app models.Application
		var err error
		m, app, err = s.application(t, w, model, application)
		if err != nil || app.Dying() {
			return err
		}
		app.Life = models.Dying
		return t.Insert(state.TableApplications, app)
	})
	if err != nil {
		return err
	}
	removed := 0
	for {
		t, _, err := s.read(ctx)
		if err != nil {
			return err
		}
		units := unitsOf(t, m.UUID, application)
		if len(units) == 0 {
			break
		}
		for _, u := range units {
			if err := s.removeUnit(ctx, u); err != nil {
				return herd.Wrap(herd.ErrFailedPrecondition, err, fmt.Sprintf("cannot remove application %q", application))
			}
			removed++
		}
	}
	err = s.update(ctx, func(t *state.Txn, _ caller) error {
		if left := unitsOf(t, m.UUID, application); len(left) > 0 {
			// Cannot happen while the application is dying; say so rather
			// than leave units without an application.
			return herd.Errorf(herd.ErrFailedPrecondition, "cannot remove application %q: %d units appeared meanwhile", application, len(left))
		}
		if _, err := t.DeleteAll(state.TableSequences, state.IndexID, m.UUID, state.UnitSequence(application)); err != nil {
			return err
		}
		_, err := t.DeleteAll(state.TableApplications, state.IndexID, m.UUID, application)
		return err
	})
	if err != nil {
		return err
	}
	s.c.opts.Logger.Info("application removed", "application", application, "units", removed, "by", s.user)
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

// removeUnit releases u's machine (see releaseMachine), reading it again
// until the machine is gone, which takes u with it. On a provider failure
// it returns the error, which the machine records.
func (s *Session) removeUnit(ctx context.Context, u models.Unit) error {
	for {
		t, _, err := s.read(ctx)
		if err != nil {
			return err
		}
		mc, ok := state.Get[models.Machine](t, state.TableMachines, state.IndexID, u.ModelUUID, u.Machine)
		if !ok {
			// No machine (already released by another call, or state
			// written before units went with their machines): remove
			// the unit alone.
			return s.update(ctx, func(t *state.Txn, _ caller) error {
				_, err := t.DeleteAll(state.TableUnits, state.IndexID, u.ModelUUID, u.Name)
				return err
			})
		}
		released, err := s.releaseMachine(ctx, mc)
		if err != nil || released {
			return err
		}
	}
}
