package apiserver

import (
	"reflect"
	"testing"

	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/internal/params"
	"github.com/herd-project/herd/internal/rpc"
)

// Controller.DestroyController: a superuser destroys the controller over
// the network, and the controller closes; anyone else is refused, and a
// refusal changes nothing.
func TestDestroyController(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := ctxFor(t)
	e.f.AddUser(t, "tom")
	e.f.AddUser(t, "bob", acl.AddModel)
	e.f.AddUser(t, "ann", acl.Superuser)
	e.f.CreateModel(t, "bob", "bm")
	e.f.Grant(t, "tom", acl.Admin, "bob/bm")
	// Logged in first: a login writes a session.
	tom, bob, ann := e.as(t, "tom"), e.as(t, "bob"), e.as(t, "ann")
	before := e.f.Controller.Dump()
	all := params.DestroyControllerArgs{DestroyModels: true}
	for _, c := range []*rpc.Client{tom, bob} {
		for _, args := range []params.DestroyControllerArgs{all, {}} {
			err := c.Call(ctx, "Controller", 12, "", "DestroyController", args, nil)
			wantErr(t, err, "permission denied", rpc.CodeUnauthorized)
		}
	}
	if after := e.f.Controller.Dump(); !reflect.DeepEqual(before, after) {
		t.Fatalf("a refused DestroyController changed the state:\n%v\n%v", before, after)
	}
	// Without destroy-models, a controller with models is refused, as
	// Juju refuses a controller hosting models.
	err := ann.Call(ctx, "Controller", 11, "", "DestroyController", params.DestroyControllerArgs{}, nil)
	wantErr(t, err, "hosting 2 other models", params.CodeHasHostedModels)
	if after := e.f.Controller.Dump(); !reflect.DeepEqual(before, after) {
		t.Fatal("a refused DestroyController changed the state")
	}
	var res map[string]any
	f := true
	if err := ann.Call(ctx, "Controller", 12, "", "DestroyController", params.DestroyControllerArgs{DestroyModels: true, Force: &f}, &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 0 {
		t.Errorf("DestroyController replied %v, want {}", res)
	}
	// The controller is closed: the next call fails, and nobody logs in.
	if err := ann.Call(ctx, "Controller", 12, "", "ControllerVersion", nil, nil); err == nil {
		t.Error("a call after DestroyController succeeded")
	}
	if _, err := login(ctx, e.dial(t, "/api"), "admin", e.f.Password("admin")); err == nil {
		t.Error("a login after DestroyController succeeded")
	}
}
