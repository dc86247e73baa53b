package apiserver

import (
	"errors"
	"testing"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/internal/params"
	"github.com/herd-project/herd/internal/rpc"
	"github.com/herd-project/herd/users"
)

// One refused item of a bulk call does not fail the others.
func TestBulkPerItemErrors(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := ctxFor(t)
	admin := e.as(t, "admin")
	var added params.AddUserResults
	err := admin.Call(ctx, "UserManager", 3, "", "AddUser", params.AddUsers{Users: []params.AddUser{
		{Username: "tom", DisplayName: "Tom"},
		{Username: "!bad"},
		{Username: "tom"},
		{Username: "ann", Password: "ann-secret"},
	}}, &added)
	if err != nil {
		t.Fatal(err)
	}
	r := added.Results
	if len(r) != 4 || r[0].Error != nil || r[0].Tag != "user-tom" || len(r[0].SecretKey) != 32 {
		t.Fatalf("AddUser results %+v", r)
	}
	if r[1].Error == nil || r[1].Error.Code != rpc.CodeNotValid {
		t.Errorf("bad name: %+v", r[1])
	}
	if r[2].Error == nil || r[2].Error.Code != rpc.CodeAlreadyExists || r[2].Error.Message != `failed to create user: user "tom" already exists` {
		t.Errorf("taken name: %+v", r[2].Error)
	}
	if r[3].Error != nil || r[3].SecretKey != nil || r[3].Tag != "user-ann" {
		t.Errorf("with a password: %+v", r[3])
	}
	// ann logs in with the password given; tom's key registers him.
	ann := e.dial(t, "/api")
	if _, err := login(ctx, ann, "ann", "ann-secret"); err != nil {
		t.Fatal(err)
	}
	var key [32]byte
	copy(key[:], r[0].SecretKey)
	tok, err := users.Token{User: "tom", SecretKey: key[:], ControllerName: e.f.Controller.Name()}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.f.Controller.Register(ctx, tok, "tom-password"); err != nil {
		t.Fatalf("the secret key returned does not register: %v", err)
	}

	var info params.UserInfoResults
	if err := admin.Call(ctx, "UserManager", 3, "", "UserInfo", params.UserInfoRequest{
		Entities: []params.Entity{{Tag: "user-tom"}, {Tag: "user-nobody"}, {Tag: "machine-0"}},
	}, &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Results) != 3 || info.Results[0].Result == nil || info.Results[0].Result.Username != "tom" ||
		info.Results[0].Result.DisplayName != "Tom" || info.Results[0].Result.Access != "login" {
		t.Fatalf("UserInfo %+v", info.Results)
	}
	if info.Results[1].Error == nil || info.Results[2].Error == nil {
		t.Errorf("UserInfo errors %+v %+v", info.Results[1], info.Results[2])
	}

	// A login-only user: AddUser refused per item; UserInfo with no
	// entities lists only themselves.
	tom := e.as(t, "tom")
	if err := tom.Call(ctx, "UserManager", 3, "", "AddUser", params.AddUsers{Users: []params.AddUser{{Username: "eve"}}}, &added); err != nil {
		t.Fatal(err)
	}
	if added.Results[0].Error == nil || added.Results[0].Error.Message != "permission denied" || added.Results[0].Error.Code != rpc.CodeUnauthorized {
		t.Errorf("tom's AddUser: %+v", added.Results[0])
	}
	if err := tom.Call(ctx, "UserManager", 3, "", "UserInfo", params.UserInfoRequest{}, &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Results) != 1 || info.Results[0].Result.Username != "tom" {
		t.Errorf("tom's UserInfo: %+v", info.Results)
	}
	if err := admin.Call(ctx, "UserManager", 3, "", "UserInfo", params.UserInfoRequest{}, &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Results) != 3 {
		t.Errorf("admin's UserInfo lists %d users, want admin, ann, tom", len(info.Results))
	}

	// Disable: mixed items.
	var er params.ErrorResults
	if err := admin.Call(ctx, "UserManager", 3, "", "DisableUser", entities("user-ann", "user-nobody", "user-admin"), &er); err != nil {
		t.Fatal(err)
	}
	if len(er.Results) != 3 || er.Results[0].Error != nil || er.Results[1].Error == nil || er.Results[2].Error == nil {
		t.Errorf("DisableUser %+v", er.Results)
	}
	if err := admin.Call(ctx, "UserManager", 3, "", "UserInfo", params.UserInfoRequest{IncludeDisabled: true}, &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Results) != 3 {
		t.Errorf("include-disabled lists %d users", len(info.Results))
	}
	if err := admin.Call(ctx, "UserManager", 3, "", "EnableUser", entities("user-ann"), &er); err != nil || er.Results[0].Error != nil {
		t.Errorf("EnableUser %+v %v", er, err)
	}
}

