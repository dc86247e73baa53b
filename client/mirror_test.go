package client_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/herd-project/herd"

	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/client"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/provider/fakeprovider"
	"github.com/herd-project/herd/users"
)

// operations is what a program can call on either kind of session: the
// compiler checks that client.Session mirrors controller.Session, name
// for name and type for type, so a program can switch between in-process
// and network.
type operations interface {
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
	Grant(ctx context.Context, user string, level acl.Level, model string) error
	Revoke(ctx context.Context, user string, level acl.Level, model string) error
	DestroyModel(ctx context.Context, model string) error
	Deploy(ctx context.Context, model, charm string, opts controller.DeployOptions) (controller.Deployed, error)
	AddUnit(ctx context.Context, model, application string, opts controller.AddUnitOptions) (controller.Deployed, error)
	RemoveUnit(ctx context.Context, model, unit string) error
	RemoveApplication(ctx context.Context, model, application string) error
	WaitFor(ctx context.Context, model string, cond func(controller.ModelStatus) bool) (controller.ModelStatus, error)
	WaitStarted(ctx context.Context, model string, apps ...string) (controller.ModelStatus, error)
	WaitRemoved(ctx context.Context, model string) error
	RetryProvisioning(ctx context.Context, model string, machines ...string) error
	Explain(ctx context.Context, user, model string) (controller.Explanation, error)
	Check(ctx context.Context) error
	Logout(ctx context.Context) error
	Token() string
	User() string
}

var (
	_ operations = (*controller.Session)(nil)
	_ operations = (*client.Session)(nil)
)

