package client

import (
	"context"
	"slices"
	"strings"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/internal/params"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/users"
)

// CreateModel creates a model (ModelManager.CreateModel) owned by the
// caller, or by opts.Owner (superuser only), on the controller's cloud.
func (s *Session) CreateModel(ctx context.Context, name string, opts controller.CreateModelOptions) (models.Model, error) {
	owner := opts.Owner
	if owner == "" {
		owner = s.user
	}
	ownerTag, err := userTag(owner)
	if err != nil {
		return models.Model{}, err
	}
	var res params.ModelInfo
	if err := s.call(ctx, "ModelManager", "CreateModel", params.ModelCreateArgs{Name: name, OwnerTag: ownerTag}, &res); err != nil {
		return models.Model{}, err
	}
	return modelOf(res.UUID, res.Name, res.OwnerTag, res.CloudTag, res.CloudRegion, res.Type, res.ProviderType, res.Life, res.Status), nil
}

func modelOf(uuid, name, ownerTag, cloudTag, region, typ, providerType, life string, st params.EntityStatus) models.Model {
	owner, err := params.ParseUserTag(ownerTag)
	if err != nil {
		owner = ownerTag
	}
	if id, err := users.Canonical(owner); err == nil {
		owner = id
	}
	cloud, err := params.ParseCloudTag(cloudTag)
	if err != nil {
		cloud = cloudTag
	}
	// Juju's "type" is iaas or caas; Herd's Model.Type is the provider's
	// kind, which Juju sends as provider-type.
	if providerType != "" {
		typ = providerType
	}
	out := models.Model{
		UUID: uuid, Name: name, Owner: owner, Cloud: cloud, Region: region, Type: typ,
		Life: models.Life(life), Status: models.Status(st.Status), StatusMessage: st.Info,
	}
	// Herd's server dates a model's status from the model's creation.
	if st.Since != nil {
		out.Created = *st.Since
	}
	return out
}

