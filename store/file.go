package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/herd-project/herd"
)

// FormatVersion is the version of the file format this Herd reads and
// writes. Version 2 rows carry a checksum; a file of any other version is
// refused (see the package doc).
const FormatVersion = 2

// DefaultLockTimeout is how long OpenFile waits for another process to
// release the file.
const DefaultLockTimeout = 5 * time.Second

var (
	metaBucket = []byte("herd.meta")
	versionKey = []byte("version")
)

// FileOptions configure OpenFile.
type FileOptions struct {
	// Create makes a new file, which must not exist yet. Without it the
	// file must exist and hold a Herd store.
	Create bool
	// LockTimeout is how long to wait while another process has the file
	// open; 0 means DefaultLockTimeout.
	LockTimeout time.Duration
}

// File is a Backend kept in a bbolt file: one bucket a table, fsync'd on
// every Apply, locked against other processes.
type File struct {
	db   *bolt.DB
	path string

	mu     sync.Mutex
	closed bool
}

var _ Backend = (*File)(nil)

// OpenFile opens (or, with Create, creates) the store file at path. A new
// file is created exclusively (O_EXCL), with mode 0600, so that of two
// processes creating one path, one fails with herd.ErrAlreadyExists and
// neither touches the other's file. The file is locked: a second process
// waits up to opts.LockTimeout, then fails with herd.ErrFailedPrecondition
// naming the file. A file of another format version is
// herd.ErrFailedPrecondition; a corrupt, truncated or foreign file is
// herd.ErrInvalid, and is never written to. An existing file is locked
// and then checked (its meta pages, freelist and page tree) before bbolt
// reads it, so a hostile file is refused rather than hanging or crashing
// the process. An existing file that others may read is made mode 0600.
func OpenFile(path string, opts FileOptions) (f *File, err error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if !opts.Create {
		fi, statErr := os.Stat(path)
		switch {
		case errors.Is(statErr, os.ErrNotExist):
			return nil, herd.Errorf(herd.ErrNotFound, "store file %s not found", path)
		case statErr != nil:
			return nil, herd.Wrap(herd.ErrFailedPrecondition, statErr, "cannot read store file "+path)
		case fi.Size() == 0:
			// bbolt would initialise an empty file: a truncated store must
			// stay as it is.
			return nil, herd.Errorf(herd.ErrInvalid, "store file %s is empty (truncated?)", path)
		}
	}
	// bbolt may panic on some corrupt files, or fault reading a truncated
	// one past its end (SIGBUS on the memory map); turn both into an error.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, herd.Errorf(herd.ErrInvalid, "store file %s is corrupt: %v", path, r)
		}
	}()
	created := false
	bopts := &bolt.Options{Timeout: opts.LockTimeout}
	if opts.Create {
		bopts.OpenFile = func(name string, flag int, mode os.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag|os.O_CREATE|os.O_EXCL, mode)
			created = err == nil
			return f, err
		}
	} else {
		bopts.OpenFile = func(name string, flag int, mode os.FileMode) (*os.File, error) {
			return openChecked(name, flag&^os.O_CREATE, mode, opts.LockTimeout)
		}
	}
	db, err := bolt.Open(path, 0o600, bopts)
	if err != nil {
		err = openError(path, err, opts)
		if created { // made here, and not a store: leave nothing behind
			err = errors.Join(err, os.Remove(path))
		}
		return nil, err
	}
	f = &File{db: db, path: path}
	if opts.Create {
		err = f.init()
	} else {
		err = f.checkVersion()
	}
	if err != nil {
		if created { // removed while still locked, so no one opens it in between
			err = errors.Join(err, os.Remove(path))
		}
		return nil, errors.Join(err, db.Close())
	}
	if !opts.Create {
		// The state holds secrets: a file others may read (copied, or
		// made by hand) is made the owner's alone again.
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(path, 0o600); err != nil {
				return nil, errors.Join(herd.Wrap(herd.ErrFailedPrecondition, err, "cannot make store file "+path+" private"), db.Close())
			}
		}
	}
	return f, nil
}

// openError is the error of a failed bolt.Open, as a Herd error.
func openError(path string, err error, opts FileOptions) error {
	if he := (*herd.Error)(nil); errors.As(err, &he) {
		return err
	}
	switch {
	case errors.Is(err, os.ErrExist):
		return herd.Errorf(herd.ErrAlreadyExists, "store file %s already exists", path)
	case opts.Create && errors.Is(err, os.ErrNotExist):
		return herd.Wrap(herd.ErrFailedPrecondition, err, "cannot create store file "+path)
	case errors.Is(err, os.ErrNotExist):
		return herd.Errorf(herd.ErrNotFound, "store file %s not found", path)
	case errors.Is(err, bolterrors.ErrTimeout):
		return herd.Errorf(herd.ErrFailedPrecondition, "store file %s is in use by another process (waited %s)", path, opts.LockTimeout)
	case errors.Is(err, os.ErrPermission):
		return herd.Wrap(herd.ErrFailedPrecondition, err, "cannot open store file "+path)
	}
	return herd.Wrap(herd.ErrInvalid, err, fmt.Sprintf("store file %s is corrupt or not a Herd store", path))
}