// transcript runs the same operations on a session of either kind and
// writes what each returns, without UUIDs and times: the in-process and
// the network sessions must write the same.
//
// failStarts makes the controller's fake provider fail every start with
// err (nil: start again).
func transcript(ctx context.Context, s operations, login func(user, password string) (operations, error), register func(token, password string) (operations, error), failStarts func(error)) []string {
	var out []string
	say := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	e := func(err error) string {
		if err == nil {
			return "ok"
		}
		for _, k := range []error{herd.ErrNotFound, herd.ErrAlreadyExists, herd.ErrInvalid, herd.ErrPermissionDenied,
			herd.ErrUnauthenticated, herd.ErrFailedPrecondition, herd.ErrClosed} {
			if errors.Is(err, k) {
				return fmt.Sprintf("%q [%v]", err.Error(), k)
			}
		}
		return fmt.Sprintf("%q [no sentinel]", err.Error())
	}

	who, err := s.WhoAmI(ctx)
	say("whoami %s %s %s %s", who.Controller, who.User, who.Access, e(err))
	added, err := s.AddUser(ctx, "Bob", "Bob B")
	say("add user %s %q %s %s pending=%v %s", added.User.Name, added.User.DisplayName, added.User.CreatedBy, added.User.Access, added.User.Pending, e(err))
	tok, err := users.DecodeToken(added.Token)
	say("token %s %d %s", tok.User, len(tok.SecretKey), e(err))
	_, err = s.AddUser(ctx, "bob", "")
	say("add user again %s", e(err))
	_, err = s.AddUser(ctx, "b", "")
	say("add user b %s", e(err))
	m, err := s.CreateModel(ctx, "m1", controller.CreateModelOptions{})
	say("create model %s %s/%s %s %s %s %s", m.FullName(), m.Cloud, m.Region, m.Type, m.Life, m.Status, e(err))
	_, err = s.CreateModel(ctx, "m1", controller.CreateModelOptions{})
	say("create model again %s", e(err))
	say("grant %s", e(s.Grant(ctx, "bob", acl.Read, "m1")))
	say("grant again %s", e(s.Grant(ctx, "bob", acl.Read, "m1")))
	say("grant admin on the controller %s", e(s.Grant(ctx, "bob", acl.Admin, "")))
	say("grant on a missing model %s", e(s.Grant(ctx, "bob", acl.Read, "nope")))
	say("set bob's password %s", e(s.ChangePassword(ctx, "bob", "bob-password")))
	bob, err := login("bob", "bob-password")
	say("bob logs in %s", e(err))
	if err == nil {
		bobsView(ctx, bob, say, e)
	}
	_, err = login("bob", "wrong-password")
	say("bob logs in with a wrong password %s", e(err))
	_, err = login("nobody", "wrong-password")
	say("an unknown user logs in %s", e(err))
	_, err = login("b", "wrong-password")
	say("an invalid name logs in %s", e(err))
	ms, err := s.Models(ctx, controller.ModelsOptions{All: true})
	for _, m := range ms {
		say("model %s %s %s/%s machines=%d units=%d", m.FullName(), m.Access, m.Cloud, m.Region, m.Machines, m.Units)
	}
	say("models %s", e(err))
	mu, err := s.ModelUsers(ctx, "m1")
	say("model users %v %s", mu, e(err))
	ex, err := s.Explain(ctx, "bob", "m1")
	say("explain %s %s", ex, e(err))
	d, err := s.Deploy(ctx, "m1", "mysql", controller.DeployOptions{Name: "db", NumUnits: 2})
	say("deploy %s %s %s", d.Application.Name, d.Application.Charm, e(err))
	for _, u := range d.Units {
		say("  unit %s on %s", u.Name, u.Machine)
	}
	// The provisioner starts the machines after Deploy returns: what a
	// machine's status is by then is a race, so only its id is written
	// here, and its status once waited for.
	for _, mc := range d.Machines {
		say("  machine %s", mc.ID)
	}
	started, err := s.WaitStarted(ctx, "m1", "db")
	for _, mc := range started.Machines {
		say("  started: machine %s %s %q life=%q attempts=%d", mc.ID, mc.Status, mc.Message, mc.Life, mc.Attempts)
	}
	say("wait started %s", e(err))
	_, err = s.Deploy(ctx, "m1", "mysql", controller.DeployOptions{Name: "db"})
	say("deploy again %s", e(err))
	d, err = s.AddUnit(ctx, "m1", "db", controller.AddUnitOptions{})
	say("add unit %s %d %d %s", d.Application.Name, len(d.Units), len(d.Machines), e(err))
	_, err = s.WaitStarted(ctx, "m1")
	say("wait started (the model) %s", e(err))
	say("retry provisioning a started machine %s", e(s.RetryProvisioning(ctx, "m1", "0")))
	say("retry provisioning a missing machine %s", e(s.RetryProvisioning(ctx, "m1", "42")))
	say("retry provisioning a bad id %s", e(s.RetryProvisioning(ctx, "m1", "x")))
	say("retry provisioning all %s", e(s.RetryProvisioning(ctx, "m1")))
	say("retry provisioning in a missing model %s", e(s.RetryProvisioning(ctx, "nope")))
	_, err = s.WaitStarted(ctx, "nope")
	say("wait started in a missing model %s", e(err))
	say("wait removed of a missing model %s", e(s.WaitRemoved(ctx, "nope")))
	st, err := s.Status(ctx, "m1")
	say("status %s %s machines=%d units=%d %s", st.FullName(), st.Access, st.ModelSummary.Machines, st.ModelSummary.Units, e(err))
	for _, a := range st.Applications {
		say("  app %s %s %s", a.Name, a.Charm, a.Life)
	}
	for _, u := range st.Units {
		say("  unit %s %s on %s", u.Name, u.Application, u.Machine)
	}
	for _, mc := range st.Machines {
		say("  machine %s %s %q", mc.ID, mc.Status, mc.Message)
	}
	say("remove unit %s", e(s.RemoveUnit(ctx, "m1", "db/0")))
	_, err = s.WaitFor(ctx, "m1", func(st controller.ModelStatus) bool {
		return !slices.ContainsFunc(st.Units, func(u models.Unit) bool { return u.Name == "db/0" })
	})
	say("wait for the unit to go %s", e(err))
	say("remove unit again %s", e(s.RemoveUnit(ctx, "m1", "db/0")))
	say("remove unit bad name %s", e(s.RemoveUnit(ctx, "m1", "db")))
	say("remove application %s", e(s.RemoveApplication(ctx, "m1", "db")))
	gone, err := s.WaitFor(ctx, "m1", func(st controller.ModelStatus) bool { return len(st.Applications) == 0 })
	say("wait for the application to go: machines=%d units=%d %s", len(gone.Machines), len(gone.Units), e(err))
	say("remove application again %s", e(s.RemoveApplication(ctx, "m1", "db")))
	// A provider that cannot start machines: the provisioner retries, then
	// gives up; retry-provisioning starts the machine again.
	failStarts(errors.New("no capacity"))
	d, err = s.Deploy(ctx, "m1", "redis", controller.DeployOptions{})
	say("deploy with no capacity %s %d %s", d.Application.Name, len(d.Machines), e(err))
	_, err = s.WaitStarted(ctx, "m1", "redis")
	say("wait started with no capacity %s", e(err))
	st, err = s.Status(ctx, "m1")
	for _, mc := range st.Machines {
		say("  machine %s %s %q life=%q attempts=%d instance=%v", mc.ID, mc.Status, mc.Message, mc.Life, mc.Attempts, mc.InstanceID != "")
	}
	say("status with a failed machine %s", e(err))
	failStarts(nil)
	say("retry provisioning the failed machine %s", e(s.RetryProvisioning(ctx, "m1", "3")))
	st, err = s.WaitStarted(ctx, "m1", "redis")
	for _, mc := range st.Machines {
		say("  machine %s %s %q attempts=%d instance=%v", mc.ID, mc.Status, mc.Message, mc.Attempts, mc.InstanceID != "")
	}
	say("wait started after retry %s", e(err))
	say("remove redis %s", e(s.RemoveApplication(ctx, "m1", "redis")))
	say("revoke %s", e(s.Revoke(ctx, "bob", acl.Read, "m1")))
	say("revoke again %s", e(s.Revoke(ctx, "bob", acl.Read, "m1")))
	say("disable %s", e(s.DisableUser(ctx, "bob")))
	us, err := s.Users(ctx, controller.UsersOptions{All: true})
	for _, u := range us {
		// A disabled user's access is not on the wire (Juju sends "").
		access := u.Access.String()
		if u.Disabled {
			access = "-"
		}
		say("user %s %q %s disabled=%v", u.Name, u.DisplayName, access, u.Disabled)
	}
	say("users %s", e(err))
	us, err = s.Users(ctx, controller.UsersOptions{})
	say("enabled users %d %s", len(us), e(err))
	say("reset disabled %s", e(func() error { _, err := s.ResetPassword(ctx, "bob"); return err }()))
	say("enable %s", e(s.EnableUser(ctx, "bob")))
	tk, err := s.ResetPassword(ctx, "bob")
	tok, _ = users.DecodeToken(tk)
	say("reset %s %s", tok.User, e(err))
	_, err = s.ResetPassword(ctx, "admin")
	say("reset self %s", e(err))
	say("change password %s", e(s.ChangePassword(ctx, "bob", "bob-password")))
	say("change password too long %s", e(s.ChangePassword(ctx, "bob", strings.Repeat("x", 73))))
	n, err := s.EndSessions(ctx, "bob")
	say("end sessions %d %s", n, e(err))
	say("remove user %s", e(s.RemoveUser(ctx, "bob")))
	_, err = s.ShowUser(ctx, "bob")
	say("show removed user %s", e(err))
	say("remove owner %s", e(s.RemoveUser(ctx, "admin")))
	say("disable owner %s", e(s.DisableUser(ctx, "admin")))
	_, err = s.ModelUsers(ctx, "nope")
	say("missing model %s", e(err))
	invalid(ctx, s, say, e)

	carol, err := s.AddUser(ctx, "carol", "")
	say("add carol %s", e(err))
	_, err = register(carol.Token, "")
	say("carol registers with no password %s", e(err))
	c, err := register(carol.Token, "carol-password")
	say("carol registers %s", e(err))
	if err == nil {
		who, err := c.WhoAmI(ctx)
		say("carol: whoami %s %s %s", who.User, who.Access, e(err))
		ms, err := c.Models(ctx, controller.ModelsOptions{})
		say("carol: models %d %s", len(ms), e(err))
	}
	_, err = register(carol.Token, "carol-password")
	say("carol registers again %s", e(err))
	_, err = register("not-a-token", "carol-password")
	say("register with garbage %s", e(err))
	say("destroy model %s", e(s.DestroyModel(ctx, "m1")))
	say("wait removed %s", e(s.WaitRemoved(ctx, "m1")))
	say("destroy model again %s", e(s.DestroyModel(ctx, "m1")))
	return out
}

