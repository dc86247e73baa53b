// Package herd is an embeddable Go library that brings Juju's multi-user
// workflow into any Go program: a controller bootstrapped on a cloud, users
// added by an administrator and registered with a one-time token,
// passwords, login sessions that expire, models, access grants, applications
// deployed into models, and logout.
//
// The type you hold is *controller.Controller. Bootstrap one, log in, and
// do everything else through the returned *controller.Session:
//
//	b, err := controller.Bootstrap(ctx, "lxd-controller-1", controller.Options{})
//	ctrl, admin := b.Controller, b.Admin // admin is logged in; b.Secret is its generated password
//	added, err := admin.AddUser(ctx, "tom", "Tom")
//	tom, err := ctrl.Register(ctx, added.Token, "a password")
//
// The packages:
//
//   - acl: access levels (login < add-model < superuser; read < write < admin)
//     and the pure grant/revoke rules and invariants;
//   - users: names, password hashing, Juju-compatible registration tokens;
//   - models: models, applications, units, machines;
//   - store: the seam for durable backends (load and apply change sets),
//     the bbolt file backend, and store/storetest (conformance suite and
//     an in-memory backend);
//   - provider: where machines come from, with provider/fakeprovider;
//   - controller: Controller, Session and Options; every operation,
//     authorized by one decision (acl.Decide);
//   - apiserver: the controller on the network, by Juju's own wire
//     protocol over TLS (Juju's clients work against it), and
//     apiserver/apiservertest, a live server for tests;
//   - client: Herd's Go client of that protocol, with the methods of
//     controller.Session.
//
// # Errors
//
// Every error wraps one of the sentinels in this package: ErrNotFound,
// ErrAlreadyExists, ErrInvalid, ErrPermissionDenied, ErrUnauthenticated,
// ErrFailedPrecondition, ErrClosed. Match them with errors.Is, never by
// message; messages read like Juju's (`permission denied`,
// `user "tom" not found`). Context errors pass through: errors.Is(err,
// context.Canceled) holds for a cancelled call. A refused or invalid call
// changes nothing. A user or model the caller may not see is
// ErrPermissionDenied whether or not it exists, so names cannot be probed.
//
// # Concurrency
//
// Controller and Session are safe for concurrent use. Reads run in
// parallel on consistent snapshots of the store; writes are serialised.
// Every call re-checks its session inside the transaction it acts in, so a
// user disabled, logged out or expired in one goroutine is refused at once
// in every other. Provider calls run outside store transactions.
//
// # Testing
//
// Package controller/controllertest gives each test its own bootstrapped
// controller with builders, a clock to move, a fast test-only password
// hasher, declarative scenarios and an access-matrix assertion;
// apiserver/apiservertest serves it over TLS on a loopback port and logs
// Herd's Go client in as any of its users.
//
// Without it, the zero controller.Options gives a memory store and the fake provider,
// so a test can bootstrap a controller in-process. Set Options.Now to move
// time (sessions expire after Options.SessionTTL, 24 hours by default) and
// Options.PasswordCost (bcrypt.MinCost) or Options.Hasher to make password
// hashing cheap. The fake provider (provider/fakeprovider) injects
// failures and hangs into any provider operation. Controller.Dump returns
// a read-only copy of the whole state, so a test can show that a refused
// call changed nothing.
package herd
