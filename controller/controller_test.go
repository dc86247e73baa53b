package controller_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/controller/controllertest"
	"github.com/herd-project/herd/provider/fakeprovider"
	"github.com/herd-project/herd/store/storetest"
)

type env struct {
	t     *testing.T
	ctx   context.Context
	ctrl  *controller.Controller
	admin *controller.Session
	clock *controllertest.Clock
	prov  *fakeprovider.Provider
	// secret is admin's generated password.
	secret string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ck := controllertest.NewClock(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	prov := fakeprovider.New()
	ctx := context.Background()
	b, err := controller.Bootstrap(ctx, "lxd-controller-1", controller.Options{
		Provider: prov, Now: ck.Now, PasswordCost: bcrypt.MinCost,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctrl, admin, secret := b.Controller, b.Admin, b.Secret
	t.Cleanup(func() { ctrl.Close() })
	if _, err := ctrl.Login(ctx, "admin", secret); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: ctx, ctrl: ctrl, admin: admin, clock: ck, prov: prov, secret: secret}
}

// user adds a user, registers them with password "pw-<name>" and returns
// the session.
func (e *env) user(name string) *controller.Session {
	e.t.Helper()
	added, err := e.admin.AddUser(e.ctx, name, "")
	if err != nil {
		e.t.Fatal(err)
	}
	s, err := e.ctrl.Register(e.ctx, added.Token, "pw-"+name)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

// unchanged runs f, which must fail with want, and checks that the whole
// store is the same afterwards.
func (e *env) unchanged(what string, want error, f func() error) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	e.must(e.ctrl.Settle(ctx)) // nothing under way changes the store meanwhile
	before := e.ctrl.Dump()
	err := f()
	if !errors.Is(err, want) {
		e.t.Errorf("%s: err = %v, want %v", what, err, want)
	}
	if after := e.ctrl.Dump(); !reflect.DeepEqual(before, after) {
		e.t.Errorf("%s: the store changed on a refused call", what)
	}
}

func TestBootstrap(t *testing.T) {
	e := newEnv(t)
	who, err := e.admin.WhoAmI(e.ctx)
	e.must(err)
	if who.User != "admin" || who.Access != acl.Superuser || who.Controller != "lxd-controller-1" {
		t.Errorf("whoami = %+v", who)
	}
	ms, err := e.admin.Models(e.ctx, controller.ModelsOptions{})
	e.must(err)
	if len(ms) != 1 || ms[0].FullName() != "admin/default" || ms[0].Access != acl.Admin {
		t.Errorf("models = %+v", ms)
	}
	if n := e.prov.Calls(fakeprovider.Bootstrap); n != 1 {
		t.Errorf("provider bootstrapped %d times", n)
	}
	for _, bad := range []string{"", "Bad", "a_b", "-x"} {
		if _, err := controller.Bootstrap(e.ctx, bad, controller.Options{}); !errors.Is(err, herd.ErrInvalid) {
			t.Errorf("Bootstrap(%q) = %v", bad, err)
		}
	}
	held := storetest.NewMemory()
	if _, err := controller.Bootstrap(e.ctx, "first", controller.Options{Backend: held, PasswordCost: bcrypt.MinCost}); err != nil {
		t.Fatal(err)
	}
	if _, err := controller.Bootstrap(e.ctx, "again", controller.Options{Backend: held.Reopen()}); !errors.Is(err, herd.ErrAlreadyExists) {
		t.Errorf("second bootstrap on one store: %v", err)
	}
}

func TestBootstrapProviderFailure(t *testing.T) {
	prov := fakeprovider.New()
	boom := errors.New("boom")
	prov.Fail(fakeprovider.Bootstrap, boom)
	if _, err := controller.Bootstrap(context.Background(), "c", controller.Options{Provider: prov, PasswordCost: bcrypt.MinCost}); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	prov.Fail(fakeprovider.Bootstrap, nil)
	prov.Fail(fakeprovider.CreateModel, boom)
	if _, err := controller.Bootstrap(context.Background(), "c", controller.Options{Provider: prov, PasswordCost: bcrypt.MinCost}); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if insts, _ := prov.Instances(context.Background(), fakeprovider.AnyFilter()); len(insts) != 0 {
		t.Errorf("failed bootstrap left %d instances", len(insts))
	}
}

func TestTomBeforeAndAfterGrant(t *testing.T) {
	e := newEnv(t)
	_, err := e.admin.CreateModel(e.ctx, "lxd-model-1", controller.CreateModelOptions{})
	e.must(err)
	tom := e.user("tom")

	e.unchanged("tom adds a user", herd.ErrPermissionDenied, func() error { _, err := tom.AddUser(e.ctx, "bob", ""); return err })
	e.unchanged("tom grants", herd.ErrPermissionDenied, func() error { return tom.Grant(e.ctx, "tom", acl.Write, "admin/lxd-model-1") })
	e.unchanged("tom deploys before grant", herd.ErrPermissionDenied, func() error {
		_, err := tom.Deploy(e.ctx, "admin/lxd-model-1", "mysql", controller.DeployOptions{})
		return err
	})
	e.unchanged("tom creates a model", herd.ErrPermissionDenied, func() error {
		_, err := tom.CreateModel(e.ctx, "mine", controller.CreateModelOptions{})
		return err
	})
	e.unchanged("tom probes a missing model", herd.ErrPermissionDenied, func() error { _, err := tom.Status(e.ctx, "admin/nope"); return err })
	if ms, err := tom.Models(e.ctx, controller.ModelsOptions{}); err != nil || len(ms) != 0 {
		t.Errorf("tom's models before grant = %v, %v", ms, err)
	}

	e.must(e.admin.Grant(e.ctx, "tom", acl.Write, "lxd-model-1"))
	ms, err := tom.Models(e.ctx, controller.ModelsOptions{})
	e.must(err)
	if len(ms) != 1 || ms[0].FullName() != "admin/lxd-model-1" || ms[0].Access != acl.Write {
		t.Fatalf("tom's models = %+v", ms)
	}
	// An unqualified name is tom's own namespace, as in Juju: his grant on
	// admin's model does not make "lxd-model-1" point at it.
	e.unchanged("tom deploys by an unqualified name", herd.ErrNotFound, func() error {
		_, err := tom.Deploy(e.ctx, "lxd-model-1", "mysql", controller.DeployOptions{Name: "mysql-staging"})
		return err
	})
	d, err := tom.Deploy(e.ctx, "admin/lxd-model-1", "mysql", controller.DeployOptions{Name: "mysql-staging"})
	e.must(err)
	if d.Application.Name != "mysql-staging" || len(d.Machines) != 1 || d.Machines[0].ID != "0" || d.Machines[0].Status != "pending" {
		t.Errorf("deployed = %+v", d)
	}
	st, err := tom.WaitStarted(e.ctx, "admin/lxd-model-1")
	e.must(err)
	if st.Machines[0].InstanceID == "" {
		t.Errorf("started machine without an instance: %+v", st.Machines[0])
	}
	if st.Machines[0].Status != "started" || len(st.Units) != 1 || st.Units[0].Name != "mysql-staging/0" {
		t.Errorf("status = %+v", st)
	}

	// write is not admin: no grant, no destroy.
	e.unchanged("tom grants with write", herd.ErrPermissionDenied, func() error { return tom.Grant(e.ctx, "admin", acl.Read, "admin/lxd-model-1") })
	e.unchanged("tom destroys with write", herd.ErrPermissionDenied, func() error { return tom.DestroyModel(e.ctx, "admin/lxd-model-1") })
	e.unchanged("deploy twice", herd.ErrAlreadyExists, func() error {
		_, err := tom.Deploy(e.ctx, "admin/lxd-model-1", "mysql", controller.DeployOptions{Name: "mysql-staging"})
		return err
	})
	// A superuser can.
	e.must(e.admin.Grant(e.ctx, "tom", acl.Admin, "admin/lxd-model-1"))
	e.must(e.admin.DestroyModel(e.ctx, "admin/lxd-model-1"))
	e.must(e.admin.WaitRemoved(e.ctx, "admin/lxd-model-1")) // tom's grant goes with the model: once it is gone, he may not ask
	if err := tom.WaitRemoved(e.ctx, "admin/lxd-model-1"); err != nil && !errors.Is(err, herd.ErrPermissionDenied) {
		t.Errorf("tom waits for a model removed: %v", err)
	}
	if insts, _ := e.prov.Instances(e.ctx, fakeprovider.AnyFilter()); len(insts) != 1 { // the controller's machine
		t.Errorf("instances after destroy = %+v", insts)
	}
	if ms, _ := tom.Models(e.ctx, controller.ModelsOptions{}); len(ms) != 0 {
		t.Errorf("tom still sees %v", ms)
	}
}

func TestTokenOnceAndReset(t *testing.T) {
	e := newEnv(t)
	added, err := e.admin.AddUser(e.ctx, "tom", "Tom")
	e.must(err)
	e.unchanged("login before register", herd.ErrUnauthenticated, func() error { _, err := e.ctrl.Login(e.ctx, "tom", ""); return err })
	if _, err := e.ctrl.Register(e.ctx, added.Token, "pw1"); err != nil {
		t.Fatal(err)
	}
	e.unchanged("token reused", herd.ErrUnauthenticated, func() error { _, err := e.ctrl.Register(e.ctx, added.Token, "pw2"); return err })
	_, err = e.ctrl.Register(e.ctx, added.Token, "pw2")
	if err == nil || err.Error() != "registration token may have expired: a controller administrator must reset your user to issue a new token" {
		t.Errorf("message = %v", err)
	}
	s, err := e.ctrl.Login(e.ctx, "Tom", "pw1") // case-insensitive identity
	e.must(err)

	tok2, err := e.admin.ResetPassword(e.ctx, "tom")
	e.must(err)
	if err := s.Check(e.ctx); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("session after reset: %v", err)
	}
	if _, err := e.ctrl.Login(e.ctx, "tom", "pw1"); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("old password after reset: %v", err)
	}
	// A second reset supersedes the first token.
	tok3, err := e.admin.ResetPassword(e.ctx, "tom")
	e.must(err)
	e.unchanged("superseded token", herd.ErrUnauthenticated, func() error { _, err := e.ctrl.Register(e.ctx, tok2, "pw3"); return err })
	if _, err := e.ctrl.Register(e.ctx, tok3, "pw3"); err != nil {
		t.Errorf("fresh token: %v", err)
	}
	e.unchanged("reset own password", herd.ErrInvalid, func() error { _, err := e.admin.ResetPassword(e.ctx, "admin"); return err })

	// Tokens expire after TokenTTL (7 days by default).
	added2, err := e.admin.AddUser(e.ctx, "bob", "")
	e.must(err)
	e.clock.Advance(7*24*time.Hour + time.Second)
	// Refused, and the expired key is deleted (kept only until used, reset
	// or expired); nothing else changes.
	before := e.ctrl.Dump()
	if _, err := e.ctrl.Register(e.ctx, added2.Token, "pw"); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("expired token: %v", err)
	}
	after := e.ctrl.Dump()
	if len(after["registration_secrets"]) != len(before["registration_secrets"])-1 {
		t.Errorf("the expired key was not deleted: %d keys before, %d after", len(before["registration_secrets"]), len(after["registration_secrets"]))
	}
	delete(before, "registration_secrets")
	delete(after, "registration_secrets")
	if !reflect.DeepEqual(before, after) {
		t.Error("a refused registration changed more than the expired key")
	}
}

