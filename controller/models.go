package controller

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/users"
)

// ModelSummary is a model in a listing, with the caller's access to it.
type ModelSummary struct {
	models.Model
	Access   acl.Level
	Machines int
	Units    int
	// LastConnection is when the listed user last connected to the model
	// (ConnectModel); zero if never.
	LastConnection time.Time
}

func countAdmins(t *state.Txn, modelUUID string) int {
	n := 0
	for _, g := range state.List[state.Grant](t, state.TableGrants, state.IndexModel, modelUUID) {
		if g.Level == acl.Admin {
			n++
		}
	}
	return n
}

func directLevel(t *state.Txn, modelUUID, user string) acl.Level {
	g, _ := state.Get[state.Grant](t, state.TableGrants, state.IndexID, modelUUID, user)
	return g.Level
}

// splitModel reads a model reference: "owner/name", or "name" for one of
// the caller's own models (as in Juju: another user's model is always
// qualified, so nobody's grant can make a name ambiguous or redirect it).
func splitModel(ref, caller string) (owner, name string, err error) {
	if o, n, ok := strings.Cut(ref, "/"); ok {
		id, err := users.Canonical(o)
		if err != nil {
			return "", "", err
		}
		if err := models.ValidateName(n); err != nil {
			return "", "", err
		}
		return id, n, nil
	}
	if err := models.ValidateName(ref); err != nil {
		return "", "", err
	}
	return caller, ref, nil
}

// UUIDRef is the reference to a model by its UUID, for the calls that
// take a model name: "uuid:" and the UUID. (A colon is in no model name,
// so it cannot be read as one.) The API server uses it for Juju's model
// tags.
func UUIDRef(uuid string) string { return uuidPrefix + uuid }

const uuidPrefix = "uuid:"

// lookupModel finds the model ref names for w. When it is missing, owner
// is the namespace it was looked for in ("" for a UUID).
func lookupModel(t *state.Txn, w caller, ref string) (m models.Model, ok bool, owner string, err error) {
	if uuid, isUUID := strings.CutPrefix(ref, uuidPrefix); isUUID {
		if uuid == "" || len(uuid) > models.MaxNameLen {
			return m, false, "", herd.Errorf(herd.ErrInvalid, "model UUID %q not valid", uuid)
		}
		m, ok = state.Get[models.Model](t, state.TableModels, state.IndexID, uuid)
		return m, ok, "", nil
	}
	owner, name, err := splitModel(ref, w.name)
	if err != nil {
		return m, false, "", err
	}
	m, ok = state.Get[models.Model](t, state.TableModels, state.IndexOwnerName, owner, name)
	return m, ok, owner, nil
}

// model resolves a reference for w and decides op on it (acting on
// subject, "" for none). A model w may not see is permission denied
// whether or not it exists; a missing model in a namespace w may list
// (their own, or any for a superuser) is herd.ErrNotFound.
func (s *Session) model(t *state.Txn, w caller, ref string, op acl.Op, subject string) (models.Model, acl.Decision, error) {
	m, ok, owner, err := lookupModel(t, w, ref)
	if err != nil {
		return models.Model{}, acl.Decision{}, err
	}
	if !ok {
		if may(t, w, acl.ListModelsOf, owner) == nil {
			return models.Model{}, acl.Decision{}, herd.Errorf(herd.ErrNotFound, "model %q not found", ref)
		}
		return models.Model{}, acl.Decision{}, herd.Denied()
	}
	d, err := decide(t, w, op, &m, subject)
	if err != nil {
		return models.Model{}, d, err
	}
	return m, d, nil
}

