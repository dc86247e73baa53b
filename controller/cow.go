package controller

import (
	"hash/maphash"
	"maps"
)

// Copy-on-write tables for the authorization snapshot: a fixed array of
// plain Go maps, a key's shard picked by hash/maphash. A published table is
// never written; a commit makes the next one by cloning only the shards it
// touches, so that one change among 100k entries copies a few hundred.

const nShards = 256

// table is a string-keyed table of nShards Go maps. The zero value is
// empty; a shard map may be nil, which reads as empty.
type table[V any] struct{ s *[nShards]map[string]V }

var shardSeed = maphash.MakeSeed()

func shardOf(k string) uint { return uint(maphash.String(shardSeed, k)) % nShards }

func (t table[V]) get(k string) (V, bool) {
	if t.s == nil {
		var zero V
		return zero, false
	}
	v, ok := t.s[shardOf(k)][k]
	return v, ok
}

// each calls fn for every entry, in no order.
func (t table[V]) each(fn func(k string, v V)) {
	if t.s == nil {
		return
	}
	for _, m := range t.s {
		for k, v := range m {
			fn(k, v)
		}
	}
}

// tedit collects changes to a table and makes the next one, cloning each
// touched shard once; an untouched table is kept as it is.
type tedit[V any] struct {
	base, next table[V]
	copied     [nShards / 64]uint64
}

func (e *tedit[V]) begin(t table[V]) { e.base = t }

// peek reads the table as edited so far.
func (e *tedit[V]) peek(k string) (V, bool) {
	if e.next.s != nil {
		return e.next.get(k)
	}
	return e.base.get(k)
}

func (e *tedit[V]) shard(k string) map[string]V {
	if e.next.s == nil {
		e.next.s = new([nShards]map[string]V)
		if e.base.s != nil {
			*e.next.s = *e.base.s
		}
	}
	i := shardOf(k)
	if e.copied[i/64]&(1<<(i%64)) == 0 {
		if e.next.s[i] == nil {
			e.next.s[i] = map[string]V{}
		} else {
			e.next.s[i] = maps.Clone(e.next.s[i])
		}
		e.copied[i/64] |= 1 << (i % 64)
	}
	return e.next.s[i]
}

func (e *tedit[V]) set(k string, v V) { e.shard(k)[k] = v }

func (e *tedit[V]) del(k string) {
	if _, ok := e.peek(k); ok {
		delete(e.shard(k), k)
	}
}

func (e *tedit[V]) done() table[V] {
	if e.next.s != nil {
		return e.next
	}
	return e.base
}
