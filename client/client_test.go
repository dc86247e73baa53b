package client

import (
	"context"
	"errors"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/internal/params"
	"github.com/herd-project/herd/internal/rpc"
	"github.com/herd-project/herd/users"
)

// summaries is a canned ListModelSummaries reply: admin/m1, where tom has
// write, and tom/own.
const summariesJSON = `{"results":[
 {"result":{"name":"m1","uuid":"` + fakeModel + `","type":"iaas","controller-uuid":"` + fakeUUID + `","is-controller":false,"provider-type":"fake","cloud-tag":"cloud-fake","cloud-region":"r1","owner-tag":"user-admin","life":"alive","status":{"status":"available","info":"","since":null},"user-access":"write","last-connection":null,"counts":[{"entity":"machines","count":2},{"entity":"units","count":3}],"sla":null,"agent-version":null}},
 {"result":{"name":"own","uuid":"11111111-0bad-400d-8000-4b1d0000000c","type":"iaas","controller-uuid":"` + fakeUUID + `","is-controller":false,"provider-type":"fake","cloud-tag":"cloud-fake","owner-tag":"user-tom","life":"alive","status":{"status":"available","info":"","since":null},"user-access":"admin","last-connection":null,"counts":[],"sla":null,"agent-version":null}}]}`

const fullStatusJSON = `{"model":{"name":"m1","type":"iaas","cloud-tag":"cloud-fake","version":"3.6.26","available-version":"","model-status":{"status":"available","info":"","data":null,"since":null,"kind":"","version":"","life":""},"meter-status":{"color":"","message":""},"sla":""},
 "machines":{"0":{"agent-status":{"status":"started","info":"","data":null,"since":null,"kind":"","version":"","life":""},"instance-status":{"status":"running","info":"","data":null,"since":null,"kind":"","version":"","life":""},"modification-status":{"status":"","info":"","data":null,"since":null,"kind":"","version":"","life":""},"dns-name":"","instance-id":"i-0","display-name":"","base":{"name":"ubuntu","channel":"22.04"},"id":"0","containers":{},"constraints":"","hardware":"","jobs":["JobHostUnits"],"has-vote":false,"wants-vote":false},
  "10":{"agent-status":{"status":"pending","info":"","data":null,"since":null,"kind":"","version":"","life":""},"instance-status":{"status":"provisioning error","info":"quota exceeded","data":null,"since":null,"kind":"","version":"","life":""},"modification-status":{"status":"","info":"","data":null,"since":null,"kind":"","version":"","life":""},"dns-name":"","instance-id":"","display-name":"","base":{"name":"ubuntu","channel":"22.04"},"id":"10","containers":{},"constraints":"","hardware":"","jobs":["JobHostUnits"],"has-vote":false,"wants-vote":false}},
 "applications":{"mysql-staging":{"charm":"ch:amd64/jammy/mysql-42","charm-version":"","charm-profile":"","base":{"name":"ubuntu","channel":"22.04"},"exposed":false,"life":"","relations":{},"can-upgrade-to":"","subordinate-to":[],"units":{"mysql-staging/0":{"agent-status":{"status":"idle","info":"","data":null,"since":null,"kind":"","version":"","life":""},"workload-status":{"status":"active","info":"","data":null,"since":null,"kind":"","version":"","life":""},"workload-version":"","machine":"0","opened-ports":null,"public-address":"","charm":"","subordinates":null},"mysql-staging/1":{"agent-status":{"status":"allocating","info":"","data":null,"since":null,"kind":"","version":"","life":""},"workload-status":{"status":"waiting","info":"","data":null,"since":null,"kind":"","version":"","life":""},"workload-version":"","machine":"10","opened-ports":null,"public-address":"","charm":"","subordinates":null}},"meter-statuses":{},"status":{"status":"active","info":"","data":null,"since":null,"kind":"","version":"","life":""},"workload-version":"","endpoint-bindings":{},"public-address":""}},
 "remote-applications":{},"offers":{},"relations":null,"controller-timestamp":null,"branches":{}}`

func TestLoginFrames(t *testing.T) {
	f := newFake(t)
	s := tomSession(t, f)
	calls := f.recorded()
	if len(calls) != 2 {
		t.Fatalf("calls = %+v, want Login and SessionToken", calls)
	}
	want := call{Path: "/api", Facade: "Admin", Version: 3, Method: "Login",
		Params: `{"auth-tag":"user-tom","credentials":"` + fakePassword + `","nonce":"","macaroons":null,"user-data":""}`}
	if calls[0] != want {
		t.Errorf("login frame\n got %+v\nwant %+v", calls[0], want)
	}
	if want := (call{Path: "/api", Facade: "HerdSession", Version: 1, Method: "SessionToken", Params: "{}"}); calls[1] != want {
		t.Errorf("token frame\n got %+v\nwant %+v", calls[1], want)
	}
	if s.Token() != fakeToken || s.ControllerUUID() != fakeUUID || s.User() != "tom" {
		t.Errorf("token %q uuid %q user %q", s.Token(), s.ControllerUUID(), s.User())
	}
}

