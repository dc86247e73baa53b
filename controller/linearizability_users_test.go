package controller_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/internal/etcdtest"
	"github.com/herd-project/herd/store"
)

// Linearizability of users and sessions across controllers, checked with
// porcupine.
//
// Clients on three controllers sharing one three-member etcd cluster add
// users (Session.AddUser, by the admin), register them with the token
// (Controller.Register), log them in (Controller.Login) and out
// (Session.Logout), and check whether a user exists and has registered
// (Session.ShowUser after Controller.Sync) and whether a session works
// (Controller.Resume of its token after Sync), over a few user names,
// concurrently, while a fault is injected: none, one controller's etcd
// connections cut for a while, the same controller partitioned from etcd
// for a while, an etcd member stopped and restarted, and one controller
// killed (closed abruptly mid-history): its clients move to another
// controller and go on with their session tokens (the admin's is resumed
// there; every use of a user's session resumes its token on the client's
// controller). Tokens and sessions are shared by all clients, so a
// session made on one controller is used, checked and ended on the others.
//
// The model, one user name at a time (section 5 and 7 of the spec): the
// name is absent, added (a registration token is pending) or registered
// (a password is set), and a set of the user's live sessions. Add
// succeeds only on an absent name, else fails as already existing;
// register succeeds only on an added user (the token works once) and
// opens a session, else is unauthenticated; login succeeds only on a
// registered user and opens a session, else is unauthenticated; logout
// ends a live session everywhere, else is unauthenticated; a check sees
// exactly the state. A write whose error is not the rule's refusal (nor a
// lost race) may or may not have happened. A final check of every user
// and every session on every controller left, once the faults are over,
// makes a lost acknowledged write a violation. One history a fault by
// default, about 120 operations each (some 15 s in all under -race on two
// cores); HERD_LINEARIZABILITY_ROUNDS=n runs n of each.

type luInput struct {
	op   string // "add", "register", "login", "logout", "session" (check), "user" (check)
	user string
	sid  int // the session's number among the user's, for register, login, logout, session
}

type luOutput struct {
	result string // "ok", "refused", "lost", "unknown"
	state  int    // for "user": 0 absent, 1 added, 2 registered
}

type luState struct {
	user int    // 0 absent, 1 added, 2 registered
	live uint64 // live sessions, by number
}

// luOpTimeout bounds one operation (with its Sync): one that times out
// is of unknown outcome, a read that times out is left out.
const luOpTimeout = 2 * time.Second

// luMaxSessions bounds the sessions of one user (the bits of luState.live).
const luMaxSessions = 64

func luModel() porcupine.Model {
	nm := &porcupine.NondeterministicModel{
		Partition: byUser(func(in any) string { return in.(luInput).user }),
		Init:      func() []interface{} { return []interface{}{luState{}} },
		Step: func(state, input, output interface{}) []interface{} {
			cur, in, out := state.(luState), input.(luInput), output.(luOutput)
			bit := uint64(1) << in.sid
			switch in.op {
			case "user":
				if out.state == cur.user {
					return []interface{}{cur}
				}
				return nil
			case "session":
				if (out.result == "ok") == (cur.live&bit != 0) {
					return []interface{}{cur}
				}
				return nil
			}
			var ok bool   // whether the write succeeds from cur
			next := cur   // its state after a success the client saw
			unseen := cur // its state after a success the client did not see
			switch in.op {
			case "add":
				ok = cur.user == 0
				next.user, unseen.user = 1, 1
			case "register":
				ok = cur.user == 1
				next.user, unseen.user = 2, 2
				next.live |= bit // a session nobody holds is never used
			case "login":
				ok = cur.user == 2
				next.live |= bit
			case "logout":
				ok = cur.live&bit != 0
				next.live &^= bit
				unseen.live &^= bit
			}
			switch out.result {
			case "ok":
				if ok {
					return []interface{}{next}
				}
			case "refused":
				if !ok {
					return []interface{}{cur}
				}
			case "lost":
				return []interface{}{cur}
			case "unknown":
				if ok && unseen != cur {
					return []interface{}{cur, unseen}
				}
				return []interface{}{cur}
			}
			return nil
		},
		Equal: func(a, b interface{}) bool { return a == b },
		DescribeOperation: func(input, output interface{}) string {
			in, out := input.(luInput), output.(luOutput)
			switch in.op {
			case "user":
				return fmt.Sprintf("user(%s) -> %s", in.user, []string{"absent", "added", "registered"}[out.state])
			case "add":
				return fmt.Sprintf("add(%s) -> %s", in.user, out.result)
			}
			return fmt.Sprintf("%s(%s#%d) -> %s", in.op, in.user, in.sid, out.result)
		},
	}
	return nm.ToModel()
}

