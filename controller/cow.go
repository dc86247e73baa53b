package controller

import (
	"hash/maphash"
	"maps"
)

// Copy-on-write tables for the authorization snapshot: a fixed array of
// plain Go maps. A published snapshot is never written; a commit makes the
// next one by cloning only the shards it touches, so one grant change at
// 100k grants copies a few hundred entries, not all of them.

const nShards = 256

// shards is a table of nShards Go maps; s is never nil in a snapshot
// (shard maps may be nil, which reads as empty).
type shards[K comparable, V any] struct{ s *[nShards]map[K]V }

func (t shards[K, V]) at(i uint, k K) (V, bool) {
	v, ok := t.s[i%nShards][k]
	return v, ok
}

// each calls fn for every entry, in no order.
func (t shards[K, V]) each(fn func(k K, v V)) {
	for _, m := range t.s {
		for k, v := range m {
			fn(k, v)
		}
	}
}

// strShard picks a string key's shard.
var shardSeed = maphash.MakeSeed()

func strShard(k string) uint { return uint(maphash.String(shardSeed, k)) }

// table is a shards keyed by strings.
type table[V any] struct{ shards[string, V] }

func (t table[V]) get(k string) (V, bool) { return t.at(strShard(k), k) }

// edit collects changes to a shards and makes the next one, cloning each
// touched shard once; an untouched table is kept as it is.
type edit[K comparable, V any] struct {
	base   *[nShards]map[K]V
	next   *[nShards]map[K]V
	copied [nShards / 64]uint64
}

func (e *edit[K, V]) begin(t shards[K, V]) {
	e.base = t.s
	if e.base == nil {
		e.base = new([nShards]map[K]V)
	}
}

// peek reads the table as edited so far.
func (e *edit[K, V]) peek(i uint, k K) (V, bool) {
	s := e.base
	if e.next != nil {
		s = e.next
	}
	v, ok := s[i%nShards][k]
	return v, ok
}

func (e *edit[K, V]) shard(i uint) map[K]V {
	i %= nShards
	if e.next == nil {
		e.next = new([nShards]map[K]V)
		*e.next = *e.base
	}
	if e.copied[i/64]&(1<<(i%64)) == 0 {
		if e.next[i] == nil {
			e.next[i] = map[K]V{}
		} else {
			e.next[i] = maps.Clone(e.next[i])
		}
		e.copied[i/64] |= 1 << (i % 64)
	}
	return e.next[i]
}

func (e *edit[K, V]) set(i uint, k K, v V) { e.shard(i)[k] = v }

func (e *edit[K, V]) del(i uint, k K) {
	if _, ok := e.peek(i, k); ok {
		delete(e.shard(i), k)
	}
}

func (e *edit[K, V]) done() shards[K, V] {
	if e.next == nil {
		return shards[K, V]{e.base}
	}
	return shards[K, V]{e.next}
}

// tedit is an edit of a table, by key alone.
type tedit[V any] struct{ edit[string, V] }

func (e *tedit[V]) begin(t table[V])        { e.edit.begin(t.shards) }
func (e *tedit[V]) peek(k string) (V, bool) { return e.edit.peek(strShard(k), k) }
func (e *tedit[V]) set(k string, v V)       { e.edit.set(strShard(k), k, v) }
func (e *tedit[V]) del(k string)            { e.edit.del(strShard(k), k) }
func (e *tedit[V]) done() table[V]          { return table[V]{e.edit.done()} }
