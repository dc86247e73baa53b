package apiserver

import (
	"context"

	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/internal/params"
	"github.com/herd-project/herd/users"
)

// UserManager v3 (apiserver/facades/client/usermanager).
func init() {
	serve("UserManager", map[string]method{
		"AddUser":       addUsers,
		"UserInfo":      userInfo,
		"SetPassword":   setPasswords,
		"ResetPassword": resetPasswords,
		"DisableUser":   eachUser((*controller.Session).DisableUser),
		"EnableUser":    eachUser((*controller.Session).EnableUser),
		"RemoveUser":    eachUser((*controller.Session).RemoveUser),
	})
}

// addUsers is AddUser: without a password the result carries the
// registration secret key, as Juju's; with one, the user is created with
// it in one transaction and no key is returned (as Juju).
func addUsers(ctx context.Context, k call) (any, error) {
	var p params.AddUsers
	if err := k.req.Decode(&p); err != nil {
		return nil, err
	}
	out := params.AddUserResults{Results: make([]params.AddUserResult, len(p.Users))}
	for i, u := range p.Users {
		out.Results[i] = addUser(ctx, k.s, u)
	}
	return out, nil
}

func addUser(ctx context.Context, s *controller.Session, u params.AddUser) params.AddUserResult {
	var added controller.AddedUser
	var err error
	if u.Password != "" {
		err = s.Batch(ctx, func(b *controller.Batch) error {
			added, err = b.AddUser(u.Username, u.DisplayName)
			if err != nil {
				return err
			}
			return b.SetPassword(u.Username, u.Password)
		})
		if err != nil {
			return params.AddUserResult{Error: perr(err)}
		}
		return params.AddUserResult{Tag: params.UserTag(added.User.Name)}
	}
	added, err = s.AddUser(ctx, u.Username, u.DisplayName)
	if err != nil {
		return params.AddUserResult{Error: perr(err)}
	}
	return secretKeyResult(added.User.Name, added.Token)
}

func secretKeyResult(name, token string) params.AddUserResult {
	t, err := users.DecodeToken(token)
	if err != nil {
		return params.AddUserResult{Error: perr(err)}
	}
	return params.AddUserResult{Tag: params.UserTag(name), SecretKey: t.SecretKey}
}

// userInfo is UserInfo: no entities lists the users the caller may see
// (a superuser all, anyone else themselves), as Juju.
func userInfo(ctx context.Context, k call) (any, error) {
	var p params.UserInfoRequest
	if err := k.req.Decode(&p); err != nil {
		return nil, err
	}
	out := params.UserInfoResults{Results: []params.UserInfoResult{}}
	if len(p.Entities) == 0 {
		list, err := k.s.Users(ctx, controller.UsersOptions{All: p.IncludeDisabled})
		if err != nil {
			return nil, err
		}
		for _, u := range list {
			if u.Disabled && !p.IncludeDisabled {
				continue
			}
			out.Results = append(out.Results, params.UserInfoResult{Result: wireUser(u)})
		}
		return out, nil
	}
	for _, e := range p.Entities {
		name, err := params.ParseUserTag(e.Tag)
		if err == nil {
			var u controller.UserInfo
			if u, err = k.s.ShowUser(ctx, name); err == nil {
				out.Results = append(out.Results, params.UserInfoResult{Result: wireUser(u)})
				continue
			}
		}
		out.Results = append(out.Results, params.UserInfoResult{Error: perr(err)})
	}
	return out, nil
}

func wireUser(u controller.UserInfo) *params.UserInfo {
	w := &params.UserInfo{
		Username:    u.Display(),
		DisplayName: u.DisplayName,
		Access:      u.Access.String(),
		CreatedBy:   u.CreatedBy,
		DateCreated: u.Created,
		Disabled:    u.Disabled,
	}
	if u.Disabled {
		w.Access = "" // Juju: disabled users have no access to the controller
	}
	if !u.LastLogin.IsZero() {
		t := u.LastLogin
		w.LastConnection = &t
	}
	return w
}

func setPasswords(ctx context.Context, k call) (any, error) {
	var p params.EntityPasswords
	if err := k.req.Decode(&p); err != nil {
		return nil, err
	}
	out := params.ErrorResults{Results: make([]params.ErrorResult, len(p.Changes))}
	for i, ch := range p.Changes {
		name, err := params.ParseUserTag(ch.Tag)
		if err == nil {
			err = k.s.ChangePassword(ctx, name, ch.Password)
		}
		out.Results[i].Error = perr(err)
	}
	return out, nil
}

func resetPasswords(ctx context.Context, k call) (any, error) {
	var p params.Entities
	if err := k.req.Decode(&p); err != nil {
		return nil, err
	}
	out := params.AddUserResults{Results: make([]params.AddUserResult, len(p.Entities))}
	for i, e := range p.Entities {
		name, err := params.ParseUserTag(e.Tag)
		if err != nil {
			out.Results[i].Error = perr(err)
			continue
		}
		token, err := k.s.ResetPassword(ctx, name)
		if err != nil {
			out.Results[i].Error = perr(err)
			continue
		}
		out.Results[i] = secretKeyResult(name, token)
	}
	return out, nil
}

// eachUser serves a bulk call on Entities of user tags that returns
// ErrorResults, with one Session call per user.
func eachUser(op func(*controller.Session, context.Context, string) error) method {
	return func(ctx context.Context, k call) (any, error) {
		var p params.Entities
		if err := k.req.Decode(&p); err != nil {
			return nil, err
		}
		out := params.ErrorResults{Results: make([]params.ErrorResult, len(p.Entities))}
		for i, e := range p.Entities {
			name, err := params.ParseUserTag(e.Tag)
			if err == nil {
				err = op(k.s, ctx, name)
			}
			out.Results[i].Error = perr(err)
		}
		return out, nil
	}
}