func TestSessionEnds(t *testing.T) {
	e := newEnv(t)
	tom := e.user("tom")

	e.clock.Advance(24*time.Hour - time.Second)
	e.must(tom.Check(e.ctx))
	e.clock.Advance(time.Second)
	err := tom.Check(e.ctx)
	if !errors.Is(err, herd.ErrUnauthenticated) || err.Error() != "login expired" {
		t.Errorf("after 24h: %v", err)
	}
	e.admin, err = e.ctrl.Login(e.ctx, "admin", e.secret)
	e.must(err)

	// logout
	s1, err := e.ctrl.Login(e.ctx, "tom", "pw-tom")
	e.must(err)
	e.must(s1.Logout(e.ctx))
	if _, err := e.ctrl.Resume(e.ctx, s1.Token()); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("resume after logout: %v", err)
	}
	if err := s1.Check(e.ctx); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("after logout: %v", err)
	}

	// password change ends the other sessions, not the one that changed it
	a, err := e.ctrl.Login(e.ctx, "tom", "pw-tom")
	e.must(err)
	b, err := e.ctrl.Login(e.ctx, "tom", "pw-tom")
	e.must(err)
	e.must(a.ChangePassword(e.ctx, "", "new-pw"))
	e.must(a.Check(e.ctx))
	if err := b.Check(e.ctx); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("other session after password change: %v", err)
	}

	// disable ends sessions at once; enable does not revive them
	e.must(e.admin.DisableUser(e.ctx, "tom"))
	if err := a.Check(e.ctx); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("after disable: %v", err)
	}
	e.unchanged("disabled login", herd.ErrUnauthenticated, func() error { _, err := e.ctrl.Login(e.ctx, "tom", "new-pw"); return err })
	e.must(e.admin.DisableUser(e.ctx, "tom")) // idempotent
	e.must(e.admin.EnableUser(e.ctx, "tom"))
	if err := a.Check(e.ctx); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("after enable: %v", err)
	}
	c, err := e.ctrl.Login(e.ctx, "tom", "new-pw")
	e.must(err)
	// a superuser can end all sessions of a user
	n, err := e.admin.EndSessions(e.ctx, "tom")
	e.must(err)
	if n != 1 || c.Check(e.ctx) == nil {
		t.Errorf("EndSessions ended %d, session still valid", n)
	}
	// revoking controller login ends sessions too
	d, err := e.ctrl.Login(e.ctx, "tom", "new-pw")
	e.must(err)
	e.must(e.admin.Revoke(e.ctx, "tom", acl.Login, ""))
	if err := d.Check(e.ctx); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("after revoke login: %v", err)
	}
	if _, err := e.ctrl.Login(e.ctx, "tom", "new-pw"); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("login without login access: %v", err)
	}
}

