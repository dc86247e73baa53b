package controller_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/internal/etcdtest"
	"github.com/herd-project/herd/store"
)

// Linearizability of grants across controllers, checked with porcupine.
//
// Clients on three controllers sharing one three-member etcd cluster
// grant, revoke and check two users' access to one model, concurrently,
// while a fault is injected: none, one controller's etcd connections cut
// for a while (refused), the same controller partitioned from etcd for a
// while (a black hole), an etcd member stopped and restarted. A check is a read
// after Controller.Sync (the linearizable read; plain reads are served
// from memory and may lag another controller's commit by milliseconds).
// The history must be linearizable against a model of one level per user:
// grant raises it or fails as already held, revoke lowers it below the
// named level or fails as not held. A write whose outcome the client could
// not know (an error other than the rule's refusal or a lost race) may or
// may not have happened. A final check of every user on every controller,
// once the faults are over, makes a lost acknowledged write a violation.
// One history a fault by default (about 10 s under -race on two cores);
// HERD_LINEARIZABILITY_ROUNDS=n runs n of each.

// linInput is an operation on one user's access.
type linInput struct {
	op    string // "grant", "revoke", "check"
	user  string
	level int // 1 read, 2 write, 3 admin
}

// linOutput is what the client saw.
type linOutput struct {
	result string // "ok", "exists", "notfound", "lost" (a lost race: no effect), "unknown"
	level  int    // for check
}

var linLevels = []acl.Level{acl.None, acl.Read, acl.Write, acl.Admin}

// byUser partitions a history by the user each operation is about (user
// reads it from an operation's input): operations on different users do
// not constrain each other.
func byUser(user func(input any) string) func([]porcupine.Operation) [][]porcupine.Operation {
	return func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		var order []string
		for _, o := range h {
			u := user(o.Input)
			if _, ok := by[u]; !ok {
				order = append(order, u)
			}
			by[u] = append(by[u], o)
		}
		var out [][]porcupine.Operation
		for _, u := range order {
			out = append(out, by[u])
		}
		return out
	}
}

func linModel() porcupine.Model {
	nm := &porcupine.NondeterministicModel{
		Partition: byUser(func(in any) string { return in.(linInput).user }),
		Init:      func() []interface{} { return []interface{}{0} },
		Step: func(state, input, output interface{}) []interface{} {
			cur, in, out := state.(int), input.(linInput), output.(linOutput)
			var next int
			var ok bool // whether the operation succeeds from cur
			switch in.op {
			case "check":
				if out.level == cur {
					return []interface{}{cur}
				}
				return nil
			case "grant":
				ok, next = cur < in.level, in.level
			case "revoke":
				ok, next = cur >= in.level, in.level-1
			}
			switch out.result {
			case "ok":
				if ok {
					return []interface{}{next}
				}
			case "exists", "notfound":
				if !ok && (out.result == "exists") == (in.op == "grant") {
					return []interface{}{cur}
				}
			case "lost":
				return []interface{}{cur}
			case "unknown":
				if ok {
					return []interface{}{cur, next}
				}
				return []interface{}{cur}
			}
			return nil
		},
		Equal: func(a, b interface{}) bool { return a == b },
		DescribeOperation: func(input, output interface{}) string {
			in, out := input.(linInput), output.(linOutput)
			if in.op == "check" {
				return fmt.Sprintf("check(%s) -> %d", in.user, out.level)
			}
			return fmt.Sprintf("%s(%s, %d) -> %s", in.op, in.user, in.level, out.result)
		},
	}
	return nm.ToModel()
}

// history records operations with their times since start; an output
// that says its outcome is unknown returns at the end of time (it may
// take effect at any time after its call).
type history[I any, O interface{ unknown() bool }] struct {
	start time.Time
	mu    sync.Mutex
	ops   []porcupine.Operation
}

func (h *history[I, O]) now() int64 { return int64(time.Since(h.start)) }

func (h *history[I, O]) add(client int, in I, call int64, out O) {
	ret := h.now()
	if out.unknown() {
		ret = math.MaxInt64
	}
	h.mu.Lock()
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
	h.mu.Unlock()
}

func (o linOutput) unknown() bool { return o.result == "unknown" }

// linResult maps a write's error to what the client knows of it.
func linResult(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, herd.ErrAlreadyExists):
		return "exists"
	case errors.Is(err, herd.ErrNotFound):
		return "notfound"
	case errors.Is(err, store.ErrConflict):
		return "lost"
	}
	return "unknown"
}

