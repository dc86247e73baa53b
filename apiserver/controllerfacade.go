package apiserver

import (
	"context"
	"fmt"

	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/internal/params"
	"github.com/herd-project/herd/internal/rpc"
)

// Controller v11 and v12 (apiserver/facades/client/controller).
func init() {
	serve("Controller", map[string]method{
		"AllModels":              allModels,
		"ModifyControllerAccess": modifyControllerAccess,
		"GetControllerAccess":    getControllerAccess,
		"ControllerVersion":      controllerVersion,
		"DestroyController":      destroyController,
	})
}

// allModels lists every model (a superuser's call; the Session decides).
// Juju's AllModels sends null for "never connected".
func allModels(ctx context.Context, k call) (any, error) {
	list, err := k.s.Models(ctx, controller.ModelsOptions{All: true})
	if err != nil {
		return nil, err
	}
	return userModels(list, false), nil
}

func modifyControllerAccess(ctx context.Context, k call) (any, error) {
	var p params.ModifyControllerAccessRequest
	if err := k.req.Decode(&p); err != nil {
		return nil, err
	}
	out := params.ErrorResults{Results: make([]params.ErrorResult, len(p.Changes))}
	for i, ch := range p.Changes {
		out.Results[i].Error = perr(changeControllerAccess(ctx, k.s, ch))
	}
	return out, nil
}

// changeControllerAccess is one change of ModifyControllerAccess; as
// Juju's, a user tag it cannot read is "could not modify controller
// access: ..." (apiserver/facades/client/controller).
func changeControllerAccess(ctx context.Context, s *controller.Session, ch params.ModifyControllerAccess) error {
	level, err := acl.ParseKind(ch.Access, acl.KindController)
	if err != nil {
		return err
	}
	user, err := params.ParseUserTag(ch.UserTag)
	if err != nil {
		return fmt.Errorf("could not modify controller access: %w", err)
	}
	return changeAccess(ctx, s, ch.Action, user, level, "")
}

// getControllerAccess reads each user's controller access through
// ShowUser, which lets a user see themselves and a superuser see anyone,
// as Juju's GetControllerAccess.
func getControllerAccess(ctx context.Context, k call) (any, error) {
	var p params.Entities
	if err := k.req.Decode(&p); err != nil {
		return nil, err
	}
	var out params.UserAccessResults
	for _, e := range p.Entities {
		name, err := params.ParseUserTag(e.Tag)
		if err == nil {
			var u controller.UserInfo
			if u, err = k.s.ShowUser(ctx, name); err == nil {
				access := u.Access.String()
				if u.Disabled {
					access = ""
				}
				out.Results = append(out.Results, params.UserAccessResult{Result: &params.UserAccess{UserTag: params.UserTag(u.Name), Access: access}})
				continue
			}
		}
		out.Results = append(out.Results, params.UserAccessResult{Error: perr(err)})
	}
	return out, nil
}

func controllerVersion(ctx context.Context, k call) (any, error) {
	if err := k.s.Check(ctx); err != nil {
		return nil, err
	}
	return params.ControllerVersionResults{Version: ServerVersion}, nil
}

// destroyController is Juju's Controller.DestroyController: the
// controller's models, its machine at the provider, then the controller
// itself, which closes (the Session decides: superuser only). As Juju's,
// without destroy-models a controller that has models is refused with
// "controller has hosted models"; Herd has no controller model, so every
// model counts. The model count is read through Controller.AllModels'
// own Session call, so a user who may not see every model is refused
// there, before anything is said about the models. destroy-storage,
// force, max-wait and model-timeout are read and have no effect: Herd
// destroys models at once and has no storage.
func destroyController(ctx context.Context, k call) (any, error) {
	var p params.DestroyControllerArgs
	if err := k.req.Decode(&p); err != nil {
		return nil, err
	}
	if !p.DestroyModels {
		list, err := k.s.Models(ctx, controller.ModelsOptions{All: true})
		if err != nil {
			return nil, err
		}
		if n := len(list); n > 0 {
			plural := "s"
			if n == 1 {
				plural = ""
			}
			return nil, &rpc.Error{Message: fmt.Sprintf("hosting %d other model%s", n, plural), Code: params.CodeHasHostedModels}
		}
	}
	return nil, k.s.DestroyController(ctx)
}
