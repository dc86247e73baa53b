// Package controller is Herd's controller: Controller, Session and
// Options. Bootstrap creates a controller (and logs its admin in), Login
// and Register open sessions, and every other operation is a method of
// *Session, authorized on every call against the session and the acl
// rules, so authorization lives in one place.
//
// # Behaviour
//
// The behaviour follows Herd's spec (Juju 2.x/3.x's multi-user model).
// Where the spec is silent, these are the choices made:
//
//   - Model references are "owner/name", or "name" for one of the caller's
//     own models, as in Juju: another user's model is always qualified, so
//     no grant can make a name ambiguous or point it elsewhere.
//   - A model the caller may not see is herd.ErrPermissionDenied whether or
//     not it exists; inside the caller's own namespace (or for a
//     superuser) a missing model is herd.ErrNotFound.
//   - A model always keeps at least one user with a direct admin grant
//     (its owner's, unless given to another); superusers' implied admin
//     does not count, so the invariant means something.
//   - A user who owns models, or is the last admin of one, cannot be
//     removed (herd.ErrFailedPrecondition): models never lose their owner.
//   - Changing a password ends every other session of that user; the
//     session that changed its own password stays.
//   - Revoking controller login ends the user's sessions.
//   - Listings hide disabled users unless asked for all; Models lists the
//     models the user holds a grant on (ModelsOptions.All: every model,
//     for a superuser).
//   - Options.TokenTTL zero means the 7-day default and negative means
//     never (the zero Options must be the safe default).
//   - Provisioning is asynchronous, as in Juju (see Provisioning and
//     provisioner.go): Deploy and AddUnit record units on pending machines
//     and return; RemoveUnit, RemoveApplication and DestroyModel mark the
//     machines (and the application or model) dying and return. A
//     provisioner in the controller does the provider's work, several
//     machines at a time, and records each machine's status (pending,
//     allocating, started, or error with the provider's message). A failed
//     start is retried Provisioning.Retries times with a doubling delay,
//     then waits for RetryProvisioning; a failed stop is retried without
//     end. Programs wait with WaitStarted, WaitRemoved or WaitFor. Unit and
//     machine numbers are never reused, as in Juju. Units have no life of
//     their own: a unit is there until its machine is stopped, then gone;
//     the application stays even with no units.
//   - A dying application takes no new units and its name cannot be
//     deployed again until it is gone; removing something already dying is
//     not an error.
//   - A model being destroyed is `dying`; deploys and grants on it are
//     refused, and destroying it again is harmless. DestroyController
//     marks every model dying and waits (with its ctx) until the
//     provisioner has removed them.
//
// # Authorization fast path
//
// Session.Authorize, Session.Check and Session.Models read an immutable
// snapshot of sessions, users, models and grants that every commit updates
// before Commit returns (plain Go maps in shards, copied on write), so they
// never allocate or walk go-memdb and are exactly as current as the store.
// Authorize reads the facts there and takes the answer from acl.Decide, as
// every operation does. With the default clock they read a coarse clock
// refreshed every millisecond while checks run (reading the wall clock
// costs more than the check): a session may be honoured by them up to
// about a millisecond after it expires. Every operation still checks the
// session against the real clock inside its own transaction.
//
// # Watching
//
// Session.Watch follows a model: the first Next gives it as it is, then
// one batch of deltas (models, applications, units, machines) per commit
// that changed it, in commit order, each once. Batches are queued by the
// store's commit hook, which never waits for a watcher; one that leaves
// more than Options.WatchBuffer batches unread is ended with an error
// saying it fell behind. Read access is checked as each batch is
// committed. Session.WaitFor waits, with ctx's deadline, until a
// condition holds for the model's status. Delivery from commit to a
// waiting Next: p50 4 µs, p99 37–48 µs (go test ./controller -run XXX
// -bench WatchLatency -count 5, 2026-11-29).
//
// # Transactions
//
// Every write is one function that reads, decides and writes in one
// transaction (Controller.update); when its commit loses a race to
// another controller sharing the backend (store.ErrConflict), the
// function runs again on the fresher state, so it does nothing else:
// provider calls run outside it, and events are logged after the commit.
// Most operations are one such write; Deploy, AddUnit and the removals
// are several around their provider calls (see Behaviour). Batch puts
// many operations in one transaction, all or nothing, and is not run
// again; test fixtures use it to build scenarios quickly.
//
// # Several controllers
//
// Controllers in several processes share one state when Options.Backend
// is a store.Follower (store/etcdstore). Each keeps its own working set,
// fast path and watchers, and follows the others' commits into them
// through the same commit hooks as its own, so a logout, a disabled
// user, a changed password, a removal or a revoke made on one controller
// is refused by every other a few milliseconds after it returns
// (TestEtcdRevocationDelay: p99 under 50 ms on a loaded two-core machine
// under -race, goal 100 ms). A controller reads its own writes at once.
// Every write is decided on the newest state: a commit guarded by an
// older revision loses (store.ErrConflict), waits until the winning
// commit is followed and runs again, and a refusal decided on state
// another controller had since changed is checked again on fresh state;
// so the invariants hold across controllers and writes are linearizable
// (TestEtcdLinearizableGrants). Reads are served from memory and may lag
// another controller by those milliseconds; Controller.Sync waits until
// every write acknowledged anywhere is seen. A Resume or Login that would
// fail for want of another controller's commit catches up first.
//
// Every controller process may serve the API: each records its addresses
// (Options.Addrs, under Options.NodeID) in the shared state, and Servers,
// Addrs and registration tokens list every controller's, its own first
// (api.go, "Several API servers"), so a client fails over from a dead
// one to another and resumes its session there. Only the controller that
// leads the "provisioner" role (an etcd election, store.Elector) runs
// the provisioner; when it dies its lease runs out (2 s) and another
// takes over, reconciling first. DestroyController records the
// controller destroyed, and every other controller on the state closes.
package controller