func TestEtcdLinearizableGrants(t *testing.T) {
	const (
		clientsPer = 2
		opsEach    = 25
	)
	rounds := 1
	if n, err := strconv.Atoi(os.Getenv("HERD_LINEARIZABILITY_ROUNDS")); err == nil && n > 0 {
		rounds = n // more histories, for a longer run by hand
	}
	cl := etcdtest.Start(t, etcdtest.Options{MaxLife: time.Duration(rounds+1) * time.Minute})
	ctx := context.Background()
	faults := []struct {
		name   string
		inject func(w *etcdWorld, gate *etcdtest.Gate) // runs during the history; returns when healed
	}{
		{"no fault", func(*etcdWorld, *etcdtest.Gate) {}},
		{"a controller cut off from etcd", func(_ *etcdWorld, gate *etcdtest.Gate) {
			time.Sleep(40 * time.Millisecond)
			gate.Cut()
			time.Sleep(300 * time.Millisecond)
			gate.Heal()
		}},
		{"a controller partitioned from etcd", func(_ *etcdWorld, gate *etcdtest.Gate) {
			time.Sleep(40 * time.Millisecond)
			gate.Partition()
			time.Sleep(400 * time.Millisecond)
			gate.Heal()
		}},
		{"an etcd member stopped", func(*etcdWorld, *etcdtest.Gate) {
			time.Sleep(40 * time.Millisecond)
			cl.Stop(0)
			time.Sleep(500 * time.Millisecond)
			if err := cl.Restart(0); err != nil {
				t.Errorf("restart member 0: %v", err)
			}
		}},
	}
	for round := range rounds * len(faults) {
		fault := faults[round%len(faults)]
		t.Run(fault.name, func(t *testing.T) {
			w := etcdControllers(t, cl, 2)
			gate := cl.Gate(t)
			w.open(t, ctx, gate.Endpoints())
			admin := w.boot.Admin
			if _, err := admin.CreateModel(ctx, "m", controller.CreateModelOptions{}); err != nil {
				t.Fatal(err)
			}
			users := []string{"u0", "u1"}
			for _, u := range users {
				if _, err := admin.AddUser(ctx, u, ""); err != nil {
					t.Fatal(err)
				}
			}
			var sessions []*controller.Session // the admin, on each controller
			for _, c := range w.ctls {
				s, err := c.Resume(ctx, admin.Token())
				if err != nil {
					t.Fatal(err)
				}
				sessions = append(sessions, s)
			}
			h := &history[linInput, linOutput]{start: time.Now()}
			check := func(client int, c *controller.Controller, s *controller.Session, u string) {
				in := linInput{op: "check", user: u}
				call := h.now()
				cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
				defer cancel()
				if err := c.Sync(cctx); err != nil {
					return // a read that failed tells nothing
				}
				e, err := s.Explain(cctx, u, "admin/m")
				if errors.Is(err, context.DeadlineExceeded) {
					return // Sync took the time
				}
				if err != nil {
					t.Errorf("explain %s: %v", u, err)
					return
				}
				lv := 0
				for i, l := range linLevels {
					if l == e.Direct {
						lv = i
					}
				}
				h.add(client, in, call, linOutput{level: lv})
			}
			var wg sync.WaitGroup
			for ci, c := range w.ctls {
				for k := range clientsPer {
					client := ci*clientsPer + k
					wg.Add(1)
					go func() {
						defer wg.Done()
						rng := rand.New(rand.NewPCG(uint64(client), uint64(time.Now().UnixNano())))
						s := sessions[ci]
						for range opsEach {
							u := users[rng.IntN(len(users))]
							lv := 1 + rng.IntN(3)
							switch rng.IntN(3) {
							case 0:
								check(client, c, s, u)
							default:
								op := []string{"grant", "revoke"}[rng.IntN(2)]
								in := linInput{op: op, user: u, level: lv}
								call := h.now()
								wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
								var err error
								if op == "grant" {
									err = s.Grant(wctx, u, linLevels[lv], "m")
								} else {
									err = s.Revoke(wctx, u, linLevels[lv], "m")
								}
								cancel()
								h.add(client, in, call, linOutput{result: linResult(err)})
							}
						}
					}()
				}
			}
			fault.inject(w, gate)
			wg.Wait()
			// Every user on every controller, after the fault: an
			// acknowledged write that was lost shows here.
			for ci, c := range w.ctls {
				for _, u := range users {
					check(100+ci, c, sessions[ci], u)
				}
			}
			w.converged(t)
			res, info := porcupine.CheckOperationsVerbose(linModel(), h.ops, 20*time.Second)
			unknown := 0
			for _, o := range h.ops {
				if o.Output.(linOutput).result == "unknown" {
					unknown++
				}
			}
			t.Logf("%s: %d operations, %d of unknown outcome, %d writes lost a race and ran again: %s",
				fault.name, len(h.ops), unknown, w.log.lost.Load(), res)
			switch res {
			case porcupine.Illegal:
				f, err := os.CreateTemp("", "herd-linearizability-*.html")
				if err == nil {
					porcupine.Visualize(linModel(), info, f)
					f.Close()
					t.Errorf("the history is not linearizable; see %s", f.Name())
					linDump(t, h.ops)
				} else {
					t.Error("the history is not linearizable")
				}
			case porcupine.Unknown:
				t.Log("the checker timed out; no violation found")
			}
		})
	}
}

// linDump logs the operations of each user whose history is not
// linearizable, by call time.
func linDump(t *testing.T, ops []porcupine.Operation) {
	m := linModel()
	for _, part := range m.Partition(ops) {
		if porcupine.CheckOperations(m, part) {
			continue
		}
		slices.SortFunc(part, func(a, b porcupine.Operation) int { return cmp.Compare(a.Call, b.Call) })
		for _, o := range part {
			ret := "∞"
			if o.Return != math.MaxInt64 {
				ret = time.Duration(o.Return).String()
			}
			t.Logf("client %3d  %12v .. %12s  %s", o.ClientId, time.Duration(o.Call), ret, m.DescribeOperation(o.Input, o.Output))
		}
	}
}
