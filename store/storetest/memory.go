package storetest

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"sync"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/store"
)

// Memory is a store.Backend that keeps its records in memory, written
// outside package store to show that a backend needs nothing else. It
// can fail or conflict on demand, for tests of what a controller does
// then. Reopen gives a new handle on the same records, as reopening a
// file does.
type Memory struct {
	data *memData

	mu     sync.Mutex
	closed bool
}

type memData struct {
	mu      sync.Mutex
	tables  map[string]map[string][]byte
	failErr error // returned by the next Apply, which then applies nothing
	applied int
}

var _ store.Backend = (*Memory)(nil)

// NewMemory returns an empty memory backend.
func NewMemory() *Memory {
	return &Memory{data: &memData{tables: map[string]map[string][]byte{}}}
}

// Reopen returns a new, open handle on m's records (m may be closed).
func (m *Memory) Reopen() *Memory { return &Memory{data: m.data} }

// FailNext makes the next Apply, on any handle, return err and apply
// nothing.
func (m *Memory) FailNext(err error) {
	m.data.mu.Lock()
	defer m.data.mu.Unlock()
	m.data.failErr = err
}

// ConflictNext makes the next Apply fail as if another controller had
// written first: with an error wrapping store.ErrConflict.
func (m *Memory) ConflictNext() {
	m.FailNext(herd.Wrap(herd.ErrFailedPrecondition, store.ErrConflict, "storetest: injected conflict"))
}

// Applied returns how many Apply calls have succeeded, on any handle.
func (m *Memory) Applied() int {
	m.data.mu.Lock()
	defer m.data.mu.Unlock()
	return m.data.applied
}

func (m *Memory) usable(ctx context.Context) error {
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return herd.Errorf(herd.ErrClosed, "storetest: memory backend is closed")
	}
	return ctx.Err()
}

// Load calls fn with every record, table by table, in key order.
func (m *Memory) Load(ctx context.Context, fn func(store.Record) error) error {
	if err := m.usable(ctx); err != nil {
		return err
	}
	m.data.mu.Lock()
	var all []store.Record
	for _, table := range slices.Sorted(maps.Keys(m.data.tables)) {
		rows := m.data.tables[table]
		for _, k := range slices.Sorted(maps.Keys(rows)) {
			all = append(all, store.Record{Table: table, Key: k, Value: bytes.Clone(rows[k])})
		}
	}
	m.data.mu.Unlock()
	for _, r := range all {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// Apply applies changes, all or none.
func (m *Memory) Apply(ctx context.Context, changes []store.Record) error {
	if err := m.usable(ctx); err != nil {
		return err
	}
	for _, c := range changes {
		if c.Table == "" || c.Key == "" {
			return herd.Errorf(herd.ErrInvalid, "storetest: record with an empty table or key (%q, %q)", c.Table, c.Key)
		}
	}
	m.data.mu.Lock()
	defer m.data.mu.Unlock()
	if err := m.data.failErr; err != nil {
		m.data.failErr = nil
		return err
	}
	for _, c := range changes {
		rows := m.data.tables[c.Table]
		if c.Value == nil {
			delete(rows, c.Key)
			continue
		}
		if rows == nil {
			rows = map[string][]byte{}
			m.data.tables[c.Table] = rows
		}
		rows[c.Key] = bytes.Clone(c.Value)
	}
	m.data.applied++
	return nil
}

// Close closes this handle; Reopen gives another.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}
