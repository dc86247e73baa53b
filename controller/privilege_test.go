package controller_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/apiserver/apiservertest"
	"github.com/herd-project/herd/client"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/controller/controllertest"
	"github.com/herd-project/herd/internal/etcdtest"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/store"
	"github.com/herd-project/herd/store/etcdstore"
)

// The privilege-escalation matrix: every public operation of *Session, by
// every kind of actor, against the targets that matter. What is expected
// comes from spec §4, written out below as data, not from the code under
// test. Each cell runs on a fresh fixture; a refused cell must leave the
// whole store unchanged.

// Actors.
const (
	aSuperuser = "superuser"  // controller superuser (not the owner)
	aAddModel  = "add-model"  // controller add-model
	aLogin     = "login-only" // controller login, no model access
	aMAdmin    = "model-admin"
	aMWriter   = "model-writer"
	aMReader   = "model-reader"
	aNoAccess  = "no-access" // controller login revoked
	aDisabled  = "disabled"
	aRemoved   = "removed"
	aExpired   = "expired"
	aLoggedOut = "logged-out"
)

var actors = []string{aSuperuser, aAddModel, aLogin, aMAdmin, aMWriter, aMReader, aNoAccess, aDisabled, aRemoved, aExpired, aLoggedOut}

// valid reports whether an actor's session is still good.
func valid(actor string) bool {
	switch actor {
	case aNoAccess, aDisabled, aRemoved, aExpired, aLoggedOut:
		return false
	}
	return true
}

// Who may, by spec §4. Each returns whether a (valid) actor is allowed.
var (
	superOnly  = func(a string) bool { return a == aSuperuser }
	anyone     = func(a string) bool { return true }
	addModel   = func(a string) bool { return a == aSuperuser || a == aAddModel }
	modelRead  = func(a string) bool { return a == aSuperuser || a == aMAdmin || a == aMWriter || a == aMReader }
	modelWrite = func(a string) bool { return a == aSuperuser || a == aMAdmin || a == aMWriter }
	modelAdmin = func(a string) bool { return a == aSuperuser || a == aMAdmin }
	holdsModel = func(a string) bool { return a == aMAdmin || a == aMWriter || a == aMReader }
)

const shared = "owner/shared" // the model the model-* actors hold grants on

// session is what the matrix runs operations on: a *controller.Session in
// process, a *client.Session over the network.
type session interface {
	User() string
	AddUser(ctx context.Context, name, displayName string) (controller.AddedUser, error)
	ChangePassword(ctx context.Context, name, password string) error
	ResetPassword(ctx context.Context, name string) (string, error)
	DisableUser(ctx context.Context, name string) error
	EnableUser(ctx context.Context, name string) error
	RemoveUser(ctx context.Context, name string) error
	EndSessions(ctx context.Context, name string) (int, error)
	Users(ctx context.Context, opts controller.UsersOptions) ([]controller.UserInfo, error)
	ShowUser(ctx context.Context, name string) (controller.UserInfo, error)
	WhoAmI(ctx context.Context) (controller.WhoAmI, error)
	CreateModel(ctx context.Context, name string, opts controller.CreateModelOptions) (models.Model, error)
	Models(ctx context.Context, opts controller.ModelsOptions) ([]controller.ModelSummary, error)
	Status(ctx context.Context, model string) (controller.ModelStatus, error)
	ModelUsers(ctx context.Context, model string) ([]controller.ModelUser, error)
	Explain(ctx context.Context, user, model string) (controller.Explanation, error)
	Deploy(ctx context.Context, model, charm string, opts controller.DeployOptions) (controller.Deployed, error)
	AddUnit(ctx context.Context, model, application string, opts controller.AddUnitOptions) (controller.Deployed, error)
	RemoveUnit(ctx context.Context, model, unit string) error
	RemoveApplication(ctx context.Context, model, application string) error
	Grant(ctx context.Context, user string, level acl.Level, model string) error
	Revoke(ctx context.Context, user string, level acl.Level, model string) error
	DestroyModel(ctx context.Context, model string) error
	Logout(ctx context.Context) error
}

// connector is what records a model connection: in process, the Session
// method; over the network, a model connection's login does it.
type connector interface {
	ConnectModel(ctx context.Context, model string) error
}

var (
	_ session = (*controller.Session)(nil)
	_ session = (*client.Session)(nil)
)

