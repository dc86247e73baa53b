package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/apiserver"
	"github.com/herd-project/herd/client"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/users"
)

// live is a controller bootstrapped on the fake provider and a memory
// store, served by the real apiserver over TLS on loopback ports (one
// apiserver per address, all in front of the same controller), with the
// controller's own certificate and /register.
type live struct {
	ctrl   *controller.Controller
	secret string // admin's bootstrap password
	addr   string // the first address
	addrs  []string
	ca     []byte   // the controller's CA certificate (PEM)
	stop   []func() // stops the server at each address
}

func startLive(t *testing.T) *live { return startLiveN(t, 1) }

func startLiveN(t *testing.T, n int) *live {
	t.Helper()
	l, stop, err := newLive(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return l
}

// newLive starts a live controller with n addresses; stop stops it all.
func newLive(n int) (l *live, stop func(), err error) {
	return newLiveWith(n, controller.Options{})
}

// newLiveWith is newLive with controller options (Addrs and the password
// cost are set here).
func newLiveWith(n int, opts controller.Options) (l *live, stop func(), err error) {
	var tss []*httptest.Server
	var addrs []string
	for range n {
		ts := httptest.NewUnstartedServer(nil)
		tss = append(tss, ts)
		addrs = append(addrs, ts.Listener.Addr().String())
	}
	closeAll := func() {
		for _, ts := range tss {
			ts.Close()
		}
	}
	opts.PasswordCost, opts.Addrs = bcrypt.MinCost, addrs
	b, err := controller.Bootstrap(context.Background(), "herd-e2e", opts)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	fail := func(err error) (*live, func(), error) {
		closeAll()
		b.Controller.Close()
		return nil, nil, err
	}
	// The controller's own CA and certificate, for its addresses.
	cfg, err := b.Controller.TLSConfig()
	if err != nil {
		return fail(err)
	}
	l = &live{ctrl: b.Controller, secret: b.Secret, addr: addrs[0], addrs: addrs, ca: b.Controller.CACert()}
	for _, ts := range tss {
		srv, err := apiserver.New(b.Controller, apiserver.Options{LoginRate: -1})
		if err != nil {
			return fail(err)
		}
		ts.Config.Handler = srv
		ts.Config.ErrorLog = log.New(io.Discard, "", 0)
		ts.TLS = cfg
		ts.StartTLS()
		var once sync.Once
		l.stop = append(l.stop, func() {
			once.Do(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				srv.Close(ctx)
				ts.Close()
			})
		})
	}
	return l, func() {
		for _, stop := range l.stop {
			stop()
		}
		b.Controller.Close()
	}, nil
}

func (l *live) opts() client.Options {
	return client.Options{Addrs: []string{l.addr}, CACert: l.ca, ControllerName: "herd-e2e", DialTimeout: 5 * time.Second}
}

