package apiserver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/internal/params"
	"github.com/herd-project/herd/models"
)

// ModelManager v9 and v10 (apiserver/facades/client/modelmanager).
func init() {
	serve("ModelManager", map[string]method{
		"CreateModel":        createModel,
		"ListModels":         listModels,
		"ListModelSummaries": listModelSummaries,
		"ModelInfo":          modelInfos,
		"ModifyModelAccess":  modifyModelAccess,
		"DestroyModels":      destroyModels,
	})
}

// modelType is Juju's model type: Herd's models are machine models.
const modelType = "iaas"

var defaultSLA = &params.ModelSLAInfo{Level: "unsupported"}

// serverNumber is ServerVersion parsed once: every model summary and
// model info carries it, and parsing runs a regexp.
var serverNumber, _ = params.ParseNumber(ServerVersion)

// agentVersion is a fresh copy of serverNumber for one reply.
func agentVersion() *params.Number {
	n := serverNumber
	return &n
}

func createModel(ctx context.Context, k call) (any, error) {
	var p params.ModelCreateArgs
	if err := k.req.Decode(&p); err != nil {
		return nil, err
	}
	opts := controller.CreateModelOptions{}
	if p.OwnerTag != "" {
		owner, err := params.ParseUserTag(p.OwnerTag)
		if err != nil {
			return nil, err
		}
		opts.Owner = owner
	}
	if p.CloudTag != "" {
		cloud, err := params.ParseCloudTag(p.CloudTag)
		if err != nil {
			return nil, err
		}
		if c, _ := k.c.srv.ctrl.Cloud(); cloud != c {
			return nil, herd.Errorf(herd.ErrNotFound, "cloud %q not found", cloud)
		}
	}
	m, err := k.s.CreateModel(ctx, p.Name, opts)
	if err != nil {
		return nil, err
	}
	return modelInfo(ctx, k, m.UUID)
}

// modelInfo is one model's ModelInfo: its status (machines) and its users,
// two Session calls that each check the caller's access.
func modelInfo(ctx context.Context, k call, uuid string) (*params.ModelInfo, error) {
	ref := controller.UUIDRef(uuid)
	st, err := k.s.Status(ctx, ref)
	if err != nil {
		return nil, err
	}
	mu, err := k.s.ModelUsers(ctx, ref)
	if err != nil {
		return nil, err
	}
	m := st.Model
	info := &params.ModelInfo{
		Name:           m.Name,
		Type:           modelType,
		UUID:           m.UUID,
		ControllerUUID: k.c.srv.ctrl.UUID(),
		ProviderType:   m.Type,
		CloudTag:       params.CloudTag(m.Cloud),
		CloudRegion:    m.Region,
		OwnerTag:       params.UserTag(m.Owner),
		Life:           string(m.Life),
		Status:         modelStatus(m),
		Users:          []params.ModelUserInfo{},
		Machines:       []params.ModelMachineInfo{},
		SecretBackends: []params.SecretBackendResult{},
		SLA:            defaultSLA,
		AgentVersion:   agentVersion(),
	}
	for _, u := range mu {
		info.Users = append(info.Users, params.ModelUserInfo{
			ModelTag: params.ModelTag(uuid), UserName: u.User, Access: u.Access.String(),
		})
	}
	for _, mc := range st.Machines {
		info.Machines = append(info.Machines, params.ModelMachineInfo{
			ID: mc.ID, InstanceID: mc.InstanceID, Status: string(mc.Status), Message: mc.Message,
		})
	}
	return info, nil
}

func modelStatus(m models.Model) params.EntityStatus {
	st := params.EntityStatus{Status: string(m.Status), Info: m.StatusMessage}
	if !m.Created.IsZero() {
		t := m.Created
		st.Since = &t
	}
	return st
}

func modelInfos(ctx context.Context, k call) (any, error) {
	var p params.Entities
	if err := k.req.Decode(&p); err != nil {
		return nil, err
	}
	out := params.ModelInfoResults{Results: make([]params.ModelInfoResult, len(p.Entities))}
	for i, e := range p.Entities {
		uuid, err := params.ParseModelTag(e.Tag)
		if err == nil {
			var info *params.ModelInfo
			if info, err = modelInfo(ctx, k, uuid); err == nil {
				out.Results[i].Result = info
				continue
			}
		}
		out.Results[i].Error = perr(err)
	}
	return out, nil
}

// listedUser reads the user a listing is for ("" for the caller).
func listedUser(tag string) (string, error) {
	if tag == "" {
		return "", nil
	}
	return params.ParseUserTag(tag)
}

func listModels(ctx context.Context, k call) (any, error) {
	var p params.Entity
	if err := k.req.Decode(&p); err != nil {
		return nil, err
	}
	user, err := listedUser(p.Tag)
	if err != nil {
		return nil, err
	}
	list, err := k.s.Models(ctx, controller.ModelsOptions{User: user})
	if err != nil {
		return nil, err
	}
	// Juju's ListModels sends the zero time for "never connected".
	return userModels(list, true), nil
}

