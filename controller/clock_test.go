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
	for range 3 {
		if d := behind(); d < 0 || d > 50*time.Millisecond {
			t.Fatalf("clock %v behind", d)
		}
		time.Sleep(20 * time.Millisecond)
		if d := behind(); d < 0 || d > 50*time.Millisecond {
			t.Fatalf("clock %v behind while read", d)
		}
		deadline := time.Now().Add(5 * time.Second)
		for c.running.Load() {
			if time.Now().After(deadline) {
				t.Fatal("goroutine still running 5 s after the last read")
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond) // stale now, until read
	}
}
