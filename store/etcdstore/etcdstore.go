// Package etcdstore is a store.Backend kept in etcd, for several controller
// processes that share one etcd cluster.
//
// # Keys
//
// A record is the etcd key PREFIX/TABLE/KEY with the record's value as is
// (the controller's encoding, with its checksum). A table must not contain
// "/"; a key may. One more key, PREFIX/_rev, is written by every Apply: its
// value is the writing backend's id and its ModRevision is the revision of
// the last commit made through any backend on the prefix.
//
// # The guard
//
// A Backend remembers rev, the etcd revision up to which it has seen every
// commit on its prefix: the revision Load read at, the revision of its own
// last commit, or the last commit handed to a Follow callback. Apply is one
// etcd transaction
//
//	If(ModRevision(PREFIX/_rev) < rev+1) Then(puts and deletes…, Put(PREFIX/_rev, id))
//
// Since every commit moves PREFIX/_rev, the guard holds exactly when no
// commit was made on the prefix after rev, that is, when the decisions
// behind the change set were made on the newest state. Of two backends that
// both saw revision R, the first to commit moves PREFIX/_rev past R and the
// second fails the guard: its Apply returns a *store.ConflictError
// (wrapping store.ErrConflict) that names the newest commit's revision,
// nothing of it is applied, and the caller re-runs its write once it has
// seen that commit (WaitRevision while Follow runs, or by loading again).
// Writes to the prefix that do not go through a Backend are not guarded
// against; nothing else must write there.
//
// # Following
//
// Backend implements store.Follower, the optional interface of the store
// package. Follow watches the prefix from rev+1 and hands every commit it
// has not seen (each one as its change set, deletes with a nil Value) to
// its callback, in order, skipping its own commits. When etcd has
// compacted the history Follow needs, it returns an error wrapping
// ErrCompacted: the caller loads everything again. Revision is rev;
// WaitRevision waits for it to reach a revision; Latest reads the
// ModRevision of PREFIX/_rev (a linearizable read), the newest commit
// made through any backend on the prefix.
//
// An Apply whose context has no deadline is bounded by
// Options.RequestTimeout: in a partition it fails rather than waits on.
// Its commit may then have been made or not; if it was, Follow hands it
// on like another backend's.
//
// # Limits
//
// A change set is one etcd transaction, so it is bound by the cluster's
// --max-txn-ops (128 by default, counting PREFIX/_rev) and
// --max-request-bytes (1.5 MiB by default); a larger one fails and applies
// nothing.
package etcdstore

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/store"
)

// DefaultDialTimeout is how long Open waits for etcd when
// Options.DialTimeout is 0.
const DefaultDialTimeout = 5 * time.Second

// DefaultRequestTimeout bounds an Apply whose context has no deadline,
// when Options.RequestTimeout is 0.
const DefaultRequestTimeout = 10 * time.Second

// pageSize is how many keys one range read of Load returns at most (a
// variable for tests). etcd counts the whole rest of the range for every
// page, so a page costs time in proportion to what is left: with 1,000 a
// page, joining 121k rows took 2.7× loading them from memory plus one
// range read; with 10,000, 1.0–1.15× (BenchmarkEtcdJoin in package
// controller).
var pageSize int64 = 10000

// revName is the last path element of the key every Apply writes.
const revName = "_rev"

// ErrCompacted is wrapped by the error Follow returns when etcd no longer
// holds the history after the backend's revision: the caller must load
// everything again (Load) before it follows again. It is
// store.ErrCompacted.
var ErrCompacted = store.ErrCompacted

// Options configure Open.
type Options struct {
	// Endpoints are the etcd members' client URLs.
	Endpoints []string
	// Prefix is the controller's key prefix (without a trailing "/");
	// controllers that share state share it.
	Prefix string
	// TLS, if not nil, is used to reach etcd.
	TLS *tls.Config
	// DialTimeout bounds Open's connection to etcd; 0 means
	// DefaultDialTimeout.
	DialTimeout time.Duration
	// RequestTimeout bounds an Apply whose context has no deadline (a
	// controller's commit has none): when etcd does not answer in time,
	// as in a network partition, Apply fails with an error wrapping
	// herd.ErrFailedPrecondition instead of waiting on; the commit may
	// then have been applied or not, and Follow shows which. 0 means
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
}