// Path returns the file's path.
func (f *File) Path() string { return f.path }

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
	fail := func(err error) (*os.File, error) { return nil, errors.Join(err, f.Close()) }
	if err := lockFile(f, timeout); err != nil {
		return fail(err)
	}
	fi, err := f.Stat()
	if err != nil {
		return fail(herd.Wrap(herd.ErrFailedPrecondition, err, "cannot read store file "+path))
	}
	data := make([]byte, fi.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		return fail(herd.Wrap(herd.ErrFailedPrecondition, err, "cannot read store file "+path))
	}
	if err := checkBolt(data); err != nil {
		return fail(herd.Wrap(herd.ErrInvalid, err, fmt.Sprintf("store file %s is corrupt", path)))
	}
	return f, nil
}

func (f *File) init() error {
	err := f.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		return meta.Put(versionKey, []byte(strconv.Itoa(FormatVersion)))
	})
	return herd.Wrap(herd.ErrFailedPrecondition, err, "cannot initialise store file "+f.path)
}

// checkVersion refuses a file that is not a Herd store or that holds
// another format version.
func (f *File) checkVersion() error {
	return f.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(metaBucket)
		if meta == nil {
			return herd.Errorf(herd.ErrInvalid, "store file %s is not a Herd store (no format version)", f.path)
		}
		raw := meta.Get(versionKey)
		v, err := strconv.Atoi(string(raw))
		switch {
		case err != nil || v < 1:
			return herd.Errorf(herd.ErrInvalid, "store file %s has a format version that is not valid: %q", f.path, raw)
		case v > FormatVersion:
			return herd.Errorf(herd.ErrFailedPrecondition, "store file %s has format version %d, newer than this Herd's %d: upgrade Herd", f.path, v, FormatVersion)
		case v < FormatVersion:
			return herd.Errorf(herd.ErrFailedPrecondition, "store file %s has format version %d, from a Herd older than rows with checksums; this Herd reads only version %d and does not upgrade files: bootstrap a new controller", f.path, v, FormatVersion)
		}
		return nil
	})
}

// Load calls fn with every row of the file, table by table, in key order,
// inside one read transaction.
func (f *File) Load(ctx context.Context, fn func(Record) error) (err error) {
	if err := f.usable(ctx); err != nil {
		return err
	}
	// As in OpenFile: a truncated file may fault past its end. A panic in
	// fn is fn's own, and goes on.
	inFn := false
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if inFn {
				panic(r)
			}
			err = herd.Errorf(herd.ErrInvalid, "store file %s is corrupt: %v", f.path, r)
		}
	}()
	return f.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, bk *bolt.Bucket) error {
			if bytes.Equal(name, metaBucket) {
				return nil
			}
			table := string(name)
			n := 0
			return bk.ForEach(func(k, v []byte) error {
				if v == nil {
					return herd.Errorf(herd.ErrInvalid, "store file %s: table %s holds a bucket at key %q", f.path, table, k)
				}
				if n++; n%1024 == 0 {
					if err := ctx.Err(); err != nil {
						return err
					}
				}
				inFn = true
				err := fn(Record{Table: table, Key: string(k), Value: v})
				inFn = false
				return err
			})
		})
	})
}

// Apply writes the changes in one bbolt transaction, which fsyncs before
// it returns.
func (f *File) Apply(ctx context.Context, changes []Record) error {
	if err := f.usable(ctx); err != nil {
		return err
	}
	for _, c := range changes {
		switch {
		case c.Table == "" || c.Table == string(metaBucket):
			return herd.Errorf(herd.ErrInvalid, "store: record of table %q: not a table name", c.Table)
		case c.Key == "" || len(c.Key) > bolt.MaxKeySize:
			return herd.Errorf(herd.ErrInvalid, "store: record of table %s has a key of %d bytes", c.Table, len(c.Key))
		}
	}
	err := f.db.Update(func(tx *bolt.Tx) error {
		for _, c := range changes {
			if c.Value == nil {
				if bk := tx.Bucket([]byte(c.Table)); bk != nil {
					if err := bk.Delete([]byte(c.Key)); err != nil {
						return err
					}
				}
				continue
			}
			bk, err := tx.CreateBucketIfNotExists([]byte(c.Table))
			if err != nil {
				return err
			}
			if err := bk.Put([]byte(c.Key), c.Value); err != nil {
				return err
			}
		}
		return nil
	})
	return herd.Wrap(herd.ErrFailedPrecondition, err, "store: cannot write to "+f.path)
}

// usable refuses a closed file or a done context.
func (f *File) usable(ctx context.Context) error {
	f.mu.Lock()
	closed := f.closed
	f.mu.Unlock()
	if closed {
		return herd.Errorf(herd.ErrClosed, "store file %s is closed", f.path)
	}
	return ctx.Err()
}

// Close releases the file and its lock. Closing twice does nothing.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	return f.db.Close()
}