// invalid feeds bad input to every kind of call.
func invalid(ctx context.Context, s operations, say func(string, ...any), e func(error) string) {
	_, err := s.CreateModel(ctx, "Bad_Name", controller.CreateModelOptions{})
	say("invalid: model name %s", e(err))
	_, err = s.CreateModel(ctx, "ok", controller.CreateModelOptions{Owner: "x"})
	say("invalid: owner %s", e(err))
	_, err = s.AddUser(ctx, "bad name", "")
	say("invalid: user name %s", e(err))
	_, err = s.AddUser(ctx, "carol", strings.Repeat("d", 300))
	say("invalid: display name %s", e(err))
	_, err = s.ShowUser(ctx, "nobody")
	say("invalid: missing user %s", e(err))
	say("invalid: level %s", e(s.Grant(ctx, "admin", acl.Level(42), "default")))
	say("invalid: no level %s", e(s.Grant(ctx, "admin", acl.None, "default")))
	say("invalid: model level without a model %s", e(s.Grant(ctx, "admin", acl.Write, "")))
	say("invalid: controller level on a model %s", e(s.Grant(ctx, "admin", acl.Login, "default")))
	_, err = s.ModelUsers(ctx, "a/b/c")
	say("invalid: model ref %s", e(err))
	_, err = s.Deploy(ctx, "default", "mysql", controller.DeployOptions{Name: "Bad-App"})
	say("invalid: application name %s", e(err))
	_, err = s.Deploy(ctx, "default", "mysql", controller.DeployOptions{NumUnits: -1})
	say("invalid: units %s", e(err))
	_, err = s.AddUnit(ctx, "default", "nope", controller.AddUnitOptions{})
	say("invalid: missing application %s", e(err))
	_, err = s.AddUnit(ctx, "default", "Bad-App", controller.AddUnitOptions{})
	say("invalid: add unit application name %s", e(err))
	say("invalid: remove unit %s", e(s.RemoveUnit(ctx, "default", "nope/0")))
	say("invalid: remove application %s", e(s.RemoveApplication(ctx, "default", "nope")))
	_, err = s.Explain(ctx, "nobody", "default")
	say("invalid: explain a missing user %s", e(err))
	say("invalid: short password %s", e(s.ChangePassword(ctx, "admin", "")))
}

