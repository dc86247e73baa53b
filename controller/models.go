package controller

import (
	"context"
	"slices"
	"strings"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/store"
	"github.com/herd-project/herd/users"
)

// ModelSummary is a model in a listing, with the caller's access to it.
type ModelSummary struct {
	models.Model
	Access   acl.Level
	Machines int
	Units    int
}

func countAdmins(t *store.Txn, modelUUID string) int {
	n := 0
	for _, g := range store.List[store.Grant](t, store.TableGrants, store.IndexModel, modelUUID) {
		if g.Level == acl.Admin {
			n++
		}
	}
	return n
}

func directLevel(t *store.Txn, modelUUID, user string) acl.Level {
	g, _ := store.Get[store.Grant](t, store.TableGrants, store.IndexID, modelUUID, user)
	return g.Level
}

// splitModel reads a model reference: "owner/name", or "name" for one of
// the caller's own models or, failing that, the one model of that name the
// caller can access.
func splitModel(ref string) (owner, name string, qualified bool, err error) {
	if o, n, ok := strings.Cut(ref, "/"); ok {
		id, err := users.Canonical(o)
		if err != nil {
			return "", "", false, err
		}
		if err := models.ValidateName(n); err != nil {
			return "", "", false, err
		}
		return id, n, true, nil
	}
	if err := models.ValidateName(ref); err != nil {
		return "", "", false, err
	}
	return "", ref, false, nil
}

// model resolves a reference for w and returns the model and w's effective
// access. A model w may not see is permission denied, whether or not it
// exists, except in w's own namespace (or for a superuser), where it is
// herd.ErrNotFound.
func (s *Session) model(t *store.Txn, w caller, ref string) (models.Model, acl.Level, error) {
	owner, name, qualified, err := splitModel(ref)
	if err != nil {
		return models.Model{}, acl.None, err
	}
	if !qualified {
		owner = w.name
		if _, ok := store.Get[models.Model](t, store.TableModels, store.IndexOwnerName, owner, name); !ok {
			// Not one of the caller's own: the one model of that name the
			// caller can access, if there is exactly one.
			var found []models.Model
			for _, g := range store.List[store.Grant](t, store.TableGrants, store.IndexUser, w.name) {
				if m, ok := store.Get[models.Model](t, store.TableModels, store.IndexID, g.ModelUUID); ok && m.Name == name {
					found = append(found, m)
				}
			}
			if len(found) > 1 {
				return models.Model{}, acl.None, herd.Errorf(herd.ErrInvalid, "model name %q is ambiguous: qualify it as owner/%s", name, name)
			}
			if len(found) == 1 {
				owner = found[0].Owner
			}
		}
	}
	m, ok := store.Get[models.Model](t, store.TableModels, store.IndexOwnerName, owner, name)
	if !ok {
		if owner == w.name || w.superuser() {
			return models.Model{}, acl.None, herd.Errorf(herd.ErrNotFound, "model %q not found", owner+"/"+name)
		}
		return models.Model{}, acl.None, herd.Denied()
	}
	lvl := acl.EffectiveModel(w.access, directLevel(t, m.UUID, w.name))
	if lvl == acl.None {
		return models.Model{}, acl.None, herd.Denied()
	}
	return m, lvl, nil
}

// modelFor resolves ref and requires at least want.
func (s *Session) modelFor(t *store.Txn, w caller, ref string, want acl.Level) (models.Model, acl.Level, error) {
	m, lvl, err := s.model(t, w, ref)
	if err != nil {
		return m, lvl, err
	}
	if !lvl.Implies(want) {
		return models.Model{}, acl.None, herd.Denied()
	}
	return m, lvl, nil
}

// CreateModelOptions are CreateModel's optional settings.
type CreateModelOptions struct {
	// Owner owns the new model; "" means the caller. Only a superuser may
	// name someone else.
	Owner string
}

