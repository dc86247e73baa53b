package store

import (
	"context"

	"github.com/herd-project/herd"
)

// Record is one row as a backend holds it: opaque bytes under a table and
// a key. In a change set given to Apply, a nil Value deletes the key.
type Record struct {
	Table string
	Key   string
	Value []byte
}

// Backend is where a controller's state lives between processes. A
// controller holds its working set in memory; the backend loads it at
// open and takes every committed change set before the commit returns.
//
// Backends store bytes and know nothing of rows: encoding and checksums
// are the controller's, so every backend holds the same bytes for the same
// state.
type Backend interface {
	// Load calls fn with every record the backend holds, stopping at the
	// first error fn returns, which Load returns. The Value of a record
	// is valid only until fn returns.
	Load(ctx context.Context, fn func(Record) error) error
	// Apply makes changes durable, all or none, before it returns. It
	// applies them in order (a later record of the same table and key
	// wins); deleting a missing key is not an error. It must not keep
	// the records' slices. An error wrapping ErrConflict means another
	// controller applied changes first; the caller re-runs its write on
	// fresher state.
	Apply(ctx context.Context, changes []Record) error
	// Close releases the backend. Load and Apply then fail.
	Close() error
}

// ErrConflict is wrapped by the error of an Apply that lost a race to
// another controller sharing the backend: nothing was applied, and the
// write may be run again once the caller has seen the other change. A
// backend used by one process (the bbolt file) never returns it. It is
// also a herd.ErrFailedPrecondition, so that callers that do not retry
// still see one of Herd's sentinels.
var ErrConflict error = &herd.Error{Kind: herd.ErrFailedPrecondition, Msg: "store: conflicting write by another controller"}