// userModels is Juju's UserModelList of list; a model never connected to
// has the zero time (zero true, as ListModels) or null (AllModels).
func userModels(list []controller.ModelSummary, zero bool) params.UserModelList {
	out := params.UserModelList{UserModels: make([]params.UserModel, 0, len(list))}
	for _, m := range list {
		var last *time.Time
		if !m.LastConnection.IsZero() || zero {
			t := m.LastConnection
			last = &t
		}
		out.UserModels = append(out.UserModels, params.UserModel{
			Model:          params.Model{Name: m.Name, UUID: m.UUID, Type: modelType, OwnerTag: params.UserTag(m.Owner)},
			LastConnection: last,
		})
	}
	return out
}

// listModelSummaries is ListModelSummaries. Juju honours "all" for
// controller superusers only and lists the user's own models for anyone
// else: the Session refuses "all" to a non-superuser, and that refusal is
// read as Juju's fallback.
func listModelSummaries(ctx context.Context, k call) (any, error) {
	var p params.ModelSummariesRequest
	if err := k.req.Decode(&p); err != nil {
		return nil, err
	}
	user, err := listedUser(p.UserTag)
	if err != nil {
		return nil, err
	}
	var list []controller.ModelSummary
	if p.All {
		list, err = k.s.Models(ctx, controller.ModelsOptions{All: true})
		if errors.Is(err, herd.ErrPermissionDenied) {
			list, err = k.s.Models(ctx, controller.ModelsOptions{User: user})
		}
	} else {
		list, err = k.s.Models(ctx, controller.ModelsOptions{User: user})
	}
	if err != nil {
		return nil, err
	}
	out := params.ModelSummaryResults{Results: make([]params.ModelSummaryResult, 0, len(list))}
	for _, m := range list {
		sum := &params.ModelSummary{
			Name:           m.Name,
			UUID:           m.UUID,
			Type:           modelType,
			ControllerUUID: k.c.srv.ctrl.UUID(),
			ProviderType:   m.Type,
			CloudTag:       params.CloudTag(m.Cloud),
			CloudRegion:    m.Region,
			OwnerTag:       params.UserTag(m.Owner),
			Life:           string(m.Life),
			Status:         modelStatus(m.Model),
			UserAccess:     m.Access.String(),
			Counts:         []params.ModelEntityCount{},
			SLA:            defaultSLA,
			AgentVersion:   agentVersion(),
		}
		if !m.LastConnection.IsZero() {
			last := m.LastConnection
			sum.UserLastConnection = &last
		}
		if m.Machines > 0 {
			sum.Counts = append(sum.Counts, params.ModelEntityCount{Entity: params.CountMachines, Count: int64(m.Machines)})
		}
		if m.Units > 0 {
			sum.Counts = append(sum.Counts, params.ModelEntityCount{Entity: params.CountUnits, Count: int64(m.Units)})
		}
		out.Results = append(out.Results, params.ModelSummaryResult{Result: sum})
	}
	return out, nil
}

func modifyModelAccess(ctx context.Context, k call) (any, error) {
	var p params.ModifyModelAccessRequest
	if err := k.req.Decode(&p); err != nil {
		return nil, err
	}
	out := params.ErrorResults{Results: make([]params.ErrorResult, len(p.Changes))}
	for i, ch := range p.Changes {
		out.Results[i].Error = perr(changeModelAccess(ctx, k.s, ch))
	}
	return out, nil
}

// changeModelAccess is one change of ModifyModelAccess. As Juju's, a level,
// model tag or user tag it cannot read is "could not modify model access:
// ..." (apiserver/facades/client/modelmanager ModifyModelAccess).
func changeModelAccess(ctx context.Context, s *controller.Session, ch params.ModifyModelAccess) error {
	level, err := acl.ParseKind(ch.Access, acl.KindModel)
	if err != nil {
		return fmt.Errorf("could not modify model access: %w", err)
	}
	uuid, err := params.ParseModelTag(ch.ModelTag)
	if err != nil {
		return fmt.Errorf("could not modify model access: %w", err)
	}
	user, err := params.ParseUserTag(ch.UserTag)
	if err != nil {
		return fmt.Errorf("could not modify model access: %w", err)
	}
	return changeAccess(ctx, s, ch.Action, user, level, controller.UUIDRef(uuid))
}

// changeAccess grants or revokes; model "" is the controller.
func changeAccess(ctx context.Context, s *controller.Session, action, user string, level acl.Level, model string) error {
	switch action {
	case params.ActionGrant:
		return s.Grant(ctx, user, level, model)
	case params.ActionRevoke:
		return s.Revoke(ctx, user, level, model)
	}
	return herd.Errorf(herd.ErrInvalid, "unknown action %q", action)
}

func destroyModels(ctx context.Context, k call) (any, error) {
	var p params.DestroyModelsParams
	if err := k.req.Decode(&p); err != nil {
		return nil, err
	}
	out := params.ErrorResults{Results: make([]params.ErrorResult, len(p.Models))}
	for i, m := range p.Models {
		uuid, err := params.ParseModelTag(m.ModelTag)
		if err == nil {
			err = k.s.DestroyModel(ctx, controller.UUIDRef(uuid))
		}
		out.Results[i].Error = perr(err)
	}
	return out, nil
}