// bobsView is what bob, with read on admin/m1, sees and may do.
func bobsView(ctx context.Context, bob operations, say func(string, ...any), e func(error) string) {
	who, err := bob.WhoAmI(ctx)
	say("bob: whoami %s %s %s", who.User, who.Access, e(err))
	ms, err := bob.Models(ctx, controller.ModelsOptions{})
	for _, m := range ms {
		say("bob: model %s %s", m.FullName(), m.Access)
	}
	say("bob: models %s", e(err))
	_, err = bob.Models(ctx, controller.ModelsOptions{All: true})
	say("bob: all models %s", e(err))
	st, err := bob.Status(ctx, "admin/m1")
	say("bob: status %s %s %s", st.FullName(), st.Access, e(err))
	_, err = bob.Status(ctx, "m1")
	say("bob: status of his own m1 %s", e(err))
	_, err = bob.Deploy(ctx, "admin/m1", "mysql", controller.DeployOptions{})
	say("bob: deploy %s", e(err))
	say("bob: retry provisioning %s", e(bob.RetryProvisioning(ctx, "admin/m1")))
	st, err = bob.WaitStarted(ctx, "admin/m1")
	say("bob: wait started machines=%d %s", len(st.Machines), e(err))
	_, err = bob.AddUser(ctx, "carol", "")
	say("bob: add user %s", e(err))
	us, err := bob.Users(ctx, controller.UsersOptions{})
	for _, u := range us {
		say("bob: user %s", u.Name)
	}
	say("bob: users %s", e(err))
	_, err = bob.ShowUser(ctx, "admin")
	say("bob: show admin %s", e(err))
	mu, err := bob.ModelUsers(ctx, "admin/m1")
	say("bob: model users %v %s", mu, e(err))
	ex, err := bob.Explain(ctx, "", "admin/m1")
	say("bob: explain %s %s", ex, e(err))
	_, err = bob.Explain(ctx, "admin", "admin/m1")
	say("bob: explain admin %s", e(err))
	say("bob: grant himself %s", e(bob.Grant(ctx, "bob", acl.Write, "admin/m1")))
	say("bob: destroy %s", e(bob.DestroyModel(ctx, "admin/m1")))
	say("bob: change own password %s", e(bob.ChangePassword(ctx, "bob", "bob-password")))
	say("bob: change admin's password %s", e(bob.ChangePassword(ctx, "admin", "x-password")))
	say("bob: logout %s", e(bob.Logout(ctx)))
	say("bob: check after logout %s", e(bob.Check(ctx)))
	_, err = bob.Models(ctx, controller.ModelsOptions{})
	say("bob: models after logout %s", e(err))
}