func TestLoginRefused(t *testing.T) {
	f := newFake(t)
	ctx := testCtx(t)
	c, err := Dial(ctx, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Login(ctx, "tom", "wrong-password")
	if !errors.Is(err, herd.ErrUnauthenticated) || err.Error() != "invalid entity name or password" {
		t.Fatalf("err = %v", err)
	}
	if rpc.CodeOf(err) != rpc.CodeUnauthorized {
		t.Errorf("code = %q", rpc.CodeOf(err))
	}
	// A failed login closes the connection.
	if _, err := c.Login(ctx, "tom", fakePassword); !errors.Is(err, herd.ErrClosed) {
		t.Errorf("second login on a closed conn: %v", err)
	}
}

func TestDialPinsCA(t *testing.T) {
	f := newFake(t)
	other := newFake(t) // another CA
	ctx := testCtx(t)
	opts := f.opts()
	opts.CACert = other.ca.CertPEM
	if _, err := Dial(ctx, opts); !errors.Is(err, herd.ErrClosed) {
		t.Fatalf("dial with the wrong CA: %v", err)
	}
	opts.CACert = nil
	if _, err := Dial(ctx, opts); !errors.Is(err, herd.ErrInvalid) {
		t.Fatalf("dial without a CA: %v", err)
	}
}

func TestDialFailsOver(t *testing.T) {
	f := newFake(t)
	ctx := testCtx(t)
	opts := f.opts()
	opts.Addrs = []string{deadAddr(t), f.addr()}
	c, err := Dial(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.addr != f.addr() {
		t.Errorf("connected to %s, want %s", c.addr, f.addr())
	}
	opts.Addrs = []string{deadAddr(t), deadAddr(t)}
	if _, err := Dial(ctx, opts); !errors.Is(err, herd.ErrClosed) {
		t.Errorf("dial with every address down: %v", err)
	}
}

// TestFrames checks the request each method sends and what it makes of
// the reply.
func TestFrames(t *testing.T) {
	key := make([]byte, users.SecretKeyLen)
	for i := range key {
		key[i] = byte(i)
	}
	tests := []struct {
		name    string
		replies map[string]any
		run     func(context.Context, *Session) (any, error)
		want    call
		result  any
	}{{
		name:    "ChangePassword",
		replies: map[string]any{"UserManager.SetPassword": `{"results":[{}]}`},
		run: func(ctx context.Context, s *Session) (any, error) {
			return nil, s.ChangePassword(ctx, "tom", "new-pass")
		},
		want: call{Facade: "UserManager", Version: 3, Method: "SetPassword", Params: `{"changes":[{"tag":"user-tom","password":"new-pass"}]}`},
	}, {
		name: "Check",
		run:  func(ctx context.Context, s *Session) (any, error) { return nil, s.Check(ctx) },
		want: call{Facade: "Pinger", Version: 1, Method: "Ping", Params: "{}"},
	}, {
		name:    "DisableUser",
		replies: map[string]any{"UserManager.DisableUser": `{"results":[{}]}`},
		run:     func(ctx context.Context, s *Session) (any, error) { return nil, s.DisableUser(ctx, "bob") },
		want:    call{Facade: "UserManager", Version: 3, Method: "DisableUser", Params: `{"entities":[{"tag":"user-bob"}]}`},
	}, {
		name:    "EnableUser",
		replies: map[string]any{"UserManager.EnableUser": `{"results":[{}]}`},
		run:     func(ctx context.Context, s *Session) (any, error) { return nil, s.EnableUser(ctx, "bob") },
		want:    call{Facade: "UserManager", Version: 3, Method: "EnableUser", Params: `{"entities":[{"tag":"user-bob"}]}`},
	}, {
		name:    "RemoveUser",
		replies: map[string]any{"UserManager.RemoveUser": `{"results":[{}]}`},
		run:     func(ctx context.Context, s *Session) (any, error) { return nil, s.RemoveUser(ctx, "bob") },
		want:    call{Facade: "UserManager", Version: 3, Method: "RemoveUser", Params: `{"entities":[{"tag":"user-bob"}]}`},
	}, {
		name:    "EndSessions",
		replies: map[string]any{"HerdSession.EndSessions": `{"results":[{"count":2}]}`},
		run:     func(ctx context.Context, s *Session) (any, error) { return s.EndSessions(ctx, "bob") },
		want:    call{Facade: "HerdSession", Version: 1, Method: "EndSessions", Params: `{"entities":[{"tag":"user-bob"}]}`},
		result:  2,
	}, {
		name:    "ShowUser",
		replies: map[string]any{"UserManager.UserInfo": `{"results":[{"result":{"username":"Bob","display-name":"Bob B","access":"login","created-by":"admin","date-created":"2026-01-02T03:04:05Z","disabled":false}}]}`},
		run:     func(ctx context.Context, s *Session) (any, error) { return s.ShowUser(ctx, "bob") },
		want:    call{Facade: "UserManager", Version: 3, Method: "UserInfo", Params: `{"entities":[{"tag":"user-bob"}],"include-disabled":true}`},
		result: controller.UserInfo{User: users.User{Name: "bob", GivenName: "Bob", DisplayName: "Bob B", CreatedBy: "admin",
			Created: mustTime("2026-01-02T03:04:05Z")}, Access: acl.Login},
	}, {
		name:    "Users",
		replies: map[string]any{"UserManager.UserInfo": `{"results":[{"result":{"username":"tom","display-name":"","access":"login","created-by":"admin","date-created":"2026-01-02T03:04:05Z","disabled":false}},{"result":{"username":"admin","display-name":"","access":"superuser","created-by":"admin","date-created":"2026-01-01T00:00:00Z","last-connection":"2026-01-03T00:00:00Z","disabled":false}}]}`},
		run: func(ctx context.Context, s *Session) (any, error) {
			return s.Users(ctx, controller.UsersOptions{All: true})
		},
		want: call{Facade: "UserManager", Version: 3, Method: "UserInfo", Params: `{"entities":[],"include-disabled":true}`},
		result: []controller.UserInfo{
			{User: users.User{Name: "admin", GivenName: "admin", CreatedBy: "admin", Created: mustTime("2026-01-01T00:00:00Z"), LastLogin: mustTime("2026-01-03T00:00:00Z")}, Access: acl.Superuser},
			{User: users.User{Name: "tom", GivenName: "tom", CreatedBy: "admin", Created: mustTime("2026-01-02T03:04:05Z")}, Access: acl.Login},
		},
	}, {
		name:    "ResetPassword",
		replies: map[string]any{"UserManager.ResetPassword": params.AddUserResults{Results: []params.AddUserResult{{Tag: "user-bob", SecretKey: key}}}},
		run: func(ctx context.Context, s *Session) (any, error) {
			tok, err := s.ResetPassword(ctx, "bob")
			if err != nil {
				return nil, err
			}
			return users.DecodeToken(tok)
		},
		want:   call{Facade: "UserManager", Version: 3, Method: "ResetPassword", Params: `{"entities":[{"tag":"user-bob"}]}`},
		result: users.Token{User: "bob", Addrs: []string{"ADDR"}, SecretKey: key, ControllerName: "fake"},
	}, {
		name:    "CreateModel",
		replies: map[string]any{"ModelManager.CreateModel": `{"name":"m2","type":"iaas","uuid":"` + fakeModel + `","controller-uuid":"` + fakeUUID + `","is-controller":false,"provider-type":"fake","cloud-tag":"cloud-fake","cloud-region":"r1","owner-tag":"user-bob","life":"alive","status":{"status":"available","info":"","since":null},"users":[],"machines":[],"secret-backends":[],"sla":null,"agent-version":null}`},
		run: func(ctx context.Context, s *Session) (any, error) {
			return s.CreateModel(ctx, "m2", controller.CreateModelOptions{Owner: "bob"})
		},
		want: call{Facade: "ModelManager", Version: 10, Method: "CreateModel", Params: `{"name":"m2","owner-tag":"user-bob"}`},
		result: modelOf(fakeModel, "m2", "user-bob", "cloud-fake", "r1", "iaas", "fake", "alive",
			params.EntityStatus{Status: "available"}),
	}, {
		name:    "Models",
		replies: map[string]any{"ModelManager.ListModelSummaries": summariesJSON},
		run: func(ctx context.Context, s *Session) (any, error) {
			ms, err := s.Models(ctx, controller.ModelsOptions{})
			if err != nil {
				return nil, err
			}
			var out []string
			for _, m := range ms {
				out = append(out, m.FullName()+" "+m.Access.String()+" "+m.Cloud+"/"+m.Region+" "+m.Type+" "+string(m.Status)+" "+itoa(m.Machines)+" "+itoa(m.Units))
			}
			return out, nil
		},
		want:   call{Facade: "ModelManager", Version: 10, Method: "ListModelSummaries", Params: `{"user-tag":"user-tom"}`},
		result: []string{"admin/m1 write fake/r1 fake available 2 3", "tom/own admin fake/ fake available 0 0"},
	}, {
		name: "ModelUsers",
		replies: map[string]any{
			"ModelManager.ListModelSummaries": summariesJSON,
			"ModelManager.ModelInfo":          `{"results":[{"result":{"name":"m1","type":"iaas","uuid":"` + fakeModel + `","controller-uuid":"","is-controller":false,"cloud-tag":"cloud-fake","owner-tag":"user-admin","life":"alive","status":{"status":"available","info":"","since":null},"users":[{"model-tag":"","user":"tom","display-name":"","last-connection":null,"access":"write"},{"model-tag":"","user":"admin","display-name":"","last-connection":null,"access":"admin"}],"machines":[],"secret-backends":[],"sla":null,"agent-version":null}}]}`,
		},
		run:    func(ctx context.Context, s *Session) (any, error) { return s.ModelUsers(ctx, "admin/m1") },
		want:   call{Facade: "ModelManager", Version: 10, Method: "ModelInfo", Params: `{"entities":[{"tag":"model-` + fakeModel + `"}]}`},
		result: []controller.ModelUser{{User: "admin", Access: acl.Admin}, {User: "tom", Access: acl.Write}},
	}, {
		name: "GrantModel",
		replies: map[string]any{
			"ModelManager.ListModelSummaries": summariesJSON,
			"ModelManager.ModifyModelAccess":  `{"results":[{}]}`,
		},
		run: func(ctx context.Context, s *Session) (any, error) {
			return nil, s.Grant(ctx, "bob", acl.Read, "admin/m1")
		},
		want: call{Facade: "ModelManager", Version: 10, Method: "ModifyModelAccess", Params: `{"changes":[{"user-tag":"user-bob","action":"grant","access":"read","model-tag":"model-` + fakeModel + `"}]}`},
	}, {
		name: "RevokeModel",
		replies: map[string]any{
			"ModelManager.ListModelSummaries": summariesJSON,
			"ModelManager.ModifyModelAccess":  `{"results":[{}]}`,
		},
		run:  func(ctx context.Context, s *Session) (any, error) { return nil, s.Revoke(ctx, "bob", acl.Write, "own") },
		want: call{Facade: "ModelManager", Version: 10, Method: "ModifyModelAccess", Params: `{"changes":[{"user-tag":"user-bob","action":"revoke","access":"write","model-tag":"model-11111111-0bad-400d-8000-4b1d0000000c"}]}`},
	}, {
		name:    "GrantController",
		replies: map[string]any{"Controller.ModifyControllerAccess": `{"results":[{}]}`},
		run:     func(ctx context.Context, s *Session) (any, error) { return nil, s.Grant(ctx, "bob", acl.Superuser, "") },
		want:    call{Facade: "Controller", Version: 12, Method: "ModifyControllerAccess", Params: `{"changes":[{"user-tag":"user-bob","action":"grant","access":"superuser"}]}`},
	}, {
		name:    "RevokeController",
		replies: map[string]any{"Controller.ModifyControllerAccess": `{"results":[{}]}`},
		run:     func(ctx context.Context, s *Session) (any, error) { return nil, s.Revoke(ctx, "bob", acl.Login, "") },
		want:    call{Facade: "Controller", Version: 12, Method: "ModifyControllerAccess", Params: `{"changes":[{"user-tag":"user-bob","action":"revoke","access":"login"}]}`},
	}, {
		name:    "DestroyController",
		replies: map[string]any{"Controller.DestroyController": `{}`},
		run:     func(ctx context.Context, s *Session) (any, error) { return nil, s.DestroyController(ctx) },
		want:    call{Facade: "Controller", Version: 12, Method: "DestroyController", Params: `{"destroy-models":true}`},
	}, {
		name: "DestroyModel",
		replies: map[string]any{
			"ModelManager.ListModelSummaries": summariesJSON,
			"ModelManager.DestroyModels":      `{"results":[{}]}`,
		},
		run:  func(ctx context.Context, s *Session) (any, error) { return nil, s.DestroyModel(ctx, "own") },
		want: call{Facade: "ModelManager", Version: 10, Method: "DestroyModels", Params: `{"models":[{"model-tag":"model-11111111-0bad-400d-8000-4b1d0000000c"}]}`},
	}, {
		name: "Explain",
		replies: map[string]any{
			"ModelManager.ListModelSummaries": summariesJSON,
			"HerdSession.Explain":             `{"user":"tom","model":"admin/m1","access":"write","reason":"direct grant","direct":"write","controller":"login","owner":false,"sentence":"tom has write on admin/m1 by direct grant"}`,
		},
		run:    func(ctx context.Context, s *Session) (any, error) { return s.Explain(ctx, "", "admin/m1") },
		want:   call{Facade: "HerdSession", Version: 1, Method: "Explain", Params: `{"user-tag":"user-tom","model-tag":"model-` + fakeModel + `"}`},
		result: controller.Explanation{User: "tom", Model: "admin/m1", Access: acl.Write, Reason: acl.DirectGrant, Direct: acl.Write, Controller: acl.Login},
	}, {
		name: "Status",
		replies: map[string]any{
			"ModelManager.ListModelSummaries": summariesJSON,
			"Client.FullStatus":               fullStatusJSON,
		},
		run: func(ctx context.Context, s *Session) (any, error) {
			st, err := s.Status(ctx, "admin/m1")
			if err != nil {
				return nil, err
			}
			var out []string
			for _, a := range st.Applications {
				out = append(out, "app "+a.Name+" "+a.Charm+" "+string(a.Life))
			}
			for _, u := range st.Units {
				out = append(out, "unit "+u.Name+" "+u.Machine)
			}
			for _, m := range st.Machines {
				out = append(out, "machine "+m.ID+" "+string(m.Status)+" "+m.InstanceID+" "+m.Message)
			}
			out = append(out, st.FullName()+" "+st.Access.String()+" "+itoa(st.ModelSummary.Machines)+" "+itoa(st.ModelSummary.Units))
			return out, nil
		},
		want: call{Path: "/model/" + fakeModel + "/api", Facade: "Client", Version: 8, Method: "FullStatus", Params: `{"patterns":[]}`},
		result: []string{"app mysql-staging mysql alive", "unit mysql-staging/0 0", "unit mysql-staging/1 10",
			"machine 0 started i-0 ", "machine 10 error  quota exceeded", "admin/m1 write 2 2"},
	}, {
		name: "AddUnit",
		replies: map[string]any{
			"ModelManager.ListModelSummaries": summariesJSON,
			"Client.FullStatus":               fullStatusJSON,
			"Application.AddUnits":            `{"units":["mysql-staging/1"]}`,
		},
		run: func(ctx context.Context, s *Session) (any, error) {
			d, err := s.AddUnit(ctx, "admin/m1", "mysql-staging", controller.AddUnitOptions{})
			if err != nil {
				return nil, err
			}
			return []string{d.Application.Name, itoa(len(d.Units)), d.Units[0].Name, itoa(len(d.Machines)), d.Machines[0].ID}, nil
		},
		want:   call{Path: "/model/" + fakeModel + "/api", Facade: "Application", Version: 22, Method: "AddUnits", Params: `{"application":"mysql-staging","num-units":1,"placement":[]}`},
		result: []string{"mysql-staging", "1", "mysql-staging/1", "1", "10"},
	}, {
		name: "RemoveUnit",
		replies: map[string]any{
			"ModelManager.ListModelSummaries": summariesJSON,
			"Application.DestroyUnit":         `{"results":[{}]}`,
		},
		run: func(ctx context.Context, s *Session) (any, error) {
			return nil, s.RemoveUnit(ctx, "admin/m1", "mysql-staging/0")
		},
		want: call{Path: "/model/" + fakeModel + "/api", Facade: "Application", Version: 22, Method: "DestroyUnit", Params: `{"units":[{"unit-tag":"unit-mysql-staging-0"}]}`},
	}, {
		name: "RemoveApplication",
		replies: map[string]any{
			"ModelManager.ListModelSummaries": summariesJSON,
			"Application.DestroyApplication":  `{"results":[{"info":{"destroyed-units":[{"tag":"unit-mysql-staging-0"}]}}]}`,
		},
		run: func(ctx context.Context, s *Session) (any, error) {
			return nil, s.RemoveApplication(ctx, "admin/m1", "mysql-staging")
		},
		want: call{Path: "/model/" + fakeModel + "/api", Facade: "Application", Version: 22, Method: "DestroyApplication", Params: `{"applications":[{"application-tag":"application-mysql-staging","force":false}]}`},
	}, {
		name: "RetryProvisioning",
		replies: map[string]any{
			"ModelManager.ListModelSummaries":  summariesJSON,
			"MachineManager.RetryProvisioning": `{"results":[]}`,
		},
		run: func(ctx context.Context, s *Session) (any, error) {
			return nil, s.RetryProvisioning(ctx, "admin/m1", "0", "10")
		},
		want: call{Path: "/model/" + fakeModel + "/api", Facade: "MachineManager", Version: 10, Method: "RetryProvisioning", Params: `{"machines":["machine-0","machine-10"],"all":false}`},
	}, {
		name: "RetryProvisioningAll",
		replies: map[string]any{
			"ModelManager.ListModelSummaries":  summariesJSON,
			"MachineManager.RetryProvisioning": `{"results":[{"error":{"message":"machine 3 is started, not in a provisioning error","code":""}}]}`,
		},
		run: func(ctx context.Context, s *Session) (any, error) {
			err := s.RetryProvisioning(ctx, "admin/m1")
			return err.Error(), nil
		},
		want:   call{Path: "/model/" + fakeModel + "/api", Facade: "MachineManager", Version: 10, Method: "RetryProvisioning", Params: `{"all":true}`},
		result: "machine 3 is started, not in a provisioning error",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			for k, v := range tt.replies {
				f.reply(k, v)
			}
			s := tomSession(t, f)
			got, err := tt.run(testCtx(t), s)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want.Path == "" {
				want.Path = "/api"
			}
			if c := f.find(t, want.Method); c != want {
				t.Errorf("request\n got %+v\nwant %+v", c, want)
			}
			if tok, ok := tt.result.(users.Token); ok {
				tok.Addrs = []string{f.addr()}
				tt.result = tok
			}
			if tt.result != nil && !reflect.DeepEqual(got, tt.result) {
				t.Errorf("result\n got %#v\nwant %#v", got, tt.result)
			}
		})
	}
}

func TestDeployFrames(t *testing.T) {
	f := newFake(t)
	f.reply("ModelManager.ListModelSummaries", summariesJSON)
	f.reply("Client.FullStatus", fullStatusJSON)
	f.reply("Application.Deploy", `{"results":[{}]}`)
	s := tomSession(t, f)
	ctx := testCtx(t)
	d, err := s.Deploy(ctx, "admin/m1", "mysql", controller.DeployOptions{Name: "mysql-staging", NumUnits: 2})
	if err != nil {
		t.Fatal(err)
	}
	var deploy call
	for _, c := range f.recorded() {
		if c.Method == "Deploy" {
			deploy = c
		}
	}
	want := call{Path: "/model/" + fakeModel + "/api", Facade: "Application", Version: 22, Method: "Deploy",
		Params: `{"applications":[{"application":"mysql-staging","charm-url":"ch:mysql","charm-origin":{"source":"charm-hub","type":"charm","id":"","base":{"name":"","channel":""}},"channel":"","num-units":2,"config-yaml":"","constraints":{},"Force":false}]}`}
	if deploy != want {
		t.Errorf("deploy\n got %+v\nwant %+v", deploy, want)
	}
	if d.Application.Name != "mysql-staging" || d.Application.Charm != "mysql" || len(d.Units) != 2 || len(d.Machines) != 2 {
		t.Errorf("deployed = %+v", d)
	}
	// The model connection logged in with the session token, never the
	// password, and is reused.
	logins := 0
	for _, c := range f.recorded() {
		if c.Facade == "Admin" && c.Path != "/api" {
			logins++
			if strings.Contains(c.Params, fakePassword) || !strings.Contains(c.Params, `"token":"`+fakeToken+`"`) {
				t.Errorf("model login = %s", c.Params)
			}
		}
	}
	if logins != 1 {
		t.Errorf("%d model logins, want 1", logins)
	}
}

func TestAddUser(t *testing.T) {
	f := newFake(t)
	key := make([]byte, users.SecretKeyLen)
	key[0] = 7
	f.reply("UserManager.AddUser", params.AddUserResults{Results: []params.AddUserResult{{Tag: "user-bob", SecretKey: key}}})
	f.reply("UserManager.UserInfo", `{"results":[{"result":{"username":"bob","display-name":"Bob","access":"login","created-by":"tom","date-created":"2026-01-02T03:04:05Z","disabled":false}}]}`)
	s := tomSession(t, f)
	added, err := s.AddUser(testCtx(t), "bob", "Bob")
	if err != nil {
		t.Fatal(err)
	}
	var add call
	for _, c := range f.recorded() {
		if c.Method == "AddUser" {
			add = c
		}
	}
	if want := `{"users":[{"username":"bob","display-name":"Bob"}]}`; add.Params != want || add.Version != 3 {
		t.Errorf("AddUser frame %+v, want params %s", add, want)
	}
	tok, err := users.DecodeToken(added.Token)
	if err != nil {
		t.Fatal(err)
	}
	want := users.Token{User: "bob", Addrs: []string{f.addr()}, SecretKey: key, ControllerName: "fake"}
	if !reflect.DeepEqual(tok, want) {
		t.Errorf("token %+v, want %+v", tok, want)
	}
	if added.User.Name != "bob" || added.User.CreatedBy != "tom" || added.User.Created.IsZero() || !added.User.Pending || added.User.Access != acl.Login {
		t.Errorf("added user %+v", added.User)
	}
}

// TestItemErrors checks that the error of one item of a bulk result maps
// to the root sentinel as a refused request does, with Juju's message.
func TestItemErrors(t *testing.T) {
	tests := []struct {
		item string
		kind error
		msg  string
	}{
		{`{"message":"permission denied","code":"unauthorized access"}`, herd.ErrPermissionDenied, "permission denied"},
		{`{"message":"user \"bob\" not found","code":"user not found"}`, herd.ErrNotFound, `user "bob" not found`},
		{`{"message":"failed to create user: user \"bob\" already exists","code":"already exists"}`, herd.ErrAlreadyExists, `failed to create user: user "bob" already exists`},
		{`{"message":"cannot disable controller owner","code":"","info":{"herd-kind":"failed precondition"}}`, herd.ErrFailedPrecondition, "cannot disable controller owner"},
		{`{"message":"login expired","code":"login expired"}`, herd.ErrUnauthenticated, "login expired"},
	}
	for _, tt := range tests {
		f := newFake(t)
		f.reply("UserManager.DisableUser", `{"results":[{"error":`+tt.item+`}]}`)
		s := tomSession(t, f)
		err := s.DisableUser(testCtx(t), "bob")
		if !errors.Is(err, tt.kind) || err.Error() != tt.msg {
			t.Errorf("%s: err = %v (kind %v), want %q wrapping %v", tt.item, err, err, tt.msg, tt.kind)
		}
	}
	// A bulk result with the wrong number of items is an error, not a
	// silent success.
	f := newFake(t)
	f.reply("UserManager.EnableUser", `{"results":[]}`)
	if err := tomSession(t, f).EnableUser(testCtx(t), "bob"); !errors.Is(err, herd.ErrInvalid) {
		t.Errorf("empty results: %v", err)
	}
	// A whole refused request maps too.
	f = newFake(t)
	f.answer("UserManager.EnableUser", func(context.Context, string, rpc.Request) (any, error) {
		return nil, &rpc.Error{Message: "permission denied", Code: rpc.CodeUnauthorized}
	})
	if err := tomSession(t, f).EnableUser(testCtx(t), "bob"); !errors.Is(err, herd.ErrPermissionDenied) {
		t.Errorf("refused request: %v", err)
	}
}

func TestResolveModel(t *testing.T) {
	f := newFake(t)
	f.reply("ModelManager.ListModelSummaries", summariesJSON)
	s := tomSession(t, f)
	ctx := testCtx(t)
	if _, err := s.ModelUsers(ctx, "admin/nope"); !errors.Is(err, herd.ErrPermissionDenied) {
		t.Errorf("another user's missing model: %v", err)
	}
	if _, err := s.ModelUsers(ctx, "nope"); !errors.Is(err, herd.ErrNotFound) || err.Error() != `model "nope" not found` {
		t.Errorf("own missing model: %v", err)
	}
	if _, err := s.ModelUsers(ctx, "Bad_Name"); !errors.Is(err, herd.ErrInvalid) {
		t.Errorf("bad model name: %v", err)
	}
}

func TestFacadeVersionNegotiation(t *testing.T) {
	f := newFake(t)
	f.answer("Admin.Login", func(_ context.Context, path string, req rpc.Request) (any, error) {
		return params.LoginResult{
			ControllerTag: params.ControllerTag(fakeUUID),
			UserInfo:      &params.AuthUserInfo{Identity: "user-tom", ControllerAccess: "login"},
			// An older server: ModelManager 9 only, Controller 11 and 99,
			// no HerdSession.
			Facades: []params.FacadeVersions{{Name: "ModelManager", Versions: []int{2, 9}}, {Name: "Controller", Versions: []int{11, 99}}},
		}, nil
	})
	f.reply("ModelManager.ListModelSummaries", `{"results":[]}`)
	s := tomSession(t, f)
	ctx := testCtx(t)
	if _, err := s.Models(ctx, controller.ModelsOptions{}); err != nil {
		t.Fatal(err)
	}
	if c := f.last(t); c.Version != 9 {
		t.Errorf("ModelManager version %d, want 9", c.Version)
	}
	if s.Token() != "" {
		t.Errorf("token %q from a server without HerdSession", s.Token())
	}
	if err := s.DisableUser(ctx, "bob"); rpc.CodeOf(err) != rpc.CodeNotSupported || !errors.Is(err, herd.ErrFailedPrecondition) || err.Error() != `facade "UserManager" not supported by the controller` {
		t.Errorf("facade the server lacks: %v", err)
	}
}

func TestResumeAfterDrop(t *testing.T) {
	f := newFake(t)
	f.reply("UserManager.EnableUser", `{"results":[{}]}`)
	s := tomSession(t, f)
	ctx := testCtx(t)
	f.drop()
	waitDown(t, s)
	if err := s.EnableUser(ctx, "bob"); err != nil {
		t.Fatalf("call after a drop: %v", err)
	}
	calls := f.recorded()
	var logins []string
	for _, c := range calls {
		if c.Method == "Login" {
			logins = append(logins, c.Params)
		}
	}
	if len(logins) != 2 || !strings.Contains(logins[1], `"token":"`+fakeToken+`"`) || strings.Contains(logins[1], fakePassword) {
		t.Errorf("logins = %q, want a password login then a token resume", logins)
	}
	// A session that ended on the server cannot be resumed.
	f.mu.Lock()
	f.tokens = map[string]bool{}
	f.mu.Unlock()
	f.drop()
	waitDown(t, s)
	if err := s.EnableUser(ctx, "bob"); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("resume of an ended session: %v", err)
	}
}

