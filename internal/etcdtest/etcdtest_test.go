package etcdtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/herd-project/herd/internal/etcdtest"
)

// A three-member cluster starts, keeps serving writes with one member
// stopped, takes the member back, and stops.
func TestCluster(t *testing.T) {
	start := time.Now()
	c := etcdtest.Start(t, etcdtest.Options{})
	t.Logf("3 members ready in %v", time.Since(start))
	cli, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, "k", "1"); err != nil {
		t.Fatal(err)
	}
	step := time.Now()
	c.Stop(0)
	t.Logf("stop: %v", time.Since(step))
	step = time.Now()
	for {
		// A write in flight when the leader stopped may time out;
		// the next one goes to the new leader.
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := cli.Put(pctx, "k", "2")
		cancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("put with one member of three stopped: %v", err)
		}
	}
	t.Logf("put: %v", time.Since(step))
	step = time.Now()
	if err := c.Restart(0); err != nil {
		t.Fatal(err)
	}
	t.Logf("restart: %v", time.Since(step))
	step = time.Now()
	if err := c.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("compact: %v", time.Since(step))
	step = time.Now()
	c.Close()
	c.Close()
	t.Logf("close: %v", time.Since(step))
}

// Tests at about the same time share one cluster.
func TestShared(t *testing.T) {
	var a, b *etcdtest.Cluster
	t.Run("a", func(t *testing.T) { a = etcdtest.Shared(t) })
	t.Run("b", func(t *testing.T) { b = etcdtest.Shared(t) })
	if a != b {
		t.Fatal("two tests one after the other got two clusters")
	}
}