// Models lists the models the caller (or opts.User, or with opts.All every
// model: superuser only) can access, with the effective access, sorted by
// owner/name (ModelManager.ListModelSummaries).
func (s *Session) Models(ctx context.Context, opts controller.ModelsOptions) ([]controller.ModelSummary, error) {
	who := opts.User
	if who == "" {
		who = s.user
	}
	if opts.All {
		// Juju's ListModelSummaries quietly lists the caller's own models
		// when "all" is asked by anyone but a superuser; the in-process
		// Session refuses. So ask the controller first with a call it
		// refuses to all but superusers (Controller.AllModels): the server
		// decides, not this client.
		if err := s.call(ctx, "Controller", "AllModels", nil, &params.UserModelList{}); err != nil {
			return nil, err
		}
	}
	list, err := s.summaries(ctx, who, opts.All)
	if err != nil {
		return nil, err
	}
	out := make([]controller.ModelSummary, 0, len(list))
	for _, m := range list {
		ms, err := modelSummary(m)
		if err != nil {
			return nil, err
		}
		out = append(out, ms)
	}
	slices.SortFunc(out, func(a, b controller.ModelSummary) int {
		if c := strings.Compare(a.Owner, b.Owner); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

func (s *Session) summaries(ctx context.Context, user string, all bool) ([]params.ModelSummary, error) {
	tag, err := userTag(user)
	if err != nil {
		return nil, err
	}
	var res params.ModelSummaryResults
	if err := s.call(ctx, "ModelManager", "ListModelSummaries", params.ModelSummariesRequest{UserTag: tag, All: all}, &res); err != nil {
		return nil, err
	}
	out := make([]params.ModelSummary, 0, len(res.Results))
	for _, r := range res.Results {
		if r.Error != nil {
			return nil, fromParams(r.Error)
		}
		if r.Result != nil {
			out = append(out, *r.Result)
		}
	}
	return out, nil
}

func modelSummary(m params.ModelSummary) (controller.ModelSummary, error) {
	access, err := level(m.UserAccess)
	if err != nil {
		return controller.ModelSummary{}, err
	}
	out := controller.ModelSummary{
		Model:  modelOf(m.UUID, m.Name, m.OwnerTag, m.CloudTag, m.CloudRegion, m.Type, m.ProviderType, m.Life, m.Status),
		Access: access,
	}
	if m.UserLastConnection != nil {
		out.LastConnection = *m.UserLastConnection
	}
	for _, c := range m.Counts {
		switch c.Entity {
		case params.CountMachines:
			out.Machines = int(c.Count)
		case params.CountUnits:
			out.Units = int(c.Count)
		}
	}
	return out, nil
}

// resolve finds the model ref names ("owner/name", "name" for one of the
// caller's own, or controller.UUIDRef) among those the caller can see.
// As in process, a model the caller may not see is permission denied
// whether or not it exists; a missing one in the caller's own namespace
// (any namespace for a superuser) is not found.
func (s *Session) resolve(ctx context.Context, ref string) (params.ModelSummary, error) {
	var owner, name, uuid string
	if u, ok := strings.CutPrefix(ref, "uuid:"); ok {
		uuid = u
	} else if o, n, ok := strings.Cut(ref, "/"); ok {
		id, err := users.Canonical(o)
		if err != nil {
			return params.ModelSummary{}, err
		}
		owner, name = id, n
	} else {
		owner, name = s.user, ref
	}
	if uuid == "" {
		if err := models.ValidateName(name); err != nil {
			return params.ModelSummary{}, err
		}
	}
	s.mu.Lock()
	super := s.access == acl.Superuser.String()
	s.mu.Unlock()
	list, err := s.summaries(ctx, s.user, super)
	if err != nil {
		return params.ModelSummary{}, err
	}
	for _, m := range list {
		if uuid != "" {
			if m.UUID == uuid {
				return m, nil
			}
			continue
		}
		o, err := params.ParseUserTag(m.OwnerTag)
		if err != nil {
			continue
		}
		if id, err := users.Canonical(o); err == nil && id == owner && m.Name == name {
			return m, nil
		}
	}
	// Which error a missing model gets (not found in a namespace one may
	// list, else permission denied) follows the access seen at login; the
	// controller decides every call made with the model itself.
	if super || owner == s.user {
		return params.ModelSummary{}, herd.Errorf(herd.ErrNotFound, "model %q not found", ref)
	}
	return params.ModelSummary{}, herd.Denied()
}

// ModelUsers lists who has access to a model (ModelManager.ModelInfo):
// everyone for a model admin, only the caller's own entry for anyone else
// with read access, sorted by user.
func (s *Session) ModelUsers(ctx context.Context, model string) ([]controller.ModelUser, error) {
	m, err := s.resolve(ctx, model)
	if err != nil {
		return nil, err
	}
	var res params.ModelInfoResults
	if err := s.call(ctx, "ModelManager", "ModelInfo", entities(params.ModelTag(m.UUID)), &res); err != nil {
		return nil, err
	}
	if err := oneResult("ModelManager", "ModelInfo", len(res.Results)); err != nil {
		return nil, err
	}
	r := res.Results[0]
	if r.Error != nil {
		return nil, fromParams(r.Error)
	}
	if r.Result == nil {
		return nil, unexpected("empty model info", nil)
	}
	out := make([]controller.ModelUser, 0, len(r.Result.Users))
	for _, u := range r.Result.Users {
		access, err := level(u.Access)
		if err != nil {
			return nil, err
		}
		id, err := users.Canonical(u.UserName)
		if err != nil {
			id = u.UserName
		}
		out = append(out, controller.ModelUser{User: id, Access: access})
	}
	slices.SortFunc(out, func(a, b controller.ModelUser) int { return strings.Compare(a.User, b.User) })
	return out, nil
}

// Grant raises a user's access: a model level on model
// (ModelManager.ModifyModelAccess), or a controller level with model ""
// (Controller.ModifyControllerAccess).
func (s *Session) Grant(ctx context.Context, user string, level acl.Level, model string) error {
	return s.modifyAccess(ctx, user, level, model, params.ActionGrant)
}

// Revoke lowers a user's access to the level just below the one named,
// as Grant names the target.
func (s *Session) Revoke(ctx context.Context, user string, level acl.Level, model string) error {
	return s.modifyAccess(ctx, user, level, model, params.ActionRevoke)
}

func (s *Session) modifyAccess(ctx context.Context, user string, level acl.Level, model, action string) error {
	tag, err := userTag(user)
	if err != nil {
		return err
	}
	if !level.Valid() {
		return herd.Errorf(herd.ErrInvalid, "access level %d not valid", uint8(level))
	}
	var res params.ErrorResults
	if level.Kind() == acl.KindController {
		if model != "" {
			return herd.Errorf(herd.ErrInvalid, "%q controller access not valid on a model", level.String())
		}
		args := params.ModifyControllerAccessRequest{Changes: []params.ModifyControllerAccess{
			{UserTag: tag, Action: action, Access: level.String()},
		}}
		if err := s.call(ctx, "Controller", "ModifyControllerAccess", args, &res); err != nil {
			return err
		}
		return errorResult("Controller", "ModifyControllerAccess", res)
	}
	if model == "" {
		return acl.CheckKind(level, acl.KindController) // as in process
	}
	m, err := s.resolve(ctx, model)
	if err != nil {
		return err
	}
	args := params.ModifyModelAccessRequest{Changes: []params.ModifyModelAccess{
		{UserTag: tag, Action: action, Access: level.String(), ModelTag: params.ModelTag(m.UUID)},
	}}
	if err := s.call(ctx, "ModelManager", "ModifyModelAccess", args, &res); err != nil {
		return err
	}
	return errorResult("ModelManager", "ModifyModelAccess", res)
}

// DestroyModel destroys a model (ModelManager.DestroyModels): model admin
// or superuser. The model connection to it, if any, is closed.
func (s *Session) DestroyModel(ctx context.Context, model string) error {
	m, err := s.resolve(ctx, model)
	if err != nil {
		return err
	}
	var res params.ErrorResults
	args := params.DestroyModelsParams{Models: []params.DestroyModelParams{{ModelTag: params.ModelTag(m.UUID)}}}
	if err := s.call(ctx, "ModelManager", "DestroyModels", args, &res); err != nil {
		return err
	}
	if err := errorResult("ModelManager", "DestroyModels", res); err != nil {
		return err
	}
	s.mu.Lock()
	if l := s.models[m.UUID]; l != nil {
		l.close()
		delete(s.models, m.UUID)
	}
	s.mu.Unlock()
	return nil
}

// DestroyController destroys the controller: every model (releasing its
// machines), then the controller's own machine, and the controller closes
// (Controller.DestroyController, with destroy-models; superuser only, as
// controller.Session.DestroyController). The session then fails every call
// with herd.ErrClosed, as a session of a closed controller does.
func (s *Session) DestroyController(ctx context.Context) error {
	if err := s.call(ctx, "Controller", "DestroyController", params.DestroyControllerArgs{DestroyModels: true}, nil); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended = herd.Errorf(herd.ErrClosed, "controller destroyed")
	s.closeLinks()
	return nil
}

// Explain says why a user ("" is oneself) has the access to a model they
// have (HerdSession.Explain).
func (s *Session) Explain(ctx context.Context, user, model string) (controller.Explanation, error) {
	if user == "" {
		user = s.user
	}
	tag, err := userTag(user)
	if err != nil {
		return controller.Explanation{}, err
	}
	m, err := s.resolve(ctx, model)
	if err != nil {
		return controller.Explanation{}, err
	}
	var res params.ExplainResult
	args := params.ExplainArgs{UserTag: tag, ModelTag: params.ModelTag(m.UUID)}
	if err := s.call(ctx, "HerdSession", "Explain", args, &res); err != nil {
		return controller.Explanation{}, err
	}
	out := controller.Explanation{User: res.User, Model: res.Model, Owner: res.Owner, Reason: reason(res.Reason)}
	for _, f := range []struct {
		dst *acl.Level
		src string
	}{{&out.Access, res.Access}, {&out.Direct, res.Direct}, {&out.Controller, res.Controller}} {
		if *f.dst, err = level(f.src); err != nil {
			return controller.Explanation{}, err
		}
	}
	return out, nil
}

// reason reads acl.Reason's text back; anything unknown is NoReason.
func reason(s string) acl.Reason {
	for r := acl.NoReason; r <= acl.Inactive; r++ {
		if r.String() == s {
			return r
		}
	}
	return acl.NoReason
}