// waitDown waits until the session's controller connection has noticed
// the drop.
func waitDown(t *testing.T, s *Session) {
	t.Helper()
	s.mu.Lock()
	l := s.ctrl
	s.mu.Unlock()
	if l == nil {
		return
	}
	select {
	case <-l.rpc.Done():
	case <-testCtx(t).Done():
		t.Fatal("connection never dropped")
	}
}

// TestFailoverToLoginServers: the first controller goes away; the next
// call reaches the second address the login listed, resuming the session.
func TestFailoverToLoginServers(t *testing.T) {
	f1 := newFake(t)
	f2 := newFakeCA(t, f1.ca)
	servers := [][]params.HostPort{{hostPort(t, f1.addr()), hostPort(t, deadAddr(t)), hostPort(t, f2.addr())}}
	for _, f := range []*fake{f1, f2} {
		f.servers = servers
		f.reply("UserManager.EnableUser", `{"results":[{}]}`)
	}
	s := tomSession(t, f1)
	if got, want := s.Addrs(), []string{f1.addr(), hostPortString(servers[0][1]), f2.addr()}; !reflect.DeepEqual(got, want) {
		t.Errorf("addrs %v, want %v", got, want)
	}
	f1.close()
	waitDown(t, s)
	if err := s.EnableUser(testCtx(t), "bob"); err != nil {
		t.Fatalf("call after failover: %v", err)
	}
	if c := f2.last(t); c.Method != "EnableUser" {
		t.Errorf("second controller got %+v", c)
	}
	if c := f2.recorded()[0]; c.Method != "Login" || !strings.Contains(c.Params, fakeToken) {
		t.Errorf("second controller's first request %+v, want a token login", c)
	}
}

