package controller_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/controller/controllertest"
	"github.com/herd-project/herd/internal/register"
	"github.com/herd-project/herd/store/storetest"
	"github.com/herd-project/herd/users"
)

// Spec §3: the bootstrap admin can be neither disabled nor removed; nor
// can its login be revoked, which would lock it out as disabling would.
func TestOwnerLoginCannotBeRevoked(t *testing.T) {
	f := controllertest.New(t, nil)
	bob := f.AddUser(t, "bob", acl.Superuser)
	ctx := f.Context()
	if err := bob.DisableUser(ctx, "admin"); err == nil {
		t.Fatal("disable owner allowed")
	}
	before := f.Controller.Dump()
	if err := bob.Revoke(ctx, "admin", acl.Login, ""); !errors.Is(err, herd.ErrFailedPrecondition) {
		t.Errorf("revoking the owner's login: %v, want refused", err)
	}
	if !reflect.DeepEqual(before, f.Controller.Dump()) {
		t.Error("the refused revoke changed the state")
	}
	if _, err := f.Controller.Login(ctx, "admin", f.Password("admin")); err != nil {
		t.Errorf("the owner cannot log in: %v", err)
	}
}

// Spec §4: a missing user looked up by someone who may not see it is
// permission denied, so names cannot be probed. A model admin (not a
// superuser, so may not see other users) can probe user names with Grant
// and Explain.
func TestModelAdminCannotProbeUserNames(t *testing.T) {
	f := controllertest.New(t, nil)
	alice := f.AddUser(t, "alice", acl.AddModel)
	f.AddUser(t, "bob")
	ctx := f.Context()
	if _, err := alice.CreateModel(ctx, "m", controller.CreateModelOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.ShowUser(ctx, "bob"); !errors.Is(err, herd.ErrPermissionDenied) {
		t.Fatalf("ShowUser bob: %v", err)
	}
	e1 := alice.Grant(ctx, "bob", acl.Read, "m")
	e2 := alice.Grant(ctx, "ghost", acl.Read, "m")
	t.Logf("grant existing: %v; grant missing: %v", e1, e2)
	_, x1 := alice.Explain(ctx, "bob", "m")
	_, x2 := alice.Explain(ctx, "ghost2", "m")
	t.Logf("explain existing: %v; explain missing: %v", x1, x2)
	if errors.Is(e2, herd.ErrNotFound) || errors.Is(x2, herd.ErrNotFound) {
		t.Errorf("a model admin tells existing from missing users: grant %v / %v, explain %v / %v", e1, e2, x1, x2)
	}
}

// Both registration paths refuse a user whose controller login was
// revoked (before, the network exchange set the password and used up the
// key).
func TestRegisterExchangeRefusesRevokedLogin(t *testing.T) {
	f := controllertest.New(t, nil)
	ctx := f.Context()
	added, err := f.Admin.AddUser(ctx, "tom", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Admin.Revoke(ctx, "tom", acl.Login, ""); err != nil {
		t.Fatal(err)
	}
	_, err = f.Controller.Register(ctx, added.Token, "tom-password")
	t.Logf("in-process Register: %v", err)
	tok, _ := users.DecodeToken(added.Token)
	body, err := register.Request(tok, "tom-password", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	reply, err := f.Controller.RegisterExchange(ctx, body)
	t.Logf("RegisterExchange: reply %d bytes, err %v", len(reply), err)
	if err == nil {
		u, _ := f.Admin.ShowUser(ctx, "tom")
		t.Errorf("network registration of a user without controller access succeeded (pending now %v); in-process refused", u.Pending)
	}
}

// A write run again after a lost commit race logs its event once, after
// the commit (before, inside the retried function: once per attempt).
func TestRetriedWriteLogsOnce(t *testing.T) {
	ctx := context.Background()
	mem := storetest.NewMemory()
	var buf bytes.Buffer
	b, err := controller.Bootstrap(ctx, "c1", controller.Options{Backend: mem, Hasher: controllertest.TestHasher{},
		Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Controller.Close()
	buf.Reset()
	mem.ConflictNext()
	if _, err := b.Controller.Login(ctx, "admin", b.Secret); err != nil {
		t.Fatal(err)
	}
	n := strings.Count(buf.String(), "msg=login ")
	t.Logf("log:\n%s", buf.String())
	if n != 1 {
		t.Errorf("one login logged %d times", n)
	}
}

// Expired sessions and registration keys are deleted (spec §5: a key is
// kept until used, reset or expired), so the state does not grow with
// every login; and Dump shows no key.
func TestExpiredRowsGo(t *testing.T) {
	f := controllertest.New(t, &controllertest.Options{Fresh: true})
	ctx := f.Context()
	if _, err := f.Admin.AddUser(ctx, "tom", ""); err != nil {
		t.Fatal(err)
	}
	f.AddUser(t, "bob")
	for range 100 {
		s, err := f.Controller.Login(ctx, "bob", f.Password("bob"))
		if err != nil {
			t.Fatal(err)
		}
		_ = s // never logged out (e.g. a Go client that fetched its token)
	}
	f.Advance(8 * 24 * time.Hour) // every session and the token expired
	f.LoginAs(t, "admin")         // a few more writes
	d := f.Controller.Dump()
	t.Logf("after 8 days: %d session rows, %d registration_secrets rows", len(d["sessions"]), len(d["registration_secrets"]))
	if len(d["sessions"]) > 2 || len(d["registration_secrets"]) > 0 {
		t.Errorf("expired rows kept: %d sessions, %d registration keys", len(d["sessions"]), len(d["registration_secrets"]))
	}
	for _, row := range d["controller"] {
		if strings.Contains(row, "PRIVATE KEY") {
			t.Errorf("Dump shows the CA private key: %.80s...", row[strings.Index(row, "PRIVATE KEY")-20:])
		}
	}
	for _, row := range d["registration_secrets"] {
		t.Logf("registration secret row: %s", row)
	}
}

// Spec §3: a level of the wrong kind for the target is ErrInvalid with
// `"admin" controller access not valid`.
func TestWrongKindMessage(t *testing.T) {
	f := controllertest.New(t, nil)
	f.AddUser(t, "tom")
	err := f.Admin.Grant(f.Context(), "tom", acl.Admin, "")
	t.Logf("Grant(tom, admin, controller): %v", err)
	if err == nil || err.Error() != `"admin" controller access not valid` {
		t.Errorf("message %q, spec wants %q", err, `"admin" controller access not valid`)
	}
}

type laxHasher struct{}

func (laxHasher) Hash(pw string) (string, error) { return "lax$" + pw, nil }
func (laxHasher) Compare(h, pw string) error {
	if h != "lax$"+pw {
		return herd.Errorf(herd.ErrUnauthenticated, "invalid entity name or password")
	}
	return nil
}

// Batch.SetPassword validates the password as ChangePassword does, whatever
// the Hasher (before, an empty or 100-byte one was stored).
func TestBatchSetPasswordValidated(t *testing.T) {
	f := controllertest.New(t, &controllertest.Options{Hasher: laxHasher{}})
	ctx := f.Context()
	f.AddUser(t, "tom")
	long := strings.Repeat("x", 100)
	if err := f.Admin.ChangePassword(ctx, "tom", long); err == nil {
		t.Fatal("ChangePassword accepted 100 bytes")
	}
	err := f.Admin.Batch(ctx, func(b *controller.Batch) error { return b.SetPassword("tom", long) })
	t.Logf("Batch.SetPassword(100 bytes): %v", err)
	if err == nil {
		t.Errorf("Batch.SetPassword accepted a 100-byte password that ChangePassword refuses")
	}
}
