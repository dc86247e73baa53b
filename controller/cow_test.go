package controller

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
)

// TestCowTable runs random sets and deletes, a few per edit as a commit
// makes them, and checks every snapshot against a plain map: the current
// one in full, and older ones still unchanged at the end.
func TestCowTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	var tab table[int]
	ref := map[string]int{}
	type frozen struct {
		tab table[int]
		ref map[string]int
	}
	var old []frozen
	check := func(f frozen, when string) {
		t.Helper()
		n := 0
		f.tab.each(func(k string, v int) {
			n++
			if want, ok := f.ref[k]; !ok || want != v {
				t.Fatalf("%s: %q = %d, want %d, %v", when, k, v, want, ok)
			}
		})
		if n != len(f.ref) {
			t.Fatalf("%s: %d entries, want %d", when, n, len(f.ref))
		}
		for k, v := range f.ref {
			if got, ok := f.tab.get(k); !ok || got != v {
				t.Fatalf("%s: get(%q) = %d, %v; want %d", when, k, got, ok, v)
			}
		}
		if _, ok := f.tab.get("absent"); ok {
			t.Fatalf("%s: found a key never set", when)
		}
	}
	for step := range 3000 {
		var e tedit[int]
		e.begin(tab)
		for range 1 + rng.IntN(8) {
			k := fmt.Sprint(rng.IntN(4000))
			if rng.IntN(10) < 3 {
				e.del(k)
				delete(ref, k)
				continue
			}
			v := rng.Int()
			e.set(k, v)
			ref[k] = v
		}
		tab = e.done()
		if step%100 == 0 {
			cur := frozen{tab, maps.Clone(ref)}
			check(cur, fmt.Sprintf("step %d", step))
			old = append(old, cur)
		}
	}
	for i, f := range old {
		check(f, fmt.Sprintf("snapshot %d, later", i))
	}
}
