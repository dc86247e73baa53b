package client

import (
	"context"
	"slices"
	"strings"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/internal/params"
	"github.com/herd-project/herd/users"
)

// AddUser creates a user with controller access login and no password
// (UserManager.AddUser) and returns the one-time registration token, built
// here from the secret key the controller returns, as `juju add-user`
// does: it names the session's known addresses and Options.ControllerName.
func (s *Session) AddUser(ctx context.Context, name, displayName string) (controller.AddedUser, error) {
	var res params.AddUserResults
	args := params.AddUsers{Users: []params.AddUser{{Username: name, DisplayName: displayName}}}
	if err := s.call(ctx, "UserManager", "AddUser", args, &res); err != nil {
		return controller.AddedUser{}, err
	}
	if err := oneResult("UserManager", "AddUser", len(res.Results)); err != nil {
		return controller.AddedUser{}, err
	}
	r := res.Results[0]
	if r.Error != nil {
		return controller.AddedUser{}, fromParams(r.Error)
	}
	token, err := s.registrationToken(name, r.SecretKey)
	if err != nil {
		return controller.AddedUser{}, err
	}
	id, _ := users.Canonical(name)
	info := controller.UserInfo{
		User:    users.User{Name: id, GivenName: name, DisplayName: displayName, CreatedBy: s.user},
		Access:  acl.Login,
		Pending: true,
	}
	// The controller's own record has the creation time; a failure to read
	// it back does not undo the user.
	if got, err := s.ShowUser(ctx, id); err == nil {
		info.User = got.User
		info.Access = got.Access
	}
	return controller.AddedUser{User: info, Token: token}, nil
}

func (s *Session) registrationToken(name string, key []byte) (string, error) {
	if len(key) != users.SecretKeyLen {
		return "", herd.Errorf(herd.ErrInvalid, "controller returned no valid secret key for %q", name)
	}
	return users.Token{User: name, Addrs: s.Addrs(), SecretKey: key, ControllerName: s.opts.ControllerName}.Encode()
}

// ChangePassword sets a user's password (UserManager.SetPassword): one's
// own, or anyone's for a superuser. The password is not kept.
func (s *Session) ChangePassword(ctx context.Context, name, password string) error {
	if name == "" {
		name = s.user // oneself, as in process
	}
	tag, err := userTag(name)
	if err != nil {
		return err
	}
	var res params.ErrorResults
	args := params.EntityPasswords{Changes: []params.EntityPassword{{Tag: tag, Password: password}}}
	if err := s.call(ctx, "UserManager", "SetPassword", args, &res); err != nil {
		return err
	}
	return errorResult("UserManager", "SetPassword", res)
}

// ResetPassword clears another user's password and returns a new
// registration token (UserManager.ResetPassword); earlier tokens and the
// user's sessions stop working.
func (s *Session) ResetPassword(ctx context.Context, name string) (string, error) {
	tag, err := userTag(name)
	if err != nil {
		return "", err
	}
	var res params.AddUserResults
	if err := s.call(ctx, "UserManager", "ResetPassword", entities(tag), &res); err != nil {
		return "", err
	}
	if err := oneResult("UserManager", "ResetPassword", len(res.Results)); err != nil {
		return "", err
	}
	if r := res.Results[0]; r.Error != nil {
		return "", fromParams(r.Error)
	}
	// The token names the user as first given, as the controller's own
	// tokens do; the name passed here may differ in case.
	if u, err := s.ShowUser(ctx, name); err == nil && u.GivenName != "" {
		name = u.GivenName
	}
	return s.registrationToken(name, res.Results[0].SecretKey)
}

// DisableUser disables a user (UserManager.DisableUser).
func (s *Session) DisableUser(ctx context.Context, name string) error {
	return s.userCall(ctx, "DisableUser", name)
}

// EnableUser enables a disabled user (UserManager.EnableUser).
func (s *Session) EnableUser(ctx context.Context, name string) error {
	return s.userCall(ctx, "EnableUser", name)
}

// RemoveUser removes a user (UserManager.RemoveUser).
func (s *Session) RemoveUser(ctx context.Context, name string) error {
	return s.userCall(ctx, "RemoveUser", name)
}

func (s *Session) userCall(ctx context.Context, method, name string) error {
	tag, err := userTag(name)
	if err != nil {
		return err
	}
	var res params.ErrorResults
	if err := s.call(ctx, "UserManager", method, entities(tag), &res); err != nil {
		return err
	}
	return errorResult("UserManager", method, res)
}