func TestLoginErrorsAreUniform(t *testing.T) {
	e := newEnv(t)
	e.user("tom")
	_, wrong := e.ctrl.Login(e.ctx, "tom", "nope")
	_, unknown := e.ctrl.Login(e.ctx, "nobody", "nope")
	if wrong == nil || unknown == nil || wrong.Error() != unknown.Error() || wrong.Error() != "invalid entity name or password" {
		t.Errorf("wrong password %v, unknown user %v", wrong, unknown)
	}
	if !errors.Is(wrong, herd.ErrUnauthenticated) || !errors.Is(unknown, herd.ErrUnauthenticated) {
		t.Errorf("not ErrUnauthenticated")
	}
}

func TestInvariants(t *testing.T) {
	e := newEnv(t)
	tom := e.user("tom")
	e.unchanged("disable owner", herd.ErrFailedPrecondition, func() error { return e.admin.DisableUser(e.ctx, "admin") })
	e.unchanged("remove owner", herd.ErrFailedPrecondition, func() error { return e.admin.RemoveUser(e.ctx, "admin") })
	e.unchanged("revoke last superuser", herd.ErrFailedPrecondition, func() error { return e.admin.Revoke(e.ctx, "admin", acl.Superuser, "") })
	e.unchanged("last model admin", herd.ErrFailedPrecondition, func() error { return e.admin.Revoke(e.ctx, "admin", acl.Admin, "admin/default") })

	// With a second superuser, the owner's superuser may go, but then tom is last.
	e.must(e.admin.Grant(e.ctx, "tom", acl.Superuser, ""))
	e.must(tom.Revoke(e.ctx, "admin", acl.Superuser, ""))
	e.unchanged("tom revokes own last superuser", herd.ErrFailedPrecondition, func() error { return tom.Revoke(e.ctx, "tom", acl.Superuser, "") })
	e.unchanged("grant again", herd.ErrAlreadyExists, func() error { return tom.Grant(e.ctx, "tom", acl.AddModel, "") })
	e.unchanged("revoke not held", herd.ErrNotFound, func() error { return tom.Revoke(e.ctx, "admin", acl.Superuser, "") })
	e.unchanged("admin without superuser adds user", herd.ErrPermissionDenied, func() error { _, err := e.admin.AddUser(e.ctx, "x1", ""); return err })
}

