package controller

import (
	"context"
	"fmt"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	store "github.com/herd-project/herd/internal/state"
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
// numbers continue from the highest ever used and are never reused. If the
// provider fails, the machines started for the call are stopped and the
// new units and machines removed; the application and its other units are
// untouched. The result holds the application and only the new units and
// machines.
func (s *Session) AddUnit(ctx context.Context, model, application string, opts AddUnitOptions) (Deployed, error) {
	if err := models.ValidateApplicationName(application); err != nil {
		return Deployed{}, err
	}
	n, err := unitCount(opts.NumUnits)
	if err != nil {
		return Deployed{}, err
	}
	d, err := s.planAddUnit(ctx, model, application, n)
	if err != nil {
		return Deployed{}, err
	}
	if err := s.provision(ctx, &d, false); err != nil {
		return Deployed{}, err
	}
	s.c.opts.Logger.Info("units added", "application", application, "units", len(d.Units), "by", s.user)
	return d, nil
}

func (s *Session) planAddUnit(ctx context.Context, model, application string, n int) (Deployed, error) {
	t, m, app, err := s.application(ctx, model, application)
	if err != nil {
		return Deployed{}, err
	}
	defer t.Abort()
	if app.Dying() {
		return Deployed{}, herd.Errorf(herd.ErrFailedPrecondition, "application %q is being removed", application)
	}
	d := Deployed{Application: app}
	if err := planUnits(t, &m, &d, n); err != nil {
		return Deployed{}, err
	}
	return d, t.Commit()
}

// application opens a write transaction and finds an application in a live
// model the caller may write to. The caller aborts t.
func (s *Session) application(ctx context.Context, model, application string) (*store.Txn, models.Model, models.Application, error) {
	t, m, err := s.liveModel(ctx, model)
	if err != nil {
		return nil, models.Model{}, models.Application{}, err
	}
	app, ok := store.Get[models.Application](t, store.TableApplications, store.IndexID, m.UUID, application)
	if !ok {
		t.Abort()
		return nil, models.Model{}, models.Application{}, herd.Errorf(herd.ErrNotFound, "application %q not found", application)
	}
	return t, m, app, nil
}

// liveModel opens a write transaction and finds a live model the caller
// may write to. The caller aborts t.
func (s *Session) liveModel(ctx context.Context, model string) (*store.Txn, models.Model, error) {
	t, w, err := s.write(ctx)
	if err != nil {
		return nil, models.Model{}, err
	}
	m, _, err := s.modelFor(t, w, model, acl.Write)
	if err == nil && m.Life != models.Alive {
		err = herd.Errorf(herd.ErrFailedPrecondition, "model %q is %s", m.FullName(), m.Life)
	}
	if err != nil {
		t.Abort()
		return nil, models.Model{}, err
	}
	return t, m, nil
}

// RemoveUnit stops a unit's machine through the provider and removes the
// unit and its machine, as `juju remove-unit` does (each unit has a machine
// of its own here, so the machine goes too). It needs model write. The
// application stays, even with no units left. If the provider fails,
// nothing is removed, the machine records the error, and calling again
// retries; removing a unit that is already gone is ErrNotFound.
func (s *Session) RemoveUnit(ctx context.Context, model, unit string) error {
	if _, _, err := models.ParseUnitName(unit); err != nil {
		return err
	}
	t, m, err := s.liveModel(ctx, model)
	if err != nil {
		return err
	}
	u, ok := store.Get[models.Unit](t, store.TableUnits, store.IndexID, m.UUID, unit)
	t.Abort()
	if !ok {
		return herd.Errorf(herd.ErrNotFound, "unit %q not found", unit)
	}
	if err := s.removeUnits(ctx, []models.Unit{u}); err != nil {
		return herd.Wrap(herd.ErrFailedPrecondition, err, fmt.Sprintf("cannot remove unit %q", unit))
	}
	s.c.opts.Logger.Info("unit removed", "unit", unit, "by", s.user)
	return nil
}

// RemoveApplication removes an application with all its units and their
// machines, as `juju remove-application` does. It needs model write. The
// application is marked dying first, so no unit can be added meanwhile and
// its name cannot be deployed again until it is gone. If the provider
// fails, the units removed so far stay removed, the application stays
// dying, and calling again resumes.
func (s *Session) RemoveApplication(ctx context.Context, model, application string) error {
	if err := models.ValidateApplicationName(application); err != nil {
		return err
	}
	t, m, app, err := s.application(ctx, model, application)
	if err != nil {
		return err
	}
	defer t.Abort()
	if !app.Dying() {
		app.Life = models.Dying
		if err := t.Insert(store.TableApplications, app); err != nil {
			return err
		}
	}
	units := unitsOf(t, m.UUID, application)
	if err := t.Commit(); err != nil {
		return err
	}
	if err := s.removeUnits(ctx, units); err != nil {
		return herd.Wrap(herd.ErrFailedPrecondition, err, fmt.Sprintf("cannot remove application %q", application))
	}
	t = s.c.st.Write()
	defer t.Abort()
	if left := unitsOf(t, m.UUID, application); len(left) > 0 {
		// Cannot happen while the application is dying; say so rather
		// than leave units without an application.
		return herd.Errorf(herd.ErrFailedPrecondition, "cannot remove application %q: %d units appeared meanwhile", application, len(left))
	}
	if _, err := t.DeleteAll(store.TableApplications, store.IndexID, m.UUID, application); err != nil {
		return err
	}
	if err := t.Commit(); err != nil {
		return err
	}
	s.c.opts.Logger.Info("application removed", "application", application, "units", len(units), "by", s.user)
	return nil
}

func unitsOf(t *store.Txn, modelUUID, application string) []models.Unit {
	var us []models.Unit
	for _, u := range store.List[models.Unit](t, store.TableUnits, store.IndexModel, modelUUID) {
		if u.Application == application {
			us = append(us, u)
		}
	}
	return us
}

// removeUnits stops each unit's machine and then removes the unit and the
// machine, one unit at a time. On a provider failure it records the error
// on that machine and returns it.
func (s *Session) removeUnits(ctx context.Context, units []models.Unit) error {
	for _, u := range units {
		if err := s.c.prov.StopInstance(ctx, s.c.machineSpec(u.ModelUUID, u.Machine)); err != nil {
			t := s.c.st.Write()
			if mc, ok := store.Get[models.Machine](t, store.TableMachines, store.IndexID, u.ModelUUID, u.Machine); ok {
				mc.Status, mc.Message = models.Error, "cannot stop: "+err.Error()
				if t.Insert(store.TableMachines, mc) == nil {
					_ = t.Commit()
				}
			}
			t.Abort()
			return fmt.Errorf("machine %s: %w", u.Machine, err)
		}
		t := s.c.st.Write()
		_, _ = t.DeleteAll(store.TableUnits, store.IndexID, u.ModelUUID, u.Name)
		_, _ = t.DeleteAll(store.TableMachines, store.IndexID, u.ModelUUID, u.Machine)
		err := t.Commit()
		t.Abort()
		if err != nil {
			return err
		}
	}
	return nil
}