// A session ended by any of the ways spec/api.md lists fails the next
// request on a live connection.
func TestSessionEndsOnLiveConnection(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, e *env, admin, tom *rpc.Client)
	}{
		{"logout", func(t *testing.T, e *env, _, tom *rpc.Client) {
			if err := tom.Call(ctxFor(t), "HerdSession", 1, "", "Logout", nil, nil); err != nil {
				t.Fatal(err)
			}
		}},
		{"disable", bulk("UserManager", 3, "DisableUser", entities("user-tom"))},
		{"password change", bulk("UserManager", 3, "SetPassword", params.EntityPasswords{Changes: []params.EntityPassword{{Tag: "user-tom", Password: "new-one"}}})},
		{"reset", bulk("UserManager", 3, "ResetPassword", entities("user-tom"))},
		{"removal", bulk("UserManager", 3, "RemoveUser", entities("user-tom"))},
		{"end sessions", bulk("HerdSession", 1, "EndSessions", entities("user-tom"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			e.f.AddUser(t, "tom")
			admin, tom := e.as(t, "admin"), e.as(t, "tom")
			ctx := ctxFor(t)
			var info params.UserInfoResults
			if err := tom.Call(ctx, "UserManager", 3, "", "UserInfo", params.UserInfoRequest{}, &info); err != nil {
				t.Fatal(err)
			}
			tc.end(t, e, admin, tom)
			err := tom.Call(ctx, "UserManager", 3, "", "UserInfo", params.UserInfoRequest{}, &info)
			if !errors.Is(err, herd.ErrUnauthenticated) || rpc.CodeOf(err) != rpc.CodeUnauthorized {
				t.Fatalf("after %s: %v (code %q), want unauthorized access", tc.name, err, rpc.CodeOf(err))
			}
			if err := tom.Call(ctx, "Pinger", 1, "", "Ping", nil, nil); !errors.Is(err, herd.ErrUnauthenticated) {
				t.Errorf("Ping after %s: %v", tc.name, err)
			}
			// admin's connection is not disturbed.
			if err := admin.Call(ctx, "UserManager", 3, "", "UserInfo", params.UserInfoRequest{}, &info); err != nil {
				t.Errorf("admin after %s: %v", tc.name, err)
			}
		})
	}
}

func bulk(facade string, version int, method string, args any) func(*testing.T, *env, *rpc.Client, *rpc.Client) {
	return func(t *testing.T, _ *env, admin, _ *rpc.Client) {
		var res struct {
			Results []struct {
				Error *params.Error `json:"error"`
			} `json:"results"`
		}
		if err := admin.Call(ctxFor(t), facade, version, "", method, args, &res); err != nil {
			t.Fatal(err)
		}
		if len(res.Results) != 1 || res.Results[0].Error != nil {
			t.Fatalf("%s.%s: %+v", facade, method, res.Results)
		}
	}
}

