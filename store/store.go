// Package store holds Herd's state: go-memdb tables and indexes, read and
// write transactions, and the seam for a durable backend.
//
// go-memdb is the working set: every read is served from memory. Rows are
// plain values, stored by value, so they are copied in and out and never
// changed after insert. Every write transaction ends in Commit or Abort;
// callers write `defer txn.Abort()` (Abort after Commit does nothing).
//
// A Backend, when set, receives each write transaction's changes before the
// memdb commit; if it fails, the transaction is aborted and Commit returns
// its error, so memory never holds what the backend did not take.
//
// OpenFile gives a store whose backend is a bbolt file: one file, ACID,
// fsync'd on every commit, locked against a second process, with a format
// version. Rows are stored as JSON, one bbolt bucket a table, keyed by the
// row's primary index key; opening decodes them on one goroutine while
// another inserts them into go-memdb. Another durable backend (a networked
// one) implements Backend and sits in the same place.
//
// No public signature exposes a go-memdb or bbolt type.
package store

import (
	"sync"

	"github.com/hashicorp/go-memdb"

	"github.com/herd-project/herd"
)

// Change is one row changed by a write transaction: Before is nil for an
// insert, After is nil for a delete.
type Change struct {
	Table  string
	Before any
	After  any
}

// Backend makes a store durable. Apply must not return until the changes
// are durable; an error aborts the transaction.
type Backend interface {
	Apply(changes []Change) error
	Close() error
}

// Store is the state. It is safe for concurrent use: reads run in
// parallel, writes one at a time.
type Store struct {
	db      *memdb.MemDB
	backend Backend

	mu       sync.Mutex
	commitMu sync.Mutex // held from the memdb commit through the hooks, so hooks see commits in order
	closed   bool
	onCommit []func(*Txn, []Change)
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Store {
	s, err := New(nil)
	if err != nil {
		panic(err) // the schema is a constant; a failure is a bug
	}
	return s
}

// empty is a pristine database that every store starts from. A go-memdb
// snapshot is O(1) (its radix trees are immutable and shared), so a new
// store costs a pointer copy instead of building eleven tables' indexes.
// Snapshots also skip go-memdb's watch-channel bookkeeping on every write,
// which Herd does not use: that halves the cost of a write transaction.
var empty = sync.OnceValues(func() (*memdb.MemDB, error) { return memdb.NewMemDB(Schema()) })

// New returns an empty store that sends its writes to b (nil: memory only).
func New(b Backend) (*Store, error) {
	db, err := empty()
	if err != nil {
		return nil, err
	}
	return &Store{db: db.Snapshot(), backend: b}, nil
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

// Close closes the backend. Later transactions fail with herd.ErrClosed.
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
	var changes []Change
	if mc := t.t.Changes(); len(mc) > 0 {
		changes = make([]Change, len(mc))
		for i, c := range mc {
			changes[i] = Change{Table: c.Table, Before: c.Before, After: c.After}
		}
	}
	if backend != nil && len(changes) > 0 {
		if err := backend.Apply(changes); err != nil {
			t.Abort()
			return err
		}
	}
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
	return nil
}

// Insert puts a row (by value) into table, replacing any row with the same id.
func (t *Txn) Insert(table string, row any) error {
	if err := t.t.Insert(table, row); err != nil {
		return herd.Wrap(herd.ErrInvalid, err, "store: insert into "+table)
	}
	return nil
}

// Delete removes a row; a missing row is not an error.
func (t *Txn) Delete(table string, row any) error {
	err := t.t.Delete(table, row)
	if err != nil && err != memdb.ErrNotFound {
		return herd.Wrap(herd.ErrInvalid, err, "store: delete from "+table)
	}
	return nil
}

// DeleteAll removes every row whose index matches args and returns how many.
func (t *Txn) DeleteAll(table, index string, args ...any) (int, error) {
	n, err := t.t.DeleteAll(table, index, args...)
	if err != nil {
		return 0, herd.Wrap(herd.ErrInvalid, err, "store: delete from "+table)
	}
	return n, nil
}

// Get returns the row of table whose index matches args.
func Get[T any](t *Txn, table, index string, args ...any) (T, bool) {
	var zero T
	raw, err := t.t.First(table, index, args...)
	if err != nil || raw == nil {
		return zero, false
	}
	v, ok := raw.(T)
	return v, ok
}

// List returns every row of table whose index matches args, in index order.
func List[T any](t *Txn, table, index string, args ...any) []T {
	it, err := t.t.Get(table, index, args...)
	if err != nil {
		return nil
	}
	var out []T
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if v, ok := raw.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// Dump returns every row of every table, in id order. Two dumps are equal
// (reflect.DeepEqual) exactly when the state is the same; tests use it to
// show that a refused call changed nothing.
func (s *Store) Dump() map[string][]any {
	t := s.Read()
	out := map[string][]any{}
	for _, name := range Tables() {
		it, err := t.t.Get(name, IndexID)
		if err != nil {
			continue
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			out[name] = append(out[name], raw)
		}
	}
	return out
}