func TestRevokeOnModels(t *testing.T) {
	e := newEnv(t)
	tom := e.user("tom")
	bob := e.user("bob")
	_, err := e.admin.CreateModel(e.ctx, "m", controller.CreateModelOptions{})
	e.must(err)
	e.must(e.admin.Grant(e.ctx, "tom", acl.Admin, "m"))
	// revoke write from an admin leaves read
	e.must(e.admin.Revoke(e.ctx, "tom", acl.Write, "m"))
	ex, err := e.admin.Explain(e.ctx, "tom", "admin/m")
	e.must(err)
	if ex.Access != acl.Read || ex.Reason != acl.DirectGrant {
		t.Errorf("after revoke write: %+v", ex)
	}
	err = nil
	e.unchanged("revoke admin from a reader", herd.ErrNotFound, func() error { err = e.admin.Revoke(e.ctx, "tom", acl.Admin, "m"); return err })
	if err == nil || err.Error() != `user "tom" does not have "admin" access to model "admin/m"` {
		t.Errorf("message: %v", err)
	}
	// anyone may leave a model
	e.must(tom.Revoke(e.ctx, "tom", acl.Read, "admin/m"))
	e.unchanged("tom gone", herd.ErrPermissionDenied, func() error { _, err := tom.Status(e.ctx, "admin/m"); return err })
	// bob cannot revoke others
	e.must(e.admin.Grant(e.ctx, "bob", acl.Read, "m"))
	e.must(e.admin.Grant(e.ctx, "tom", acl.Read, "m"))
	e.unchanged("bob revokes tom", herd.ErrPermissionDenied, func() error { return bob.Revoke(e.ctx, "tom", acl.Read, "admin/m") })
	// kinds must match the target
	e.unchanged("controller level on a model", herd.ErrInvalid, func() error { return e.admin.Grant(e.ctx, "tom", acl.Superuser, "m") })
	e.unchanged("model level without a model", herd.ErrInvalid, func() error { return e.admin.Grant(e.ctx, "tom", acl.Write, "") })
	e.unchanged("bad level", herd.ErrInvalid, func() error { return e.admin.Grant(e.ctx, "tom", acl.Level(42), "m") })
	ex, err = e.admin.Explain(e.ctx, "admin", "m")
	e.must(err)
	if ex.Reason != acl.ControllerSuperuser {
		t.Errorf("admin explained: %v", ex)
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"", "x", "bad name", "-tom", "tom/x"} {
		e.unchanged("AddUser "+name, herd.ErrInvalid, func() error { _, err := e.admin.AddUser(e.ctx, name, ""); return err })
	}
	for _, name := range []string{"", "Bad", "a_b", "-x", string(make([]byte, 200))} {
		e.unchanged("CreateModel "+name, herd.ErrInvalid, func() error {
			_, err := e.admin.CreateModel(e.ctx, name, controller.CreateModelOptions{})
			return err
		})
	}
	for _, app := range []string{"Mysql", "my_sql", "mysql-1", "1mysql", "mysql-"} {
		e.unchanged("Deploy "+app, herd.ErrInvalid, func() error {
			_, err := e.admin.Deploy(e.ctx, "default", "mysql", controller.DeployOptions{Name: app})
			return err
		})
	}
	for _, tok := range []string{"", "***", "MD0TA3RvbTAA"} {
		e.unchanged("Register "+tok, herd.ErrInvalid, func() error { _, err := e.ctrl.Register(e.ctx, tok, "pw"); return err })
	}
	e.unchanged("long password", herd.ErrInvalid, func() error { return e.admin.ChangePassword(e.ctx, "", string(make([]byte, 73))) })
	e.unchanged("empty password", herd.ErrInvalid, func() error { return e.admin.ChangePassword(e.ctx, "", "") })
	e.unchanged("negative units", herd.ErrInvalid, func() error {
		_, err := e.admin.Deploy(e.ctx, "default", "mysql", controller.DeployOptions{NumUnits: -1})
		return err
	})
	e.unchanged("duplicate user", herd.ErrAlreadyExists, func() error { _, err := e.admin.AddUser(e.ctx, "ADMIN", ""); return err })
	e.unchanged("duplicate model", herd.ErrAlreadyExists, func() error {
		_, err := e.admin.CreateModel(e.ctx, "default", controller.CreateModelOptions{})
		return err
	})
	e.unchanged("missing user", herd.ErrNotFound, func() error { return e.admin.DisableUser(e.ctx, "ghost") })
	e.unchanged("missing model", herd.ErrNotFound, func() error { return e.admin.DestroyModel(e.ctx, "admin/ghost") })
}

