package controller

import (
	"testing"
	"time"
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