// Backend is a store.Backend in etcd. It is safe for concurrent use.
type Backend struct {
	cli    *clientv3.Client
	prefix string // "PREFIX/"
	revKey string // "PREFIX/_rev"
	id     string // written to revKey by each Apply
	reqTO  time.Duration

	// applyMu is held through Apply's transaction and the move of rev
	// past it, so that Follow never takes an own commit for another's.
	applyMu sync.Mutex

	mu     sync.Mutex
	rev    int64         // every commit on the prefix up to rev has been seen
	moved  chan struct{} // closed (and replaced) when rev moves or the backend closes
	closed bool
}

var _ store.Follower = (*Backend)(nil)

// Open connects to etcd and returns a backend on opts.Prefix. It checks
// that etcd answers within the dial timeout.
func Open(ctx context.Context, opts Options) (*Backend, error) {
	prefix := strings.TrimSuffix(opts.Prefix, "/")
	if prefix == "" {
		return nil, herd.Errorf(herd.ErrInvalid, "etcdstore: empty prefix")
	}
	if len(opts.Endpoints) == 0 {
		return nil, herd.Errorf(herd.ErrInvalid, "etcdstore: no endpoints")
	}
	dial := opts.DialTimeout
	if dial <= 0 {
		dial = DefaultDialTimeout
	}
	var idb [8]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return nil, err
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   opts.Endpoints,
		TLS:         opts.TLS,
		DialTimeout: dial,
		Logger:      zap.NewNop(),
		Context:     context.WithoutCancel(ctx),
	})
	if err != nil {
		return nil, herd.Wrap(herd.ErrFailedPrecondition, err, "etcdstore: connect")
	}
	reqTO := opts.RequestTimeout
	if reqTO <= 0 {
		reqTO = DefaultRequestTimeout
	}
	b := &Backend{cli: cli, prefix: prefix + "/", revKey: prefix + "/" + revName, id: hex.EncodeToString(idb[:]), reqTO: reqTO, moved: make(chan struct{})}
	cctx, cancel := context.WithTimeout(ctx, dial)
	defer cancel()
	if _, err := cli.Get(cctx, b.revKey); err != nil {
		cli.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, herd.Wrap(herd.ErrFailedPrecondition, err, fmt.Sprintf("etcdstore: reach %s", strings.Join(opts.Endpoints, ",")))
	}
	return b, nil
}

// Revision returns the etcd revision up to which the backend has seen
// every commit on its prefix.
func (b *Backend) Revision() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rev
}

// advance moves rev up to at least rev and wakes WaitRevision.
func (b *Backend) advance(rev int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if rev > b.rev {
		b.rev = rev
		close(b.moved)
		b.moved = make(chan struct{})
	}
}

