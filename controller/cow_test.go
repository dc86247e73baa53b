package controller

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestCowTables runs random sets and deletes, a few per edit as a commit
// makes them, on both copy-on-write tables, past the size at which they
// split into shards and back down, and checks every snapshot against a
// plain map: the current one in full, and an older one still unchanged.
func TestCowTables(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	var (
		c   cow[int]
		ct  ctab[int]
		ref = map[uint64]int{}
	)
	type frozen struct {
		c   cow[int]
		ct  ctab[int]
		ref map[uint64]int
	}
	var old []frozen
	key := func() uint64 {
		// Small keys collide in the low bits and cluster, the way grant
		// keys (two small ids) do; some are large.
		if rng.IntN(4) == 0 {
			return rng.Uint64() | 1
		}
		return uint64(rng.IntN(4000) + 1)
	}
	check := func(f frozen, when string) {
		t.Helper()
		if f.c.n != len(f.ref) || f.ct.n != len(f.ref) {
			t.Fatalf("%s: sizes cow %d ctab %d, want %d", when, f.c.n, f.ct.n, len(f.ref))
		}
		for k, v := range f.ref {
			s := fmt.Sprint(k)
			if got, ok := f.c.get(s, hs(s)); !ok || got != v {
				t.Fatalf("%s: cow[%d] = %d, %v; want %d", when, k, got, ok, v)
			}
			if got, ok := f.ct.get(k); !ok || got != v {
				t.Fatalf("%s: ctab[%d] = %d, %v; want %d", when, k, got, ok, v)
			}
		}
		for range 50 {
			k := key()
			if _, in := f.ref[k]; in {
				continue
			}
			s := fmt.Sprint(k)
			if _, ok := f.c.get(s, hs(s)); ok {
				t.Fatalf("%s: cow has %d", when, k)
			}
			if _, ok := f.ct.get(k); ok {
				t.Fatalf("%s: ctab has %d", when, k)
			}
		}
	}
	for step := range 3000 {
		var e edit[int]
		var ce cedit[int]
		e.begin(c)
		ce.begin(ct)
		grow := step < 1500 // up past splitAt, then mostly down
		for range 1 + rng.IntN(8) {
			k := key()
			s := fmt.Sprint(k)
			if rng.IntN(10) < 3 || (!grow && rng.IntN(10) < 8) {
				for k2 := range ref { // delete one that is there
					k = k2
					break
				}
				s = fmt.Sprint(k)
				e.del(s, hs(s))
				ce.del(k)
				delete(ref, k)
				continue
			}
			v := rng.Int()
			e.set(s, hs(s), v)
			ce.set(k, v)
			ref[k] = v
		}
		c, ct = e.done(), ce.done()
		cur := frozen{c, ct, make(map[uint64]int, len(ref))}
		for k, v := range ref {
			cur.ref[k] = v
		}
		if step%100 == 0 {
			check(cur, fmt.Sprintf("step %d", step))
			old = append(old, cur)
		}
	}
	if ct.sbits == 0 || len(c.shards) != maxShards {
		t.Fatalf("tables never split: ctab %d bits, cow %d shards", ct.sbits, len(c.shards))
	}
	for i, f := range old {
		check(f, fmt.Sprintf("snapshot %d, later", i))
	}
}

// hs tells apart names that differ in one byte, in any word of them, or in
// length, and spreads them evenly over the shards.
func TestHashSpread(t *testing.T) {
	seen := map[uint64]string{}
	var buckets [maxShards]int
	n := 0
	for _, format := range []string{"u%d/m", "admin/model-%04d", "owner-%d/a-rather-long-model-name-for-hashing", "%d", "x%07d"} {
		for i := range 20_000 {
			s := fmt.Sprintf(format, i)
			h := hs(s)
			if other, ok := seen[h]; ok && other != s {
				t.Fatalf("hs(%q) = hs(%q)", s, other)
			}
			seen[h] = s
			buckets[h>>56]++
			n++
		}
	}
	mean := n / maxShards
	for i, b := range buckets {
		if b < mean*3/4 || b > mean*5/4 {
			t.Errorf("shard %d holds %d names, mean %d", i, b, mean)
		}
	}
}