type op struct {
	name   string
	target string // what it acts on, for the report
	allow  func(actor string) bool
	run    func(ctx context.Context, s session, actor string) error
	// asks is the question the operation puts to the one decision, which
	// Session.Allowed must answer as the operation does (zero: none, for
	// listings that answer everyone and for sessions' own calls).
	asks question
}

type question struct {
	op             acl.Op
	model, subject string
}

// refusals override, by "name target" and actor, the error a refused
// valid actor gets (by default herd.ErrPermissionDenied).
var refusals = map[string]map[string]error{
	// A superuser may leave a model, but holds no grant on it to revoke.
	"Revoke oneself, leaving another's model": {aSuperuser: herd.ErrNotFound},
}

var ops = []op{
	{"AddUser", "new user", superOnly, func(ctx context.Context, s session, _ string) error {
		_, err := s.AddUser(ctx, "newbie", "")
		return err
	}, question{acl.ManageUsers, "", "newbie"}},
	{"ChangePassword", "another user", superOnly, func(ctx context.Context, s session, _ string) error {
		return s.ChangePassword(ctx, "victim", "new-password")
	}, question{acl.ChangePassword, "", "victim"}},
	{"ChangePassword", "the controller owner", superOnly, func(ctx context.Context, s session, _ string) error {
		return s.ChangePassword(ctx, "admin", "new-password")
	}, question{acl.ChangePassword, "", "admin"}},
	{"ChangePassword", "oneself", anyone, func(ctx context.Context, s session, _ string) error {
		return s.ChangePassword(ctx, "", "new-password")
	}, question{acl.ChangePassword, "", "actor"}},
	{"ResetPassword", "another user", superOnly, func(ctx context.Context, s session, _ string) error {
		_, err := s.ResetPassword(ctx, "victim")
		return err
	}, question{acl.ResetPassword, "", "victim"}},
	{"DisableUser", "another user", superOnly, func(ctx context.Context, s session, _ string) error {
		return s.DisableUser(ctx, "victim")
	}, question{acl.ManageUsers, "", "victim"}},
	{"EnableUser", "a disabled user", superOnly, func(ctx context.Context, s session, _ string) error {
		return s.EnableUser(ctx, "sleeper")
	}, question{acl.ManageUsers, "", "sleeper"}},
	{"RemoveUser", "another user", superOnly, func(ctx context.Context, s session, _ string) error {
		return s.RemoveUser(ctx, "victim")
	}, question{acl.ManageUsers, "", "victim"}},
	{"EndSessions", "another user", superOnly, func(ctx context.Context, s session, _ string) error {
		_, err := s.EndSessions(ctx, "victim")
		return err
	}, question{acl.ManageUsers, "", "victim"}},
	{"Users", "all", anyone, func(ctx context.Context, s session, a string) error {
		us, err := s.Users(ctx, controller.UsersOptions{All: true})
		if err == nil && a != aSuperuser && len(us) != 1 {
			return fmt.Errorf("a non-superuser sees %d users", len(us))
		}
		return err
	}, question{}},
	{"ShowUser", "another user", superOnly, func(ctx context.Context, s session, _ string) error {
		_, err := s.ShowUser(ctx, "victim")
		return err
	}, question{acl.ShowUser, "", "victim"}},
	{"ShowUser", "oneself", anyone, func(ctx context.Context, s session, _ string) error {
		_, err := s.ShowUser(ctx, "")
		return err
	}, question{acl.ShowUser, "", "actor"}},
	{"Whoami", "oneself", anyone, func(ctx context.Context, s session, _ string) error {
		_, err := s.WhoAmI(ctx)
		return err
	}, question{}},
	{"CreateModel", "own model", addModel, func(ctx context.Context, s session, _ string) error {
		_, err := s.CreateModel(ctx, "fresh", controller.CreateModelOptions{})
		return err
	}, question{acl.CreateModel, "", ""}},
	{"CreateModel", "another's model", superOnly, func(ctx context.Context, s session, _ string) error {
		_, err := s.CreateModel(ctx, "fresh", controller.CreateModelOptions{Owner: "victim"})
		return err
	}, question{acl.CreateModelFor, "", "victim"}},
	{"Models", "own", anyone, func(ctx context.Context, s session, a string) error {
		ms, err := s.Models(ctx, controller.ModelsOptions{})
		if err == nil && holdsModel(a) != containsModel(ms, shared) {
			return fmt.Errorf("listing wrong: %v", ms)
		}
		return err
	}, question{}},
	{"Models", "all", superOnly, func(ctx context.Context, s session, _ string) error {
		_, err := s.Models(ctx, controller.ModelsOptions{All: true})
		return err
	}, question{acl.ListModelsOf, "", ""}},
	{"Models", "another user's", superOnly, func(ctx context.Context, s session, _ string) error {
		_, err := s.Models(ctx, controller.ModelsOptions{User: "victim"})
		return err
	}, question{acl.ListModelsOf, "", "victim"}},
	{"Status", "another's model", modelRead, func(ctx context.Context, s session, _ string) error {
		_, err := s.Status(ctx, shared)
		return err
	}, question{acl.ReadModel, shared, ""}},
	{"ModelUsers", "another's model", modelRead, func(ctx context.Context, s session, a string) error {
		us, err := s.ModelUsers(ctx, shared)
		if err == nil && !modelAdmin(a) && len(us) != 1 {
			return fmt.Errorf("a non-admin sees %d model users", len(us))
		}
		return err
	}, question{acl.ReadModel, shared, ""}},
	{"ConnectModel", "another's model", modelRead, func(ctx context.Context, s session, _ string) error {
		return inProcessOr(s).ConnectModel(ctx, shared)
	}, question{acl.ReadModel, shared, ""}},
	{"Explain", "another user", modelAdmin, func(ctx context.Context, s session, _ string) error {
		_, err := s.Explain(ctx, "victim", shared)
		return err
	}, question{acl.ExplainModel, shared, "victim"}},
	{"Deploy", "another's model", modelWrite, func(ctx context.Context, s session, _ string) error {
		_, err := s.Deploy(ctx, shared, "mysql", controller.DeployOptions{})
		return err
	}, question{acl.WriteModel, shared, ""}},
	{"AddUnit", "another's model's application", modelWrite, func(ctx context.Context, s session, _ string) error {
		_, err := s.AddUnit(ctx, shared, "redis", controller.AddUnitOptions{})
		return err
	}, question{acl.WriteModel, shared, ""}},
	{"RemoveUnit", "another's model's unit", modelWrite, func(ctx context.Context, s session, _ string) error {
		return s.RemoveUnit(ctx, shared, "redis/1")
	}, question{acl.WriteModel, shared, ""}},
	{"RemoveApplication", "another's model's application", modelWrite, func(ctx context.Context, s session, _ string) error {
		return s.RemoveApplication(ctx, shared, "redis")
	}, question{acl.WriteModel, shared, ""}},
	{"Grant", "another's model", modelAdmin, func(ctx context.Context, s session, _ string) error {
		return s.Grant(ctx, "victim", acl.Read, shared)
	}, question{acl.AdminModel, shared, "victim"}},
	{"Revoke", "another user on another's model", modelAdmin, func(ctx context.Context, s session, _ string) error {
		return s.Revoke(ctx, "bystander", acl.Read, shared)
	}, question{acl.AdminModel, shared, "bystander"}},
	{"Revoke", "oneself, leaving another's model", holdsModel, func(ctx context.Context, s session, _ string) error {
		return s.Revoke(ctx, s.User(), acl.Read, shared)
	}, question{}},
	{"Grant", "controller superuser to oneself", superOnly, func(ctx context.Context, s session, a string) error {
		if a == aSuperuser {
			return s.Grant(ctx, "victim", acl.Superuser, "")
		}
		return s.Grant(ctx, s.User(), acl.Superuser, "")
	}, question{acl.ControllerAccess, "", "actor"}},
	{"Revoke", "the controller owner's superuser", superOnly, func(ctx context.Context, s session, _ string) error {
		return s.Revoke(ctx, "admin", acl.Superuser, "")
	}, question{acl.ControllerAccess, "", "admin"}},
	{"DestroyModel", "another's model", modelAdmin, func(ctx context.Context, s session, _ string) error {
		return s.DestroyModel(ctx, shared)
	}, question{acl.AdminModel, shared, ""}},
	{"Batch", "add a user", superOnly, func(ctx context.Context, s session, _ string) error {
		return inProcess(s).Batch(ctx, func(b *controller.Batch) error { _, err := b.AddUser("newbie", ""); return err })
	}, question{}},
	{"Authorize", "admin on another's model", modelAdmin, func(ctx context.Context, s session, _ string) error {
		return inProcess(s).Authorize(shared, acl.Admin)
	}, question{acl.AdminModel, shared, ""}},
	{"Logout", "oneself", anyone, func(ctx context.Context, s session, _ string) error {
		return s.Logout(ctx)
	}, question{}},
}

