package apiserver

import (
	"errors"
	"reflect"
	"testing"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/internal/params"
	"github.com/herd-project/herd/internal/rpc"
)

func TestLogin(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := ctxFor(t)
	c := e.dial(t, "/api")
	res, err := login(ctx, c, "admin", e.f.Password("admin"))
	if err != nil {
		t.Fatal(err)
	}
	if res.ControllerTag != params.ControllerTag(e.f.Controller.UUID()) || res.ModelTag != "" || res.ServerVersion != ServerVersion {
		t.Errorf("login result %+v", res)
	}
	if res.UserInfo == nil || res.UserInfo.Identity != "user-admin" || res.UserInfo.ControllerAccess != "superuser" || res.UserInfo.ModelAccess != "" {
		t.Errorf("user-info %+v", res.UserInfo)
	}
	if !reflect.DeepEqual(res.Facades, params.FacadeList(false)) {
		t.Errorf("facades %v, want %v", res.Facades, params.FacadeList(false))
	}
	// Logging in twice on one connection: Juju's error.
	_, err = login(ctx, c, "admin", e.f.Password("admin"))
	wantErr(t, err, "already logged in", "")
}

// A wrong password, an unknown user, a disabled and a removed user all get
// Juju's one answer.
func TestLoginRefusedAlike(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := ctxFor(t)
	e.f.AddUser(t, "tom")
	e.f.AddUser(t, "dis")
	e.f.AddUser(t, "gone")
	if err := e.f.Admin.DisableUser(ctx, "dis"); err != nil {
		t.Fatal(err)
	}
	if err := e.f.Admin.RemoveUser(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ user, password string }{
		{"tom", "wrong"},
		{"nobody", "tom-password"},
		{"dis", e.f.Password("dis")},
		{"gone", e.f.Password("gone")},
		{"tom", ""},
	} {
		c := e.dial(t, "/api")
		_, err := login(ctx, c, tc.user, tc.password)
		wantErr(t, err, rpc.MsgBadCreds, rpc.CodeUnauthorized)
		if !errors.Is(err, herd.ErrUnauthenticated) {
			t.Errorf("%s: %v is not ErrUnauthenticated", tc.user, err)
		}
		// The connection stays usable for another attempt.
		if _, err := login(ctx, c, "tom", e.f.Password("tom")); err != nil {
			t.Errorf("login after a refusal: %v", err)
		}
	}
	c := e.dial(t, "/api")
	err := c.Call(ctx, "Admin", 3, "", "Login", params.LoginRequest{}, nil)
	wantErr(t, err, "no credentials provided", rpc.CodeNoCreds)
}

func TestBeforeLogin(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := ctxFor(t)
	c := e.dial(t, "/api")
	err := c.Call(ctx, "UserManager", 3, "", "UserInfo", entities(), nil)
	wantErr(t, err, `unknown version (3) of interface "UserManager"`, rpc.CodeNotImplemented)
	err = c.Call(ctx, "HerdSession", 1, "", "SessionToken", nil, nil)
	wantErr(t, err, `unknown version (1) of interface "HerdSession"`, rpc.CodeNotImplemented)
	if err := c.Call(ctx, "Pinger", 1, "", "Ping", nil, nil); err != nil {
		t.Errorf("Ping before login: %v", err)
	}
	err = c.Call(ctx, "Admin", 2, "", "Login", params.LoginRequest{}, nil)
	wantErr(t, err, "this version of Juju does not support login from old clients", rpc.CodeNotSupported)
	err = c.Call(ctx, "Admin", 3, "", "RedirectInfo", nil, nil)
	wantErr(t, err, "not redirected", "")
	err = c.Call(ctx, "Admin", 3, "", "Frob", nil, nil)
	wantErr(t, err, "no such request - method Admin(3).Frob is not implemented", rpc.CodeNotImplemented)
}

func TestUnknownFacadeVersionMethod(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := ctxFor(t)
	c := e.as(t, "admin")
	err := c.Call(ctx, "Nope", 1, "", "Ping", nil, nil)
	wantErr(t, err, `unknown version (1) of interface "Nope"`, rpc.CodeNotImplemented)
	err = c.Call(ctx, "UserManager", 2, "", "UserInfo", entities(), nil)
	wantErr(t, err, `unknown version (2) of interface "UserManager"`, rpc.CodeNotImplemented)
	err = c.Call(ctx, "UserManager", 3, "", "Frob", nil, nil)
	wantErr(t, err, "no such request - method UserManager(3).Frob is not implemented", rpc.CodeNotImplemented)
	err = c.Call(ctx, "Client", 8, "", "FullStatus", params.StatusParams{}, nil)
	wantErr(t, err, `facade "Client" not supported for controller API connection`, rpc.CodeNotSupported)
	err = c.Call(ctx, "ModelManager", 10, "", "ListModels", params.Entity{Tag: "user-"}, nil)
	if err == nil {
		t.Error("a bad tag was accepted")
	}
	// A method Herd lacks on a facade it serves.
	err = c.Call(ctx, "ModelManager", 10, "", "DumpModels", entities(), nil)
	wantErr(t, err, "no such request - method ModelManager(10).DumpModels is not implemented", rpc.CodeNotImplemented)
	var v params.ControllerVersionResults
	if err := c.Call(ctx, "Controller", 12, "", "ControllerVersion", nil, &v); err != nil || v.Version != ServerVersion {
		t.Errorf("ControllerVersion: %+v, %v", v, err)
	}
}
