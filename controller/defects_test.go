package controller_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/controller/controllertest"
)

// Regression tests for defects found by attacking the core.

// A password of 72 right bytes and more must not log in: bcrypt reads only
// the first 72 bytes, so comparing the whole would accept it.
func TestLoginPasswordOver72Bytes(t *testing.T) {
	pw := strings.Repeat("p", 72)
	long := pw + "anything after byte 72"
	check := func(t *testing.T, ctrl *controller.Controller, admin *controller.Session) {
		if _, err := ctrl.Login(t.Context(), "tom", pw); err != nil {
			t.Fatalf("login with the right 72-byte password: %v", err)
		}
		if _, err := ctrl.Login(t.Context(), "tom", long); !errors.Is(err, herd.ErrUnauthenticated) || err.Error() != "invalid entity name or password" {
			t.Errorf("login with %d bytes whose first 72 are right: %v, want invalid entity name or password", len(long), err)
		}
		err := admin.Batch(t.Context(), func(b *controller.Batch) error {
			_, err := b.Login("tom", long)
			return err
		})
		if !errors.Is(err, herd.ErrUnauthenticated) {
			t.Errorf("Batch.Login with %d bytes whose first 72 are right: %v", len(long), err)
		}
	}
	t.Run("bcrypt", func(t *testing.T) {
		e := newEnv(t)
		e.user("tom")
		e.must(e.admin.ChangePassword(e.ctx, "tom", pw))
		check(t, e.ctrl, e.admin)
	})
	t.Run("fixture hasher", func(t *testing.T) {
		f := controllertest.New(t, &controllertest.Options{Fresh: true})
		f.AddUser(t, "tom")
		if err := f.Admin.ChangePassword(f.Context(), "tom", pw); err != nil {
			t.Fatal(err)
		}
		check(t, f.Controller, f.Admin)
	})
}

func TestDisplayNameLimit(t *testing.T) {
	e := newEnv(t)
	if _, err := e.admin.AddUser(e.ctx, "tom", strings.Repeat("é", 127)+"x"); err != nil {
		t.Fatalf("255-byte display name: %v", err)
	}
	e.unchanged("256-byte display name", herd.ErrInvalid, func() error {
		_, err := e.admin.AddUser(e.ctx, "bob", strings.Repeat("x", 256))
		return err
	})
	e.unchanged("16 MB display name", herd.ErrInvalid, func() error {
		_, err := e.admin.AddUser(e.ctx, "bob", strings.Repeat("x", 16<<20))
		return err
	})
}

// Removing the same name twice at one clock reading keeps both records.
func TestRemovalRecordsAtOneInstant(t *testing.T) {
	e := newEnv(t) // its clock stands still
	for range 3 {
		e.user("tom")
		e.must(e.admin.RemoveUser(e.ctx, "tom"))
	}
	if n := removedRecords(e); n != 3 {
		t.Errorf("removal records after 3 removals at one instant: %d, want 3", n)
	}
}

// An unqualified model name is the caller's own model, whatever grants
// on other users' models of that name say.
func TestUnqualifiedModelIsOwn(t *testing.T) {
	e := newEnv(t)
	tom, bob := e.user("tom"), e.user("bob")
	e.must(e.admin.Grant(e.ctx, "tom", acl.AddModel, ""))
	for _, owner := range []string{"admin", "tom"} {
		_, err := e.admin.CreateModel(e.ctx, "m", controller.CreateModelOptions{Owner: owner})
		e.must(err)
	}
	e.must(e.admin.Grant(e.ctx, "tom", acl.Admin, "admin/m"))
	e.must(e.admin.Grant(e.ctx, "bob", acl.Write, "admin/m"))

	st, err := tom.Status(e.ctx, "m")
	if err != nil || st.Owner != "tom" {
		t.Errorf(`tom's "m" = %v, %v; want tom/m`, st.FullName(), err)
	}
	// bob owns no "m": his one grant on admin/m does not make "m" mean it.
	e.unchanged(`bob deploys to "m"`, herd.ErrNotFound, func() error {
		_, err := bob.Deploy(e.ctx, "m", "mysql", controller.DeployOptions{})
		return err
	})
	// Two grants do not make it ambiguous either: still bob's own namespace.
	e.must(e.admin.Grant(e.ctx, "bob", acl.Read, "tom/m"))
	if _, err := bob.Status(e.ctx, "m"); !errors.Is(err, herd.ErrNotFound) {
		t.Errorf(`bob's "m" with grants on admin/m and tom/m: %v, want not found`, err)
	}
	if st, err := bob.Status(e.ctx, "tom/m"); err != nil || st.Access != acl.Read {
		t.Errorf("bob's tom/m = %+v, %v", st.ModelSummary, err)
	}
}
