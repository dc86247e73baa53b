package controller_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/controller/controllertest"
	"github.com/herd-project/herd/internal/etcdtest"
	"github.com/herd-project/herd/store/etcdstore"
)

// Several controllers on one etcd prefix (follow.go).

var etcdPrefixes atomic.Int64

// etcdPrefix is a key prefix no other test uses.
func etcdPrefix() string {
	return fmt.Sprintf("herd-ctl-%d-%d-%d", os.Getpid(), time.Now().UnixNano(), etcdPrefixes.Add(1))
}

// raceLog counts the writes that lost a race and were run again, and
// keeps warnings for the test's log.
type raceLog struct {
	lost  atomic.Int64
	mu    sync.Mutex
	warns []string
}

func (l *raceLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *raceLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *raceLog) WithGroup(string) slog.Handler            { return l }
func (l *raceLog) Handle(_ context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, "write lost a race") {
		l.lost.Add(1)
	}
	if r.Level >= slog.LevelWarn {
		l.mu.Lock()
		l.warns = append(l.warns, r.Message)
		l.mu.Unlock()
	}
	return nil
}

// etcdControllers bootstraps a controller on a new prefix of cluster and
// opens n-1 more on it, each with its own etcd client: controller i talks
// to member i (mod the cluster's size) first.
type etcdWorld struct {
	boot  *controller.Bootstrapped
	ctls  []*controller.Controller
	log   *raceLog
	clean func()
}

func etcdControllers(t *testing.T, cl *etcdtest.Cluster, n int) *etcdWorld {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	prefix := etcdPrefix()
	eps := cl.Endpoints()
	w := &etcdWorld{log: &raceLog{}}
	opts := func(i int) controller.Options {
		// Member i first; the others to fail over to.
		mine := append([]string{eps[i%len(eps)]}, slices.Delete(slices.Clone(eps), i%len(eps), i%len(eps)+1)...)
		b, err := etcdstore.Open(ctx, etcdstore.Options{Endpoints: mine, Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		return controller.Options{Backend: b, Hasher: controllertest.TestHasher{}, Logger: slog.New(w.log)}
	}
	boot, err := controller.Bootstrap(ctx, "c", opts(0))
	if err != nil {
		t.Fatal(err)
	}
	w.boot = boot
	w.ctls = []*controller.Controller{boot.Controller}
	for i := 1; i < n; i++ {
		c, err := controller.Open(ctx, "", opts(i))
		if err != nil {
			t.Fatal(err)
		}
		w.ctls = append(w.ctls, c)
	}
	t.Cleanup(func() {
		for _, c := range w.ctls {
			if err := c.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		}
	})
	return w
}

// eventually polls cond every 200µs until it holds, for at most d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// converged waits until every controller holds the same state.
func (w *etcdWorld) converged(t *testing.T) {
	t.Helper()
	eventually(t, 10*time.Second, "the controllers' states differ", func() bool {
		want := w.ctls[0].Dump()
		for _, c := range w.ctls[1:] {
			if !reflect.DeepEqual(c.Dump(), want) {
				return false
			}
		}
		return true
	})
}

// login makes user with password pw (by admin on the first controller)
// and logs them in on controller i.
func (w *etcdWorld) user(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if _, err := w.boot.Admin.AddUser(ctx, name, ""); err != nil {
		t.Fatal(err)
	}
	must(t, w.boot.Admin.ChangePassword(ctx, name, name+"-pw"))
}

// A controller reads its own writes as soon as the call returns; the
// others follow them, both ways, and end holding the same state. A
// controller opened later loads what is there, and a watcher on another
// controller sees a change made on the first.
func TestEtcdFollowsOtherControllers(t *testing.T) {
	ctx := context.Background()
	w := etcdControllers(t, etcdtest.Shared(t), 2)
	a, b := w.ctls[0], w.ctls[1]
	w.user(t, ctx, "tom")
	if _, err := w.boot.Admin.ShowUser(ctx, "tom"); err != nil {
		t.Fatalf("the writer does not read its own write: %v", err)
	}
	adminB, err := b.Login(ctx, "admin", w.boot.Secret)
	if err != nil {
		t.Fatalf("login on the second controller: %v", err)
	}
	// Written on b, read on a.
	if _, err := adminB.CreateModel(ctx, "m", controller.CreateModelOptions{}); err != nil {
		t.Fatal(err)
	}
	must(t, adminB.Grant(ctx, "tom", acl.Write, "m"))
	// A password changed on a works on b at once (a failed login
	// catches up).
	must(t, w.boot.Admin.ChangePassword(ctx, "tom", "tom-pw2"))
	if _, err := b.Login(ctx, "tom", "tom-pw2"); err != nil {
		t.Fatalf("login on b right after a changed the password: %v", err)
	}
	tomA, err := a.Login(ctx, "tom", "tom-pw2")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "a does not see b's grant", func() bool { return tomA.Authorize("admin/m", acl.Write) == nil })
	// A session made on a is resumed on b at once (b catches up on a
	// miss), and a's revoke reaches b's fast path.
	tomB, err := b.Resume(ctx, tomA.Token())
	if err != nil {
		t.Fatalf("resume a's session on b: %v", err)
	}
	must(t, w.boot.Admin.Revoke(ctx, "tom", acl.Read, "m"))
	eventually(t, 5*time.Second, "a's revoke does not reach b", func() bool {
		return errors.Is(tomB.Authorize("admin/m", acl.Read), herd.ErrPermissionDenied)
	})
	w.converged(t)
	if got := w.log.lost.Load(); got != 0 {
		t.Logf("%d writes lost a race and ran again", got)
	}
}
