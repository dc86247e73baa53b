// Package storetest is the conformance suite every store.Backend runs, and
// Memory, a backend kept in memory with fault injection, which passes it.
// A backend's test is a few lines of harness:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, storetest.Harness{
//			NewStorage: func(t *testing.T) string { return filepath.Join(t.TempDir(), "herd.db") },
//			Open: func(t *testing.T, path string) store.Backend { ... },
//			Processes: true,
//		})
//	}
//
// The suite applies change sets, closes, reopens and loads; deletes;
// checks that an Apply that fails leaves the backend as it was; and, for a
// backend that other processes can open, kills a writing process with
// SIGKILL at random moments and checks that every acknowledged change set
// is there, whole, and none in part.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/store"
)

// Harness opens one kind of backend for Run.
type Harness struct {
	// NewStorage makes new, empty storage (a file's path, a name) and
	// returns its name.
	NewStorage func(t *testing.T) string
	// Open opens a backend on the named storage, failing t if it cannot.
	// A backend opened after another on the same storage was closed holds
	// what that one applied.
	Open func(t *testing.T, name string) store.Backend
	// Processes says that another process may open the storage by its
	// name (a file): the suite then crashes a writing process.
	Processes bool
}

// MemoryHarness is the Harness of Memory.
func MemoryHarness() Harness {
	var (
		mu    sync.Mutex
		named = map[string]*Memory{}
	)
	return Harness{
		NewStorage: func(t *testing.T) string {
			mu.Lock()
			defer mu.Unlock()
			name := fmt.Sprintf("memory-%d", len(named))
			named[name] = NewMemory()
			return name
		},
		Open: func(t *testing.T, name string) store.Backend {
			mu.Lock()
			defer mu.Unlock()
			return named[name].Reopen()
		},
	}
}

// Run runs the suite against the backends h opens.
func Run(t *testing.T, h Harness) {
	if os.Getenv(childEnv) != "" {
		crashChild(t, h)
		return
	}
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"Empty", testEmpty},
		{"ApplyCloseReopenLoad", testReopen},
		{"Deletes", testDeletes},
		{"OrderWithinChangeSet", testOrder},
		{"FailedApplyChangesNothing", testFailedApply},
		{"RecordsNotKept", testNotKept},
		{"LoadStopsAtError", testLoadError},
		{"Closed", testClosed},
		{"CancelledContext", testCancelled},
		{"Crash", testCrash},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

// contents is what a backend holds: table → key → value.
type contents map[string]map[string]string

func (c contents) apply(changes []store.Record) {
	for _, r := range changes {
		if r.Value == nil {
			delete(c[r.Table], r.Key)
			if len(c[r.Table]) == 0 {
				delete(c, r.Table)
			}
			continue
		}
		if c[r.Table] == nil {
			c[r.Table] = map[string]string{}
		}
		c[r.Table][r.Key] = string(r.Value)
	}
}

func (c contents) String() string {
	var b strings.Builder
	for _, table := range slices.Sorted(maps.Keys(c)) {
		for _, k := range slices.Sorted(maps.Keys(c[table])) {
			fmt.Fprintf(&b, "%s %q = %q\n", table, k, c[table][k])
		}
	}
	return b.String()
}

