package apiserver

import (
	"sync"
	"time"
)

// limiter is a set of token buckets keyed by a user name or a source
// address, for login and registration attempts. Memory is bounded: at most
// max keys are kept; a full bucket carries no information and is dropped
// first, and when none is full the least recently used key goes (its
// holder starts again with a full burst, which only makes it faster to
// evict a key than to fill the table).
type limiter struct {
	rate  float64 // tokens per second
	burst float64
	max   int
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst, max int, now func() time.Time) *limiter {
	return &limiter{rate: rate, burst: float64(burst), max: max, now: now, buckets: make(map[string]*bucket)}
}

// reserve takes one token for key and returns how long the caller must
// wait before acting (0: at once). If the wait would exceed maxWait it
// takes nothing and returns ok false.
func (l *limiter) reserve(key string, maxWait time.Duration) (wait time.Duration, ok bool) {
	if l == nil || l.rate <= 0 {
		return 0, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.buckets[key]
	if b == nil {
		l.makeRoom(now)
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	wait = time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	if wait > maxWait {
		return wait, false
	}
	b.tokens-- // owed: the next caller waits longer
	return wait, true
}

// refund gives back a token reserve took, for an attempt another limit
// refused.
func (l *limiter) refund(key string) {
	if l == nil || l.rate <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.buckets[key]; b != nil {
		b.tokens = min(l.burst, b.tokens+1)
	}
}

// makeRoom drops refilled buckets, then the least recently used one, until
// a new key fits. Called with mu held.
func (l *limiter) makeRoom(now time.Time) {
	if len(l.buckets) < l.max {
		return
	}
	var oldKey string
	var oldest time.Time
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
			continue
		}
		if oldKey == "" || b.last.Before(oldest) {
			oldKey, oldest = k, b.last
		}
	}
	if len(l.buckets) >= l.max && oldKey != "" {
		delete(l.buckets, oldKey)
	}
}

// size is the number of keys held, for tests.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