func hostPortString(hp params.HostPort) string { return hostPorts([][]params.HostPort{{hp}})[0] }

func TestLogout(t *testing.T) {
	f := newFake(t)
	f.reply("HerdSession.Logout", `{}`)
	s := tomSession(t, f)
	ctx := testCtx(t)
	if err := s.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if c := f.last(t); c.Facade != "HerdSession" || c.Version != 1 || c.Method != "Logout" {
		t.Errorf("logout frame %+v", c)
	}
	if s.Token() != "" {
		t.Error("token kept after logout")
	}
	if _, err := s.Users(ctx, controller.UsersOptions{}); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("call after logout: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("close after logout: %v", err)
	}
}

func TestClose(t *testing.T) {
	f := newFake(t)
	s := tomSession(t, f)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Users(testCtx(t), controller.UsersOptions{}); !errors.Is(err, herd.ErrClosed) {
		t.Errorf("call after close: %v", err)
	}
	// The session goes on on the server: it resumes.
	c, err := Dial(testCtx(t), f.opts())
	if err != nil {
		t.Fatal(err)
	}
	s2, err := c.Resume(testCtx(t), "tom", fakeToken)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if s2.Token() != fakeToken {
		t.Errorf("resumed token %q", s2.Token())
	}
}

func TestCharmName(t *testing.T) {
	for in, want := range map[string]string{
		"ch:amd64/jammy/mysql-42": "mysql", "ch:mysql": "mysql", "local:my-app-3": "my-app",
		"mysql": "mysql", "cs:~user/focal/my-app2-7": "my-app2", "ch:mysql-k8s": "mysql-k8s",
	} {
		if got := charmName(in); got != want {
			t.Errorf("charmName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDialStalledAddress: an address that accepts TCP but never answers
// the TLS handshake costs DialTimeout, then the next is tried.
func TestDialStalledAddress(t *testing.T) {
	f := newFake(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, silent
		}
	}()
	opts := f.opts()
	opts.Addrs = []string{ln.Addr().String(), f.addr()}
	opts.DialTimeout = 200 * time.Millisecond
	start := time.Now()
	c, err := Dial(testCtx(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.addr != f.addr() {
		t.Errorf("connected to %s", c.addr)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("dial took %s", d)
	}
}

func TestPing(t *testing.T) {
	f := newFake(t)
	ctx := testCtx(t)
	opts := f.opts()
	opts.PingInterval = 10 * time.Millisecond
	c, err := Dial(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Login(ctx, "tom", fakePassword)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for {
		for _, c := range f.recorded() {
			if c.Facade == "Pinger" && c.Method == "Ping" {
				if c.Version != 1 || c.Params != "{}" {
					t.Errorf("ping frame %+v", c)
				}
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatal("no ping")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestInFlightCallOnDrop: a call in flight when the connection drops fails
// with an error wrapping herd.ErrClosed and is not retried; the next call
// resumes.
func TestInFlightCallOnDrop(t *testing.T) {
	f := newFake(t)
	started := make(chan struct{})
	var once sync.Once
	f.answer("UserManager.EnableUser", func(ctx context.Context, _ string, _ rpc.Request) (any, error) {
		first := false
		once.Do(func() { first = true })
		if first {
			close(started)
			<-ctx.Done() // until the connection is cut
			return nil, ctx.Err()
		}
		return params.ErrorResults{Results: []params.ErrorResult{{}}}, nil
	})
	s := tomSession(t, f)
	ctx := testCtx(t)
	errc := make(chan error, 1)
	go func() { errc <- s.EnableUser(ctx, "bob") }()
	<-started
	f.kill()
	if err := <-errc; !errors.Is(err, herd.ErrClosed) {
		t.Fatalf("in-flight call: %v", err)
	}
	if err := s.EnableUser(ctx, "bob"); err != nil {
		t.Fatalf("next call: %v", err)
	}
	n := 0
	for _, c := range f.recorded() {
		if c.Method == "EnableUser" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d EnableUser requests, want 2 (no retry)", n)
	}
}

// TestConcurrentCallsAcrossDrops runs calls from many goroutines while the
// controller drops every connection, under the race detector: each call
// succeeds or fails with herd.ErrClosed, and the session ends usable.
func TestConcurrentCallsAcrossDrops(t *testing.T) {
	f := newFake(t)
	f.reply("UserManager.EnableUser", `{"results":[{}]}`)
	f.reply("ModelManager.ListModelSummaries", summariesJSON)
	f.reply("Client.FullStatus", fullStatusJSON)
	s := tomSession(t, f)
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				var err error
				if i%2 == 0 {
					err = s.EnableUser(ctx, "bob")
				} else {
					_, err = s.Status(ctx, "admin/m1")
				}
				if err != nil && !errors.Is(err, herd.ErrClosed) {
					errs <- err
				}
			}
		}()
	}
	for range 3 {
		time.Sleep(5 * time.Millisecond)
		f.drop()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if _, err := s.Status(ctx, "admin/m1"); err != nil {
		// A drop may land between the last two calls; one more resumes.
		if _, err := s.Status(ctx, "admin/m1"); err != nil {
			t.Fatal(err)
		}
	}
}

func TestContextPassesThrough(t *testing.T) {
	f := newFake(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Dial(ctx, f.opts()); !errors.Is(err, context.Canceled) {
		t.Errorf("dial: %v", err)
	}
	s := tomSession(t, f)
	if err := s.EnableUser(ctx, "bob"); !errors.Is(err, context.Canceled) {
		t.Errorf("call: %v", err)
	}
}