func TestUsersListing(t *testing.T) {
	e := newEnv(t)
	tom := e.user("tom")
	e.user("bob")
	e.must(e.admin.DisableUser(e.ctx, "bob"))
	list, err := e.admin.Users(e.ctx, controller.UsersOptions{})
	e.must(err)
	if len(list) != 2 || list[0].Name != "admin" || list[1].Name != "tom" {
		t.Errorf("users = %+v", list)
	}
	list, _ = e.admin.Users(e.ctx, controller.UsersOptions{All: true})
	if len(list) != 3 || list[0].Name != "admin" || list[1].Name != "bob" {
		t.Errorf("all users = %+v", list)
	}
	mine, err := tom.Users(e.ctx, controller.UsersOptions{All: true})
	e.must(err)
	if len(mine) != 1 || mine[0].Name != "tom" {
		t.Errorf("tom's users = %+v", mine)
	}
	e.unchanged("tom shows admin", herd.ErrPermissionDenied, func() error { _, err := tom.ShowUser(e.ctx, "admin"); return err })
	e.unchanged("tom shows a ghost", herd.ErrPermissionDenied, func() error { _, err := tom.ShowUser(e.ctx, "ghost"); return err })
	if u, err := tom.ShowUser(e.ctx, ""); err != nil || u.Name != "tom" || u.Access != acl.Login {
		t.Errorf("tom shows himself: %+v %v", u, err)
	}
}

