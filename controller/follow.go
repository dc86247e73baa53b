package controller

import (
	"context"
	"errors"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/store"
)

// Several controllers on one backend.
//
// When Options.Backend is a store.Follower (store/etcdstore), other
// controllers commit to the same state. Open and Bootstrap then start a
// goroutine that follows their commits into this controller's working set
// (state.Store.ApplyFollowed): each one reaches the authorization fast
// path, the caches and the watchers through the same commit hooks as a
// local commit, so a logout, a disabled user, a changed password, a
// removal or a revoke on one controller takes effect on every other as
// soon as its commit is followed (TestEtcdRevocationDelay measures how soon).
// When the backend's history is gone (store.ErrCompacted), or a followed
// commit is refused (a damaged record: herd.ErrInvalid, logged as an
// error), the working set is loaded again (state.Store.Reload, which
// hands the hooks the net differences; retried with backoff until it
// succeeds, as it does once the damage is repaired) and following
// resumes; other errors are logged and retried with backoff. Close stops
// the goroutine and waits for it.
//
// A write that loses a race (store.ErrConflict) waits, before it runs
// again, until the follower has applied the commit that beat it
// (store.ConflictRevision), so that it runs on state at least that fresh
// instead of losing again on the same stale state. A controller's own
// commits are in its working set when the call returns, and are never
// applied twice: the backend does not hand them to Follow. A refusal
// decided on state another controller had since changed is checked again
// on fresh state (staleRefusal), and Sync gives reads the same freshness:
// with both, grants, revokes and checks are linearizable across
// controllers (TestEtcdLinearizableGrants).

// Bounds of the follower's retries and of a lost write's wait.
const (
	followMinBackoff = 10 * time.Millisecond
	followMaxBackoff = 2 * time.Second
	// conflictWait bounds how long a write that lost a race waits for
	// the winning commit to be followed before it runs again anyway.
	conflictWait = 2 * time.Second
)

// follower is the goroutine that follows other controllers' commits.
type follower struct {
	f      store.Follower
	cancel context.CancelFunc
	done   chan struct{}
}

// startFollowing starts the follower if the backend is a store.Follower.
func (c *Controller) startFollowing() {
	f := c.st.Follower()
	if f == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	fl := &follower{f: f, cancel: cancel, done: make(chan struct{})}
	if !c.follow.CompareAndSwap(nil, fl) {
		cancel()
		return
	}
	go func() {
		defer close(fl.done)
		c.runFollower(ctx, f)
	}()
}

// stopFollowing stops the follower and waits for it to return.
func (c *Controller) stopFollowing() {
	c.cancelFollowing()
	c.waitFollowing()
}

// cancelFollowing tells the follower to stop. Controller.Close then closes
// the store before it waits: a local write stuck on an unreachable backend
// (holding the working set's write lock, which the follower may be waiting
// for) then fails, and the follower can return.
func (c *Controller) cancelFollowing() {
	if fl := c.follow.Load(); fl != nil {
		fl.cancel()
	}
}

// waitFollowing waits for a cancelled follower to return.
func (c *Controller) waitFollowing() {
	if fl := c.follow.Load(); fl != nil {
		<-fl.done
	}
}

