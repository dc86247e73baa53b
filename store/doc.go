// Package store is the seam between a Herd controller and where its state
// lives: the Backend interface, and File, the backend kept in a bbolt
// file. The controller's working set (go-memdb tables, indexes and
// transactions) is not here but in internal/state, behind the controller:
// nothing public hands out a writable store.
//
// A Backend is two-way and small. Load gives everything it holds, at open;
// Apply takes each committed change set, durably, before the commit
// returns. Backends hold opaque bytes per (table, key): the rows' encoding
// and their checksums (a CRC-32C over table, key and JSON) are the
// controller's, written once, so every backend holds the same bytes and a
// row damaged at rest is refused at load, whichever backend held it.
//
// Another backend is written outside this package (store/storetest's
// Memory is one) and proves itself with storetest.Run, the conformance
// suite that File and Memory run: apply, close, reopen, load, compare;
// deletes; a failed Apply that leaves the backend as it was; a writer
// process killed mid-write.
//
// # Several controllers
//
// A backend shared by several controller processes (etcd) returns an
// error wrapping ErrConflict from Apply when another controller applied
// changes the caller had not yet seen (a ConflictError says which
// revision won); the caller re-runs its write on fresher state. To feed
// each controller's working set with the others' changes, such a backend
// implements the optional Follower interface, checked for with a type
// assertion: Follow hands on the other controllers' commits in order,
// Revision and WaitRevision say how far it has seen. Load and Apply do not
// change for it.
//
// # The file
//
// OpenFile gives a File: one bbolt file, ACID, fsync'd on every Apply,
// created exclusively with mode 0600 and locked (flock) against a second
// process. Rows are kept one bbolt bucket a table, under their keys; the
// bucket "herd.meta" holds the format version. An existing file is locked
// and checked (its meta pages, freelist and page tree) before bbolt reads
// it, and faults reading a truncated file are turned into errors, so a
// hostile or damaged file is refused with herd.ErrInvalid rather than
// hanging or crashing the process, and is never written to.
//
// Format version 2 is the first whose rows carry checksums. A file of
// version 1 (rows of bare JSON) is refused with herd.ErrFailedPrecondition
// rather than upgraded in place: Herd has no releases whose files must be
// kept, and an upgrade would have to trust the unchecked rows it sealed.
// A file of a newer version is refused the same way.
//
// No exported signature here names a go-memdb or bbolt type.
package store