// lastConnection is a grant's record of its user's last model connection.
var lastConnection = regexp.MustCompile(`"LastConnection":"[^"]*"`)

// comparable is a dump as a refusal must leave it. Over the network, the
// client's model connection records the user's last connection to the
// model when it logs in, before the refused call (as Juju's does): that
// record is not the refused call's doing.
func comparable(d controller.Snapshot, network bool) controller.Snapshot {
	if !network {
		return d
	}
	for i, row := range d["model_grants"] {
		d["model_grants"][i] = lastConnection.ReplaceAllString(row, `"LastConnection":"-"`)
	}
	return d
}

// inProcess is the in-process session behind s, for the operations that
// exist only there.
func inProcess(s session) *controller.Session { return s.(*controller.Session) }

// inProcessOr is s's ConnectModel in process, or a connection to the
// model over the network (its login records the connection).
func inProcessOr(s session) connector {
	if c, ok := s.(connector); ok {
		return c
	}
	return netConnector{s}
}

type netConnector struct{ s session }

// ConnectModel over the network reads the model's status, which opens a
// model connection.
func (n netConnector) ConnectModel(ctx context.Context, model string) error {
	_, err := n.s.Status(ctx, model)
	return err
}

func containsModel(ms []controller.ModelSummary, full string) bool {
	for _, m := range ms {
		if m.FullName() == full {
			return true
		}
	}
	return false
}