// modelFor resolves ref and requires the model level want; it returns the
// model and the caller's effective access to it.
func (s *Session) modelFor(t *state.Txn, w caller, ref string, want acl.Level) (models.Model, acl.Level, error) {
	m, d, err := s.model(t, w, ref, acl.ModelOp(want), "")
	return m, d.Access, err
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
	err = s.update(ctx, func(t *state.Txn, w caller) error { return s.insertModel(t, w, m) })
	if err != nil {
		s.c.undoModelSpace(ctx, m)
		return models.Model{}, err
	}
	s.c.opts.Logger.Info("model created", "model", m.FullName(), "by", s.user)
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
func (s *Session) insertModel(t *state.Txn, w caller, m models.Model) error {
	if err := s.canCreateModel(t, w, m.Owner, m.Name); err != nil {
		return err
	}
	if err := t.Insert(state.TableModels, m); err != nil {
		return err
	}
	return t.Insert(state.TableGrants, state.Grant{ModelUUID: m.UUID, User: m.Owner, Level: acl.Admin})
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
func (s *Session) newModel(t *state.Txn, w caller, name string, opts CreateModelOptions) (models.Model, error) {
	if err := may(t, w, acl.CreateModel, ""); err != nil {
		return models.Model{}, err
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

func (s *Session) canCreateModel(t *state.Txn, w caller, owner, name string) error {
	op := acl.CreateModel
	if owner != w.name {
		op = acl.CreateModelFor
	}
	if err := may(t, w, op, ""); err != nil {
		return err
	}
	if _, err := getUser(t, owner); err != nil {
		return err
	}
	if _, ok := state.Get[models.Model](t, state.TableModels, state.IndexOwnerName, owner, name); ok {
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
	// The listed user and their facts; the one decision says whether the
	// caller may list them, and each model's access.
	who, whoAuth := s.user, me
	if opts.User != "" {
		id, err := canonicalUser(opts.User)
		if err != nil {
			return nil, err
		}
		if id != s.user {
			if !acl.Decide(acl.ListModelsOf, acl.Facts{Active: true, Controller: me.access}).Allowed {
				return nil, herd.Denied()
			}
			u, ok := snap.users.get(id)
			if !ok {
				return nil, userNotFound(id)
			}
			who, whoAuth = id, u
		}
	}
	access := func(m modelAuth, direct acl.Level) acl.Level {
		f := acl.Facts{Active: whoAuth.active(), Controller: whoAuth.access, Direct: direct, Owner: m.Owner == who}
		return acl.Decide(acl.ReadModel, f).Access
	}
	summary := func(m modelAuth, lvl acl.Level, last time.Time) ModelSummary {
		return ModelSummary{Model: m.Model, Access: lvl, Machines: m.machines, Units: m.units, LastConnection: last}
	}
	grants, _ := snap.byUser.get(who)
	if !opts.All {
		// The user's grants are kept sorted by owner and name.
		out := make([]ModelSummary, 0, len(grants))
		for _, g := range grants {
			if m, ok := snap.models.get(g.uuid); ok {
				if lvl := access(m, g.level); lvl != acl.None {
					out = append(out, summary(m, lvl, g.last))
				}
			}
		}
		return out, nil
	}
	if !acl.Decide(acl.ListModelsOf, acl.Facts{Active: true, Controller: me.access}).Allowed {
		return nil, herd.Denied()
	}
	direct := make(map[string]userGrant, len(grants))
	for _, g := range grants {
		direct[g.uuid] = g
	}
	var out []ModelSummary
	snap.models.each(func(_ string, m modelAuth) {
		g := direct[m.UUID]
		if lvl := access(m, g.level); lvl != acl.None {
			out = append(out, summary(m, lvl, g.last))
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

// ConnectModel records that the session's user connected to a model now
// (model read access), as Juju records a user's last connection to a
// model when they open a connection to it; listings show it. A user whose
// access comes from being a superuser, with no grant on the model, has no
// record to keep it in.
func (s *Session) ConnectModel(ctx context.Context, model string) error {
	return s.update(ctx, func(t *state.Txn, w caller) error {
		m, _, err := s.model(t, w, model, acl.ReadModel, "")
		if err != nil {
			return err
		}
		g, ok := state.Get[state.Grant](t, state.TableGrants, state.IndexID, m.UUID, w.name)
		if !ok {
			return nil
		}
		g.LastConnection = s.c.opts.Now()
		return t.Insert(state.TableGrants, g)
	})
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
		Applications: state.List[models.Application](t, state.TableApplications, state.IndexModel, m.UUID),
		Units:        state.List[models.Unit](t, state.TableUnits, state.IndexModel, m.UUID),
		Machines:     state.List[models.Machine](t, state.TableMachines, state.IndexModel, m.UUID),
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
	if _, err := decide(t, w, acl.AdminModel, &m, ""); err != nil {
		return []ModelUser{{User: w.name, Access: lvl}}, nil
	}
	var out []ModelUser
	for _, g := range state.List[state.Grant](t, state.TableGrants, state.IndexModel, m.UUID) {
		out = append(out, ModelUser{User: g.User, Access: g.Level})
	}
	slices.SortFunc(out, func(a, b ModelUser) int { return strings.Compare(a.User, b.User) })
	return out, nil
}
