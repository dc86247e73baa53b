package controller_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/controller/controllertest"
	"github.com/herd-project/herd/store"
	"github.com/herd-project/herd/store/storetest"
)

// A write whose commit loses a race (store.ErrConflict from the backend)
// is run again, on a backend written outside package store; reopening the
// backend gives back the same state.
func TestWriteRetriedOnConflict(t *testing.T) {
	ctx := context.Background()
	mem := storetest.NewMemory()
	b, err := controller.Bootstrap(ctx, "c1", controller.Options{Backend: mem, Hasher: controllertest.TestHasher{}})
	if err != nil {
		t.Fatal(err)
	}
	admin := b.Admin
	for _, step := range []struct {
		name string
		op   func() error
	}{
		{"add user", func() error { _, err := admin.AddUser(ctx, "tom", ""); return err }},
		{"create model", func() error {
			_, err := admin.CreateModel(ctx, "m", controller.CreateModelOptions{})
			return err
		}},
		{"grant", func() error { return admin.Grant(ctx, "tom", acl.Write, "m") }},
		{"disable", func() error { return admin.DisableUser(ctx, "tom") }},
		{"login", func() error { _, err := b.Controller.Login(ctx, "admin", b.Secret); return err }},
		{"deploy", func() error { _, err := admin.Deploy(ctx, "m", "mysql", controller.DeployOptions{}); return err }},
		{"remove app", func() error { return admin.RemoveApplication(ctx, "m", "mysql") }},
	} {
		name, op := step.name, step.op
		settle(t, b.Controller) // the conflict is the operation's, not the provisioner's
		before := mem.Applied()
		mem.ConflictNext()
		if err := op(); err != nil {
			t.Fatalf("%s after one lost race: %v", name, err)
		}
		if mem.Applied() <= before {
			t.Errorf("%s: nothing reached the backend", name)
		}
	}
	settle(t, b.Controller)
	want := b.Controller.Dump()
	if err := b.Controller.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := controller.Open(ctx, "", controller.Options{Backend: mem.Reopen(), Hasher: controllertest.TestHasher{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.Dump(); !reflect.DeepEqual(got, want) {
		t.Error("reopened state differs from the state written")
	}
}

// A backend that keeps refusing makes the write fail with the conflict,
// after a bounded number of attempts, and changes nothing.
func TestWriteGivesUpOnEndlessConflicts(t *testing.T) {
	ctx := context.Background()
	mem := &alwaysConflict{Memory: storetest.NewMemory()}
	b, err := controller.Bootstrap(ctx, "c1", controller.Options{Backend: mem, Hasher: controllertest.TestHasher{}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Controller.Close()
	before := b.Controller.Dump()
	mem.refuse = true
	_, err = b.Admin.AddUser(ctx, "tom", "")
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("err = %v, want the conflict", err)
	}
	if mem.tries < 2 || mem.tries > 100 {
		t.Errorf("%d attempts; want a few, bounded", mem.tries)
	}
	if !reflect.DeepEqual(before, b.Controller.Dump()) {
		t.Error("the refused write changed the state")
	}
	if errors.Is(err, herd.ErrPermissionDenied) {
		t.Error("a conflict reads as a refusal")
	}
}

type alwaysConflict struct {
	*storetest.Memory
	refuse bool
	tries  int
}

func (a *alwaysConflict) Apply(ctx context.Context, changes []store.Record) error {
	if a.refuse {
		a.tries++
		return store.ErrConflict
	}
	return a.Memory.Apply(ctx, changes)
}

// settle waits up to 10s for c's provisioner to have nothing left to do.
func settle(t *testing.T, c *controller.Controller) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Settle(ctx); err != nil {
		t.Fatal(err)
	}
}
