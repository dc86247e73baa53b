package etcdstore_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/controller/controllertest"
	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/store"
	"github.com/herd-project/herd/store/etcdstore"
	"github.com/herd-project/herd/store/storetest"
)

// BenchmarkJoin measures a controller joining an existing cluster: Open
// on an etcd prefix holding 10,000 users, 1,000 models and 100,000 grants
// (HERD_JOIN_SCALE=N divides them by N), until it serves; against its
// floor in the same run, the same rows loaded into go-memdb (from memory)
// plus one etcd range read of them. It reports join-ms, floor-ms and
// join/floor; the set-up (written through the controller in batches that
// fit etcd's 128 operations a transaction) is not timed.
//
//	go test ./store/etcdstore -run XXX -bench Join -benchtime 3x -count 5
func BenchmarkJoin(b *testing.B) {
	scale := 1
	if s, err := strconv.Atoi(os.Getenv("HERD_JOIN_SCALE")); err == nil && s > 0 {
		scale = s
	}
	nUsers, nModels, nGrants := 10000/scale, 1000/scale, 100000/scale
	ctx := context.Background()
	prefix := newPrefix()
	be := open(b, endpoint+" "+prefix)
	bs, err := controller.Bootstrap(ctx, "join", controller.Options{Backend: be, Hasher: controllertest.TestHasher{}})
	if err != nil {
		b.Fatal(err)
	}
	admin := bs.Admin
	in := func(n, per int, fn func(bt *controller.Batch, i int) error) {
		for from := 0; from < n; from += per {
			err := admin.Batch(ctx, func(bt *controller.Batch) error {
				for i := from; i < min(from+per, n); i++ {
					if err := fn(bt, i); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	start := time.Now()
	in(nUsers, 60, func(bt *controller.Batch, i int) error { // a user and its registration key: 2 rows
		_, err := bt.AddUser(fmt.Sprintf("user%d", i), "")
		return err
	})
	in(nModels, 40, func(bt *controller.Batch, i int) error {
		_, err := bt.CreateModel(fmt.Sprintf("model%d", i), controller.CreateModelOptions{})
		return err
	})
	perUser := nGrants / nUsers
	in(nGrants, 120, func(bt *controller.Batch, i int) error {
		u, k := i/perUser, i%perUser
		return bt.Grant(fmt.Sprintf("user%d", u), acl.Read, fmt.Sprintf("model%d", (u*perUser+k)%nModels))
	})
	bs.Controller.Close()
	b.Logf("set-up: %d users, %d models, %d grants in %v", nUsers, nModels, nGrants, time.Since(start).Round(time.Millisecond))

	// The floor's rows: everything under the prefix, as a memory backend.
	mem := storetest.NewMemory()
	var recs []store.Record
	src := open(b, endpoint+" "+prefix)
	if err := src.Load(ctx, func(r store.Record) error {
		recs = append(recs, store.Record{Table: r.Table, Key: r.Key, Value: append([]byte(nil), r.Value...)})
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	src.Close()
	if err := mem.Apply(ctx, recs); err != nil {
		b.Fatal(err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, Logger: zap.NewNop()})
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()

	var joinT, floorT time.Duration
	for b.Loop() {
		t0 := time.Now()
		jb, err := etcdstore.Open(ctx, etcdstore.Options{Endpoints: []string{endpoint}, Prefix: prefix})
		if err != nil {
			b.Fatal(err)
		}
		c, err := controller.Open(ctx, "", controller.Options{Backend: jb, Hasher: controllertest.TestHasher{}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Login(ctx, "user1", "x"); err == nil {
			b.Fatal("login without a password worked")
		}
		joinT += time.Since(t0)
		b.StopTimer()
		c.Close()
		b.StartTimer()

		t0 = time.Now()
		resp, err := cli.Get(ctx, prefix+"/", clientv3.WithPrefix())
		if err != nil {
			b.Fatal(err)
		}
		st, err := state.New(ctx, mem.Reopen())
		if err != nil {
			b.Fatal(err)
		}
		floorT += time.Since(t0)
		if len(resp.Kvs) < len(recs) {
			b.Fatalf("range read %d keys, want %d", len(resp.Kvs), len(recs))
		}
		st.Close()
	}
	n := float64(b.N)
	b.ReportMetric(float64(joinT.Milliseconds())/n, "join-ms")
	b.ReportMetric(float64(floorT.Milliseconds())/n, "floor-ms")
	b.ReportMetric(float64(joinT)/float64(floorT), "join/floor")
}