func TestRemoveAndReAdd(t *testing.T) {
	e := newEnv(t)
	tom := e.user("tom")
	e.must(e.admin.Grant(e.ctx, "tom", acl.Read, "default"))
	e.must(e.admin.Grant(e.ctx, "tom", acl.AddModel, ""))
	_, err := tom.CreateModel(e.ctx, "toms", controller.CreateModelOptions{})
	e.must(err)
	e.unchanged("remove a model owner", herd.ErrFailedPrecondition, func() error { return e.admin.RemoveUser(e.ctx, "tom") })
	e.must(tom.DestroyModel(e.ctx, "toms"))
	e.must(tom.WaitRemoved(e.ctx, "toms"))
	e.must(e.admin.RemoveUser(e.ctx, "tom"))
	if err := tom.Check(e.ctx); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("removed user's session: %v", err)
	}
	e.unchanged("removed user logs in", herd.ErrUnauthenticated, func() error { _, err := e.ctrl.Login(e.ctx, "tom", "pw-tom"); return err })
	tom2 := e.user("tom")
	ms, err := tom2.Models(e.ctx, controller.ModelsOptions{})
	e.must(err)
	who, _ := tom2.WhoAmI(e.ctx)
	if len(ms) != 0 || who.Access != acl.Login {
		t.Errorf("re-added tom has models %v, access %v", ms, who.Access)
	}
}

func TestContextCancelPassesThrough(t *testing.T) {
	e := newEnv(t)
	e.prov.Hang(fakeprovider.Start)
	_, err := e.admin.Deploy(e.ctx, "default", "mysql", controller.DeployOptions{})
	e.must(err)
	ctx, cancel := context.WithTimeout(e.ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := e.admin.WaitStarted(ctx, "default"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting for a start that hangs: %v", err)
	}
	cctx, cancel2 := context.WithCancel(e.ctx)
	cancel2()
	if _, err := e.admin.Models(cctx, controller.ModelsOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := e.admin.Deploy(cctx, "default", "redis", controller.DeployOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled deploy: %v", err)
	}
}

func TestClosed(t *testing.T) {
	e := newEnv(t)
	e.must(e.ctrl.Close())
	if _, err := e.admin.Models(e.ctx, controller.ModelsOptions{}); !errors.Is(err, herd.ErrClosed) {
		t.Errorf("after close: %v", err)
	}
	if _, err := e.ctrl.Login(e.ctx, "admin", "x1"); !errors.Is(err, herd.ErrClosed) {
		t.Errorf("login after close: %v", err)
	}
}

// removedRecords counts the removal records kept for audit.
func removedRecords(e *env) int { return len(e.ctrl.Dump()["removed_users"]) }