// TestMirrorsInProcess runs one transcript on an in-process admin session
// and one on a network admin session of another controller.
func TestMirrorsInProcess(t *testing.T) {
	ctx := ctxFor(t)
	// Fake providers whose starts can fail, and a provisioner that retries
	// them quickly.
	provisioning := controller.Provisioning{RetryDelay: 5 * time.Millisecond}
	inProc, network := fakeprovider.New(), fakeprovider.New()
	b, err := controller.Bootstrap(ctx, "herd-e2e", controller.Options{PasswordCost: bcrypt.MinCost, Provider: inProc, Provisioning: provisioning})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Controller.Close()
	want := transcript(ctx, b.Admin, func(user, password string) (operations, error) {
		return b.Controller.Login(ctx, user, password)
	}, func(token, password string) (operations, error) {
		return b.Controller.Register(ctx, token, password)
	}, func(err error) { inProc.Fail(fakeprovider.Start, err) })

	l, stop, err := newLiveWith(1, controller.Options{Provider: network, Provisioning: provisioning})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	got := transcript(ctx, l.login(t, "admin", l.secret), func(user, password string) (operations, error) {
		c, err := client.Dial(ctx, l.opts())
		if err != nil {
			return nil, err
		}
		s, err := c.Login(ctx, user, password)
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { s.Close() })
		return s, nil
	}, func(token, password string) (operations, error) {
		s, _, err := client.Register(ctx, token, password, client.RegisterOptions{})
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { s.Close() })
		return s, nil
	}, func(err error) { network.Fail(fakeprovider.Start, err) })
	if testing.Verbose() {
		t.Log("transcript:\n" + strings.Join(got, "\n"))
	}
	if !slices.Equal(got, want) {
		for i := range max(len(got), len(want)) {
			g, w := "", ""
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if g != w {
				t.Errorf("network:    %s\n        in process: %s", g, w)
			}
		}
	}
}