// luResult maps an error to what the client knows: refusal is the
// rule's refusal of that operation.
func luResult(err, refusal error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, refusal):
		return "refused"
	case errors.Is(err, store.ErrConflict):
		return "lost"
	}
	return "unknown"
}

func (o luOutput) unknown() bool { return o.result == "unknown" }

// luSession is a session some client opened, for every client to use.
type luSession struct {
	user, token string
	sid         int
}

// luShared is what the clients share: the registration tokens handed out
// and the sessions opened.
type luShared struct {
	mu       sync.Mutex
	tokens   map[string]string
	sessions []luSession
	next     map[string]int // the next session number of each user
}

func (s *luShared) token(u string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[u]
	return t, ok
}

// reserve numbers a session of u before it is opened.
func (s *luShared) reserve(u string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.next[u]
	if n >= luMaxSessions {
		return 0, false
	}
	s.next[u] = n + 1
	return n, true
}

func (s *luShared) pick(rng *rand.Rand) (luSession, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sessions) == 0 {
		return luSession{}, false
	}
	return s.sessions[rng.IntN(len(s.sessions))], true
}

func (s *luShared) publish(ls luSession) {
	s.mu.Lock()
	s.sessions = append(s.sessions, ls)
	s.mu.Unlock()
}

// Register and Login once decided a refusal on the controller's memory,
// which may lag another controller's commit: Register refused a token
// added on another controller a moment before, and Login, when it could
// not reach etcd to catch up, refused a user registered on another
// controller. Neither refusal is linearizable; both now confirm a
// refusal with the other controllers first (or answer that they cannot).
// HERD_LINEARIZABILITY_SYNC=1 makes clients Sync before they register or
// log in, as this test did before the fix.
var luNoSync = os.Getenv("HERD_LINEARIZABILITY_SYNC") == ""

// luSyncFirst Syncs c before a register or login, and reports whether the
// operation is to go on (a failed Sync is counted in dropped).
func luSyncFirst(ctx context.Context, c *controller.Controller, dropped *atomic.Int64) bool {
	if luNoSync {
		return true
	}
	if err := c.Sync(ctx); err != nil {
		dropped.Add(1)
		return false
	}
	return true
}