// runFollower follows until ctx is done or the backend is closed.
func (c *Controller) runFollower(ctx context.Context, f store.Follower) {
	log := c.opts.Logger.With("controller", c.info.Name)
	backoff := followMinBackoff
	sleep := func() bool {
		t := time.NewTimer(backoff)
		defer t.Stop()
		backoff = min(2*backoff, followMaxBackoff)
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	over := func(err error) bool { return ctx.Err() != nil || errors.Is(err, herd.ErrClosed) }
	for {
		err := f.Follow(ctx, func(changes []store.Record) error {
			if err := c.st.ApplyFollowed(changes); err != nil {
				return err
			}
			backoff = followMinBackoff
			return nil
		})
		if over(err) {
			return
		}
		switch {
		case errors.Is(err, store.ErrCompacted):
			log.Info("other controllers' commits are compacted away; loading the whole state again", "err", err)
		case errors.Is(err, herd.ErrInvalid):
			// A commit the working set refuses (a damaged record) would
			// be refused again and again: load the state as it is now
			// instead, which succeeds once the damage is repaired.
			log.Error("a commit of another controller is refused; loading the whole state again", "err", err, "after", backoff)
			if !sleep() {
				return
			}
		default:
			log.Warn("cannot follow other controllers' commits; following again", "err", err, "after", backoff)
			if !sleep() {
				return
			}
			continue
		}
		for {
			err := c.st.Reload(ctx)
			if err == nil {
				break
			}
			if over(err) {
				return
			}
			log.Warn("cannot load the state again; retrying", "err", err, "after", backoff)
			if !sleep() {
				return
			}
		}
		log.Info("state loaded again; following other controllers' commits", "revision", f.Revision())
	}
}

// awaitWinner waits, after a commit lost a race with err, until the
// follower has applied the commit that won (at most conflictWait), so
// that the write runs again on state at least that fresh. It reports
// whether it did: the winner's revision was read from the backend during
// the call, so a refusal decided on that state is linearizable as it is.
func (c *Controller) awaitWinner(ctx context.Context, err error) bool {
	fl := c.follow.Load()
	if fl == nil {
		return false
	}
	rev := store.ConflictRevision(err)
	if rev == 0 {
		rev = fl.f.Revision() + 1
	}
	wctx, cancel := context.WithTimeout(ctx, conflictWait)
	defer cancel()
	werr := fl.f.WaitRevision(wctx, rev)
	if werr != nil && ctx.Err() == nil {
		c.opts.Logger.Warn("the commit that won a race was not followed in time; running the write again anyway",
			"revision", rev, "err", werr)
	}
	return werr == nil && store.ConflictRevision(err) != 0
}

// catchUpWait bounds confirmRefusal's catching up.
const catchUpWait = time.Second

// followed returns the follower's revision (0 without a follower): take
// it before a read that confirmRefusal may have to repeat.
func (c *Controller) followed() int64 {
	if fl := c.follow.Load(); fl != nil {
		return fl.f.Revision()
	}
	return 0
}

// Sync returns once the controller's state holds every change committed
// before Sync was called, on this controller or on any other sharing its
// store (Options.Backend a store.Follower, such as store/etcdstore): a
// read made on this controller after Sync returns sees every write
// acknowledged by any controller before Sync was called. Without other
// controllers, it returns at once. Reads never wait by themselves (they
// are served from memory, and another controller's commit reaches them
// milliseconds later); Sync is for a caller that needs more, such as a
// client that wrote through one controller and reads through another.
// It fails with ctx's error, herd.ErrClosed, or herd.ErrFailedPrecondition
// when the store cannot be reached.
func (c *Controller) Sync(ctx context.Context) error {
	if err := c.check(ctx); err != nil {
		return err
	}
	fl := c.follow.Load()
	if fl == nil {
		return nil
	}
	if err := syncWith(ctx, fl.f); err != nil {
		return err
	}
	// An own commit counts as seen once etcd took it; it is in memory
	// once its write transaction ends.
	c.st.Barrier()
	return nil
}

// syncWith reads the newest revision from the shared backend and waits
// until f has seen it.
func syncWith(ctx context.Context, f store.Follower) error {
	latest, err := f.Latest(ctx)
	if err != nil {
		return err
	}
	return f.WaitRevision(ctx, latest)
}

// staleRefusal reports whether a write refused with err, decided on the
// working set as it was at revision since, was decided on stale state:
// it catches up with the other controllers and reports whether they had
// committed anything since. The write then runs again, once: the state it
// then decides on is at least as new as confirmRefusal's read of the newest
// revision, made during the call, so any refusal from it is linearizable
// (that state was the newest at some moment of the call). Otherwise the
// refusal stands, and is linearizable too: the state it was decided on was
// still the newest when confirmRefusal read the newest revision.
// A refusal that no state could change (an invalid argument, a closed
// controller, a context ended) is not checked. When the other
// controllers' commits cannot be read (the store is unreachable), the
// refusal cannot be confirmed: unconfirmed is then an error wrapping
// herd.ErrFailedPrecondition that says so, returned instead of it.
func (c *Controller) staleRefusal(ctx context.Context, err error, since int64) (stale bool, unconfirmed error) {
	if ctx.Err() != nil || errors.Is(err, herd.ErrInvalid) || errors.Is(err, herd.ErrClosed) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false, nil
	}
	return c.confirmRefusal(ctx, since, err.Error())
}

// confirmRefusal catches up with the other controllers after a refusal
// decided on the working set as of revision since: stale says they had
// committed something since (decide again, once); unconfirmed, an error
// wrapping herd.ErrFailedPrecondition, says their commits could not be
// read, so the refusal (what) must not be given as the answer: a client
// would take "not found" for a user another controller created, or a
// refused token for one another controller just issued. Without other
// controllers it returns (false, nil).
func (c *Controller) confirmRefusal(ctx context.Context, since int64, what string) (stale bool, unconfirmed error) {
	fl := c.follow.Load()
	if fl == nil || ctx.Err() != nil {
		return false, nil
	}
	cctx, cancel := context.WithTimeout(ctx, catchUpWait)
	defer cancel()
	if serr := syncWith(cctx, fl.f); serr != nil {
		c.opts.Logger.Warn("cannot catch up with other controllers' commits", "err", serr)
		return false, herd.Wrap(herd.ErrFailedPrecondition, serr, "cannot confirm the refusal ("+what+") with the other controllers")
	}
	return fl.f.Revision() > since, nil
}
