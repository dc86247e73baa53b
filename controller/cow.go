package controller

import (
	"maps"
	"math/bits"
	"math/rand/v2"
	"slices"
)

// Copy-on-write tables for the authorization snapshot.
//
// A snapshot is immutable; a commit makes the next one by copying only what
// it touches. Small tables are one shard, so a fixture's commit copies a few
// small maps; past splitAt entries a table is split into maxShards shards,
// so a commit to a large controller copies a few hundred entries, not all.

const (
	maxShards = 256
	splitAt   = 1024
)

// hashSeed is random per process, so that nobody outside can choose names
// that collide (a collision costs a slow path, never a wrong answer).
var hashSeed = rand.Uint64() | 1

// hs hashes a string: eight bytes at a time, each folded in with a 64×64
// to 128-bit multiply (the wyhash construction); the last eight bytes are
// read as one word, overlapping the ones before (the length is mixed in).
// The two halves of the last product are multiplied together once more, as
// wyhash does: folding them with a constant alone left names that differ in
// a few digits bunched in some buckets for about one seed in ten
// (TestHashSpread). Names shorter than eight bytes are read as wyhash reads
// them, without a loop. For names of 4 to 26 bytes it takes 6–9 ns here
// against 10–12 ns for hash/maphash.String (medians of
// go test ./controller -run XXX -bench '^BenchmarkHash$' -count 8, ± 5–33 %),
// which is much of a check.
func hs(s string) uint64 { return hsSeed(hashSeed, s) }

func hsSeed(seed uint64, s string) uint64 {
	const p0, p1, p2, p3 = 0xa0761d6478bd642f, 0xe7037ed1a0b428db, 0x8ebc6af09c88c6e3, 0x589965cc75374cc3
	h := seed ^ uint64(len(s))*p0
	var last uint64
	switch {
	case len(s) >= 8:
		last = le64(s[len(s)-8:])
		for ; len(s) > 8; s = s[8:] {
			h = mum(h^le64(s), p1)
		}
	case len(s) >= 4: // two words of four, overlapping
		last = le32(s[len(s)-4:])<<32 | le32(s)
	case len(s) > 0: // first, middle and last byte
		last = uint64(s[0])<<16 | uint64(s[len(s)>>1])<<8 | uint64(s[len(s)-1])
	}
	hi, lo := bits.Mul64(h^last, p2)
	return mum(lo^p3, hi^seed)
}

func le32(s string) uint64 {
	_ = s[3]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24
}

func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hkey is hs(s) as a ctab key, which is never 0.
func hkey(s string) uint64 {
	if h := hs(s); h != 0 {
		return h
	}
	return 1
}

// cow is a copy-on-write map with string keys, looked up with the key's hs.
// The zero value is empty.
type cow[V any] struct {
	shards []map[string]V // none, 1 or maxShards
	n      int
}

func (m *cow[V]) get(k string, h uint64) (V, bool) {
	if len(m.shards) == 0 {
		var zero V
		return zero, false
	}
	v, ok := m.shards[h&uint64(len(m.shards)-1)][k]
	return v, ok
}

// each calls fn for every entry, in no order.
func (m *cow[V]) each(fn func(k string, v V)) {
	for _, s := range m.shards {
		for k, v := range s {
			fn(k, v)
		}
	}
}

// edit collects changes to a cow map and makes a new one, copying each
// touched shard once; an untouched map is kept as it is.
type edit[V any] struct {
	base   cow[V]
	next   []map[string]V
	copied [maxShards / 64]uint64
	n      int
}

func (e *edit[V]) begin(m cow[V]) { e.base, e.n = m, m.n }

// peek reads the map as edited so far, without copying anything.
func (e *edit[V]) peek(k string, h uint64) (V, bool) {
	if e.next == nil {
		return e.base.get(k, h)
	}
	v, ok := e.next[h&uint64(len(e.next)-1)][k]
	return v, ok
}

func (e *edit[V]) shard(h uint64) map[string]V {
	if e.next == nil {
		if len(e.base.shards) == 0 {
			e.next = make([]map[string]V, 1)
		} else {
			e.next = slices.Clone(e.base.shards)
		}
	}
	i := h & uint64(len(e.next)-1)
	if e.copied[i/64]&(1<<(i%64)) == 0 {
		if e.next[i] == nil {
			e.next[i] = map[string]V{}
		} else {
			e.next[i] = maps.Clone(e.next[i])
		}
		e.copied[i/64] |= 1 << (i % 64)
	}
	return e.next[i]
}

func (e *edit[V]) set(k string, h uint64, v V) {
	s := e.shard(h)
	if _, ok := s[k]; !ok {
		e.n++
	}
	s[k] = v
}

func (e *edit[V]) del(k string, h uint64) {
	if _, ok := e.peek(k, h); !ok {
		return
	}
	delete(e.shard(h), k)
	e.n--
}

func (e *edit[V]) done() cow[V] {
	if e.next == nil {
		return e.base
	}
	if len(e.next) == 1 && e.n > splitAt {
		next := make([]map[string]V, maxShards)
		for k, v := range e.next[0] {
			i := hs(k) & (maxShards - 1)
			if next[i] == nil {
				next[i] = make(map[string]V, 2*e.n/maxShards)
			}
			next[i][k] = v
		}
		return cow[V]{shards: next, n: e.n}
	}
	return cow[V]{shards: e.next, n: e.n}
}

