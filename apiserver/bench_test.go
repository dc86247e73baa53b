package apiserver

import (
	"testing"

	"github.com/gorilla/websocket"
	"github.com/herd-project/herd/internal/params"
)

// Figures (2026-11-29, go test -bench . -count 6, medians by benchstat;
// 2 cores of an AMD EPYC VM shared with other builds, ± 34–62 %, so read
// the same-run ratios), client and server both counted:
//
//	run   UserInfo   Ping      Echo      UserInfo/Echo  Ping/Echo
//	1     67.5 µs    39.7 µs   21.8 µs   3.1×           1.8×
//	2     86.6 µs    58.8 µs   36.5 µs   2.4×           1.6×
//	3     65.3 µs    41.3 µs   37.6 µs   1.7×           1.1×
//
// allocs/op: UserInfo 98 (6.0 KiB), Ping 45 (3.6 KiB), Echo 7 (1.1 KiB);
// since the transport work of h-rpcperf (BENCHMARKS.md, "Network API"):
// UserInfo 70 (3.8 KiB), Ping 20 (1.8 KiB).

// BenchmarkUserInfo is one authorized call (UserManager.UserInfo for the
// caller: decode, a Session call that checks the session and decides,
// encode) on an open TLS loopback connection, through Herd's rpc.Client.
func BenchmarkUserInfo(b *testing.B) {
	e := newEnv(b, Options{})
	c := e.as(b, "admin")
	ctx := ctxFor(b)
	in := params.UserInfoRequest{Entities: []params.Entity{{Tag: "user-admin"}}}
	var out params.UserInfoResults
	b.ReportAllocs()
	for b.Loop() {
		out = params.UserInfoResults{} // a fresh result, as package client decodes into
		if err := c.Call(ctx, "UserManager", 3, "", "UserInfo", in, &out); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPing is the cheapest authorized call (Pinger.Ping checks the
// session): what the API layer costs without a facade's work.
func BenchmarkPing(b *testing.B) {
	e := newEnv(b, Options{})
	c := e.as(b, "admin")
	ctx := ctxFor(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Call(ctx, "Pinger", 1, "", "Ping", nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEcho is the floor in the same run: a bare websocket echo of a
// frame of UserInfo's size over the same kind of TLS loopback connection,
// no RPC layer, no session (as internal/rpc's BenchmarkEchoRoundTrip).
// UserInfo / Echo is the API's cost as a ratio that survives a noisy
// machine.
func BenchmarkEcho(b *testing.B) {
	ws := newEchoServer(b).dial(b)
	msg := echoMsg
	b.ReportAllocs()
	for b.Loop() {
		if err := ws.WriteMessage(websocket.TextMessage, msg); err != nil {
			b.Fatal(err)
		}
		if _, _, err := ws.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
}