// HerdSession.SessionToken hands out the credential; Admin.Login's token
// resumes the session on another connection, for its own user only.
func TestSessionTokenResume(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := ctxFor(t)
	e.f.AddUser(t, "tom")
	tom := e.as(t, "tom")
	var tok params.StringResult
	if err := tom.Call(ctx, "HerdSession", 1, "", "SessionToken", nil, &tok); err != nil || tok.Result == "" {
		t.Fatalf("SessionToken: %+v %v", tok, err)
	}
	// The session outlives the connection that handed it out.
	tom.Close()

	wrong := e.dial(t, "/api")
	err := wrong.Call(ctx, "Admin", 3, "", "Login", params.LoginRequest{AuthTag: "user-admin", Token: tok.Result}, nil)
	wantErr(t, err, rpc.MsgBadCreds, rpc.CodeUnauthorized)
	bogus := e.dial(t, "/api")
	err = bogus.Call(ctx, "Admin", 3, "", "Login", params.LoginRequest{AuthTag: "user-tom", Token: "not-a-token"}, nil)
	if !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("a bogus token: %v", err)
	}

	again := e.dial(t, "/api")
	var res params.LoginResult
	if err := again.Call(ctx, "Admin", 3, "", "Login", params.LoginRequest{AuthTag: "user-tom", Token: tok.Result}, &res); err != nil {
		t.Fatal(err)
	}
	if res.UserInfo.Identity != "user-tom" || res.UserInfo.ControllerAccess != "login" {
		t.Errorf("resumed login %+v", res.UserInfo)
	}

	// Explain on the resumed session.
	m := e.f.CreateModel(t, "admin", "m1")
	e.f.Grant(t, "tom", acl.Write, "admin/m1")
	var ex params.ExplainResult
	if err := again.Call(ctx, "HerdSession", 1, "", "Explain", params.ExplainArgs{UserTag: "user-tom", ModelTag: params.ModelTag(m.UUID)}, &ex); err != nil {
		t.Fatal(err)
	}
	if ex.User != "tom" || ex.Model != "admin/m1" || ex.Access != "write" || ex.Sentence == "" {
		t.Errorf("Explain %+v", ex)
	}
	// Explaining someone else needs model admin.
	err = again.Call(ctx, "HerdSession", 1, "", "Explain", params.ExplainArgs{UserTag: "user-admin", ModelTag: params.ModelTag(m.UUID)}, &ex)
	if !errors.Is(err, herd.ErrPermissionDenied) {
		t.Errorf("explain another: %v", err)
	}
	// Logout through the resumed connection ends the token.
	if err := again.Call(ctx, "HerdSession", 1, "", "Logout", nil, nil); err != nil {
		t.Fatal(err)
	}
	last := e.dial(t, "/api")
	err = last.Call(ctx, "Admin", 3, "", "Login", params.LoginRequest{AuthTag: "user-tom", Token: tok.Result}, nil)
	if !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("login with a logged-out token: %v", err)
	}
}

// A password login's session ends with its connection unless its
// credential went out (SessionToken): nobody else could use it.
func TestUnsharedSessionEndsWithConnection(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := ctxFor(t)
	e.f.AddUser(t, "tom") // the fixture's own session of tom: 1
	a := e.as(t, "tom")   // ends with its connection
	b := e.as(t, "tom")   // shared: survives
	var tok params.StringResult
	if err := b.Call(ctx, "HerdSession", 1, "", "SessionToken", nil, &tok); err != nil {
		t.Fatal(err)
	}
	a.Close()
	b.Close()
	deadline := time.Now().Add(10 * time.Second)
	for e.srv.Conns() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	admin := e.as(t, "admin")
	var res params.EndSessionsResults
	if err := admin.Call(ctx, "HerdSession", 1, "", "EndSessions", entities("user-tom"), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Results) != 1 || res.Results[0].Error != nil || res.Results[0].Count != 2 {
		t.Errorf("EndSessions %+v, want 2 sessions (the fixture's and the shared one)", res.Results)
	}
}

// A session that expires (24 hours by default) fails the next request on
// its live connection with Juju's "login expired".
func TestSessionExpiryOnLiveConnection(t *testing.T) {
	e := newEnv(t, Options{})
	e.f.AddUser(t, "tom")
	tom := e.as(t, "tom")
	ctx := ctxFor(t)
	if err := tom.Call(ctx, "Pinger", 1, "", "Ping", nil, nil); err != nil {
		t.Fatal(err)
	}
	e.f.Advance(25 * time.Hour)
	err := tom.Call(ctx, "UserManager", 3, "", "UserInfo", params.UserInfoRequest{}, nil)
	wantErr(t, err, "login expired", rpc.CodeLoginExpired)
	if !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("%v is not ErrUnauthenticated", err)
	}
}