// privWorld builds a fixture and returns the actor's session: in process,
// or over the network (a live API server and Herd's Go client) when
// network is set.
//
// sync makes each controller see what the other wrote (on etcd); done
// closes the world's controllers at once (on etcd, hundreds of them
// left open until the test ends would slow the shared cluster down).
func privWorld(t *testing.T, actor string, mode matrixMode) (f *controllertest.Fixture, s session, sync, done func()) {
	var opts *controllertest.Options
	prefix := etcdPrefix()
	if mode == onEtcd {
		opts = &controllertest.Options{Backend: etcdBackend(t, prefix)}
	}
	f = controllertest.New(t, opts)
	sync, done = func() {}, func() {}
	f.BuildText(t, `
		user owner add-model
		user victim
		user sleeper
		user bystander
		model owner/shared
		grant bystander read owner/shared
	`)
	ctx := f.Context()
	if err := f.Admin.DisableUser(ctx, "sleeper"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Admin.Deploy(ctx, shared, "redis", controller.DeployOptions{NumUnits: 2}); err != nil {
		t.Fatal(err)
	}
	f.Settle(t)
	name := "actor"
	switch actor {
	case aSuperuser:
		f.AddUser(t, name, acl.Superuser)
	case aAddModel:
		f.AddUser(t, name, acl.AddModel)
	case aMAdmin, aMWriter, aMReader:
		f.AddUser(t, name)
		f.Grant(t, name, map[string]acl.Level{aMAdmin: acl.Admin, aMWriter: acl.Write, aMReader: acl.Read}[actor], shared)
	default:
		f.AddUser(t, name)
	}
	s = f.Session(t, name)
	switch mode {
	case overNetwork:
		s = apiservertest.New(t, f).Client(t, name)
	case onEtcd:
		// The actor works through a second controller on the same etcd
		// prefix, with the session the first one opened.
		b, err := controller.Open(ctx, "", controller.Options{Backend: etcdBackend(t, prefix),
			Provider: f.Provider, Now: f.Clock.Now, Hasher: controllertest.TestHasher{}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		done = func() { b.Close(); f.Controller.Close() }
		if s, err = b.Resume(ctx, f.Session(t, name).Token()); err != nil {
			t.Fatal(err)
		}
		// Each controller sees every write acknowledged on the other.
		sync = func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := errors.Join(f.Controller.Sync(ctx), b.Sync(ctx)); err != nil {
				t.Fatal(err)
			}
		}
	}
	var err error
	switch actor {
	case aNoAccess:
		err = f.Admin.Revoke(ctx, name, acl.Login, "")
	case aDisabled:
		err = f.Admin.DisableUser(ctx, name)
	case aRemoved:
		err = f.Admin.RemoveUser(ctx, name)
	case aExpired:
		f.Advance(25 * time.Hour)
	case aLoggedOut:
		err = s.Logout(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	sync()
	return f, s, sync, done
}

func TestPrivilegeMatrix(t *testing.T) { privilegeMatrix(t, locally) }

// matrixMode is where the matrix's actor works.
type matrixMode int

const (
	locally     matrixMode = iota // on the fixture's controller
	overNetwork                   // through a live API server and Herd's Go client
	onEtcd                        // on a second controller sharing the fixture's etcd prefix
)

func (m matrixMode) String() string {
	return [...]string{"in process", "over the network", "on a second controller on etcd"}[m]
}

// TestPrivilegeMatrixOnEtcd runs the matrix with the state in etcd: the
// world is built on one controller, and the actor's operations go
// through another controller on the same prefix, with the same
// expectations.
func TestPrivilegeMatrixOnEtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("385 worlds on etcd; run without -short")
	}
	privilegeMatrix(t, onEtcd)
}

// etcdBackend opens a backend on the process's shared etcd cluster.
func etcdBackend(t *testing.T, prefix string) store.Backend {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := etcdstore.Open(ctx, etcdstore.Options{Endpoints: etcdtest.Shared(t).Endpoints(), Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPrivilegeMatrixOverTheNetwork runs the matrix through the API server
// and Herd's Go client, with the same expectations: the network adds no
// right and takes none away. Batch and Authorize exist in process only.
func TestPrivilegeMatrixOverTheNetwork(t *testing.T) { privilegeMatrix(t, overNetwork) }

func privilegeMatrix(t *testing.T, mode matrixMode) {
	network := mode == overNetwork
	cells, allowed, denied, unexpectedAllow, unexpectedDeny, changedOnDenial, disagree := 0, 0, 0, 0, 0, 0, 0
	var report []string
	n := 0
	for _, o := range ops {
		if network && (o.name == "Batch" || o.name == "Authorize") {
			continue
		}
		n++
		for _, actor := range actors {
			cells++
			f, s, sync, done := privWorld(t, actor, mode)
			want := valid(actor) && o.allow(actor)
			if in, ok := s.(*controller.Session); ok && o.asks.op != 0 {
				q := o.asks
				d, err := in.Allowed(f.Context(), q.op, q.model, q.subject)
				if got := err == nil && d.Allowed; got != want || (!valid(actor) && !errors.Is(err, herd.ErrUnauthenticated)) {
					report = append(report, fmt.Sprintf("%s %s by %s: Allowed(%s) = %+v, %v; the operation is allowed: %v", o.name, o.target, actor, q.op, d, err, want))
					disagree++
				}
			}
			f.Settle(t) // nothing under way changes the store meanwhile
			before := comparable(f.Controller.Dump(), network)
			err := o.run(f.Context(), s, actor)
			sync()
			switch {
			case want && err != nil:
				unexpectedDeny++
				report = append(report, fmt.Sprintf("%s %s by %s: want allowed, got %v", o.name, o.target, actor, err))
			case !want && err == nil:
				unexpectedAllow++
				report = append(report, fmt.Sprintf("%s %s by %s: want refused, it was ALLOWED", o.name, o.target, actor))
			case !want:
				denied++
				wantErr := herd.ErrPermissionDenied
				if e, ok := refusals[o.name+" "+o.target][actor]; ok {
					wantErr = e
				}
				if !valid(actor) {
					wantErr = herd.ErrUnauthenticated
				}
				if !errors.Is(err, wantErr) {
					report = append(report, fmt.Sprintf("%s %s by %s: refused with %v, want %v", o.name, o.target, actor, err, wantErr))
					unexpectedDeny++
				}
				if !reflect.DeepEqual(before, comparable(f.Controller.Dump(), network)) {
					changedOnDenial++
					report = append(report, fmt.Sprintf("%s %s by %s: refused but the store changed", o.name, o.target, actor))
				}
			default:
				allowed++
			}
			done()
		}
	}
	sort.Strings(report)
	if len(report) > 0 {
		t.Errorf("privilege matrix:\n%s", strings.Join(report, "\n"))
	}
	t.Logf("privilege matrix (%v): %d operations × %d actors = %d cells; %d allowed, %d refused; %d unexpected allows, %d unexpected refusals, %d state changes on refusal, %d answers of Session.Allowed that differ",
		mode, n, len(actors), cells, allowed, denied, unexpectedAllow, unexpectedDeny, changedOnDenial, disagree)
}
