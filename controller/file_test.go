package controller_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/controller/controllertest"
	"github.com/herd-project/herd/provider/fakeprovider"
)

func TestReopenFromFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "controller.db")
	ck := controllertest.NewClock(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	prov := fakeprovider.New()
	opts := controller.Options{Path: path, Provider: prov, Now: ck.Now, PasswordCost: bcrypt.MinCost, LockTimeout: 100 * time.Millisecond}
	b, err := controller.Bootstrap(ctx, "c1", opts)
	if err != nil {
		t.Fatal(err)
	}
	admin := b.Admin
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode: %v %v", fi, err)
	}
	added, err := admin.AddUser(ctx, "tom", "")
	must(t, err)
	bob, err := admin.AddUser(ctx, "bob", "")
	must(t, err)
	_, err = admin.CreateModel(ctx, "m", controller.CreateModelOptions{})
	must(t, err)
	must(t, admin.Grant(ctx, "tom", acl.Write, "m"))
	tom, err := b.Controller.Register(ctx, added.Token, "tom-pw")
	must(t, err)
	_, err = tom.Deploy(ctx, "admin/m", "mysql", controller.DeployOptions{})
	must(t, err)
	ck.Advance(20 * time.Hour)
	late, err := b.Controller.Login(ctx, "tom", "tom-pw") // expires 20h after tom's first
	must(t, err)

	// A second opener waits, then is refused with the file named.
	if _, err := controller.Open(ctx, path, opts); !errors.Is(err, herd.ErrFailedPrecondition) || !strings.Contains(err.Error(), path) {
		t.Errorf("second open while the first is open: %v", err)
	}
	must(t, b.Controller.Close())

	ctrl, err := controller.Open(ctx, path, opts)
	must(t, err)
	defer ctrl.Close()
	if ctrl.Name() != "c1" || ctrl.UUID() != b.Controller.UUID() {
		t.Errorf("reopened %s %s", ctrl.Name(), ctrl.UUID())
	}
	// Sessions made before survive, by their tokens.
	tom2, err := ctrl.Resume(ctx, tom.Token())
	must(t, err)
	st, err := tom2.Status(ctx, "admin/m")
	must(t, err)
	if len(st.Machines) != 1 || st.Machines[0].Status != "started" || len(st.Units) != 1 || st.Access != acl.Write {
		t.Errorf("status after reopen: %+v", st)
	}
	// ... and still expire on time.
	ck.Advance(5 * time.Hour)
	if _, err := ctrl.Resume(ctx, tom.Token()); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("expired session after reopen: %v", err)
	}
	if _, err := ctrl.Resume(ctx, late.Token()); err != nil {
		t.Errorf("later session after reopen: %v", err)
	}
	// A registration token issued before the reopen still works, once.
	if _, err := ctrl.Register(ctx, bob.Token, "bob-pw"); err != nil {
		t.Errorf("register after reopen: %v", err)
	}
	if _, err := ctrl.Register(ctx, bob.Token, "bob-pw"); !errors.Is(err, herd.ErrUnauthenticated) {
		t.Errorf("token reused after reopen: %v", err)
	}
	if _, err := ctrl.Login(ctx, "admin", b.Secret); err != nil {
		t.Errorf("admin login after reopen: %v", err)
	}
	// Bootstrapping over an existing file is refused and leaves it alone.
	if _, err := controller.Bootstrap(ctx, "c2", opts); !errors.Is(err, herd.ErrAlreadyExists) {
		t.Errorf("bootstrap over an existing file: %v", err)
	}
}

func TestBootstrapFailureRemovesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	prov := fakeprovider.New()
	prov.Fail(fakeprovider.Bootstrap, errors.New("boom"))
	if _, err := controller.Bootstrap(context.Background(), "c", controller.Options{Path: path, Provider: prov, PasswordCost: bcrypt.MinCost}); err == nil {
		t.Fatal("bootstrap succeeded")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("file left behind: %v", err)
	}
	if _, err := controller.Open(context.Background(), path, controller.Options{}); !errors.Is(err, herd.ErrNotFound) {
		t.Errorf("open of a missing file: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
