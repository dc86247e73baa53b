package apiserver

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/controller/controllertest"
	"github.com/herd-project/herd/provider/fakeprovider"

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

func TestServers(t *testing.T) {
	got := servers([][]string{{"10.0.0.5:17070", "127.0.0.1:17070", "[fe80::1]:17070", "203.0.113.9:443", "ctl.example.com:17070", "[2001:db8::1]:17070", "no-port", "h:x"}, {"bad"}, {"10.0.0.6:17070"}})
	want := [][]params.HostPort{{
		{Address: params.Address{Value: "10.0.0.5", Type: "ipv4", Scope: "local-cloud"}, Port: 17070},
		{Address: params.Address{Value: "127.0.0.1", Type: "ipv4", Scope: "local-machine"}, Port: 17070},
		{Address: params.Address{Value: "fe80::1", Type: "ipv6", Scope: "link-local"}, Port: 17070},
		{Address: params.Address{Value: "203.0.113.9", Type: "ipv4", Scope: "public"}, Port: 443},
		{Address: params.Address{Value: "ctl.example.com", Type: "hostname", Scope: "public"}, Port: 17070},
		{Address: params.Address{Value: "2001:db8::1", Type: "ipv6", Scope: "public"}, Port: 17070},
	}, {
		{Address: params.Address{Value: "10.0.0.6", Type: "ipv4", Scope: "local-cloud"}, Port: 17070},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("servers:\n%+v\nwant\n%+v", got, want)
	}
	if servers(nil) != nil || servers([][]string{{"bad"}}) != nil {
		t.Error("no addresses should leave servers out")
	}
}

// The login lists the controller's addresses, so a client can fail over.
func TestLoginServers(t *testing.T) {
	ctx := ctxFor(t)
	b, err := controller.Bootstrap(ctx, "addrs", controller.Options{
		Provider: fakeprovider.New(), Hasher: controllertest.TestHasher{},
		Addrs: []string{"127.0.0.1:17070", "ctl.example.com:17070"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Controller.Close() })
	srv, err := New(b.Controller, Options{LoginRate: -1, LoginAddrRate: -1})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(srv)
	t.Cleanup(ts.Close)
	c, err := rpc.Dial(ctx, "wss"+strings.TrimPrefix(ts.URL, "https")+"/api", ts.Client().Transport.(*http.Transport).TLSClientConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res, err := login(ctx, c, "admin", b.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Servers) != 1 || len(res.Servers[0]) != 2 || res.Servers[0][0].Value != "127.0.0.1" || res.Servers[0][1].Value != "ctl.example.com" {
		t.Errorf("servers %+v", res.Servers)
	}
}