// load returns everything b holds, failing t on an error, and checks that
// a table is never empty and that Values are not shared.
func load(t *testing.T, b store.Backend) contents {
	t.Helper()
	got := contents{}
	err := b.Load(context.Background(), func(r store.Record) error {
		if r.Table == "" || r.Key == "" || r.Value == nil {
			return fmt.Errorf("Load gave a record with an empty table, key or nil value: %+v", r)
		}
		if _, dup := got[r.Table][r.Key]; dup {
			return fmt.Errorf("Load gave %s %q twice", r.Table, r.Key)
		}
		if got[r.Table] == nil {
			got[r.Table] = map[string]string{}
		}
		got[r.Table][r.Key] = string(r.Value)
		return nil
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return got
}

func apply(t *testing.T, b store.Backend, changes ...store.Record) {
	t.Helper()
	if err := b.Apply(context.Background(), changes); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

func put(table, key, value string) store.Record {
	return store.Record{Table: table, Key: key, Value: []byte(value)}
}

func del(table, key string) store.Record { return store.Record{Table: table, Key: key} }

// open opens a backend that the test closes at its end.
func open(t *testing.T, h Harness, name string) store.Backend {
	t.Helper()
	b := h.Open(t, name)
	t.Cleanup(func() {
		if err := b.Close(); err != nil { // after reopen's Close too: a second Close is nil
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

func reopen(t *testing.T, h Harness, name string, b store.Backend) store.Backend {
	t.Helper()
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return open(t, h, name)
}

func same(t *testing.T, what string, got, want contents) {
	t.Helper()
	if got.String() != want.String() {
		t.Errorf("%s: backend holds\n%s\nwant\n%s", what, got, want)
	}
}

func testEmpty(t *testing.T, h Harness) {
	name := h.NewStorage(t)
	b := open(t, h, name)
	same(t, "new", load(t, b), contents{})
	apply(t, b) // an empty change set
	b = reopen(t, h, name, b)
	same(t, "reopened", load(t, b), contents{})
}

func testReopen(t *testing.T, h Harness) {
	name := h.NewStorage(t)
	b := open(t, h, name)
	want := contents{}
	sets := [][]store.Record{
		{put("users", "tom\x00", `{"Name":"tom"}`), put("users", "bob\x00", `{"Name":"bob"}`)},
		{put("model_grants", "m1\x00tom\x00", "read"), put("models", "m1\x00", "\x00\x01\xff binary"), put("empty", "k", "")},
		{put("users", "tom\x00", `{"Name":"tom","Disabled":true}`)},
	}
	for i := range 300 { // a change set of many records, over several pages
		sets = append(sets, []store.Record{put("bulk", fmt.Sprintf("key-%05d", i), strings.Repeat("v", i))})
	}
	for _, cs := range sets {
		apply(t, b, cs...)
		want.apply(cs)
	}
	same(t, "before reopen", load(t, b), want)
	b = reopen(t, h, name, b)
	same(t, "after reopen", load(t, b), want)
	cs := []store.Record{put("users", "alice\x00", `{"Name":"alice"}`)}
	apply(t, b, cs...)
	want.apply(cs)
	b = reopen(t, h, name, b)
	same(t, "after a second reopen", load(t, b), want)
}

func testDeletes(t *testing.T, h Harness) {
	name := h.NewStorage(t)
	b := open(t, h, name)
	want := contents{}
	for _, cs := range [][]store.Record{
		{put("t", "a", "1"), put("t", "b", "2"), put("u", "a", "3")},
		{del("t", "a")},
		{del("t", "missing"), del("no-such-table", "x")}, // not errors
		{del("u", "a")},
	} {
		apply(t, b, cs...)
		want.apply(cs)
	}
	same(t, "after deletes", load(t, b), want)
	b = reopen(t, h, name, b)
	same(t, "reopened", load(t, b), want)
}

func testOrder(t *testing.T, h Harness) {
	name := h.NewStorage(t)
	b := open(t, h, name)
	cs := []store.Record{put("t", "a", "1"), put("t", "a", "2"), put("t", "b", "x"), del("t", "b"), del("t", "c"), put("t", "c", "3")}
	apply(t, b, cs...)
	want := contents{}
	want.apply(cs)
	same(t, "later records win", load(t, b), want)
	b = reopen(t, h, name, b)
	same(t, "reopened", load(t, b), want)
}

// An Apply that fails (here, on a record no backend can take) applies
// none of its change set.
func testFailedApply(t *testing.T, h Harness) {
	name := h.NewStorage(t)
	b := open(t, h, name)
	apply(t, b, put("t", "a", "1"), put("t", "b", "2"))
	before := load(t, b)
	for _, bad := range []store.Record{put("", "k", "v"), put("t", "", "v")} {
		err := b.Apply(context.Background(), []store.Record{put("t", "a", "changed"), del("t", "b"), put("t", "new", "x"), bad})
		if !errors.Is(err, herd.ErrInvalid) {
			t.Errorf("Apply with %+v: err = %v, want ErrInvalid", bad, err)
		}
		same(t, "after a failed Apply", load(t, b), before)
	}
	b = reopen(t, h, name, b)
	same(t, "reopened", load(t, b), before)
}

// A backend copies what it is given and what it gives.
func testNotKept(t *testing.T, h Harness) {
	name := h.NewStorage(t)
	b := open(t, h, name)
	v := []byte("original")
	apply(t, b, store.Record{Table: "t", Key: "k", Value: v})
	copy(v, "CHANGED!")
	err := b.Load(context.Background(), func(r store.Record) error {
		if string(r.Value) != "original" {
			return fmt.Errorf("value %q: the backend kept the caller's slice", r.Value)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b = reopen(t, h, name, b)
	same(t, "reopened", load(t, b), contents{"t": {"k": "original"}})
}

func testLoadError(t *testing.T, h Harness) {
	b := open(t, h, h.NewStorage(t))
	apply(t, b, put("t", "a", "1"), put("t", "b", "2"), put("u", "c", "3"))
	stop := errors.New("stop")
	calls := 0
	err := b.Load(context.Background(), func(store.Record) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("Load = %v after %d calls; want fn's error after 1", err, calls)
	}
}

func testClosed(t *testing.T, h Harness) {
	name := h.NewStorage(t)
	b := h.Open(t, name)
	apply(t, b, put("t", "a", "1"))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Apply(context.Background(), []store.Record{put("t", "b", "2")}); !errors.Is(err, herd.ErrClosed) {
		t.Errorf("Apply after Close: %v, want ErrClosed", err)
	}
	if err := b.Load(context.Background(), func(store.Record) error { return nil }); !errors.Is(err, herd.ErrClosed) {
		t.Errorf("Load after Close: %v, want ErrClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	same(t, "reopened", load(t, open(t, h, name)), contents{"t": {"a": "1"}})
}

func testCancelled(t *testing.T, h Harness) {
	name := h.NewStorage(t)
	b := open(t, h, name)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Apply(ctx, []store.Record{put("t", "a", "1")}); !errors.Is(err, context.Canceled) {
		t.Errorf("Apply with a cancelled context: %v", err)
	}
	if err := b.Load(ctx, func(store.Record) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Load with a cancelled context: %v", err)
	}
	same(t, "after a cancelled Apply", load(t, b), contents{})
}

// testName is the pattern that runs exactly the top-level test that
// called Run, and the subtests on the way to it.
func testName(t *testing.T) string {
	parts := strings.Split(t.Name(), "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// crashValue is what the crash writer writes as change set i, in two
// tables: a change set seen in one and not the other is a torn write.
func crashValue(i int) []store.Record {
	k := fmt.Sprintf("%07d", i)
	return []store.Record{put("crash_a", k, "a"+k+strings.Repeat("-", i%700)), put("crash_b", k, "b"+k)}
}