// CreateModel creates a model owned by the caller (or, for a superuser,
// by opts.Owner), whose owner gets model admin. It needs controller
// add-model or superuser.
func (s *Session) CreateModel(ctx context.Context, name string, opts CreateModelOptions) (models.Model, error) {
	m, err := s.checkCreateModel(ctx, name, opts)
	if err != nil {
		return models.Model{}, err
	}
	if err := s.c.prov.CreateModel(ctx, s.c.modelSpec(m)); err != nil {
		return models.Model{}, herd.Wrap(herd.ErrFailedPrecondition, err, "cannot create model "+m.FullName())
	}
	err = s.update(ctx, func(t *store.Txn, w caller) error { return s.insertModel(t, w, m) })
	if err != nil {
		s.c.undoModelSpace(ctx, m)
		return models.Model{}, err
	}
	return m, nil
}

func (c *Controller) undoModelSpace(ctx context.Context, m models.Model) {
	if err := c.prov.DestroyModel(context.WithoutCancel(ctx), c.modelSpec(m)); err != nil {
		c.opts.Logger.Warn("cannot remove model space after a failed create", "model", m.FullName(), "err", err)
	}
}

// insertModel records a model whose space the provider has made, after
// checking again that it may be created (the world may have changed while
// the provider worked).
func (s *Session) insertModel(t *store.Txn, w caller, m models.Model) error {
	if err := s.canCreateModel(t, w, m.Owner, m.Name); err != nil {
		return err
	}
	if err := t.Insert(store.TableModels, m); err != nil {
		return err
	}
	if err := t.Insert(store.TableGrants, store.Grant{ModelUUID: m.UUID, User: m.Owner, Level: acl.Admin}); err != nil {
		return err
	}
	s.c.opts.Logger.Info("model created", "model", m.FullName(), "by", w.name)
	return nil
}

func (s *Session) checkCreateModel(ctx context.Context, name string, opts CreateModelOptions) (models.Model, error) {
	t, w, err := s.read(ctx)
	if err != nil {
		return models.Model{}, err
	}
	return s.newModel(t, w, name, opts)
}

// newModel authorizes and validates a model creation and returns the
// model to create.
func (s *Session) newModel(t *store.Txn, w caller, name string, opts CreateModelOptions) (models.Model, error) {
	if !w.access.Implies(acl.AddModel) {
		return models.Model{}, herd.Denied()
	}
	if err := models.ValidateName(name); err != nil {
		return models.Model{}, err
	}
	owner := w.name
	if opts.Owner != "" {
		var err error
		if owner, err = canonicalUser(opts.Owner); err != nil {
			return models.Model{}, err
		}
	}
	if err := s.canCreateModel(t, w, owner, name); err != nil {
		return models.Model{}, err
	}
	uuid, err := s.c.newUUID()
	if err != nil {
		return models.Model{}, err
	}
	return models.Model{UUID: uuid, Name: name, Owner: owner, Cloud: s.c.info.Cloud, Region: s.c.info.Region,
		Type: s.c.info.ProviderType, Life: models.Alive, Status: models.Available, Created: s.c.opts.Now()}, nil
}

func (s *Session) canCreateModel(t *store.Txn, w caller, owner, name string) error {
	if !w.access.Implies(acl.AddModel) || (owner != w.name && !w.superuser()) {
		return herd.Denied()
	}
	if _, err := getUser(t, owner); err != nil {
		return err
	}
	if _, ok := store.Get[models.Model](t, store.TableModels, store.IndexOwnerName, owner, name); ok {
		return herd.Errorf(herd.ErrAlreadyExists, "model %q for %s already exists", name, owner)
	}
	return nil
}

// ModelsOptions select what Models lists.
type ModelsOptions struct {
	// User lists the models another user can access (superuser only).
	User string
	// All lists every model on the controller (superuser only).
	All bool
}

