package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/internal/params"
	"github.com/herd-project/herd/internal/rpc"
)

func watchAllOn(t *testing.T, c *rpc.Client) string {
	t.Helper()
	var id params.AllWatcherId
	if err := c.Call(ctxFor(t), "Client", 8, "", "WatchAll", nil, &id); err != nil {
		t.Fatalf("WatchAll: %v", err)
	}
	if id.AllWatcherId == "" {
		t.Fatal("WatchAll: no id")
	}
	return id.AllWatcherId
}

// next calls AllWatcher.Next and returns each delta's JSON as sent.
func next(ctx context.Context, c *rpc.Client, id string) ([]json.RawMessage, error) {
	var res struct {
		Deltas []json.RawMessage `json:"deltas"`
	}
	err := c.Call(ctx, "AllWatcher", 3, id, "Next", nil, &res)
	return res.Deltas, err
}

func decodeDelta(t *testing.T, raw json.RawMessage) params.Delta {
	t.Helper()
	var d params.Delta
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("delta %s: %v", raw, err)
	}
	return d
}

func sameJSON(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: golden: %v", what, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Errorf("%s:\n got %s\nwant %s", what, gb, wb)
	}
}

// WatchAll then Next gives the model as it is, then a deploy's deltas, in
// Juju's shapes.
func TestWatchAllFollowsADeploy(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := ctxFor(t)
	e.f.AddUser(t, "tom")
	m := e.f.CreateModel(t, "admin", "m1")
	e.f.Grant(t, "tom", acl.Write, "admin/m1")
	tom := e.asAt(t, "/model/"+m.UUID+"/api", "tom")

	id := watchAllOn(t, tom)
	if id != "1" {
		t.Errorf("first watcher id %q, want Juju's \"1\"", id)
	}
	first, err := next(ctx, tom, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 1 {
		t.Fatalf("initial state of an empty model: %s", first)
	}
	since, _ := json.Marshal(m.Created)
	sameJSON(t, "model delta", first[0], `["model","change",{"model-uuid":"`+m.UUID+`","name":"m1","life":"alive","owner":"admin",
		"controller-uuid":"`+e.f.Controller.UUID()+`","is-controller":false,
		"config":{"name":"m1","type":"`+m.Type+`","uuid":"`+m.UUID+`","agent-version":"`+ServerVersion+`"},
		"status":{"current":"available","message":"","since":`+string(since)+`,"version":""},
		"constraints":{},"sla":{"level":"unsupported","owner":""},"type":"iaas","cloud":"`+m.Cloud+`","cloud-region":"`+m.Region+`","version":"`+ServerVersion+`"}]`)

	var er params.ErrorResults
	if err := tom.Call(ctx, "Application", 19, "", "Deploy", params.ApplicationsDeploy{Applications: []params.ApplicationDeploy{
		{ApplicationName: "mysql-staging", CharmURL: "ch:amd64/jammy/mysql-12", NumUnits: 1},
	}}, &er); err != nil || er.Results[0].Error != nil {
		t.Fatalf("Deploy %+v %v", er.Results, err)
	}
	// The deploy's commits: the application, its pending machine and unit,
	// then the machine started (and so the unit's new statuses).
	last := map[string]json.RawMessage{}
	var instance string
	for !strings.Contains(string(last["unit"]), `"idle"`) {
		deltas, err := next(ctx, tom, id)
		if err != nil {
			t.Fatalf("Next: %v (so far %s)", err, last)
		}
		for _, raw := range deltas {
			d := decodeDelta(t, raw)
			if d.Removed {
				t.Errorf("removal %s", raw)
			}
			kind := d.Entity.EntityId().Kind
			if kind == "unit" && last["machine"] == nil {
				t.Errorf("unit before its machine: %s", raw)
			}
			if mi, ok := d.Entity.(*params.MachineInfo); ok {
				instance = mi.InstanceId
			}
			last[kind] = raw
		}
	}
	if instance == "" {
		t.Error("a started machine without its instance id")
	}
	sameJSON(t, "application delta", last["application"], `["application","change",{"model-uuid":"`+m.UUID+`","name":"mysql-staging","exposed":false,
		"charm-url":"ch:mysql","owner-tag":"","life":"alive","min-units":0,"constraints":{},"subordinate":false,
		"status":{"current":"unset","message":"","version":""},"workload-version":""}]`)
	sameJSON(t, "machine delta", last["machine"], `["machine","change",{"model-uuid":"`+m.UUID+`","id":"0","instance-id":"`+instance+`",
		"agent-status":{"current":"started","message":"","version":""},"instance-status":{"current":"running","message":"","version":""},
		"life":"alive","base":"","container-type":"","supported-containers":null,"supported-containers-known":false,
		"jobs":["JobHostUnits"],"addresses":null,"has-vote":false,"wants-vote":false}]`)
	sameJSON(t, "unit delta", last["unit"], `["unit","change",{"model-uuid":"`+m.UUID+`","name":"mysql-staging/0","application":"mysql-staging",
		"base":"","charm-url":"","life":"alive","public-address":"","private-address":"","machine-id":"0","ports":[],"port-ranges":[],
		"principal":"","subordinate":false,"workload-status":{"current":"unknown","message":"","version":""},
		"agent-status":{"current":"idle","message":"","version":""}}]`)

	// Removal: the application, its unit and machine go as Juju's "remove".
	var da params.DestroyApplicationResults
	if err := tom.Call(ctx, "Application", 22, "", "DestroyApplication", params.DestroyApplicationsParams{Applications: []params.DestroyApplicationParams{
		{ApplicationTag: "application-mysql-staging"}}}, &da); err != nil {
		t.Fatal(err)
	}
	removed := map[string]bool{}
	for !removed["application"] || !removed["unit"] || !removed["machine"] {
		deltas, err := next(ctx, tom, id)
		if err != nil {
			t.Fatalf("Next: %v (removed %v)", err, removed)
		}
		for _, raw := range deltas {
			if d := decodeDelta(t, raw); d.Removed {
				removed[d.Entity.EntityId().Kind] = true
			}
		}
	}
}

// Stop ends the watcher: a waiting Next gets Juju's "watcher was
// stopped", the id is then unknown.
func TestAllWatcherStop(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := ctxFor(t)
	m := e.f.CreateModel(t, "admin", "m1")
	admin := e.asAt(t, "/model/"+m.UUID+"/api", "admin")
	id := watchAllOn(t, admin)
	if _, err := next(ctx, admin, id); err != nil {
		t.Fatal(err)
	}
	waiting := make(chan error, 1)
	go func() {
		_, err := next(ctx, admin, id)
		waiting <- err
	}()
	time.Sleep(50 * time.Millisecond) // let the Next wait (a race either way gives one of Juju's errors)
	if err := admin.Call(ctx, "AllWatcher", 3, id, "Stop", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := <-waiting; err == nil {
		t.Fatal("a Next waiting on a stopped watcher returned deltas")
	} else if e := rpc.ErrorFor(err); e.Message != "watcher was stopped" && e.Message != "unknown watcher id" {
		t.Errorf("waiting Next: %v", err)
	}
	_, err := next(ctx, admin, id)
	wantErr(t, err, "unknown watcher id", rpc.CodeNotFound)
	err = admin.Call(ctx, "AllWatcher", 3, id, "Stop", nil, nil)
	wantErr(t, err, "unknown watcher id", rpc.CodeNotFound)
	// Ids go on from there, per connection.
	if id2 := watchAllOn(t, admin); id2 != "2" {
		t.Errorf("second id %q", id2)
	}
}

// Watcher ids are the connection's: another connection, even the same
// user's, does not find them; a controller connection has no AllWatcher.
func TestAllWatcherIsPerConnection(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := ctxFor(t)
	m := e.f.CreateModel(t, "admin", "m1")
	path := "/model/" + m.UUID + "/api"
	a, b := e.asAt(t, path, "admin"), e.asAt(t, path, "admin")
	id := watchAllOn(t, a)
	_, err := next(ctx, b, id)
	wantErr(t, err, "unknown watcher id", rpc.CodeNotFound)
	err = b.Call(ctx, "AllWatcher", 3, id, "Stop", nil, nil)
	wantErr(t, err, "unknown watcher id", rpc.CodeNotFound)
	_, err = next(ctx, b, "")
	wantErr(t, err, "unknown watcher id", rpc.CodeNotFound)
	// b's refusal left a's watcher alone.
	if deltas, err := next(ctx, a, id); err != nil || len(deltas) != 1 {
		t.Errorf("a's Next: %s %v", deltas, err)
	}
	ctl := e.as(t, "admin")
	_, err = next(ctx, ctl, id)
	wantErr(t, err, `facade "AllWatcher" not supported for controller API connection`, rpc.CodeNotSupported)
	err = ctl.Call(ctx, "Client", 8, "", "WatchAll", nil, nil)
	wantErr(t, err, `facade "Client" not supported for controller API connection`, rpc.CodeNotSupported)
	err = a.Call(ctx, "AllWatcher", 2, id, "Next", nil, nil)
	wantErr(t, err, `unknown version (2) of interface "AllWatcher"`, rpc.CodeNotImplemented)
}

// Access is the Session's: a user who lost read access cannot WatchAll,
// and a watcher whose session loses it ends with the Session's error at
// the next commit.
func TestAllWatcherAccess(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := ctxFor(t)
	m := e.f.CreateModel(t, "admin", "m1")
	e.f.AddUser(t, "bob")
	e.f.Grant(t, "bob", acl.Read, "admin/m1")
	path := "/model/" + m.UUID + "/api"
	bob := e.asAt(t, path, "bob")
	id := watchAllOn(t, bob)
	if _, err := next(ctx, bob, id); err != nil {
		t.Fatal(err)
	}
	e.f.Revoke(t, "bob", acl.Read, "admin/m1")
	err := bob.Call(ctx, "Client", 8, "", "WatchAll", nil, nil)
	wantErr(t, err, "permission denied", rpc.CodeUnauthorized) // Juju's ErrPerm
	e.f.Deploy(t, "admin/m1", "redis", 1)
	deltas, err := next(ctx, bob, id)
	if err == nil {
		t.Fatalf("a watcher without access got %s", deltas)
	}
	wantErr(t, err, "permission denied", rpc.CodeUnauthorized)
	// The error stands.
	if _, err2 := next(ctx, bob, id); err2 == nil || err2.Error() != err.Error() {
		t.Errorf("second Next: %v", err2)
	}
}

// Next waits for a commit; the request's deadline bounds the wait and
// loses nothing.
func TestAllWatcherNextWaits(t *testing.T) {
	e := newEnv(t, Options{RPC: rpc.Options{RequestTimeout: 300 * time.Millisecond}})
	ctx := ctxFor(t)
	m := e.f.CreateModel(t, "admin", "m1")
	admin := e.asAt(t, "/model/"+m.UUID+"/api", "admin")
	id := watchAllOn(t, admin)
	if _, err := next(ctx, admin, id); err != nil {
		t.Fatal(err)
	}
	if deltas, err := next(ctx, admin, id); rpc.CodeOf(err) != rpc.CodeDeadlineExceeded {
		t.Fatalf("Next without a commit: %s %v", deltas, err)
	}
	e.f.Deploy(t, "admin/m1", "redis", 1)
	// The deploy's first commit, whole: nothing was taken by the Next
	// that timed out.
	deltas, err := next(ctx, admin, id)
	kinds := map[string]bool{}
	for _, raw := range deltas {
		kinds[decodeDelta(t, raw).Entity.EntityId().Kind] = true
	}
	if err != nil || len(deltas) != 3 || !kinds["application"] || !kinds["unit"] || !kinds["machine"] {
		t.Fatalf("Next after a deploy: %s %v", deltas, err)
	}
}

// Closing the connection stops its watchers (a Next waiting on one
// included), so the controller holds none of them.
func TestAllWatcherStopsWithTheConnection(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := ctxFor(t)
	m := e.f.CreateModel(t, "admin", "m1")
	var mu sync.Mutex
	var opened []*controller.Watcher
	watchOpened = func(w *controller.Watcher) { mu.Lock(); opened = append(opened, w); mu.Unlock() }
	t.Cleanup(func() { watchOpened = nil })

	c := e.asAt(t, "/model/"+m.UUID+"/api", "admin")
	id := watchAllOn(t, c)
	watchAllOn(t, c)
	if _, err := next(ctx, c, id); err != nil {
		t.Fatal(err)
	}
	waiting := make(chan error, 1)
	go func() { _, err := next(ctx, c, id); waiting <- err }()
	time.Sleep(50 * time.Millisecond)
	c.Close()
	if err := <-waiting; err == nil {
		t.Error("a Next on a closed connection returned deltas")
	}
	mu.Lock()
	ws := append([]*controller.Watcher(nil), opened...)
	mu.Unlock()
	if len(ws) != 2 {
		t.Fatalf("%d watchers opened", len(ws))
	}
	deadline := time.Now().Add(10 * time.Second)
	for i, w := range ws {
		for {
			short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			_, err := w.Next(short)
			cancel()
			if errors.Is(err, herd.ErrClosed) {
				break // stopped, and so out of the controller's hub
			}
			if time.Now().After(deadline) {
				t.Fatalf("watcher %d still runs after its connection closed: %v", i, err)
			}
		}
	}
	// The server is left with no connection.
	for e.srv.Conns() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := e.srv.Conns(); n != 0 {
		t.Errorf("%d connections left", n)
	}
}

// A connection holds at most MaxWatchers.
func TestAllWatcherLimit(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := ctxFor(t)
	m := e.f.CreateModel(t, "admin", "m1")
	c := e.asAt(t, "/model/"+m.UUID+"/api", "admin")
	var last string
	for range MaxWatchers {
		last = watchAllOn(t, c)
	}
	err := c.Call(ctx, "Client", 8, "", "WatchAll", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "too many watchers") {
		t.Fatalf("watcher %d: %v", MaxWatchers+1, err)
	}
	if err := c.Call(ctx, "AllWatcher", 3, last, "Stop", nil, nil); err != nil {
		t.Fatal(err)
	}
	watchAllOn(t, c)
}
