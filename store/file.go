package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/hashicorp/go-memdb"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/models"
)

// FormatVersion is the version of the file format this Herd writes. A file
// of a newer version is refused; older versions will be migrated on open.
const FormatVersion = 1

// DefaultLockTimeout is how long OpenFile waits for another process to
// release the file.
const DefaultLockTimeout = 5 * time.Second

var metaBucket = []byte("herd.meta")

// FileOptions configure OpenFile.
type FileOptions struct {
	// Create makes a new file, which must not exist yet. Without it the
	// file must exist and hold a Herd store.
	Create bool
	// LockTimeout is how long to wait while another process has the file
	// open; 0 means DefaultLockTimeout.
	LockTimeout time.Duration
}

// rowCodecs decode each table's rows; the encoding is JSON of the row type.
var rowCodecs = map[string]func([]byte) (any, error){
	TableController:   decodeRow[Controller],
	TableUsers:        decodeRow[User],
	TableRemovedUsers: decodeRow[RemovedUser],
	TableModels:       decodeRow[models.Model],
	TableGrants:       decodeRow[Grant],
	TableApplications: decodeRow[models.Application],
	TableUnits:        decodeRow[models.Unit],
	TableMachines:     decodeRow[models.Machine],
	TableSessions:     decodeRow[Session],
	TableSecrets:      decodeRow[Secret],
}

func decodeRow[T any](b []byte) (any, error) {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// fileBackend writes each transaction's changes to a bbolt file, fsync'd,
// before go-memdb commits them.
type fileBackend struct {
	db     *bolt.DB
	schema *memdb.DBSchema
}

// OpenFile opens (or, with Create, creates) a store kept in a bbolt file at
// path: the file's rows are loaded into memory, and every write
// transaction is written to the file and fsync'd before it is committed in
// memory. The file is created with mode 0600 and locked: a second process
// waits up to opts.LockTimeout, then fails with herd.ErrFailedPrecondition
// naming the file. A file of a newer format version is
// herd.ErrFailedPrecondition; a corrupt, truncated or foreign file is
// herd.ErrInvalid, and is never written to. An existing file is locked
// and then checked (its meta pages, freelist and page tree) before bbolt
// reads it, so a hostile file is refused rather than hanging or crashing
// the process.
func OpenFile(path string, opts FileOptions) (s *Store, err error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	fi, statErr := os.Stat(path)
	switch {
	case opts.Create && statErr == nil:
		return nil, herd.Errorf(herd.ErrAlreadyExists, "store file %s already exists", path)
	case !opts.Create && errors.Is(statErr, os.ErrNotExist):
		return nil, herd.Errorf(herd.ErrNotFound, "store file %s not found", path)
	case !opts.Create && statErr != nil:
		return nil, herd.Wrap(herd.ErrFailedPrecondition, statErr, "cannot read store file "+path)
	case !opts.Create && fi.Size() == 0:
		// bbolt would initialise an empty file: a truncated store must
		// stay as it is.
		return nil, herd.Errorf(herd.ErrInvalid, "store file %s is empty (truncated?)", path)
	}
	// bbolt may panic on some corrupt files, or fault reading a truncated
	// one past its end (SIGBUS on the memory map); turn both into an error.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, herd.Errorf(herd.ErrInvalid, "store file %s is corrupt: %v", path, r)
		}
	}()
	bopts := &bolt.Options{Timeout: opts.LockTimeout}
	if !opts.Create {
		bopts.OpenFile = func(name string, flag int, mode os.FileMode) (*os.File, error) {
			return openChecked(name, flag, mode, opts.LockTimeout)
		}
	}
	db, err := bolt.Open(path, 0o600, bopts)
	if err != nil {
		if he := (*herd.Error)(nil); errors.As(err, &he) {
			return nil, err
		}
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, herd.Errorf(herd.ErrFailedPrecondition, "store file %s is in use by another process (waited %s)", path, opts.LockTimeout)
		}
		return nil, herd.Wrap(herd.ErrInvalid, err, fmt.Sprintf("store file %s is corrupt or not a Herd store", path))
	}
	b := &fileBackend{db: db, schema: Schema()}
	fail := func(err error) (*Store, error) {
		db.Close()
		return nil, err
	}
	if opts.Create {
		if err := b.init(); err != nil {
			return fail(herd.Wrap(herd.ErrFailedPrecondition, err, "cannot initialise store file "+path))
		}
	}
	st, err := New(b)
	if err != nil {
		return fail(err)
	}
	if err := b.load(path, st); err != nil {
		return fail(err)
	}
	return st, nil
}

// openChecked opens an existing store file for bbolt, locks it as bbolt
// would, and checks its meta pages, freelist and page tree before bbolt
// reads any of them: bbolt follows whatever a file says, and a hostile or
// corrupt one can send its cursor round a cycle, or make it allocate for
// a freelist of 2^33 pages, which no recover catches. The lock is held
// from here on, so bbolt reads what was checked.
func openChecked(path string, flag int, mode os.FileMode, timeout time.Duration) (*os.File, error) {
	f, err := os.OpenFile(path, flag, mode)
	if err != nil {
		return nil, err
	}
	if err := lockFile(f, timeout); err != nil {
		f.Close()
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, herd.Wrap(herd.ErrFailedPrecondition, err, "cannot read store file "+path)
	}
	data := make([]byte, fi.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		f.Close()
		return nil, herd.Wrap(herd.ErrFailedPrecondition, err, "cannot read store file "+path)
	}
	if err := checkBolt(data); err != nil {
		f.Close()
		return nil, herd.Wrap(herd.ErrInvalid, err, fmt.Sprintf("store file %s is corrupt", path))
	}
	return f, nil
}

