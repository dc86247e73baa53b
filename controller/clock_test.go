package controller

import (
	"context"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/herd-project/herd/acl"
)

// The coarse clock follows the wall clock while it is read, stops its
// goroutine after a second without readers, and starts again on the next
// read.
func TestCoarseClock(t *testing.T) {
	var c coarseClock
	behind := func() time.Duration { got := c.UnixNano(); return time.Duration(time.Now().UnixNano() - got) }
	// A reader must see the clock at most slack behind: far more than a
	// tick, so that a busy CI machine not scheduling the goroutine for a
	// while does not fail the test, and less than the staleness below, so
	// that a clock that did not restart does.
	const slack, stale = 200 * time.Millisecond, 400 * time.Millisecond
	for range 3 {
		if d := behind(); d < 0 || d > slack {
			t.Fatalf("clock %v behind", d)
		}
		time.Sleep(stale) // under a second: the goroutine still runs
		if d := behind(); d < 0 || d > slack {
			t.Fatalf("clock %v behind while read", d)
		}
		deadline := time.Now().Add(5 * time.Second)
		for c.running.Load() {
			if time.Now().After(deadline) {
				t.Fatal("goroutine still running 5 s after the last read")
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(stale) // stale now, until read
	}
}

// BenchmarkAuthorizeClock is a check on the coarse clock (the default)
// and on time.Now (Options.Now, which the fast path then calls on every
// check); BenchmarkTimeNow is the bare clock read.
func BenchmarkAuthorizeClock(b *testing.B) {
	for _, c := range []struct {
		name string
		now  func() time.Time
	}{{"coarse", nil}, {"timeNow", time.Now}} {
		bs, err := Bootstrap(context.Background(), "c", Options{PasswordCost: bcrypt.MinCost, Now: c.now})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			if err := bs.Admin.Authorize("admin/default", acl.Write); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				_ = bs.Admin.Authorize("admin/default", acl.Write)
			}
		})
		bs.Controller.Close()
	}
}

var nowSink time.Time

func BenchmarkTimeNow(b *testing.B) {
	for b.Loop() {
		nowSink = time.Now()
	}
}
