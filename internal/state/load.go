package state

import (
	"context"
	"fmt"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/store"
)

// batch is a run of one table's decoded rows.
type batch struct {
	table Table
	rows  []any
}

// load reads everything b holds into memory in one go-memdb transaction.
// Records are checked and decoded on the backend's goroutine while another
// inserts them into go-memdb, so that decoding costs little more than the
// inserts alone (BenchmarkOpenLarge in package store).
func (s *Store) load(ctx context.Context, b store.Backend) error {
	const size = 512
	ch := make(chan batch, 8)
	done := make(chan error, 1)
	txn := s.db.Txn(true) // straight into memory: nothing to write back
	defer txn.Abort()
	go func() {
		var err error
		for bt := range ch {
			for _, row := range bt.rows {
				if err != nil {
					break // drain: the loader stops at its next send
				}
				if e := txn.Insert(string(bt.table), row); e != nil {
					err = herd.Wrap(herd.ErrInvalid, e, fmt.Sprintf("store: table %s", bt.table))
				}
			}
		}
		done <- err
	}()
	var cur batch
	send := func() {
		if len(cur.rows) > 0 {
			ch <- cur
		}
		cur = batch{}
	}
	err := b.Load(ctx, func(r store.Record) error {
		row, err := decode(r)
		if err != nil {
			return err
		}
		if Table(r.Table) != cur.table || len(cur.rows) == size {
			send()
			cur = batch{table: Table(r.Table), rows: make([]any, 0, size)}
		}
		cur.rows = append(cur.rows, row)
		return nil
	})
	if err == nil {
		send()
	}
	close(ch)
	if insErr := <-done; err == nil {
		err = insErr
	}
	if err != nil {
		return err
	}
	txn.Commit()
	return nil
}