// Models lists the models the caller (or opts.User) holds a grant on,
// with the effective access, sorted by owner/name.
func (s *Session) Models(ctx context.Context, opts ModelsOptions) ([]ModelSummary, error) {
	if err := s.c.check(ctx); err != nil {
		return nil, err
	}
	// One authorization snapshot answers the whole listing, consistently.
	snap := s.c.auth.cur.Load()
	me, err := s.fastCaller(snap)
	if err != nil {
		return nil, err
	}
	who, access := s.user, me.access
	if opts.User != "" {
		id, err := canonicalUser(opts.User)
		if err != nil {
			return nil, err
		}
		if id != s.user {
			if me.access != acl.Superuser {
				return nil, herd.Denied()
			}
			u, ok := snap.users.get(id)
			if !ok {
				return nil, userNotFound(id)
			}
			who, access = id, u.access
		}
	}
	summary := func(m modelAuth, lvl acl.Level) ModelSummary {
		return ModelSummary{Model: m.Model, Access: lvl, Machines: m.machines, Units: m.units}
	}
	grants, _ := snap.byUser.get(who)
	if !opts.All {
		// The user's grants are kept sorted by owner and name.
		out := make([]ModelSummary, 0, len(grants))
		for _, g := range grants {
			if m, ok := snap.models.get(g.uuid); ok && g.level != acl.None {
				out = append(out, summary(m, acl.EffectiveModel(access, g.level)))
			}
		}
		return out, nil
	}
	if me.access != acl.Superuser {
		return nil, herd.Denied()
	}
	direct := make(map[string]acl.Level, len(grants))
	for _, g := range grants {
		direct[g.uuid] = g.level
	}
	var out []ModelSummary
	snap.models.each(func(_ string, m modelAuth) {
		if lvl := acl.EffectiveModel(access, direct[m.UUID]); lvl != acl.None {
			out = append(out, summary(m, lvl))
		}
	})
	slices.SortFunc(out, func(a, b ModelSummary) int {
		if c := strings.Compare(a.Owner, b.Owner); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// ModelStatus is a model with what runs in it.
type ModelStatus struct {
	ModelSummary
	Applications []models.Application
	Units        []models.Unit
	Machines     []models.Machine
}

// Status returns a model with its applications, units and machines (model
// read access).
func (s *Session) Status(ctx context.Context, model string) (ModelStatus, error) {
	t, w, err := s.read(ctx)
	if err != nil {
		return ModelStatus{}, err
	}
	m, lvl, err := s.modelFor(t, w, model, acl.Read)
	if err != nil {
		return ModelStatus{}, err
	}
	st := ModelStatus{
		Applications: store.List[models.Application](t, store.TableApplications, store.IndexModel, m.UUID),
		Units:        store.List[models.Unit](t, store.TableUnits, store.IndexModel, m.UUID),
		Machines:     store.List[models.Machine](t, store.TableMachines, store.IndexModel, m.UUID),
	}
	slices.SortFunc(st.Machines, func(a, b models.Machine) int { return machineOrder(a.ID, b.ID) })
	slices.SortFunc(st.Units, func(a, b models.Unit) int { return strings.Compare(a.Name, b.Name) })
	st.ModelSummary = ModelSummary{Model: m, Access: lvl, Machines: len(st.Machines), Units: len(st.Units)}
	return st, nil
}

// machineOrder sorts machine ids numerically ("2" before "10").
func machineOrder(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// ModelUser is one user's access to a model.
type ModelUser struct {
	User   string
	Access acl.Level
}

// ModelUsers lists who has access to a model: everyone for a model admin,
// only the caller's own entry for anyone else with read access.
func (s *Session) ModelUsers(ctx context.Context, model string) ([]ModelUser, error) {
	t, w, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	m, lvl, err := s.modelFor(t, w, model, acl.Read)
	if err != nil {
		return nil, err
	}
	if lvl != acl.Admin {
		return []ModelUser{{User: w.name, Access: lvl}}, nil
	}
	var out []ModelUser
	for _, g := range store.List[store.Grant](t, store.TableGrants, store.IndexModel, m.UUID) {
		out = append(out, ModelUser{User: g.User, Access: g.Level})
	}
	slices.SortFunc(out, func(a, b ModelUser) int { return strings.Compare(a.User, b.User) })
	return out, nil
}