// ctab is a copy-on-write hash table with uint64 keys (never 0): shards of
// open-addressing tables with linear probing, at most half full. A lookup
// is a multiply, a shift and a short scan of adjacent slots, with no
// hashing of its own; shards are held by value, so the slots are two loads
// away from the table.
type ctab[V any] struct {
	shards []otab[V] // none, 1 or maxShards
	sbits  uint8     // log2(len(shards))
	n      int
}

type otab[V any] struct {
	slots []oslot[V] // none, or a power of two
	shift uint8      // 64 - log2(len(slots))
	n     int
}

type oslot[V any] struct {
	k uint64
	v V
}

const golden = 0x9E3779B97F4A7C15

// The top sbits bits of k*golden choose the shard; the next ones the slot.
func shardIndex(k uint64, sbits uint8) uint64 { return (k * golden) >> (64 - uint64(sbits)) }

func home(k uint64, sbits, shift uint8) uint64 { return ((k * golden) << sbits) >> shift }

func (c *ctab[V]) get(k uint64) (V, bool) {
	var zero V
	if len(c.shards) == 0 {
		return zero, false
	}
	t := &c.shards[shardIndex(k, c.sbits)&uint64(len(c.shards)-1)]
	if len(t.slots) == 0 {
		return zero, false
	}
	mask := uint64(len(t.slots) - 1)
	for i := home(k, c.sbits, t.shift) & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.k == k {
			return s.v, true
		}
		if s.k == 0 {
			return zero, false
		}
	}
}

func newOtab[V any](size int) otab[V] {
	n := 8
	for n < 2*size {
		n *= 2
	}
	return otab[V]{slots: make([]oslot[V], n), shift: uint8(65 - bits.Len(uint(n)))}
}

func (t *otab[V]) put(k uint64, v V, sbits uint8) {
	mask := uint64(len(t.slots) - 1)
	for i := home(k, sbits, t.shift); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.k == k {
			s.v = v
			return
		}
		if s.k == 0 {
			s.k, s.v = k, v
			t.n++
			return
		}
	}
}

// remove deletes k by shifting back the entries after it, so that every
// entry stays reachable from its home slot without tombstones.
func (t *otab[V]) remove(k uint64, sbits uint8) bool {
	if len(t.slots) == 0 {
		return false
	}
	mask := uint64(len(t.slots) - 1)
	i := home(k, sbits, t.shift)
	for ; t.slots[i].k != k; i = (i + 1) & mask {
		if t.slots[i].k == 0 {
			return false
		}
	}
	for j := (i + 1) & mask; t.slots[j].k != 0; j = (j + 1) & mask {
		h := home(t.slots[j].k, sbits, t.shift)
		// The entry at j may move to i unless its home is in (i, j].
		if (i < j && (h <= i || h > j)) || (j < i && h <= i && h > j) {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = oslot[V]{}
	t.n--
	return true
}

// grown returns a copy of t with room for at least size entries.
func (t *otab[V]) grown(size int, sbits uint8) otab[V] {
	n := newOtab[V](size)
	for _, s := range t.slots {
		if s.k != 0 {
			n.put(s.k, s.v, sbits)
		}
	}
	return n
}

// cedit collects changes to a ctab, like edit for cow.
type cedit[V any] struct {
	base   ctab[V]
	next   []otab[V]
	copied [maxShards / 64]uint64
	n      int
}

func (e *cedit[V]) begin(c ctab[V]) { e.base, e.n = c, c.n }

func (e *cedit[V]) peek(k uint64) (V, bool) {
	if e.next == nil {
		return e.base.get(k)
	}
	c := ctab[V]{shards: e.next, sbits: e.base.sbits}
	return c.get(k)
}

// tab returns k's shard, copied for this edit, with room for one more entry.
func (e *cedit[V]) tab(k uint64) *otab[V] {
	if e.next == nil {
		if len(e.base.shards) == 0 {
			e.next = make([]otab[V], 1)
		} else {
			e.next = slices.Clone(e.base.shards)
		}
	}
	sb := e.base.sbits
	i := shardIndex(k, sb) & uint64(len(e.next)-1)
	t := &e.next[i]
	if e.copied[i/64]&(1<<(i%64)) == 0 {
		switch {
		case len(t.slots) == 0:
			*t = newOtab[V](1)
		case (t.n+1)*2 > len(t.slots):
			*t = t.grown(t.n+1, sb)
		default:
			t.slots = slices.Clone(t.slots)
		}
		e.copied[i/64] |= 1 << (i % 64)
	} else if (t.n+1)*2 > len(t.slots) {
		*t = t.grown(t.n+1, sb)
	}
	return t
}

func (e *cedit[V]) set(k uint64, v V) {
	t := e.tab(k)
	n := t.n
	t.put(k, v, e.base.sbits)
	e.n += t.n - n
}

func (e *cedit[V]) del(k uint64) {
	if _, ok := e.peek(k); !ok {
		return
	}
	if e.tab(k).remove(k, e.base.sbits) {
		e.n--
	}
}

func (e *cedit[V]) done() ctab[V] {
	if e.next == nil {
		return e.base
	}
	if e.base.sbits == 0 && e.n > splitAt {
		const sb = 8
		next := make([]otab[V], maxShards)
		for _, s := range e.next[0].slots {
			if s.k == 0 {
				continue
			}
			t := &next[shardIndex(s.k, sb)]
			switch {
			case len(t.slots) == 0:
				*t = newOtab[V](2 * e.n / maxShards)
			case (t.n+1)*2 > len(t.slots):
				*t = t.grown(t.n+1, sb)
			}
			t.put(s.k, s.v, sb)
		}
		return ctab[V]{shards: next, sbits: sb, n: e.n}
	}
	return ctab[V]{shards: e.next, sbits: e.base.sbits, n: e.n}
}