func (b *fileBackend) init() error {
	return b.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		if err := meta.Put([]byte("version"), []byte(strconv.Itoa(FormatVersion))); err != nil {
			return err
		}
		for _, t := range Tables() {
			if _, err := tx.CreateBucketIfNotExists([]byte(t)); err != nil {
				return err
			}
		}
		return nil
	})
}

// load checks the format version and reads every row into memory in one
// go-memdb transaction, without writing anything back.
func (b *fileBackend) load(path string, st *Store) error {
	return b.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(metaBucket)
		if meta == nil {
			return herd.Errorf(herd.ErrInvalid, "store file %s is not a Herd store (no format version)", path)
		}
		v, err := strconv.Atoi(string(meta.Get([]byte("version"))))
		if err != nil || v < 1 {
			return herd.Errorf(herd.ErrInvalid, "store file %s has a format version that is not valid: %q", path, meta.Get([]byte("version")))
		}
		if v > FormatVersion {
			return herd.Errorf(herd.ErrFailedPrecondition, "store file %s has format version %d, newer than this Herd's %d: upgrade Herd", path, v, FormatVersion)
		}
		return b.loadRows(path, tx, st)
	})
}

// decoded is a batch of one table's rows, decoded.
type decoded struct {
	table string
	rows  []any
	err   error
}

// loadRows decodes rows on one goroutine while another inserts them into
// go-memdb, so that decoding costs little more than the inserts alone.
// The decoder is the only user of tx while it runs.
func (b *fileBackend) loadRows(path string, tx *bolt.Tx, st *Store) error {
	const batch = 512
	ch := make(chan decoded, 8)
	stop := make(chan struct{})
	go func() {
		defer close(ch)
		// As in OpenFile: a truncated file may fault past its end.
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() {
			if r := recover(); r != nil {
				select {
				case ch <- decoded{err: herd.Errorf(herd.ErrInvalid, "store file %s is corrupt: %v", path, r)}:
				case <-stop:
				}
			}
		}()
		for _, table := range Tables() {
			bk := tx.Bucket([]byte(table))
			if bk == nil {
				continue
			}
			decode := rowCodecs[table]
			out := decoded{table: table}
			err := bk.ForEach(func(k, raw []byte) error {
				row, err := decode(raw)
				if err != nil {
					return herd.Wrap(herd.ErrInvalid, err, fmt.Sprintf("store file %s: table %s, key %q", path, table, k))
				}
				out.rows = append(out.rows, row)
				if len(out.rows) == batch {
					select {
					case ch <- out:
					case <-stop:
						return errStopped
					}
					out = decoded{table: table, rows: make([]any, 0, batch)}
				}
				return nil
			})
			if err == nil && len(out.rows) > 0 {
				select {
				case ch <- out:
				case <-stop:
					return
				}
			}
			if err != nil {
				if err != errStopped {
					select {
					case ch <- decoded{err: err}:
					case <-stop:
					}
				}
				return
			}
		}
	}()
	defer func() {
		close(stop)
		for range ch { // let the decoder finish with tx before View returns
		}
	}()
	txn := st.db.Txn(true) // straight into memory: nothing to write back
	defer txn.Abort()
	for d := range ch {
		if d.err != nil {
			return d.err
		}
		for _, row := range d.rows {
			if err := txn.Insert(d.table, row); err != nil {
				return herd.Wrap(herd.ErrInvalid, err, fmt.Sprintf("store file %s: table %s", path, d.table))
			}
		}
	}
	txn.Commit()
	return nil
}

var errStopped = errors.New("stopped")

// key is a row's primary key, as its id index makes it.
func (b *fileBackend) key(table string, row any) ([]byte, error) {
	ix, ok := b.schema.Tables[table].Indexes[IndexID].Indexer.(memdb.SingleIndexer)
	if !ok {
		return nil, fmt.Errorf("table %s: id index is not single-valued", table)
	}
	ok, k, err := ix.FromObject(row)
	if err != nil || !ok {
		return nil, fmt.Errorf("table %s: no primary key: %v", table, err)
	}
	return k, nil
}

// Apply writes the changes in one bbolt transaction, which fsyncs before
// it returns.
func (b *fileBackend) Apply(changes []Change) error {
	err := b.db.Update(func(tx *bolt.Tx) error {
		for _, c := range changes {
			bk, err := tx.CreateBucketIfNotExists([]byte(c.Table))
			if err != nil {
				return err
			}
			if c.After == nil {
				if c.Before == nil {
					continue // made and removed in the same transaction
				}
				k, err := b.key(c.Table, c.Before)
				if err != nil {
					return err
				}
				if err := bk.Delete(k); err != nil {
					return err
				}
				continue
			}
			k, err := b.key(c.Table, c.After)
			if err != nil {
				return err
			}
			if c.Before != nil {
				// An update that changed the primary key removes the old one.
				if old, err := b.key(c.Table, c.Before); err == nil && string(old) != string(k) {
					if err := bk.Delete(old); err != nil {
						return err
					}
				}
			}
			v, err := json.Marshal(c.After)
			if err != nil {
				return err
			}
			if err := bk.Put(k, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return herd.Wrap(herd.ErrFailedPrecondition, err, "store: cannot write to "+b.db.Path())
	}
	return nil
}

func (b *fileBackend) Close() error { return b.db.Close() }