func (l *live) login(t *testing.T, user, password string) *client.Session {
	t.Helper()
	ctx := ctxFor(t)
	c, err := client.Dial(ctx, l.opts())
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Login(ctx, user, password)
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestSeedWorkflow runs the seed's scenario over the network: admin adds
// tom, creates a model and grants tom write; tom registers with the token,
// lists the model, changes his password, deploys, and logs out.
func TestSeedWorkflow(t *testing.T) {
	l := startLive(t)
	ctx := ctxFor(t)

	admin := l.login(t, "admin", l.secret)
	if err := admin.ChangePassword(ctx, "admin", "admin-password"); err != nil {
		t.Fatal(err)
	}
	who, err := admin.WhoAmI(ctx)
	if err != nil || who.User != "admin" || who.Access != acl.Superuser || who.Controller != "herd-e2e" {
		t.Fatalf("whoami %+v %v", who, err)
	}
	added, err := admin.AddUser(ctx, "tom", "Tom")
	if err != nil {
		t.Fatal(err)
	}
	if added.User.Name != "tom" || !added.User.Pending || added.User.Created.IsZero() {
		t.Errorf("added %+v", added.User)
	}
	tok, err := users.DecodeToken(added.Token)
	if err != nil || tok.User != "tom" || len(tok.Addrs) != 1 || tok.Addrs[0] != l.addr || tok.ControllerName != "herd-e2e" {
		t.Fatalf("token %+v %v", tok, err)
	}
	m, err := admin.CreateModel(ctx, "lxd-model-1", controller.CreateModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Owner != "admin" || m.Name != "lxd-model-1" || m.UUID == "" {
		t.Errorf("model %+v", m)
	}
	if err := admin.Grant(ctx, "tom", acl.Write, "lxd-model-1"); err != nil {
		t.Fatal(err)
	}
	if err := admin.Grant(ctx, "tom", acl.Write, "lxd-model-1"); !errors.Is(err, herd.ErrAlreadyExists) {
		t.Errorf("second grant: %v", err)
	}

	// tom, on his own machine, knows only the token.
	tom, reg, err := client.Register(ctx, added.Token, "tom-password", client.RegisterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer tom.Close()
	if !bytes.Equal(reg.CACert, l.ca) || reg.ControllerUUID != l.ctrl.UUID() || reg.ControllerName != "herd-e2e" {
		t.Errorf("register result %+v", reg)
	}
	if _, _, err := client.Register(ctx, added.Token, "tom-password", client.RegisterOptions{}); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("token used twice: %v", err)
	}
	list, err := tom.Models(ctx, controller.ModelsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].FullName() != "admin/lxd-model-1" || list[0].Access != acl.Write {
		t.Fatalf("tom's models %+v", list)
	}
	if err := tom.ChangePassword(ctx, "tom", "tom-password-2"); err != nil {
		t.Fatal(err)
	}
	d, err := tom.Deploy(ctx, "admin/lxd-model-1", "mysql", controller.DeployOptions{Name: "mysql-staging"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Application.Name != "mysql-staging" || d.Application.Charm != "mysql" || len(d.Units) != 1 || d.Units[0].Name != "mysql-staging/0" || len(d.Machines) != 1 {
		t.Errorf("deployed %+v", d)
	}
	st, err := tom.Status(ctx, "admin/lxd-model-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Applications) != 1 || len(st.Units) != 1 || len(st.Machines) != 1 || st.Access != acl.Write {
		t.Errorf("status %+v", st)
	}

	// A refused call is the root sentinel across the wire.
	if _, err := tom.AddUser(ctx, "bob", ""); !errors.Is(err, herd.ErrPermissionDenied) || err.Error() != "permission denied" {
		t.Errorf("tom adds a user: %v", err)
	}
	if err := tom.DestroyModel(ctx, "admin/lxd-model-1"); !errors.Is(err, herd.ErrPermissionDenied) {
		t.Errorf("tom destroys admin's model: %v", err)
	}
	if _, err := tom.ModelUsers(ctx, "admin/other"); !errors.Is(err, herd.ErrPermissionDenied) {
		t.Errorf("tom reads a model he cannot see: %v", err)
	}

	// The session outlives the connection: another process resumes it.
	token := tom.Token()
	c, err := client.Dial(ctx, l.opts())
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Resume(ctx, "tom", token)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if _, err := again.Models(ctx, controller.ModelsOptions{}); err != nil {
		t.Fatal(err)
	}

	// Logout ends the session on the controller, for every holder.
	if err := tom.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := tom.Models(ctx, controller.ModelsOptions{}); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("call after logout: %v", err)
	}
	if _, err := again.Models(ctx, controller.ModelsOptions{}); !errors.Is(err, herd.ErrUnauthenticated) && !errors.Is(err, herd.ErrClosed) {
		t.Errorf("the other holder's next call: %v", err)
	}
	if _, err := again.Models(ctx, controller.ModelsOptions{}); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("the other holder cannot resume: %v", err)
	}
	c, err = client.Dial(ctx, l.opts())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Resume(ctx, "tom", token); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("resume after logout: %v", err)
	}
	// tom logs in again with his new password.
	tom2 := l.login(t, "tom", "tom-password-2")
	if ms, err := tom2.Models(ctx, controller.ModelsOptions{}); err != nil || len(ms) != 1 {
		t.Errorf("models after a new login: %v %v", ms, err)
	}
}

// TestAdminOperations drives the rest of the Session's methods against
// the real server.
func TestAdminOperations(t *testing.T) {
	l := startLive(t)
	ctx := ctxFor(t)
	admin := l.login(t, "admin", l.secret)
	for _, name := range []string{"tom", "bob"} {
		if _, err := admin.AddUser(ctx, name, strings.ToUpper(name)); err != nil {
			t.Fatal(err)
		}
		if err := admin.ChangePassword(ctx, name, name+"-password"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := admin.AddUser(ctx, "tom", ""); !errors.Is(err, herd.ErrAlreadyExists) {
		t.Errorf("add tom twice: %v", err)
	}
	if _, err := admin.CreateModel(ctx, "m1", controller.CreateModelOptions{Owner: "tom"}); err != nil {
		t.Fatal(err)
	}
	if err := admin.Grant(ctx, "bob", acl.Read, "tom/m1"); err != nil {
		t.Fatal(err)
	}
	mu, err := admin.ModelUsers(ctx, "tom/m1")
	if err != nil || len(mu) != 2 || mu[0].User != "bob" || mu[0].Access != acl.Read || mu[1].User != "tom" || mu[1].Access != acl.Admin {
		t.Errorf("model users %+v %v", mu, err)
	}
	e, err := admin.Explain(ctx, "bob", "tom/m1")
	if err != nil || e.Access != acl.Read || e.Reason != acl.DirectGrant || e.Model != "tom/m1" {
		t.Errorf("explain %+v %v", e, err)
	}
	if err := admin.Revoke(ctx, "bob", acl.Read, "tom/m1"); err != nil {
		t.Fatal(err)
	}
	if err := admin.Revoke(ctx, "bob", acl.Read, "tom/m1"); !errors.Is(err, herd.ErrNotFound) {
		t.Errorf("revoke twice: %v", err)
	}
	if err := admin.Grant(ctx, "bob", acl.AddModel, ""); err != nil {
		t.Fatal(err)
	}
	if u, err := admin.ShowUser(ctx, "bob"); err != nil || u.Access != acl.AddModel || u.DisplayName != "BOB" {
		t.Errorf("show bob %+v %v", u, err)
	}

	tom := l.login(t, "tom", "tom-password")
	if _, err := tom.Deploy(ctx, "m1", "mysql", controller.DeployOptions{}); err != nil {
		t.Fatal(err)
	}
	d, err := tom.AddUnit(ctx, "m1", "mysql", controller.AddUnitOptions{NumUnits: 2})
	if err != nil || len(d.Units) != 2 || d.Units[0].Name != "mysql/1" || len(d.Machines) != 2 {
		t.Fatalf("add units %+v %v", d, err)
	}
	if st, err := tom.WaitStarted(ctx, "m1", "mysql"); err != nil || len(st.Machines) != 3 || st.Machines[2].Status != models.Started {
		t.Fatalf("wait started %+v %v", st, err)
	}
	if err := tom.RemoveUnit(ctx, "m1", "mysql/1"); err != nil {
		t.Fatal(err)
	}
	// Removal is the provisioner's: the unit goes once its machine has
	// stopped.
	if _, err := tom.WaitFor(ctx, "m1", func(st controller.ModelStatus) bool { return len(st.Units) == 2 }); err != nil {
		t.Fatal(err)
	}
	if err := tom.RemoveUnit(ctx, "m1", "mysql/1"); !errors.Is(err, herd.ErrNotFound) {
		t.Errorf("remove a removed unit: %v", err)
	}
	if err := tom.RemoveApplication(ctx, "m1", "mysql"); err != nil {
		t.Fatal(err)
	}
	if st, err := tom.Status(ctx, "m1"); err != nil || len(st.Applications) != 1 || !st.Applications[0].Dying() {
		// Dying until its machines have stopped (or gone already).
		if len(st.Applications) != 0 {
			t.Errorf("status right after removal %+v %v", st, err)
		}
	}
	if st, err := tom.WaitFor(ctx, "m1", func(st controller.ModelStatus) bool { return len(st.Applications) == 0 }); err != nil || len(st.Machines) != 0 {
		t.Errorf("status after removal %+v %v", st, err)
	}

	// Admin ends bob's sessions, disables and re-enables him, resets his
	// password; then removes him.
	bob := l.login(t, "bob", "bob-password")
	if n, err := admin.EndSessions(ctx, "bob"); err != nil || n != 1 {
		t.Errorf("end sessions %d %v", n, err)
	}
	if _, err := bob.Users(ctx, controller.UsersOptions{}); !errors.Is(err, herd.ErrUnauthenticated) && !errors.Is(err, herd.ErrClosed) {
		t.Errorf("bob after his sessions ended: %v", err)
	}
	if err := admin.DisableUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if all, err := admin.Users(ctx, controller.UsersOptions{}); err != nil || len(all) != 2 {
		t.Errorf("users without disabled %+v %v", all, err)
	}
	if all, err := admin.Users(ctx, controller.UsersOptions{All: true}); err != nil || len(all) != 3 || all[1].Name != "bob" || !all[1].Disabled {
		t.Errorf("all users %+v %v", all, err)
	}
	if err := admin.EnableUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	tok, err := admin.ResetPassword(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if tk, err := users.DecodeToken(tok); err != nil || tk.User != "bob" {
		t.Errorf("reset token %+v %v", tk, err)
	}
	if err := admin.RemoveUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := admin.RemoveUser(ctx, "admin"); !errors.Is(err, herd.ErrFailedPrecondition) {
		t.Errorf("remove the controller owner: %v", err)
	}
	if err := admin.DestroyModel(ctx, "tom/m1"); err != nil {
		t.Fatal(err)
	}
	if err := admin.WaitRemoved(ctx, "tom/m1"); err != nil {
		t.Fatal(err)
	}
	if ms, err := admin.Models(ctx, controller.ModelsOptions{All: true}); err != nil || len(ms) != 1 || ms[0].FullName() != "admin/default" {
		t.Errorf("models after destroy %+v %v", ms, err)
	}
}

// TestFailoverLive: the first address is down; Dial reaches the
// controller at the second.
func TestFailoverLive(t *testing.T) {
	l := startLive(t)
	ctx := ctxFor(t)
	opts := l.opts()
	dead := httptest.NewUnstartedServer(nil)
	deadAddr := dead.Listener.Addr().String()
	dead.Close()
	opts.Addrs = []string{deadAddr, l.addr}
	c, err := client.Dial(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Login(ctx, "admin", l.secret)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Addrs(); len(got) != 2 || got[0] != l.addr || got[1] != deadAddr {
		t.Errorf("addrs %v: want the login's servers first", got)
	}
}

// TestFailoverResumeLive: two API servers in front of one controller. The
// one the session uses goes away; the next calls, on the controller and
// on a model, reach the other (listed by the login) and resume the
// session with its token.
func TestFailoverResumeLive(t *testing.T) {
	l := startLiveN(t, 2)
	ctx := ctxFor(t)
	s := l.login(t, "admin", l.secret) // Options.Addrs names the first only
	if got := s.Addrs(); len(got) != 2 || got[0] != l.addrs[0] || got[1] != l.addrs[1] {
		t.Fatalf("addrs %v, want %v", got, l.addrs)
	}
	if _, err := s.Deploy(ctx, "default", "mysql", controller.DeployOptions{}); err != nil {
		t.Fatal(err)
	}
	l.stop[0]()
	if _, err := s.Users(ctx, controller.UsersOptions{}); err != nil {
		// The call in flight when the connection dropped may fail; the
		// next one must not.
		if _, err := s.Users(ctx, controller.UsersOptions{}); err != nil {
			t.Fatalf("controller call after failover: %v", err)
		}
	}
	st, err := s.Status(ctx, "default")
	if err != nil {
		if st, err = s.Status(ctx, "default"); err != nil {
			t.Fatalf("model call after failover: %v", err)
		}
	}
	if len(st.Applications) != 1 {
		t.Errorf("status after failover %+v", st)
	}
}

// TestSessionEndsLive: what ends a session on the controller ends it for
// the client, as herd.ErrUnauthenticated: expiry ("login expired"), a
// password change elsewhere, disabling the user.
func TestSessionEndsLive(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	l, stop, err := newLiveWith(1, controller.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	ctx := ctxFor(t)
	admin := l.login(t, "admin", l.secret)
	if _, err := admin.AddUser(ctx, "tom", ""); err != nil {
		t.Fatal(err)
	}
	if err := admin.ChangePassword(ctx, "tom", "tom-password"); err != nil {
		t.Fatal(err)
	}

	tom := l.login(t, "tom", "tom-password")
	mu.Lock()
	now = now.Add(25 * time.Hour)
	mu.Unlock()
	err = tom.Check(ctx)
	if !errors.Is(err, herd.ErrUnauthenticated) || err.Error() != "login expired" {
		t.Errorf("expired session: %v", err)
	}
	if err := tom.Check(ctx); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("expired session, next call: %v", err)
	}

	admin = l.login(t, "admin", l.secret)
	tom1 := l.login(t, "tom", "tom-password")
	tom2 := l.login(t, "tom", "tom-password")
	if err := tom1.ChangePassword(ctx, "tom", "tom-password-2"); err != nil {
		t.Fatal(err)
	}
	if err := tom2.Check(ctx); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("session after a password change elsewhere: %v", err)
	}
	if err := tom1.Check(ctx); err != nil {
		t.Errorf("the session that changed the password: %v", err)
	}
	if err := admin.DisableUser(ctx, "tom"); err != nil {
		t.Fatal(err)
	}
	if err := tom1.Check(ctx); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("session of a disabled user: %v", err)
	}
	c, err := client.Dial(ctx, l.opts())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(ctx, "tom", "tom-password-2"); !errors.Is(err, herd.ErrUnauthenticated) || err.Error() != "invalid entity name or password" {
		t.Errorf("login of a disabled user: %v", err)
	}
}

// DestroyController over the network: refused to a user who is not a
// superuser (who goes on working), done for a superuser, after which the
// controller is closed and the session fails with herd.ErrClosed.
func TestDestroyControllerLive(t *testing.T) {
	l := startLive(t)
	ctx := ctxFor(t)
	admin := l.login(t, "admin", l.secret)
	for _, u := range []string{"tom", "ann"} {
		if _, err := admin.AddUser(ctx, u, ""); err != nil {
			t.Fatal(err)
		}
		if err := admin.ChangePassword(ctx, u, u+"-password"); err != nil {
			t.Fatal(err)
		}
	}
	if err := admin.Grant(ctx, "ann", acl.Superuser, ""); err != nil {
		t.Fatal(err)
	}
	tom := l.login(t, "tom", "tom-password")
	if err := tom.DestroyController(ctx); !errors.Is(err, herd.ErrPermissionDenied) {
		t.Fatalf("tom's DestroyController: %v, want permission denied", err)
	}
	if err := tom.Check(ctx); err != nil {
		t.Fatalf("tom's session after a refused DestroyController: %v", err)
	}
	if _, err := admin.Models(ctx, controller.ModelsOptions{All: true}); err != nil {
		t.Fatalf("the controller after a refused DestroyController: %v", err)
	}
	ann := l.login(t, "ann", "ann-password")
	if err := ann.DestroyController(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ann.Check(ctx); !errors.Is(err, herd.ErrClosed) {
		t.Errorf("ann's session after DestroyController: %v, want closed", err)
	}
	if err := admin.Check(ctx); err == nil {
		t.Error("admin's session works on a destroyed controller")
	}
	if _, err := l.ctrl.Resume(ctx, ""); !errors.Is(err, herd.ErrClosed) {
		t.Errorf("the controller after DestroyController: %v, want closed", err)
	}
}
