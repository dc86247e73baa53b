package apiserver

// The network API's targets (BENCHMARKS.md, "Network API"). Every
// benchmark here measures Herd and its floor in the same run, most of them
// interleaved op by op, and reports the ratio itself, because this 2-core
// machine is shared and its absolute figures move by tens of percent
// between runs.

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/crypto/bcrypt"

	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller/controllertest"
	"github.com/herd-project/herd/internal/params"
	"github.com/herd-project/herd/internal/rpc"
	"github.com/herd-project/herd/users"
)

// echoMsg is a frame of UserInfo's size, echoed by the floor.
var echoMsg = []byte(`{"request-id":1,"type":"UserManager","version":3,"request":"UserInfo","params":{"entities":[{"tag":"user-admin"}],"include-disabled":false}}`)

// echoServer is a bare websocket echo over TLS loopback: the same
// upgrader (rpc.Upgrade), the same kind of connection, no RPC layer.
type echoServer struct {
	ts  *httptest.Server
	tls *tls.Config
}

func newEchoServer(tb testing.TB) *echoServer {
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := rpc.Upgrade(w, r)
		if err != nil {
			return
		}
		defer ws.Close()
		for {
			mt, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if err := ws.WriteMessage(mt, data); err != nil {
				return
			}
		}
	}))
	tb.Cleanup(ts.Close)
	return &echoServer{ts: ts, tls: ts.Client().Transport.(*http.Transport).TLSClientConfig}
}

func (s *echoServer) dial(tb testing.TB) *websocket.Conn {
	tb.Helper()
	d := websocket.Dialer{TLSClientConfig: s.tls, HandshakeTimeout: 5 * time.Second}
	ws, _, err := d.Dial("wss"+strings.TrimPrefix(s.ts.URL, "https"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ws.Close() })
	return ws
}

func echoOnce(ws *websocket.Conn) error {
	if err := ws.WriteMessage(websocket.TextMessage, echoMsg); err != nil {
		return err
	}
	_, _, err := ws.ReadMessage()
	return err
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// withModels gives tom write access to n models of admin's and returns
// tom's logged-in connection.
func (e *env) withModels(tb testing.TB, n int) *rpc.Client {
	tb.Helper()
	e.f.AddUser(tb, "tom")
	for i := range n {
		name := "model-" + strconv.Itoa(i)
		e.f.CreateModel(tb, "admin", name)
		e.f.Grant(tb, "tom", acl.Write, "admin/"+name)
	}
	return e.as(tb, "tom")
}

// BenchmarkNetLatency is target 1: each op is one bare echo round trip,
// one UserManager.UserInfo (admin, about themself) and one
// ModelManager.ListModelSummaries (tom, who has 10 models), in turn, each
// timed on its own connection opened beforehand, so that the three see
// the same machine. It reports each one's p50 and the ratios of the p50s
// to the echo's (target: ≤ 2). Each op also echoes a frame as large as
// the summaries' reply (echo-big), a floor that counts the reply's size.
// ns/op is the sum of the four.
func BenchmarkNetLatency(b *testing.B) {
	e := newEnv(b, Options{})
	admin := e.as(b, "admin")
	tom := e.withModels(b, 10)
	ws := newEchoServer(b).dial(b)
	ctx := ctxFor(b)
	uiIn := params.UserInfoRequest{Entities: []params.Entity{{Tag: "user-admin"}}}
	var uiOut params.UserInfoResults
	lsIn := params.ModelSummariesRequest{UserTag: "user-tom", All: true}
	var lsOut params.ModelSummaryResults
	// One of each first: a check, and warm caches.
	if err := tom.Call(ctx, "ModelManager", 10, "", "ListModelSummaries", lsIn, &lsOut); err != nil || len(lsOut.Results) != 10 {
		b.Fatalf("ListModelSummaries: %v, %d results", err, len(lsOut.Results))
	}
	// A second floor: the echo of a frame as large as the summaries'
	// reply (the first floor's frame is UserInfo's request).
	big, err := json.Marshal(struct {
		ID       int                        `json:"request-id"`
		Response params.ModelSummaryResults `json:"response"`
	}{1, lsOut})
	if err != nil {
		b.Fatal(err)
	}
	var echo, echoBig, ui, ls []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		tb := time.Now()
		if err := ws.WriteMessage(websocket.TextMessage, big); err != nil {
			b.Fatal(err)
		}
		if _, _, err := ws.ReadMessage(); err != nil {
			b.Fatal(err)
		}
		echoBig = append(echoBig, time.Since(tb))
		t0 := time.Now()
		if err := echoOnce(ws); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		uiOut = params.UserInfoResults{} // a fresh result, as package client decodes into
		if err := admin.Call(ctx, "UserManager", 3, "", "UserInfo", uiIn, &uiOut); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if err := tom.Call(ctx, "ModelManager", 10, "", "ListModelSummaries", lsIn, &lsOut); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		echo, ui, ls = append(echo, t1.Sub(t0)), append(ui, t2.Sub(t1)), append(ls, t3.Sub(t2))
	}
	// The floor's fairness: its frame (both ways) against UserInfo's
	// request and reply as they go on the wire.
	uiReply, err := json.Marshal(struct {
		ID       int                    `json:"request-id"`
		Response params.UserInfoResults `json:"response"`
	}{4000, uiOut})
	if err != nil {
		b.Fatal(err)
	}
	pe, pu, pl := median(echo), median(ui), median(ls)
	b.ReportMetric(float64(len(echoMsg)), "echo-frame-bytes")
	b.ReportMetric(float64(len(uiReply)), "userinfo-reply-bytes")
	b.ReportMetric(us(pe), "echo-p50-µs")
	b.ReportMetric(us(pu), "userinfo-p50-µs")
	b.ReportMetric(us(pl), "summaries10-p50-µs")
	b.ReportMetric(float64(pu)/float64(pe), "userinfo/echo")
	b.ReportMetric(float64(pl)/float64(pe), "summaries10/echo")
	b.ReportMetric(float64(len(big)), "summaries10-reply-bytes")
	b.ReportMetric(us(median(echoBig)), "echo-big-p50-µs")
	b.ReportMetric(float64(pl)/float64(median(echoBig)), "summaries10/echo-big")
}