func TestEtcdLinearizableUsers(t *testing.T) {
	const (
		clientsPer = 2
		opsEach    = 16
	)
	rounds := 1
	if n, err := strconv.Atoi(os.Getenv("HERD_LINEARIZABILITY_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	cl := etcdtest.Start(t, etcdtest.Options{MaxLife: time.Duration(rounds+1) * time.Minute})
	ctx := context.Background()
	faults := []struct {
		name   string
		inject func(w *etcdWorld, gate *etcdtest.Gate, kill func(i int))
	}{
		{"no fault", func(*etcdWorld, *etcdtest.Gate, func(int)) {}},
		{"a controller cut off from etcd", func(_ *etcdWorld, gate *etcdtest.Gate, _ func(int)) {
			time.Sleep(40 * time.Millisecond)
			gate.Cut()
			time.Sleep(300 * time.Millisecond)
			gate.Heal()
		}},
		{"a controller partitioned from etcd", func(_ *etcdWorld, gate *etcdtest.Gate, _ func(int)) {
			time.Sleep(40 * time.Millisecond)
			gate.Partition()
			time.Sleep(400 * time.Millisecond)
			gate.Heal()
		}},
		{"an etcd member stopped", func(*etcdWorld, *etcdtest.Gate, func(int)) {
			time.Sleep(40 * time.Millisecond)
			cl.Stop(0)
			time.Sleep(500 * time.Millisecond)
			if err := cl.Restart(0); err != nil {
				t.Errorf("restart member 0: %v", err)
			}
		}},
		{"a controller killed", func(_ *etcdWorld, _ *etcdtest.Gate, kill func(int)) {
			time.Sleep(60 * time.Millisecond)
			kill(0) // the bootstrap controller
		}},
	}
	users := []string{"ua", "ub", "uc"}
	pw := func(u string) string { return u + "-pw" }
	for round := range rounds * len(faults) {
		fault := faults[round%len(faults)]
		t.Run(fault.name, func(t *testing.T) {
			w := etcdControllers(t, cl, 2)
			gate := cl.Gate(t)
			w.open(t, ctx, gate.Endpoints())
			adminToken := w.boot.Admin.Token()
			var killed atomic.Int32
			killed.Store(-1)
			kill := func(i int) {
				killed.Store(int32(i))
				if err := w.ctls[i].Close(); err != nil {
					t.Errorf("kill controller %d: %v", i, err)
				}
			}
			h := &history[luInput, luOutput]{start: time.Now()}
			sh := &luShared{tokens: map[string]string{}, next: map[string]int{}}
			var dropped atomic.Int64 // reads (and a register's Sync) that failed and tell nothing
			var moved atomic.Int64   // clients that moved off the killed controller

			// checkSession resumes ls on c after a Sync: whether it works.
			checkSession := func(client int, c *controller.Controller, ls luSession) {
				call := h.now()
				cctx, cancel := context.WithTimeout(ctx, luOpTimeout)
				defer cancel()
				if err := c.Sync(cctx); err != nil {
					dropped.Add(1)
					return
				}
				_, err := c.Resume(cctx, ls.token)
				res := luResult(err, herd.ErrUnauthenticated)
				if res != "ok" && res != "refused" {
					dropped.Add(1)
					return
				}
				h.add(client, luInput{op: "session", user: ls.user, sid: ls.sid}, call, luOutput{result: res})
			}
			// checkUser shows u to admin (on c) after a Sync.
			checkUser := func(client int, c *controller.Controller, admin *controller.Session, u string) {
				call := h.now()
				cctx, cancel := context.WithTimeout(ctx, luOpTimeout)
				defer cancel()
				if err := c.Sync(cctx); err != nil {
					dropped.Add(1)
					return
				}
				info, err := admin.ShowUser(cctx, u)
				st := 0
				switch {
				case err == nil && info.Pending:
					st = 1
				case err == nil:
					st = 2
				case errors.Is(err, herd.ErrNotFound):
				default:
					dropped.Add(1)
					return
				}
				h.add(client, luInput{op: "user", user: u}, call, luOutput{state: st})
			}
			admins := make([]*controller.Session, len(w.ctls))
			for i, c := range w.ctls {
				s, err := c.Resume(ctx, adminToken)
				if err != nil {
					t.Fatal(err)
				}
				admins[i] = s
			}

			var wg sync.WaitGroup
			for home := range w.ctls {
				for k := range clientsPer {
					client := home*clientsPer + k
					wg.Add(1)
					go func() {
						defer wg.Done()
						rng := rand.New(rand.NewPCG(uint64(client), uint64(time.Now().UnixNano())))
						ci, admin := home, admins[home]
						for range opsEach {
							if int(killed.Load()) == ci {
								// Move to another controller, with the admin's token.
								ci = (ci + 1) % len(w.ctls)
								if int(killed.Load()) == ci {
									ci = (ci + 1) % len(w.ctls)
								}
								s, err := w.ctls[ci].Resume(ctx, adminToken)
								if err != nil {
									t.Errorf("client %d: resume the admin on controller %d: %v", client, ci, err)
									return
								}
								admin = s
								moved.Add(1)
							}
							c := w.ctls[ci]
							u := users[rng.IntN(len(users))]
							wctx, cancel := context.WithTimeout(ctx, luOpTimeout)
							call := h.now()
							switch r := rng.IntN(10); {
							case r < 2:
								tok, ok := sh.token(u)
								if !ok {
									a, err := admin.AddUser(wctx, u, "")
									res := luResult(err, herd.ErrAlreadyExists)
									if res == "ok" {
										sh.mu.Lock()
										sh.tokens[u] = a.Token
										sh.mu.Unlock()
									}
									h.add(client, luInput{op: "add", user: u}, call, luOutput{result: res})
									break
								}
								sid, ok := sh.reserve(u)
								if !ok {
									break
								}
								if !luSyncFirst(wctx, c, &dropped) {
									break
								}
								s, err := c.Register(wctx, tok, pw(u))
								res := luResult(err, herd.ErrUnauthenticated)
								if res == "ok" {
									sh.publish(luSession{user: u, token: s.Token(), sid: sid})
								}
								h.add(client, luInput{op: "register", user: u, sid: sid}, call, luOutput{result: res})
							case r < 4:
								sid, ok := sh.reserve(u)
								if !ok {
									break
								}
								if !luSyncFirst(wctx, c, &dropped) {
									break
								}
								s, err := c.Login(wctx, u, pw(u))
								res := luResult(err, herd.ErrUnauthenticated)
								if res == "ok" {
									sh.publish(luSession{user: u, token: s.Token(), sid: sid})
								}
								h.add(client, luInput{op: "login", user: u, sid: sid}, call, luOutput{result: res})
							case r < 6:
								ls, ok := sh.pick(rng)
								if !ok {
									break
								}
								// The session's token, resumed here after a Sync.
								if err := c.Sync(wctx); err != nil {
									dropped.Add(1)
									break
								}
								s, err := c.Resume(wctx, ls.token)
								if err != nil {
									if luResult(err, herd.ErrUnauthenticated) == "refused" {
										h.add(client, luInput{op: "session", user: ls.user, sid: ls.sid}, call, luOutput{result: "refused"})
									} else {
										dropped.Add(1)
									}
									break
								}
								err = s.Logout(wctx)
								h.add(client, luInput{op: "logout", user: ls.user, sid: ls.sid}, call, luOutput{result: luResult(err, herd.ErrUnauthenticated)})
							case r < 8:
								if ls, ok := sh.pick(rng); ok {
									checkSession(client, c, ls)
								}
							default:
								checkUser(client, c, admin, u)
							}
							cancel()
						}
					}()
				}
			}
			fault.inject(w, gate, kill)
			wg.Wait()
			dur := time.Duration(h.now())
			// Every user and every session on every controller left,
			// after the fault: an acknowledged write that was lost
			// shows here.
			var live []*controller.Controller
			for ci, c := range w.ctls {
				if int(killed.Load()) == ci {
					continue
				}
				live = append(live, c)
				for _, u := range users {
					checkUser(100+ci, c, admins[ci], u)
				}
				for _, ls := range sh.sessions {
					checkSession(100+ci, c, ls)
				}
			}
			eventually(t, 10*time.Second, "the controllers' states differ", func() bool {
				want := live[0].Dump()
				for _, c := range live[1:] {
					if !reflect.DeepEqual(c.Dump(), want) {
						return false
					}
				}
				return true
			})
			res, info := porcupine.CheckOperationsVerbose(luModel(), h.ops, 20*time.Second)
			unknown, kinds := 0, map[string]int{}
			for _, o := range h.ops {
				in, out := o.Input.(luInput), o.Output.(luOutput)
				if out.result == "unknown" {
					unknown++
				}
				kinds[in.op+":"+cmp.Or(out.result, "read")]++
			}
			t.Logf("%s: %d operations in %v (%d of unknown outcome, %d reads or Syncs that failed left out), %d clients moved, %d writes lost a race and ran again;%v: %s",
				fault.name, len(h.ops), dur.Round(time.Millisecond), unknown, dropped.Load(), moved.Load(), w.log.lost.Load(), luKinds(kinds), res)
			switch res {
			case porcupine.Illegal:
				f, err := os.CreateTemp("", "herd-linearizability-users-*.html")
				if err == nil {
					porcupine.Visualize(luModel(), info, f)
					f.Close()
					t.Errorf("the history is not linearizable; see %s", f.Name())
				} else {
					t.Error("the history is not linearizable")
				}
				luDump(t, h.ops)
			case porcupine.Unknown:
				t.Log("the checker timed out; no violation found")
			}
		})
	}
}

func luKinds(kinds map[string]int) string {
	var ks []string
	for k := range kinds {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	out := ""
	for _, k := range ks {
		out += fmt.Sprintf(" %s=%d", k, kinds[k])
	}
	return out
}

// luDump logs the operations of each user whose history is not
// linearizable, by call time.
func luDump(t *testing.T, ops []porcupine.Operation) {
	m := luModel()
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
