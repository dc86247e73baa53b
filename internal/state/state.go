// Package state is the controller's working set: go-memdb tables and
// indexes, read and write transactions, and the encoding of rows for a
// store.Backend. It is internal: users reach state only through a
// controller.Session, or the controller's read-only views.
//
// go-memdb is the working set: every read is served from memory. Rows are
// plain values, stored by value, so they are copied in and out and never
// changed after insert. Every write transaction ends in Commit or Abort;
// callers write
//
//	t := st.Write()
//	defer t.Abort() // does nothing after Commit
//	...
//	return t.Commit()
//
// # Backends
//
// New loads everything a store.Backend holds into memory. Each commit's
// changes are encoded and sent to the backend's Apply before the memdb
// commit; if Apply fails, the transaction is aborted and Commit returns
// its error (errors.Is(err, store.ErrConflict) when another controller
// wrote first), so memory never holds what the backend did not take.
//
// # Encoding
//
// A row is held as one record: its table, its primary key (the id index's
// key) and a value of one format byte (1), a CRC-32C (Castagnoli,
// big-endian) and the row's JSON. The checksum covers the table, the key,
// the format byte and the JSON, so a row moved to another key or table is
// caught as well as flipped bits. The encoding is here once, so every
// backend holds the same bytes. Loading refuses a record whose checksum,
// format byte, JSON or key does not match with an error wrapping
// herd.ErrInvalid that names the table: a damaged store is never loaded
// with changed data.
//
// # Names
//
// Tables and indexes are named by the Table and Index constants only. An
// unknown name, arguments an index does not take, or a row type that is
// not the table's, is a bug in the caller: Get, List and DeleteAll panic
// with a message that says so (any test that runs the line finds it), and
// TestSchemaGolden checks every constant against the schema.
package state

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/hashicorp/go-memdb"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/store"
)

// Change is one row changed by a write transaction: Before is nil for an
// insert, After is nil for a delete.
type Change struct {
	Table  Table
	Before any
	After  any
}

// Store is the state. It is safe for concurrent use: reads run in
// parallel, writes one at a time.
type Store struct {
	db      *memdb.MemDB
	backend store.Backend

	mu       sync.Mutex
	commitMu sync.Mutex // held from the memdb commit through the hooks, so hooks see commits in order
	closed   bool
	onCommit []func(*Txn, []Change)
}

// empty is a pristine database that every store starts from. A go-memdb
// snapshot is O(1) (its radix trees are immutable and shared), so a new
// store costs a pointer copy instead of building eleven tables' indexes.
// Snapshots also skip go-memdb's watch-channel bookkeeping on every write,
// which Herd does not use: that halves the cost of a write transaction.
var empty = sync.OnceValues(func() (*memdb.MemDB, error) { return memdb.NewMemDB(schema()) })

// NewMemory returns an empty in-memory store.
func NewMemory() *Store {
	db, err := empty()
	if err != nil {
		panic(err) // the schema is a constant; a failure is a bug
	}
	return &Store{db: db.Snapshot()}
}

// New returns a store holding everything b holds, which takes every later
// commit (nil b: memory only). The store owns b from then on: Close
// closes it. If loading fails, b is left open.
func New(ctx context.Context, b store.Backend) (*Store, error) {
	s := NewMemory()
	if b == nil {
		return s, nil
	}
	if err := s.load(ctx, b); err != nil {
		return nil, err
	}
	s.backend = b
	return s, nil
}

// Between runs fn with a read transaction between two commits: fn sees
// exactly the commits whose OnCommit hooks have run, and no hook runs
// while fn does. A watcher reads its first state so, then takes the
// changes from a hook, without missing or repeating one. fn must be quick
// and must not write.
func (s *Store) Between(fn func(r *Txn)) {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	fn(s.Read())
}

// OnCommit registers fn to run after every committed write transaction,
// before Commit returns, with a read transaction on the state just
// committed and the transaction's net changes. Hooks run one commit at a
// time, in commit order. It is how derived views (such as the controller's
// authorization snapshot) stay exactly consistent with the store. Register
// hooks before the store is used; fn must not write.
func (s *Store) OnCommit(fn func(r *Txn, changes []Change)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onCommit = append(s.onCommit, fn)
}

// Clone returns an in-memory store holding a copy of s's current state.
// The copy costs a pointer: go-memdb's trees are immutable and shared
// until either store writes, and a write to one never shows in the other.
// The clone has no backend and no OnCommit hooks. Fixtures use it to start
// many tests from one state built once.
func (s *Store) Clone() *Store {
	return &Store{db: s.db.Snapshot()}
}

// Close closes the backend. Later commits fail with herd.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.backend != nil {
		return s.backend.Close()
	}
	return nil
}

// Txn is a read or write transaction.
type Txn struct {
	s     *Store
	t     *memdb.Txn
	write bool
	done  bool
}

// Read starts a read transaction on a consistent snapshot.
func (s *Store) Read() *Txn {
	return &Txn{s: s, t: s.db.Txn(false)}
}

// Write starts a write transaction. Only one runs at a time; the next waits.
func (s *Store) Write() *Txn {
	t := s.db.Txn(true)
	s.mu.Lock()
	track := s.backend != nil || len(s.onCommit) > 0
	s.mu.Unlock()
	if track {
		t.TrackChanges()
	}
	return &Txn{s: s, t: t, write: true}
}