// BenchmarkNetThroughput8 is target 2: 8 goroutines, each on its own
// connection, make calls as fast as they can; echo is the bare websocket
// echo server (8 connections to it), userinfo is Herd (admin's UserInfo
// about themself on 8 logged-in connections). The two alternate in rounds
// of 2,000 calls each until each has made b.N, so that both see the same
// machine; it reports each one's requests per second (calls over the wall
// time of its rounds) and herd/echo. ns/op is the wall time of one echo
// and one UserInfo (each spread over 8 connections).
func BenchmarkNetThroughput8(b *testing.B) {
	const workers, round = 8, 2000
	e := newEnv(b, Options{})
	s := newEchoServer(b)
	ctx := ctxFor(b)
	in := params.UserInfoRequest{Entities: []params.Entity{{Tag: "user-admin"}}}
	echo, herd := make([]func() error, workers), make([]func() error, workers)
	for w := range workers {
		ws := s.dial(b)
		echo[w] = func() error { return echoOnce(ws) }
		c := e.as(b, "admin")
		var out params.UserInfoResults
		herd[w] = func() error {
			out = params.UserInfoResults{} // a fresh result, as package client decodes into
			return c.Call(ctx, "UserManager", 3, "", "UserInfo", in, &out)
		}
	}
	// run makes n calls with 8 workers and returns the wall time.
	run := func(n int, call []func() error) time.Duration {
		var next atomic.Int64
		var wg sync.WaitGroup
		var failed atomic.Value
		start := time.Now()
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(n) {
					if err := call[w](); err != nil {
						failed.CompareAndSwap(nil, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if err, _ := failed.Load().(error); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	run(round, echo) // warm up both
	run(round, herd)
	b.ResetTimer()
	var te, th time.Duration
	for done := 0; done < b.N; done += round {
		n := min(round, b.N-done)
		te += run(n, echo)
		th += run(n, herd)
	}
	b.StopTimer()
	re, rh := float64(b.N)/te.Seconds(), float64(b.N)/th.Seconds()
	b.ReportMetric(re, "echo-req/s")
	b.ReportMetric(rh, "userinfo-req/s")
	b.ReportMetric(rh/re, "userinfo/echo")
}

// BenchmarkNetLogin is target 3: a password login over the network
// (Admin.Login on a fresh connection; the dial is not timed) against a
// controller hashing with bcrypt at bcrypt.DefaultCost, and, in the same
// op, its floor: one bare bcrypt compare at that cost plus one bare echo
// round trip. It reports the p50s and login / (bcrypt + echo) (target:
// ≤ 1.05). Run it with -benchtime 20x: an op is two bcrypts and a dial.
func BenchmarkNetLogin(b *testing.B) {
	f := controllertest.New(b, &controllertest.Options{Hasher: users.Bcrypt{}, Fresh: true})
	e := newEnvFor(b, f, Options{})
	ws := newEchoServer(b).dial(b)
	hash, err := bcrypt.GenerateFromPassword([]byte(e.f.Password("admin")), bcrypt.DefaultCost)
	if err != nil {
		b.Fatal(err)
	}
	ctx := ctxFor(b)
	var lg, bc, echo []time.Duration
	for b.Loop() {
		b.StopTimer()
		c := e.dial(b, "/api")
		b.StartTimer()
		t0 := time.Now()
		if err := bcrypt.CompareHashAndPassword(hash, []byte(e.f.Password("admin"))); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := echoOnce(ws); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if _, err := login(ctx, c, "admin", e.f.Password("admin")); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		b.StopTimer()
		c.Close()
		b.StartTimer()
		bc, echo, lg = append(bc, t1.Sub(t0)), append(echo, t2.Sub(t1)), append(lg, t3.Sub(t2))
	}
	pb, pe, pl := median(bc), median(echo), median(lg)
	b.ReportMetric(float64(pb)/1e6, "bcrypt-p50-ms")
	b.ReportMetric(us(pe), "echo-p50-µs")
	b.ReportMetric(float64(pl)/1e6, "login-p50-ms")
	b.ReportMetric(float64(pl)/float64(pb+pe), "login/(bcrypt+echo)")
}

// TestNetIdle5000 is target 4, opt-in (HERD_BIG=1, 15–25 s here):
// it opens 5,000 connections logged in as admin, measures the process's
// resident memory (VmRSS: the server's and the 5,000 clients' together,
// both in this process), then the UserInfo and echo p50s on one more
// connection each, as in BenchmarkNetLatency, while the 5,000 stay open.
//
//	HERD_BIG=1 go test ./apiserver -run TestNetIdle5000 -v -timeout 10m
func TestNetIdle5000(t *testing.T) {
	if os.Getenv("HERD_BIG") == "" {
		t.Skip("HERD_BIG=1 to run: opens 5,000 connections")
	}
	n := 5000
	if s := os.Getenv("HERD_BIG_CONNS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	if need := uint64(2*n + 1000); rl.Cur < need {
		rl.Cur = min(need, rl.Max)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			t.Fatal(err)
		}
		if rl.Cur < need {
			t.Fatalf("RLIMIT_NOFILE hard limit %d < %d: raise it (ulimit -Hn)", rl.Max, need)
		}
	}
	e := newEnv(t, Options{MaxConns: n + 100, RPC: rpc.Options{IdleTimeout: 30 * time.Minute}})
	ctx := ctxFor(t)
	runtime.GC()
	rss0 := vmRSS(t)

	start := time.Now()
	conns := make([]*rpc.Client, n)
	var wg sync.WaitGroup
	var next atomic.Int64
	var failed atomic.Value
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				c, err := rpc.Dial(ctx, e.url("/api"), e.tls)
				if err == nil {
					_, err = login(ctx, c, "admin", e.f.Password("admin"))
				}
				if err != nil {
					failed.CompareAndSwap(nil, fmt.Errorf("connection %d: %w", i, err))
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	})
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
	opened := time.Since(start)
	runtime.GC()
	time.Sleep(time.Second)
	rss := vmRSS(t)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("%d logged-in connections opened in %v; goroutines %d", n, opened.Round(time.Millisecond), runtime.NumGoroutine())
	t.Logf("VmRSS before %.1f MiB, with them %.1f MiB (%.1f KiB a connection, server and client side); Go heap in use %.1f MiB, stacks %.1f MiB, Sys %.1f MiB",
		mib(rss0), mib(rss), float64(rss-rss0)/1024/float64(n), mib(ms.HeapInuse), mib(ms.StackInuse), mib(ms.Sys))
	if rss > 1<<30 {
		t.Errorf("VmRSS %.1f MiB > 1 GiB", mib(rss))
	}

	// Target 1 meanwhile, on one more connection of each kind.
	c := e.as(t, "admin")
	ws := newEchoServer(t).dial(t)
	in := params.UserInfoRequest{Entities: []params.Entity{{Tag: "user-admin"}}}
	var out params.UserInfoResults
	var echo, ui []time.Duration
	for range 2000 {
		t0 := time.Now()
		if err := echoOnce(ws); err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		out = params.UserInfoResults{}
		if err := c.Call(ctx, "UserManager", 3, "", "UserInfo", in, &out); err != nil {
			t.Fatal(err)
		}
		echo, ui = append(echo, t1.Sub(t0)), append(ui, time.Since(t1))
	}
	pe, pu := median(echo), median(ui)
	t.Logf("with %d idle connections: UserInfo p50 %.1f µs, echo p50 %.1f µs, ratio %.2f", n, us(pu), us(pe), float64(pu)/float64(pe))
	// Every idle connection is still there and logged in.
	for _, i := range []int{0, n / 2, n - 1} {
		if err := conns[i].Call(ctx, "Pinger", 1, "", "Ping", nil, nil); err != nil {
			t.Errorf("connection %d: %v", i, err)
		}
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// vmRSS is this process's resident set in bytes (/proc/self/status).
func vmRSS(t *testing.T) uint64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb * 1024
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}
