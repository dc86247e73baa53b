package controller_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/controller/controllertest"
	"github.com/herd-project/herd/provider/fakeprovider"
)

// Bootstraps racing on one path: exactly one wins, and its file stays and
// reopens. Before the file was created exclusively, a loser waited for
// the lock, failed, and removed the winner's file.
func TestConcurrentBootstrapsOnePath(t *testing.T) {
	ctx := context.Background()
	const racers = 6
	for trial := range 5 {
		path := filepath.Join(t.TempDir(), "controller.db")
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners []*controller.Bootstrapped
			names   []string
		)
		start := make(chan struct{})
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				name := fmt.Sprintf("c%d", i)
				b, err := controller.Bootstrap(ctx, name, controller.Options{Path: path, Hasher: controllertest.TestHasher{}, LockTimeout: 200 * time.Millisecond})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					if !errors.Is(err, herd.ErrAlreadyExists) {
						t.Errorf("trial %d: %s: %v, want ErrAlreadyExists", trial, name, err)
					}
					return
				}
				winners, names = append(winners, b), append(names, name)
			}()
		}
		close(start)
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("trial %d: %d bootstraps succeeded (%v), want 1", trial, len(winners), names)
		}
		if err := winners[0].Controller.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("trial %d: the winner's file: %v", trial, err)
		}
		c, err := controller.Open(ctx, path, controller.Options{Hasher: controllertest.TestHasher{}})
		if err != nil {
			t.Fatalf("trial %d: reopen: %v", trial, err)
		}
		if c.Name() != names[0] || c.UUID() != winners[0].Controller.UUID() {
			t.Errorf("trial %d: reopened %s, want the winner %s", trial, c.Name(), names[0])
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// A bootstrap that fails removes the file it made, and only that: a file
// already at the path is left as it was.
func TestFailedBootstrapRemovesOnlyItsFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "controller.db")
	prov := fakeprovider.New()
	prov.Fail(fakeprovider.Bootstrap, errors.New("boom"))
	if _, err := controller.Bootstrap(ctx, "c", controller.Options{Path: path, Provider: prov, Hasher: controllertest.TestHasher{}}); err == nil {
		t.Fatal("bootstrap succeeded on a failing provider")
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the failed bootstrap left its file: %v", err)
	}
	if err := os.WriteFile(path, []byte("someone else's"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := controller.Bootstrap(ctx, "c", controller.Options{Path: path, Hasher: controllertest.TestHasher{}}); !errors.Is(err, herd.ErrAlreadyExists) {
		t.Errorf("bootstrap over an existing file: %v", err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "someone else's" {
		t.Errorf("the existing file: %q, %v", b, err)
	}
}
