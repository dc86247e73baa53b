package controller_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/controller/controllertest"
	"github.com/herd-project/herd/internal/etcdtest"
	"github.com/herd-project/herd/users"
)

// Every controller on a shared backend lists every controller's
// addresses, its own first, in Servers, Addrs and registration tokens; a
// node opened again under its id replaces its addresses; a controller
// alone lists its own and records no node.
func TestNodesListEveryController(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w := &etcdWorld{log: &raceLog{}, prefix: etcdPrefix()}
	eps := etcdtest.Shared(t).Endpoints()
	withAddrs := func(id string, addrs ...string) controller.Options {
		o := w.options(t, ctx, eps)
		o.Addrs, o.NodeID = addrs, id
		return o
	}
	boot, err := controller.Bootstrap(ctx, "c", withAddrs("", "10.0.0.1:17070"))
	if err != nil {
		t.Fatal(err)
	}
	a := boot.Controller
	defer a.Close()
	b, err := controller.Open(ctx, "", withAddrs("b", "10.0.0.2:17070", "[fd00::2]:17070"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, err := controller.Open(ctx, "", withAddrs("c", "10.0.0.3:17070"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[*controller.Controller][][]string{
		a: {{"10.0.0.1:17070"}, {"10.0.0.2:17070", "[fd00::2]:17070"}, {"10.0.0.3:17070"}},
		b: {{"10.0.0.2:17070", "[fd00::2]:17070"}, {"10.0.0.1:17070"}, {"10.0.0.3:17070"}},
		c: {{"10.0.0.3:17070"}, {"10.0.0.1:17070"}, {"10.0.0.2:17070", "[fd00::2]:17070"}},
	}
	for ctl, servers := range want {
		must(t, ctl.Sync(ctx))
		if got := ctl.Servers(); !reflect.DeepEqual(got, servers) {
			t.Errorf("Servers() = %q, want %q", got, servers)
		}
	}
	added, err := boot.Admin.AddUser(ctx, "tom", "")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := users.DecodeToken(added.Token)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"10.0.0.1:17070", "10.0.0.2:17070", "[fd00::2]:17070", "10.0.0.3:17070"}; !reflect.DeepEqual(tok.Addrs, want) {
		t.Errorf("token addresses %q, want %q", tok.Addrs, want)
	}

	// c stops and comes back on another port under its node id: its old
	// address is gone from every list.
	must(t, c.Close())
	c, err = controller.Open(ctx, "", withAddrs("c", "10.0.0.3:17071"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	must(t, a.Sync(ctx))
	if got, want := a.Addrs(), []string{"10.0.0.1:17070", "10.0.0.2:17070", "[fd00::2]:17070", "10.0.0.3:17071"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after c's restart, Addrs() = %q, want %q", got, want)
	}
	// A process without addresses (a tool) serves no API: it lists the
	// nodes' and records none.
	tool, err := controller.Open(ctx, "", w.options(t, ctx, eps))
	if err != nil {
		t.Fatal(err)
	}
	defer tool.Close()
	if got := len(tool.Servers()); got != 3 {
		t.Errorf("a controller without addresses lists %d servers, want the 3 nodes: %q", got, tool.Servers())
	}
	if got := len(a.Dump()["controller_nodes"]); got != 3 {
		t.Errorf("%d node rows, want 3", got)
	}

	// Alone, nothing of this: its own addresses, no node row.
	f := controllertest.New(t, &controllertest.Options{Addrs: []string{"127.0.0.1:1"}})
	if got := f.Controller.Servers(); !reflect.DeepEqual(got, [][]string{{"127.0.0.1:1"}}) {
		t.Errorf("alone: Servers() = %q", got)
	}
	if _, ok := f.Controller.Dump()["controller_nodes"]; ok {
		t.Error("a controller alone recorded a node")
	}
}

// DestroyController on one controller of a shared state closes every
// other: each follows the commit that records the controller destroyed,
// and a controller opened on it afterwards is refused.
func TestDestroyClosesEveryController(t *testing.T) {
	w := etcdControllers(t, etcdtest.Shared(t), 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w.user(t, ctx, "tom")
	tom := loginOn(t, ctx, w.ctls[2], "tom")
	if err := w.boot.Admin.DestroyController(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for _, c := range w.ctls[1:] {
		eventually(t, 5*time.Second, "another controller is still open", func() bool {
			return errors.Is(c.Sync(ctx), herd.ErrClosed)
		})
	}
	t.Logf("the other controllers closed within %v", time.Since(start).Round(time.Millisecond))
	if _, err := tom.WhoAmI(ctx); !errors.Is(err, herd.ErrClosed) {
		t.Errorf("a session on another controller: %v, want closed", err)
	}
	opts := w.options(t, ctx, etcdtest.Shared(t).Endpoints())
	defer opts.Backend.Close() // a failed Open leaves it to the caller
	if _, err := controller.Open(ctx, "", opts); !errors.Is(err, herd.ErrFailedPrecondition) {
		t.Errorf("open a destroyed controller: %v", err)
	}
}