// WaitRevision returns nil once the backend has seen every commit up to
// rev (Revision() >= rev), ctx's error when ctx is done first, or
// herd.ErrClosed when the backend is closed first.
func (b *Backend) WaitRevision(ctx context.Context, rev int64) error {
	for {
		b.mu.Lock()
		cur, closed, moved := b.rev, b.closed, b.moved
		b.mu.Unlock()
		switch {
		case cur >= rev:
			return nil
		case closed:
			return errClosed
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Latest returns the revision of the newest commit on the prefix (0 if
// there is none), read from etcd with a linearizable read.
func (b *Backend) Latest(ctx context.Context) (int64, error) {
	if b.isClosed() {
		return 0, errClosed
	}
	resp, err := b.cli.Get(ctx, b.revKey)
	if err != nil {
		return 0, b.etcdErr(ctx, err, "latest revision")
	}
	if len(resp.Kvs) == 0 {
		return 0, nil
	}
	return resp.Kvs[0].ModRevision, nil
}

func (b *Backend) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

var errClosed = herd.Errorf(herd.ErrClosed, "etcdstore: backend closed")

// split parses an etcd key under the prefix; ok is false for PREFIX/_rev.
func (b *Backend) split(key []byte) (table, k string, ok bool, err error) {
	rest, found := strings.CutPrefix(string(key), b.prefix)
	if !found {
		return "", "", false, herd.Errorf(herd.ErrInvalid, "etcdstore: key %q outside the prefix", key)
	}
	if rest == revName {
		return "", "", false, nil
	}
	table, k, found = strings.Cut(rest, "/")
	if !found || table == "" || k == "" {
		return "", "", false, herd.Errorf(herd.ErrInvalid, "etcdstore: key %q is not PREFIX/TABLE/KEY", key)
	}
	return table, k, true, nil
}

// Load calls fn with every record under the prefix, read in pages at one
// revision, which the backend then remembers as seen. Should etcd compact
// that revision before the last page is read, the error wraps
// ErrCompacted and Load may be run again.
func (b *Backend) Load(ctx context.Context, fn func(store.Record) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.isClosed() {
		return errClosed
	}
	end := clientv3.GetPrefixRangeEnd(b.prefix)
	from := b.prefix
	var at int64
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(pageSize)}
		if at != 0 {
			opts = append(opts, clientv3.WithRev(at))
		}
		resp, err := b.cli.Get(ctx, from, opts...)
		if errors.Is(err, rpctypes.ErrCompacted) {
			return fmt.Errorf("etcdstore: load at revision %d: %w", at, ErrCompacted)
		}
		if err != nil {
			return b.etcdErr(ctx, err, "load")
		}
		if at == 0 {
			at = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			table, key, ok, err := b.split(kv.Key)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			v := kv.Value
			if v == nil {
				v = []byte{}
			}
			if err := fn(store.Record{Table: table, Key: key, Value: v}); err != nil {
				return err
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	b.advance(at)
	return nil
}

// Apply commits changes as one etcd transaction, guarded by the backend's
// revision (see the package doc); the error of a lost race wraps
// store.ErrConflict.
func (b *Backend) Apply(ctx context.Context, changes []store.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// The last record of a key wins: etcd refuses a key twice in a txn.
	last := make(map[string]int, len(changes))
	for i, r := range changes {
		if r.Table == "" || r.Key == "" || strings.Contains(r.Table, "/") {
			return herd.Errorf(herd.ErrInvalid, "etcdstore: record with table %q and key %q", r.Table, r.Key)
		}
		last[b.prefix+r.Table+"/"+r.Key] = i
	}
	ops := make([]clientv3.Op, 0, len(last)+1)
	for i, r := range changes {
		k := b.prefix + r.Table + "/" + r.Key
		if last[k] != i {
			continue
		}
		if r.Value == nil {
			ops = append(ops, clientv3.OpDelete(k))
		} else {
			ops = append(ops, clientv3.OpPut(k, string(r.Value)))
		}
	}
	ops = append(ops, clientv3.OpPut(b.revKey, b.id))

	b.applyMu.Lock()
	defer b.applyMu.Unlock()
	b.mu.Lock()
	closed, rev := b.closed, b.rev
	b.mu.Unlock()
	if closed {
		return errClosed
	}
	if len(changes) == 0 {
		return nil
	}
	tctx := ctx
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		tctx, cancel = context.WithTimeout(ctx, b.reqTO)
		defer cancel()
	}
	resp, err := b.cli.Txn(tctx).
		If(clientv3.Compare(clientv3.ModRevision(b.revKey), "<", rev+1)).
		Then(ops...).
		Else(clientv3.OpGet(b.revKey)).
		Commit()
	if err != nil {
		if ctx.Err() == nil && tctx.Err() != nil {
			return herd.Wrap(herd.ErrFailedPrecondition, err, fmt.Sprintf("etcdstore: apply: no answer from etcd within %v (the commit may or may not have been applied)", b.reqTO))
		}
		return b.etcdErr(ctx, err, "apply")
	}
	if !resp.Succeeded {
		// The Else read PREFIX/_rev: its ModRevision is the newest
		// commit on the prefix, the one to wait for.
		won := rev + 1
		if len(resp.Responses) == 1 {
			if rr := resp.Responses[0].GetResponseRange(); rr != nil && len(rr.Kvs) == 1 {
				won = max(won, rr.Kvs[0].ModRevision)
			}
		}
		return &store.ConflictError{Revision: won, Msg: fmt.Sprintf("etcdstore: commit guarded by revision %d lost to revision %d", rev, won)}
	}
	b.advance(resp.Header.Revision)
	return nil
}

// Follow watches the prefix from the backend's revision and calls fn with
// the change set of every commit the backend has not seen, in order,
// deletes with a nil Value; a commit is seen once fn returns nil. It
// returns when ctx is done (ctx's error), when fn fails (fn's error), when
// the backend is closed (herd.ErrClosed), or when etcd has compacted the
// history it needs (an error wrapping ErrCompacted: load again). It must
// be called after Load, and not while Load runs.
func (b *Backend) Follow(ctx context.Context, fn func(changes []store.Record) error) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		b.mu.Lock()
		closed, from := b.closed, b.rev+1
		b.mu.Unlock()
		if closed {
			return errClosed
		}
		if from == 1 {
			return herd.Errorf(herd.ErrFailedPrecondition, "etcdstore: Follow before Load")
		}
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		err := b.follow(wctx, from, fn)
		cancel()
		if err != nil {
			return err
		}
		// The watch ended without an error (a lost leader, a member
		// gone): watch again from where it stopped.
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (b *Backend) follow(ctx context.Context, from int64, fn func([]store.Record) error) error {
	wch := b.cli.Watch(ctx, b.prefix, clientv3.WithPrefix(), clientv3.WithRev(from))
	for resp := range wch {
		if resp.CompactRevision != 0 || errors.Is(resp.Err(), rpctypes.ErrCompacted) {
			return fmt.Errorf("etcdstore: follow from revision %d, compacted up to %d: %w", from, resp.CompactRevision, ErrCompacted)
		}
		if err := resp.Err(); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if b.isClosed() {
				return errClosed
			}
			return nil // watch again
		}
		evs := resp.Events
		for len(evs) > 0 {
			rev := evs[0].Kv.ModRevision
			n := 1
			for n < len(evs) && evs[n].Kv.ModRevision == rev {
				n++
			}
			if err := b.deliver(rev, evs[:n], fn); err != nil {
				return err
			}
			evs = evs[n:]
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.isClosed() {
		return errClosed
	}
	return nil
}

// deliver hands one commit's events to fn unless the backend has seen it.
func (b *Backend) deliver(rev int64, evs []*clientv3.Event, fn func([]store.Record) error) error {
	// Apply holds applyMu through its transaction and moves rev past its
	// commit before releasing it: a commit at or below rev is seen.
	b.applyMu.Lock()
	seen := rev <= b.Revision()
	b.applyMu.Unlock()
	if seen {
		return nil
	}
	changes := make([]store.Record, 0, len(evs))
	for _, ev := range evs {
		table, key, ok, err := b.split(ev.Kv.Key)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		r := store.Record{Table: table, Key: key}
		if ev.Type == mvccpb.PUT {
			r.Value = ev.Kv.Value
			if r.Value == nil {
				r.Value = []byte{}
			}
		}
		changes = append(changes, r)
	}
	if len(changes) > 0 { // not when it only deleted missing keys
		if err := fn(changes); err != nil {
			return err
		}
	}
	b.advance(rev)
	return nil
}

// etcdErr turns an etcd client error into Herd's: a context error passes
// through; a closed client is herd.ErrClosed.
func (b *Backend) etcdErr(ctx context.Context, err error, what string) error {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return ctx.Err()
	}
	if b.isClosed() {
		return errClosed
	}
	return herd.Wrap(herd.ErrFailedPrecondition, err, "etcdstore: "+what)
}

// Close closes the connection to etcd. Load, Apply and Follow then fail
// with herd.ErrClosed. Closing twice does nothing.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.moved)
	b.moved = make(chan struct{})
	b.mu.Unlock()
	if err := b.cli.Close(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
