package etcdstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/internal/etcdtest"
	"github.com/herd-project/herd/store"
	"github.com/herd-project/herd/store/etcdstore"
	"github.com/herd-project/herd/store/storetest"
)

// crashEnv is storetest's variable naming the storage of a crash writer
// process: such a process uses the parent's etcd and starts none.
const crashEnv = "HERD_STORETEST_CRASH_STORAGE"

// endpoint is the client URL of the single-member etcd TestMain starts
// on loopback (internal/etcdtest).
var endpoint string

func TestMain(m *testing.M) {
	if os.Getenv(crashEnv) != "" {
		os.Exit(m.Run())
	}
	os.Exit(runWithEtcd(m))
}

func runWithEtcd(m *testing.M) int {
	c, err := etcdtest.New(etcdtest.Options{Members: 1, MaxLife: 30 * time.Minute})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start etcd:", err)
		return 2
	}
	defer c.Close()
	endpoint = c.Endpoint(0)
	return m.Run()
}

var prefixes atomic.Int64

// newPrefix is a prefix no other test uses, in this process or another.
func newPrefix() string {
	return fmt.Sprintf("herd-test-%d-%d-%d", os.Getpid(), time.Now().UnixNano(), prefixes.Add(1))
}

// open opens a backend; its name is "ENDPOINT PREFIX".
func open(t testing.TB, name string) *etcdstore.Backend {
	t.Helper()
	ep, prefix, ok := strings.Cut(name, " ")
	if !ok {
		t.Fatalf("storage name %q", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := etcdstore.Open(ctx, etcdstore.Options{Endpoints: []string{ep}, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func harness() storetest.Harness {
	return storetest.Harness{
		NewStorage: func(t *testing.T) string { return endpoint + " " + newPrefix() },
		Open:       func(t *testing.T, name string) store.Backend { return open(t, name) },
		Processes:  true, // the storage is etcd: a writer process reaches it by its endpoint
	}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, harness())
}

func mustLoad(t *testing.T, b *etcdstore.Backend) map[string]string {
	t.Helper()
	got := map[string]string{}
	if err := b.Load(context.Background(), func(r store.Record) error {
		got[r.Table+"/"+r.Key] = string(r.Value)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func put(table, key, value string) store.Record {
	return store.Record{Table: table, Key: key, Value: []byte(value)}
}

// Two backends that loaded the same revision both apply: exactly one
// commits, the other gets ErrConflict and nothing of it is applied; once
// it has loaded again it commits.
func TestConflict(t *testing.T) {
	name := endpoint + " " + newPrefix()
	seed := open(t, name)
	defer seed.Close()
	if err := seed.Apply(context.Background(), []store.Record{put("users", "tom", "1")}); err != nil {
		t.Fatal(err)
	}
	for round := range 20 {
		a, b := open(t, name), open(t, name)
		mustLoad(t, a)
		mustLoad(t, b)
		if a.Revision() != b.Revision() {
			t.Fatalf("loaded at %d and %d", a.Revision(), b.Revision())
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, be := range []*etcdstore.Backend{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = be.Apply(context.Background(), []store.Record{put("users", "tom", fmt.Sprintf("%d-%d", round, i)), put("grants", fmt.Sprint(i), "x")})
			}()
		}
		wg.Wait()
		ok, conflicts := 0, 0
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
				winner = i
			case errors.Is(err, store.ErrConflict):
				conflicts++
				if !errors.Is(err, herd.ErrFailedPrecondition) {
					t.Errorf("conflict %v is not ErrFailedPrecondition", err)
				}
			default:
				t.Fatalf("Apply: %v", err)
			}
		}
		if ok != 1 || conflicts != 1 {
			t.Fatalf("round %d: %d committed, %d conflicts: %v", round, ok, conflicts, errs)
		}
		got := mustLoad(t, seed)
		if got["users/tom"] != fmt.Sprintf("%d-%d", round, winner) || got[fmt.Sprintf("grants/%d", 1-winner)] != "" && round == 0 {
			t.Fatalf("round %d: store holds %v; winner %d", round, got, winner)
		}
		// The loser re-runs on fresher state and commits.
		loser := []*etcdstore.Backend{a, b}[1-winner]
		if err := loser.Apply(context.Background(), []store.Record{put("users", "tom", "again")}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("stale loser's second Apply: %v, want ErrConflict", err)
		}
		mustLoad(t, loser)
		if err := loser.Apply(context.Background(), []store.Record{put("users", "tom", "again")}); err != nil {
			t.Fatalf("Apply after loading again: %v", err)
		}
		a.Close()
		b.Close()
		mustLoad(t, seed)
	}
}

// Follow hands each of the other backend's commits to fn, in order, with
// deletes, and none of its own; a followed backend then commits on the
// state it followed.
func TestFollow(t *testing.T) {
	name := endpoint + " " + newPrefix()
	a, b := open(t, name), open(t, name)
	defer a.Close()
	defer b.Close()
	mustLoad(t, a)
	mustLoad(t, b)

	got := make(chan []store.Record, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- a.Follow(ctx, func(cs []store.Record) error {
			got <- cs
			return nil
		})
	}()
	const n = 30
	var want [][]store.Record
	for i := range n {
		cs := []store.Record{put("t", fmt.Sprintf("k%03d", i), fmt.Sprint(i)), put("u", "x/y", fmt.Sprint(i))}
		if i%3 == 2 {
			cs = append(cs, store.Record{Table: "t", Key: fmt.Sprintf("k%03d", i-1)})
		}
		if err := b.Apply(ctx, cs); err != nil {
			t.Fatal(err)
		}
		want = append(want, cs)
		if i%5 == 0 { // a's own commits, interleaved, are not handed back
			for {
				err := a.Apply(ctx, []store.Record{put("own", fmt.Sprint(i), "a")})
				if err == nil {
					break
				}
				if !errors.Is(err, store.ErrConflict) {
					t.Fatal(err)
				}
				time.Sleep(time.Millisecond) // until a has followed b's commit
			}
			mustLoad(t, b) // b does not follow: it loads a's commit to write again
		}
	}
	for i, w := range want {
		select {
		case cs := <-got:
			if fmt.Sprint(cs) != fmt.Sprint(w) {
				t.Fatalf("commit %d: followed %v, want %v", i, cs, w)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("commit %d not followed", i)
		}
	}
	select {
	case cs := <-got:
		t.Fatalf("followed an extra change set %v", cs)
	case <-time.After(100 * time.Millisecond):
	}
	// a has seen everything: it commits without conflict.
	if err := a.Apply(context.Background(), []store.Record{put("own", "last", "a")}); err != nil {
		t.Fatalf("Apply after following: %v", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Follow after cancel: %v", err)
	}
}

// Follow returns ErrCompacted when the history it needs is gone, and
// herd.ErrClosed when the backend is closed.
func TestFollowCompactedAndClosed(t *testing.T) {
	name := endpoint + " " + newPrefix()
	a, b := open(t, name), open(t, name)
	defer b.Close()
	mustLoad(t, a)
	for i := range 3 {
		if err := b.Apply(context.Background(), []store.Record{put("t", fmt.Sprint(i), "v")}); err != nil {
			t.Fatal(err)
		}
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	resp, err := cli.Get(context.Background(), "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(context.Background(), resp.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = a.Follow(ctx, func([]store.Record) error { return nil })
	if !errors.Is(err, etcdstore.ErrCompacted) {
		t.Fatalf("Follow after compaction: %v, want ErrCompacted", err)
	}
	mustLoad(t, a) // loading again, the backend follows from there
	done := make(chan error, 1)
	go func() { done <- a.Follow(ctx, func([]store.Record) error { return nil }) }()
	time.Sleep(50 * time.Millisecond)
	a.Close()
	select {
	case err := <-done:
		if !errors.Is(err, herd.ErrClosed) {
			t.Fatalf("Follow after Close: %v, want ErrClosed", err)
		}
	case <-ctx.Done():
		t.Fatal("Follow did not return after Close")
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := etcdstore.Open(ctx, etcdstore.Options{Endpoints: []string{endpoint}}); !errors.Is(err, herd.ErrInvalid) {
		t.Errorf("empty prefix: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0") // a port nobody answers on once closed
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	start := time.Now()
	_, err = etcdstore.Open(ctx, etcdstore.Options{Endpoints: []string{"http://" + l.Addr().String()}, Prefix: "p", DialTimeout: 300 * time.Millisecond})
	if !errors.Is(err, herd.ErrFailedPrecondition) {
		t.Errorf("no etcd: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Open with no etcd took %v", d)
	}
	b := open(t, endpoint+" "+newPrefix())
	defer b.Close()
	if err := b.Apply(ctx, []store.Record{put("a/b", "k", "v")}); !errors.Is(err, herd.ErrInvalid) {
		t.Errorf("table with a slash: %v", err)
	}
	if err := b.Follow(ctx, func([]store.Record) error { return nil }); !errors.Is(err, herd.ErrFailedPrecondition) {
		t.Errorf("Follow before Load: %v", err)
	}
}

// A durable write of one small record through the backend…
func BenchmarkApply(b *testing.B) {
	be := open(b, endpoint+" "+newPrefix())
	defer be.Close()
	rec := []store.Record{put("model_grants", "model-0001\x00tom\x00", strings.Repeat("g", 64))}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if err := be.Apply(ctx, rec); err != nil {
			b.Fatal(err)
		}
	}
}

// …and a raw etcd transaction of the same size on the same member: one
// put of the same key and value, guarded by one compare.
func BenchmarkRawTxn(b *testing.B) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, Logger: zap.NewNop()})
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	prefix := newPrefix()
	key, val := prefix+"/model_grants/model-0001\x00tom\x00", strings.Repeat("g", 64)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		resp, err := cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), ">", -1)).Then(clientv3.OpPut(key, val)).Commit()
		if err != nil || !resp.Succeeded {
			b.Fatal(err, resp.Succeeded)
		}
	}
}

// Controllers, each with a working set fed by Follow, increment one
// counter concurrently as a controller writes: decide on the working set,
// Apply, and on success put the change in the working set, all under the
// working set's lock, which Follow's callback takes too; a conflict
// re-runs the write. No increment is lost, each value is written once,
// and every working set ends equal to what etcd holds.
func TestConcurrentWritersConverge(t *testing.T) {
	const writers, increments = 3, 40
	name := endpoint + " " + newPrefix()
	type controller struct {
		b    *etcdstore.Backend
		mu   sync.Mutex
		view map[string]string
	}
	apply := func(view map[string]string, cs []store.Record) {
		for _, r := range cs {
			if r.Value == nil {
				delete(view, r.Table+"/"+r.Key)
			} else {
				view[r.Table+"/"+r.Key] = string(r.Value)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var cs []*controller
	var follows sync.WaitGroup
	for range writers {
		c := &controller{b: open(t, name)}
		defer c.b.Close()
		c.view = mustLoad(t, c.b)
		cs = append(cs, c)
		follows.Add(1)
		go func() {
			defer follows.Done()
			err := c.b.Follow(ctx, func(changes []store.Record) error {
				c.mu.Lock()
				defer c.mu.Unlock()
				apply(c.view, changes)
				return nil
			})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Follow: %v", err)
			}
		}()
	}
	var conflicts atomic.Int64
	var wg sync.WaitGroup
	for w, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < increments; {
				c.mu.Lock()
				var n int
				fmt.Sscan(c.view["counter/c"], &n)
				change := []store.Record{put("counter", "c", fmt.Sprint(n+1)), put("writes", fmt.Sprint(n+1), fmt.Sprint(w))}
				err := c.b.Apply(ctx, change)
				if err == nil {
					apply(c.view, change)
				}
				c.mu.Unlock()
				switch {
				case err == nil:
					i++
				case errors.Is(err, store.ErrConflict):
					conflicts.Add(1)
					time.Sleep(100 * time.Microsecond)
				default:
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	reader := open(t, name)
	defer reader.Close()
	want := mustLoad(t, reader)
	if want["counter/c"] != fmt.Sprint(writers*increments) {
		t.Fatalf("counter = %s after %d increments: lost updates", want["counter/c"], writers*increments)
	}
	if len(want) != writers*increments+1 {
		t.Fatalf("%d keys, want %d", len(want), writers*increments+1)
	}
	deadline := time.Now().Add(10 * time.Second)
	for i, c := range cs {
		for {
			c.mu.Lock()
			got := fmt.Sprint(c.view)
			c.mu.Unlock()
			if got == fmt.Sprint(want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("controller %d's working set differs from etcd:\n%s\nwant\n%s", i, got, fmt.Sprint(want))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	cancel()
	follows.Wait()
	t.Logf("%d increments by %d writers, %d conflicts re-run", writers*increments, writers, conflicts.Load())
}

// Load reads in pages, at one revision: a write between two pages is
// not seen, and every record is given once, table by table.
func TestLoadPages(t *testing.T) {
	defer etcdstore.SetPageSize(7)()
	name := endpoint + " " + newPrefix()
	b := open(t, name)
	defer b.Close()
	want := map[string]string{}
	var cs []store.Record
	for i := range 50 {
		for _, table := range []string{"t", "t-x", "t_x", "u"} {
			r := put(table, fmt.Sprintf("k/%02d\x00", i), fmt.Sprint(i))
			cs = append(cs, r)
			want[r.Table+"/"+r.Key] = string(r.Value)
		}
	}
	if err := b.Apply(context.Background(), cs); err != nil {
		t.Fatal(err)
	}
	other := open(t, name)
	defer other.Close()
	mustLoad(t, other)
	got := map[string]string{}
	var tables []string
	err := b.Load(context.Background(), func(r store.Record) error {
		if len(got) == 10 { // between pages, another backend writes
			if err := other.Apply(context.Background(), []store.Record{put("t", "late", "x"), {Table: "u", Key: "k/49\x00"}}); err != nil {
				return err
			}
		}
		if _, dup := got[r.Table+"/"+r.Key]; dup {
			return fmt.Errorf("%s %q given twice", r.Table, r.Key)
		}
		got[r.Table+"/"+r.Key] = string(r.Value)
		if len(tables) == 0 || tables[len(tables)-1] != r.Table {
			tables = append(tables, r.Table)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("loaded %d records, want %d (the write between pages must not show)", len(got), len(want))
	}
	if len(tables) != 4 {
		t.Errorf("tables in the order %v: not one run each", tables)
	}
	// b loaded before other's write: its next Apply conflicts.
	if err := b.Apply(context.Background(), []store.Record{put("t", "x", "y")}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("Apply after a Load older than another's commit: %v, want ErrConflict", err)
	}
}

// A lost Apply names the revision that beat it; WaitRevision returns once
// Follow has handed that commit on, and the write then commits.
func TestConflictRevisionAndWait(t *testing.T) {
	name := endpoint + " " + newPrefix()
	a, b := open(t, name), open(t, name)
	defer a.Close()
	defer b.Close()
	mustLoad(t, a)
	mustLoad(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Apply(ctx, []store.Record{put("t", "k", "b")}); err != nil {
		t.Fatal(err)
	}
	err := a.Apply(ctx, []store.Record{put("t", "k", "a")})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Apply on stale state: %v, want ErrConflict", err)
	}
	if got, want := store.ConflictRevision(err), b.Revision(); got != want {
		t.Fatalf("conflict names revision %d, want b's commit %d", got, want)
	}
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	if err := a.WaitRevision(short, store.ConflictRevision(err)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitRevision without Follow: %v, want the deadline", err)
	}
	cancelShort()
	if latest, err := a.Latest(ctx); err != nil || latest != b.Revision() {
		t.Fatalf("Latest = %d, %v; want b's commit %d", latest, err, b.Revision())
	}
	fctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Follow(fctx, func([]store.Record) error { return nil }) }()
	if err := a.WaitRevision(ctx, store.ConflictRevision(err)); err != nil {
		t.Fatalf("WaitRevision while following: %v", err)
	}
	if err := a.Apply(ctx, []store.Record{put("t", "k", "a")}); err != nil {
		t.Fatalf("Apply after waiting: %v", err)
	}
	stop()
	<-done
	a.Close()
	if err := a.WaitRevision(ctx, a.Revision()+100); !errors.Is(err, herd.ErrClosed) {
		t.Fatalf("WaitRevision after Close: %v, want ErrClosed", err)
	}
}

// An Apply that etcd does not answer (a network partition) fails after
// the request timeout with herd.ErrFailedPrecondition; once the partition
// heals, a commit it may have made reaches Follow like another's, and the
// backend applies again.
func TestApplyTimesOutInAPartition(t *testing.T) {
	cl := etcdtest.Start(t, etcdtest.Options{Members: 1})
	gate := cl.Gate(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := etcdstore.Open(ctx, etcdstore.Options{Endpoints: gate.Endpoints(), Prefix: newPrefix(), RequestTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	mustLoad(t, b)
	gate.Partition()
	start := time.Now()
	err = b.Apply(context.Background(), []store.Record{put("t", "k", "v")})
	if !errors.Is(err, herd.ErrFailedPrecondition) || errors.Is(err, store.ErrConflict) {
		t.Fatalf("Apply in a partition: %v, want ErrFailedPrecondition", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Apply in a partition returned after %v", d)
	}
	gate.Heal()
	var got []store.Record
	fctx, stop := context.WithCancel(ctx)
	defer stop()
	go b.Follow(fctx, func(cs []store.Record) error { got = append(got, cs...); return nil })
	for {
		latest, err := b.Latest(ctx)
		if err == nil {
			if err := b.WaitRevision(ctx, latest); err != nil {
				t.Fatal(err)
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("etcd unreachable after the partition healed: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := b.Apply(ctx, []store.Record{put("t", "k2", "v")}); err != nil {
		t.Fatalf("Apply after the partition: %v", err)
	}
	t.Logf("the commit in the partition %s", map[bool]string{true: "was applied and followed", false: "was not applied"}[len(got) > 0])
}