// userTag checks a user name as the controller does (users.Canonical, with
// its message) before it becomes a tag, whose refusal would read
// differently.
func userTag(name string) (string, error) {
	if _, err := users.Canonical(name); err != nil {
		return "", err
	}
	return params.UserTag(name), nil
}

func entities(tags ...string) params.Entities {
	out := params.Entities{Entities: make([]params.Entity, len(tags))}
	for i, t := range tags {
		out.Entities[i].Tag = t
	}
	return out
}

// EndSessions ends every session of a user (HerdSession.EndSessions, a
// superuser's call) and returns how many were ended.
func (s *Session) EndSessions(ctx context.Context, name string) (int, error) {
	tag, err := userTag(name)
	if err != nil {
		return 0, err
	}
	var res params.EndSessionsResults
	if err := s.call(ctx, "HerdSession", "EndSessions", entities(tag), &res); err != nil {
		return 0, err
	}
	if err := oneResult("HerdSession", "EndSessions", len(res.Results)); err != nil {
		return 0, err
	}
	r := res.Results[0]
	return r.Count, fromParams(r.Error)
}

// Users lists users, sorted by name (UserManager.UserInfo with no
// entities): every user for a superuser (disabled ones with opts.All),
// only oneself for anyone else. Pending is not on the wire: it is
// always false here.
func (s *Session) Users(ctx context.Context, opts controller.UsersOptions) ([]controller.UserInfo, error) {
	var res params.UserInfoResults
	args := params.UserInfoRequest{Entities: []params.Entity{}, IncludeDisabled: opts.All}
	if err := s.call(ctx, "UserManager", "UserInfo", args, &res); err != nil {
		return nil, err
	}
	out := make([]controller.UserInfo, 0, len(res.Results))
	for _, r := range res.Results {
		if r.Error != nil {
			return nil, fromParams(r.Error)
		}
		if r.Result == nil {
			continue
		}
		u, err := userInfo(*r.Result)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b controller.UserInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// ShowUser returns one user ("" is oneself) (UserManager.UserInfo).
func (s *Session) ShowUser(ctx context.Context, name string) (controller.UserInfo, error) {
	if name == "" {
		name = s.user
	}
	tag, err := userTag(name)
	if err != nil {
		return controller.UserInfo{}, err
	}
	var res params.UserInfoResults
	args := params.UserInfoRequest{Entities: []params.Entity{{Tag: tag}}, IncludeDisabled: true}
	if err := s.call(ctx, "UserManager", "UserInfo", args, &res); err != nil {
		return controller.UserInfo{}, err
	}
	if err := oneResult("UserManager", "UserInfo", len(res.Results)); err != nil {
		return controller.UserInfo{}, err
	}
	r := res.Results[0]
	if r.Error != nil {
		return controller.UserInfo{}, fromParams(r.Error)
	}
	if r.Result == nil {
		return controller.UserInfo{}, unexpected("empty user info", nil)
	}
	return userInfo(*r.Result)
}

func userInfo(u params.UserInfo) (controller.UserInfo, error) {
	access, err := level(u.Access)
	if err != nil {
		return controller.UserInfo{}, err
	}
	id, err := users.Canonical(u.Username)
	if err != nil {
		id = u.Username
	}
	out := controller.UserInfo{
		User: users.User{
			Name: id, GivenName: u.Username, DisplayName: u.DisplayName, CreatedBy: u.CreatedBy,
			Created: u.DateCreated, Disabled: u.Disabled,
		},
		Access: access,
	}
	if u.LastConnection != nil {
		out.LastLogin = *u.LastConnection
	}
	return out, nil
}

// level reads an access level; "" is none.
func level(s string) (acl.Level, error) {
	if s == "" {
		return acl.None, nil
	}
	l, err := acl.Parse(s)
	if err != nil {
		return acl.None, unexpected("access level", err)
	}
	return l, nil
}

// WhoAmI returns the controller (Options.ControllerName, or the
// controller's UUID when unnamed), the user and their controller access,
// read from the controller (UserManager.UserInfo on oneself), so a call
// also checks that the session still works. Expires is zero: the
// session's expiry is not on the wire.
func (s *Session) WhoAmI(ctx context.Context) (controller.WhoAmI, error) {
	u, err := s.ShowUser(ctx, s.user)
	if err != nil {
		return controller.WhoAmI{}, err
	}
	name := s.opts.ControllerName
	if name == "" {
		name = s.ControllerUUID()
	}
	return controller.WhoAmI{Controller: name, User: u.Name, Access: u.Access}, nil
}
