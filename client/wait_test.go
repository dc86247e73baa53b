package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/provider/fakeprovider"
)

// Waiting over the network follows the provisioner as in process: a
// start that fails and is retried is waited through; one given up on
// fails WaitStarted with the provider's message until RetryProvisioning;
// a deadline ends a wait; WaitRemoved returns once the model is gone.
func TestWaitLive(t *testing.T) {
	prov := fakeprovider.New()
	l, stop, err := newLiveWith(1, controller.Options{Provider: prov,
		Provisioning: controller.Provisioning{Retries: 1, RetryDelay: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	ctx := ctxFor(t)
	s := l.login(t, "admin", l.secret)
	if _, err := s.CreateModel(ctx, "m1", controller.CreateModelOptions{}); err != nil {
		t.Fatal(err)
	}

	// One failure, then the retry starts it: the client sees the error
	// (attempts 1, being retried) and waits on.
	prov.FailNext(fakeprovider.Start, 1, errors.New("boom"))
	if _, err := s.Deploy(ctx, "m1", "mysql", controller.DeployOptions{}); err != nil {
		t.Fatal(err)
	}
	st, err := s.WaitFor(ctx, "m1", func(st controller.ModelStatus) bool {
		return len(st.Machines) == 1 && st.Machines[0].Status != models.Pending && st.Machines[0].Status != models.Allocating
	})
	if err != nil || st.Machines[0].Status != models.Error || st.Machines[0].Attempts != 1 || st.Machines[0].Message != "fake provider: start: boom" {
		t.Errorf("after a failed start %+v %v", st.Machines, err)
	}
	if st, err := s.WaitStarted(ctx, "m1"); err != nil || st.Machines[0].Status != models.Started || st.Machines[0].InstanceID == "" {
		t.Fatalf("wait started through a retry %+v %v", st.Machines, err)
	}

	// Every start fails: after its retry the machine is given up on.
	prov.Fail(fakeprovider.Start, errors.New("no capacity"))
	if _, err := s.AddUnit(ctx, "m1", "mysql", controller.AddUnitOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = s.WaitStarted(ctx, "m1", "mysql")
	if !errors.Is(err, herd.ErrFailedPrecondition) || err.Error() != "machine 1 failed to start: fake provider: start: no capacity" {
		t.Fatalf("wait started on a failed machine: %v", err)
	}
	prov.Fail(fakeprovider.Start, nil)
	if err := s.RetryProvisioning(ctx, "m1", "1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitStarted(ctx, "m1"); err != nil {
		t.Fatalf("wait started after retry-provisioning: %v", err)
	}

	// A deadline ends a wait.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := s.WaitFor(short, "m1", func(controller.ModelStatus) bool { return false }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("wait past its deadline: %v", err)
	}

	if err := s.DestroyModel(ctx, "m1"); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitRemoved(ctx, "m1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Status(ctx, "m1"); !errors.Is(err, herd.ErrNotFound) {
		t.Errorf("status of a removed model: %v", err)
	}
}

// A wait outlives its connection: the API server it uses goes away
// while a machine is starting; the wait goes on through the other one
// (the session resumed there) and sees the machine start.
func TestWaitFailsOver(t *testing.T) {
	prov := fakeprovider.New()
	release := make(chan struct{})
	prov.Delay(func(ctx context.Context, op fakeprovider.Method, answer bool) {
		if op == fakeprovider.Start && !answer {
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
	})
	l, stop, err := newLiveWith(2, controller.Options{Provider: prov})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	ctx := ctxFor(t)
	s := l.login(t, "admin", l.secret)
	if _, err := s.Deploy(ctx, "default", "mysql", controller.DeployOptions{}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.WaitStarted(ctx, "default")
		done <- err
	}()
	time.Sleep(100 * time.Millisecond) // most likely waiting by now; either way it must finish
	l.stop[0]()
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("wait across a lost connection: %v", err)
	}
	if st, err := s.Status(ctx, "default"); err != nil || len(st.Machines) != 1 || st.Machines[0].Status != models.Started {
		t.Errorf("status after failover %+v %v", st, err)
	}
}
