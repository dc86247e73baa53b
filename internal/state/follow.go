package state

import (
	"bytes"
	"context"
	"strings"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/store"
)

// Following other controllers.
//
// When the backend is a store.Follower (etcd), other controllers commit to
// it too. The controller follows their commits into this working set with
// ApplyFollowed, and loads everything again with Reload when the
// backend's history is gone. Both write to memory only (the backend
// already holds what they write), one write transaction at a time with
// local writes, and run the OnCommit hooks with the transaction's net
// changes, exactly as a local commit does: the authorization fast path,
// caches and watchers cannot tell a followed commit from a local one.
//
// Order: a local write holds go-memdb's write lock from its first read
// through its backend Apply to its memory commit, and ApplyFollowed and
// Reload take the same lock. So the working set always holds exactly the
// commits up to the follower's revision: a local Apply guarded by that
// revision wins only if no other commit came after it, and a followed
// commit the working set has not taken yet makes it lose.

// Follower returns the store's backend as a store.Follower, or nil when it
// has none or it is not one.
func (s *Store) Follower() store.Follower {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, _ := s.backend.(store.Follower)
	return f
}

// ApplyFollowed writes a change set another controller committed (as
// Follow hands it on: records in the controller's encoding, deletes with a
// nil Value) into memory, without calling the backend, and runs the
// OnCommit hooks. Every record is checked and decoded first, as Load
// checks them: a damaged one is refused with an error wrapping
// herd.ErrInvalid, and nothing is written.
func (s *Store) ApplyFollowed(records []store.Record) error {
	rows := make([]any, len(records))
	for i, r := range records {
		if _, ok := rowCodecs[Table(r.Table)]; !ok {
			return herd.Errorf(herd.ErrInvalid, "store: unknown table %q", r.Table)
		}
		if r.Value == nil {
			continue
		}
		row, err := decode(r)
		if err != nil {
			return err
		}
		rows[i] = row
	}
	t, hooks, err := s.memoryWrite()
	if err != nil {
		return err
	}
	defer t.Abort()
	for i, r := range records {
		table := Table(r.Table)
		if rows[i] != nil {
			if err := t.Insert(table, rows[i]); err != nil {
				return err
			}
			continue
		}
		if old, ok := rowByKey(t, table, r.Key); ok {
			if err := t.Delete(table, old); err != nil {
				return err
			}
		}
	}
	t.finish(t.changes(), hooks)
	return nil
}

// Reload loads everything the backend holds again, as New does, and makes
// memory hold exactly that; the OnCommit hooks see the net differences
// from what memory held, as one commit. Local writes wait while it runs.
func (s *Store) Reload(ctx context.Context) error {
	s.mu.Lock()
	b := s.backend
	s.mu.Unlock()
	if b == nil {
		return herd.Errorf(herd.ErrFailedPrecondition, "store: no backend to reload from")
	}
	t, hooks, err := s.memoryWrite()
	if err != nil {
		return err
	}
	defer t.Abort()
	fresh := NewMemory()
	if err := fresh.load(ctx, b); err != nil {
		return err
	}
	r := fresh.Read()
	for _, table := range Tables() {
		old := map[string]any{}
		for _, row := range List[any](t, table, IndexID) {
			k, err := key(table, row)
			if err != nil {
				return herd.Wrap(herd.ErrInvalid, err, "store")
			}
			old[k] = row
		}
		for _, row := range List[any](r, table, IndexID) {
			k, err := key(table, row)
			if err != nil {
				return herd.Wrap(herd.ErrInvalid, err, "store")
			}
			prev, had := old[k]
			delete(old, k)
			if had {
				same, err := sameRow(table, k, prev, row)
				if err != nil {
					return err
				}
				if same {
					continue
				}
			}
			if err := t.Insert(table, row); err != nil {
				return err
			}
		}
		for _, row := range old {
			if err := t.Delete(table, row); err != nil {
				return err
			}
		}
	}
	t.finish(t.changes(), hooks)
	return nil
}

// memoryWrite starts a write transaction that tracks its changes, for a
// commit to memory only; it fails once the store is closed.
func (s *Store) memoryWrite() (*Txn, []func(*Txn, []Change), error) {
	tx := s.db.Txn(true)
	s.mu.Lock()
	closed, hooks := s.closed, s.onCommit
	s.mu.Unlock()
	if closed {
		tx.Abort()
		return nil, nil, herd.Errorf(herd.ErrClosed, "store closed")
	}
	tx.TrackChanges()
	return &Txn{s: s, t: tx, write: true}, hooks, nil
}

// sameRow reports whether two rows of a table encode alike: rows read
// back from a backend differ from the ones written in what JSON does not
// keep (a time's monotonic reading), never in what the backend holds.
func sameRow(table Table, k string, a, b any) (bool, error) {
	ea, err := encode(table, k, a)
	if err != nil {
		return false, err
	}
	eb, err := encode(table, k, b)
	if err != nil {
		return false, err
	}
	return bytes.Equal(ea, eb), nil
}

// rowByKey finds the row of table whose primary key is k. A key is its
// fields each followed by a NUL (see fieldIndex), so the fields are the
// index's arguments; should a field hold a NUL itself, the table is
// scanned instead.
func rowByKey(t *Txn, table Table, k string) (any, bool) {
	if strings.HasSuffix(k, "\x00") {
		parts := strings.Split(k[:len(k)-1], "\x00")
		args := make([]any, len(parts))
		for i, p := range parts {
			args[i] = p
		}
		if raw, err := t.t.First(string(table), string(IndexID), args...); err == nil {
			if raw == nil {
				return nil, false
			}
			if got, err := key(table, raw); err == nil && got == k {
				return raw, true
			}
		}
	}
	for _, row := range List[any](t, table, IndexID) {
		if got, err := key(table, row); err == nil && got == k {
			return row, true
		}
	}
	return nil, false
}

// Barrier returns once no write transaction begun before it is in
// progress: a local commit whose backend Apply has returned is then in
// memory too. (A write holds go-memdb's write lock from its start to its
// memory commit; Barrier takes the lock and lets it go.)
func (s *Store) Barrier() {
	s.db.Txn(true).Abort()
}
