package store

import (
	"context"
	"errors"

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

// Follower is the optional interface of a Backend that several
// controllers share (etcd). A controller checks for it with a type
// assertion; when its backend has it, the controller follows the other
// controllers' commits into its working set, and a write whose Apply lost
// a race waits until the winning commit has been followed before it runs
// again.
//
// A follower keeps a revision: a number that grows with every commit made
// on the shared state, up to which it has seen every commit (through Load,
// its own Apply, or a change set Follow has handed on).
type Follower interface {
	Backend
	// Follow calls fn with the change set of every commit the backend
	// has not seen, made by another controller, in commit order, deletes
	// with a nil Value; a commit is seen once fn returns nil. It returns
	// when ctx is done (ctx's error), when fn fails (fn's error), when the
	// backend is closed (an error wrapping herd.ErrClosed), or when the
	// history it needs is gone (an error wrapping ErrCompacted: Load
	// everything again, then Follow again). It is called after Load and
	// not while Load runs; one Follow runs at a time.
	Follow(ctx context.Context, fn func(changes []Record) error) error
	// Revision returns the revision up to which the backend has seen
	// every commit.
	Revision() int64
	// WaitRevision returns nil once Revision() >= rev, or ctx's error,
	// or an error wrapping herd.ErrClosed when the backend is closed.
	WaitRevision(ctx context.Context, rev int64) error
	// Latest asks the shared backend (not a cache) for the revision of
	// the newest commit made on it by any controller. Once Revision()
	// reaches it, the caller has seen every commit acknowledged before
	// Latest was called.
	Latest(ctx context.Context) (int64, error)
}

// ErrCompacted is wrapped by the error Follow returns when the backend no
// longer holds the history after its revision: the caller loads
// everything again before it follows again. It is also a
// herd.ErrFailedPrecondition.
var ErrCompacted error = &herd.Error{Kind: herd.ErrFailedPrecondition, Msg: "store: history compacted, load again"}

// ConflictError is an error wrapping ErrConflict that says which commit
// won: Revision is the follower's revision of the newest commit when the
// Apply was refused (0 if the backend does not know). A caller that waits
// until its follower has seen Revision runs its write again on state at
// least as fresh as the winner's.
type ConflictError struct {
	Revision int64
	Msg      string
}

func (e *ConflictError) Error() string {
	if e.Msg == "" {
		return ErrConflict.Error()
	}
	return e.Msg + ": " + ErrConflict.Error()
}

// Unwrap returns ErrConflict.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// ConflictRevision returns the Revision of the ConflictError err wraps, or
// 0 when it wraps none.
func ConflictRevision(err error) int64 {
	var ce *ConflictError
	if errors.As(err, &ce) {
		return ce.Revision
	}
	return 0
}