// Abort ends the transaction without writing. It is safe to call after
// Commit, so `defer txn.Abort()` always works.
func (t *Txn) Abort() {
	if t.done {
		return
	}
	t.done = true
	t.t.Abort()
}

// Commit writes the transaction: to the backend first, then to memory.
func (t *Txn) Commit() error {
	if !t.write {
		t.Abort()
		return nil
	}
	if t.done {
		return herd.Errorf(herd.ErrFailedPrecondition, "transaction already ended")
	}
	s := t.s
	s.mu.Lock()
	closed, backend, hooks := s.closed, s.backend, s.onCommit
	s.mu.Unlock()
	if closed {
		t.Abort()
		return herd.Errorf(herd.ErrClosed, "store closed")
	}
	changes := t.changes()
	if backend != nil && len(changes) > 0 {
		records, err := encodeChanges(changes)
		if err == nil {
			// Commit has no context: a durable write, once started, is
			// finished rather than left half-known.
			err = backend.Apply(context.Background(), records)
		}
		if err != nil {
			t.Abort()
			return err
		}
	}
	t.finish(changes, hooks)
	return nil
}

// finish commits the transaction to memory and runs the hooks.
func (t *Txn) finish(changes []Change, hooks []func(*Txn, []Change)) {
	s := t.s
	t.done = true
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	t.t.Commit()
	if len(hooks) > 0 {
		r := s.Read()
		for _, fn := range hooks {
			fn(r, changes)
		}
	}
}

// changes returns the transaction's net changes so far.
func (t *Txn) changes() []Change {
	mc := t.t.Changes()
	if len(mc) == 0 {
		return nil
	}
	changes := make([]Change, len(mc))
	for i, c := range mc {
		changes[i] = Change{Table: Table(c.Table), Before: c.Before, After: c.After}
	}
	return changes
}

// Insert puts a row (by value) into table, replacing any row with the same id.
func (t *Txn) Insert(table Table, row any) error {
	if err := t.t.Insert(string(table), row); err != nil {
		return herd.Wrap(herd.ErrInvalid, err, fmt.Sprintf("store: insert into %s", table))
	}
	return nil
}

// Delete removes a row; a missing row is not an error.
func (t *Txn) Delete(table Table, row any) error {
	err := t.t.Delete(string(table), row)
	if err != nil && err != memdb.ErrNotFound {
		return herd.Wrap(herd.ErrInvalid, err, fmt.Sprintf("store: delete from %s", table))
	}
	return nil
}

// DeleteAll removes every row whose index matches args and returns how
// many. It panics on an unknown table or index (see the package doc).
func (t *Txn) DeleteAll(table Table, index Index, args ...any) (int, error) {
	n, err := t.t.DeleteAll(string(table), string(index), args...)
	if err != nil {
		misuse("DeleteAll", table, index, err)
	}
	return n, nil
}

// misuse panics: a read that go-memdb refuses names a table or index that
// does not exist, or passes arguments the index does not take.
func misuse(op string, table Table, index Index, err error) {
	panic(fmt.Sprintf("state.%s(%s, %s): %v (a bug in the caller: use the Table and Index constants with the index's arguments)", op, table, index, err))
}

// Get returns the row of table whose index matches args. It panics on an
// unknown table or index, or if T is not the table's row type.
func Get[T any](t *Txn, table Table, index Index, args ...any) (T, bool) {
	var zero T
	raw, err := t.t.First(string(table), string(index), args...)
	if err != nil {
		misuse("Get", table, index, err)
	}
	if raw == nil {
		return zero, false
	}
	v, ok := raw.(T)
	if !ok {
		misuse("Get", table, index, fmt.Errorf("row is %T, not %T", raw, zero))
	}
	return v, true
}

// List returns every row of table whose index matches args, in index
// order. It panics as Get does.
func List[T any](t *Txn, table Table, index Index, args ...any) []T {
	it, err := t.t.Get(string(table), string(index), args...)
	if err != nil {
		misuse("List", table, index, err)
	}
	var out []T
	for raw := it.Next(); raw != nil; raw = it.Next() {
		v, ok := raw.(T)
		if !ok {
			misuse("List", table, index, fmt.Errorf("row is %T, not %T", raw, v))
		}
		out = append(out, v)
	}
	return out
}

// Dump returns every row of every table, in id order. Two dumps are equal
// (reflect.DeepEqual) exactly when the state is the same; tests use it to
// show that a refused call changed nothing.
func (s *Store) Dump() map[Table][]any {
	t := s.Read()
	out := map[Table][]any{}
	for _, name := range Tables() {
		if rows := List[any](t, name, IndexID); len(rows) > 0 {
			out[name] = rows
		}
	}
	return out
}

// DumpJSON is Dump with each row as its JSON: a copy that shares nothing
// with the store and names no row type.
func (s *Store) DumpJSON() map[string][]string {
	out := map[string][]string{}
	for table, rows := range s.Dump() {
		for _, row := range rows {
			b, err := json.Marshal(row)
			if err != nil {
				panic(fmt.Sprintf("state: row of %s does not encode: %v", table, err)) // rows are plain values
			}
			out[string(table)] = append(out[string(table)], string(b))
		}
	}
	return out
}
