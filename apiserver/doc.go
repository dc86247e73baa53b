// Package apiserver is Herd's network API: Juju 3.6's own wire protocol
// (spec/api.md), so that Juju's clients (@canonical/jujulib, python-libjuju,
// the juju CLI) and Herd's Go client drive a Herd controller. It translates
// and never decides: every facade method turns its params into Session
// calls and their results into Juju's result shapes (internal/params).
//
// A *Server is an http.Handler; mount it on a TLS listener of your own, or
// call Serve / ListenAndServe, which run a hardened http.Server:
//
//	srv, err := apiserver.New(ctrl, apiserver.Options{Register: hook})
//	go srv.Serve(ctx, ln, tlsConfig) // TLS 1.2 at least
//	defer srv.Close(ctx)
//
// # Routes
//
//   - GET /api: a controller connection (websocket, Juju's RPC frames, see
//     internal/rpc). UserManager, ModelManager and Controller are served
//     here; model facades are refused with Juju's `facade "Client" not
//     supported for controller API connection` (code "not supported").
//   - GET /model/UUID/api: a model connection: Client.FullStatus and
//     Application.* act on that model. Login refuses a model that does not
//     exist with Juju's `unknown model: "UUID"` (code "model not found",
//     apiserver/apiserver.go, apiserver/errors/types.go) and a user without
//     access to it with "permission denied" (code "unauthorized access", as
//     apiserver/admin.go checkUserPermissions). Unlike Juju, which refuses
//     every request on an unknown model's connection, Herd can only tell
//     once the caller has logged in (the lookup is a Session call).
//   - POST /register: Juju's registration exchange, answered by
//     Options.Register(ctx, body) ([]byte, error), which the controller
//     provides. The HTTP side is here: the body is capped
//     (RegisterMaxBytes, http.MaxBytesReader), requests are rate limited per
//     source address and per user named in the body, and every refusal
//     (wrong method, too large, unreadable, too fast, the hook's error) is
//     the one answer of internal/register (FailureStatus, FailureBody), so a
//     client learns nothing about why. A nil hook answers 404.
//
// Anything else is 404; a second HTTP method on an API route is 405.
//
// # Login
//
// Before login a connection serves Admin (v3) and Pinger.Ping. Any other
// facade gets Juju's adminRoot answer, `unknown version (3) of interface
// "UserManager"` (code "not implemented", apiserver/root.go); another
// Admin version gets `this version of Juju does not support login from
// old clients` (code "not supported"). Pinger.Ping before login is Herd's
// addition (Juju's adminRoot serves only Admin).
//
// Admin.Login takes auth-tag "user-NAME" and either credentials (the
// password: Controller.Login opens a new session) or token (a Herd session
// credential: Controller.Resume; the token's user must be the auth-tag's).
// A wrong name or password, a disabled, removed or unknown user, and a token
// for another user all get `invalid entity name or password` (code
// "unauthorized access"), in the time the controller takes for any of
// them; the API layer adds no early return. No auth-tag is Juju's
// `no credentials provided` (code "no credentials provided"). A second
// Login on a logged-in connection is Juju's `already logged in` (no code);
// RedirectInfo is Juju's `not redirected` (no code; admin.go).
//
// The LoginResult is Juju's: servers (controller.Controller.Servers: one
// server per controller process sharing the state, the answering one
// first, each with its addresses typed and scoped as Juju's network
// package does),
// controller-tag, model-tag (model connections), user-info (identity,
// controller-access, and model-access on a model connection: the user's
// effective access from Session.Allowed), facades (params.FacadeList for
// the connection's kind), server-version ServerVersion ("3.6.26").
//
// # The session binding
//
// A logged-in connection is bound to one Herd session, and every request
// after login is one or more Session calls, each of which checks the
// session: after a logout (HerdSession.Logout), the user's disabling, a
// password change, a reset, removal, EndSessions or expiry, the next
// request on a live connection fails with the controller's error (code
// "unauthorized access", or "login expired"). Pinger.Ping and
// Controller.ControllerVersion check it too (Session.Check). The
// connection stays open: the client decides what to do.
//
// A session opened by a password login on a connection ends when the
// connection closes, unless its credential went out through
// HerdSession.SessionToken: nobody else could ever use it, and this keeps
// the controller's session table from growing with every dashboard tab.
//
// # How the session credential travels
//
// Juju keeps a client logged in with macaroons; Herd has none. A client
// that must outlive its process (the CLI) calls HerdSession.SessionToken
// (v1, internal/params/herd.go) after login and keeps the token (in a 0600
// file, never the password); a later connection sends it in Admin.Login's
// "token" field with "auth-tag" naming its user and no "credentials". A
// Juju client never sets "token" for Herd, so password logins are
// unaffected. HerdSession also has Logout (server-side, beyond Juju),
// Explain and EndSessions.
//
// # Facades
//
// The versions are params.Facades (Juju 3.6.26's); a client picks the
// highest it knows. A version Herd does not serve is Juju's `unknown
// version (N) of interface "F"`, a method Herd lacks Juju's `no such
// request - method F(N).M is not implemented` (both code "not
// implemented", rpc.UnknownFacade, rpc.UnknownMethod).
//
//	Pinger 1         Ping, Stop
//	UserManager 3    AddUser, UserInfo, SetPassword, ResetPassword, DisableUser, EnableUser, RemoveUser
//	ModelManager 9,10  CreateModel, ListModels, ListModelSummaries, ModelInfo, ModifyModelAccess, DestroyModels
//	Controller 11,12 AllModels, ModifyControllerAccess, GetControllerAccess, ControllerVersion, DestroyController
//	Client 6,7,8     FullStatus, WatchAll (model connection)
//	AllWatcher 3     Next, Stop (model connection; the watcher id in the request's "id")
//	Application 15-22  Deploy, AddUnits, DestroyApplication, DestroyUnit (model connection)
//	MachineManager 9,10  RetryProvisioning (model connection)
//	HerdSession 1    Logout, SessionToken, Explain, EndSessions
//
// # Following a model (Client.WatchAll, AllWatcher)
//
// Client.WatchAll opens a Session.Watch of the connection's model and
// returns {"watcher-id": "N"}; ids are the connection's own ("1", "2", ...
// as Juju's resources), so another connection's is Juju's `unknown
// watcher id` (code "not found"), and a connection's watchers stop when it
// closes. AllWatcher.Next, with the id as the request's "id", waits for
// the next batch and returns {"deltas": [[kind, "change"|"remove",
// entity], ...]}: first the model as it is, then each commit that changed
// it, in order, as Juju's ModelUpdate, ApplicationInfo, UnitInfo and
// MachineInfo (kinds "model", "application", "unit", "machine";
// internal/params/multiwatcher.go). Access is the Session's, checked at
// WatchAll and again at every commit: a watcher whose session lost it, or
// that fell behind (the controller's WatchBuffer), returns that error from
// then on. The request timeout bounds a waiting Next (code "deadline
// exceeded"; nothing is lost, call Next again). AllWatcher.Stop ends the
// watcher (a waiting Next gets Juju's `watcher was stopped`). A connection
// holds at most MaxWatchers (64) watchers, Herd's bound. The statuses are
// FullStatus's (a unit's follow its machine's, and a machine that starts
// or becomes dying, or an application that becomes dying, restates its
// units); an application's is Juju's "unset"; units carry no charm URL,
// ports or addresses.
//
// # Provisioning (what `juju status` and `juju retry-provisioning` see)
//
// Deploy, AddUnits, DestroyUnit, DestroyApplication and DestroyModels
// record what is wanted and return; the controller's provisioner starts
// and stops machines (controller.Provisioning). FullStatus and the
// AllWatcher show it in Juju's terms, as Juju's provisioner sets them:
//
//	Herd machine   agent status  instance status      message
//	pending        pending       pending
//	allocating     pending       allocating
//	started        started       running
//	error          pending       provisioning error   the provider's
//
// Herd adds to a provisioning error's data "attempts" (failed starts in a
// row) and, while the provisioner will try again by itself, "transient":
// true (the flag Juju's retry-provisioning sets; Herd's client reads it to
// know a machine has been given up on). A machine, application or model
// being removed has life "dying" (FullStatus: the machine's and units'
// agent status life, the application's life, the model status's life;
// AllWatcher: each entity's life), a unit dying with its machine or
// application. Units are "allocating", workload "waiting" ("waiting for
// machine", Juju's words), until their machine is started.
//
// MachineManager.RetryProvisioning takes {"machines": [tags], "all":
// bool} and, as Juju's, returns {"results": [...]} with an item per
// failure only: a tag that is not a machine's, then the Session's
// refusal; the call is one Session.RetryProvisioning, which retries all
// the named machines or none (a machine not found, or not in a
// provisioning error). A caller without model write is refused as a
// whole (as Juju's CanWrite).
//
// Bulk calls make one Session call per item and put each item's error in
// its result (one refused item does not fail the others), in request
// order. Where Juju reads several things for one item (ModelInfo: the
// model's status and its users) the item makes one Session call per thing,
// each checked.
//
// # Limits and their defaults (Options)
//
//   - Per connection, internal/rpc's Options: frames at most 1 MiB (a
//     larger one closes that connection only), 16 requests in flight, a
//     1 minute request timeout, 3 minutes idle closes, pings every minute.
//   - MaxConns 1000 websocket connections at once; beyond, HTTP 503 before
//     the upgrade.
//   - Logins: token buckets per user name (LoginRate 2 per second,
//     LoginBurst 5) and per source address (LoginAddrRate 10 per second,
//     LoginAddrBurst 20: users behind one NAT share it); a login beyond them waits
//     for a token up to LoginWait (2 s), and beyond that is refused with
//     Juju's `try again` (code "try again", apiserver/errors ErrTryAgain,
//     which Juju uses for its agent login rate limit). The rate does not
//     depend on whether the user exists.
//   - /register: RegisterRate one per 5 seconds with RegisterBurst 5, per
//     source address and per user; RegisterMaxBytes 4 KiB.
//   - Each rate limiter remembers at most LimiterKeys (10,000) keys:
//     refilled buckets are dropped first, then the least recently used.
//   - Serve's http.Server (Options of the same names): ReadHeaderTimeout
//     10 s, ReadTimeout 30 s (a
//     request and its body; websockets set their own deadlines once
//     upgraded), IdleTimeout 2 minutes, MaxHeaderBytes 16 KiB; the TLS
//     handshake is bounded by the read timeouts (net/http), the websocket
//     handshake by rpc.HandshakeTimeout. TLS 1.2 at least.
//
// One bad request (malformed params, an unknown method, a panic, a slow
// call) costs only itself; a frame that is not JSON or too large closes
// only its own connection.
//
// # Where Herd differs from Juju
//
//   - No macaroons: LoginRequest.macaroons is ignored, no discharge is ever
//     required; the session credential travels as above.
//   - RedirectInfo always answers `not redirected`: Herd never redirects.
//   - Deploy records a charm name read from the charm URL ("ch:mysql",
//     "ch:amd64/jammy/mysql-12", "mysql" are all "mysql"); nothing is
//     downloaded, channels, origins, config, constraints, placement,
//     storage, devices, resources and bindings are ignored; num-units 0 is
//     one unit. DestroyApplication and DestroyUnit refuse dry-run (not
//     valid) and return empty info.
//   - Only the facades above are served. The juju CLI's deploy and
//     python-libjuju's resolve and add a charm through the Charms facade
//     first, which Herd does not serve (they get "unknown version"):
//     Application.Deploy serves clients that call it directly.
//   - CreateModel ignores config, region and credential; a cloud other
//     than the controller's is not found.
//   - FullStatus ignores patterns and returns the whole model; Herd has no
//     agent or workload status, so units say "allocating"/"waiting" until
//     their machine is started and "idle"/"unknown" after; machines'
//     statuses map as above; no relations, offers or storage. Juju shows
//     a start being retried as "allocating" with a retry message; Herd
//     shows "provisioning error" with the provider's message and
//     "transient": true.
//   - ListModels and AllModels have no per-model last connection: the
//     zero time (ListModels) and null (AllModels), as Juju sends for a
//     user who never connected. ModelManager v9's default-series and
//     default-base are left empty.
//   - ListModelSummaries with "all" from a non-superuser lists the user's
//     own models, as Juju does: the Session refuses "all", and the facade
//     reads that refusal as Juju's fallback.
//   - Pinger.Stop is Ping (Herd has no agent ping timer); both check the
//     session after login.
//   - Juju's login flood control covers agents only; Herd limits every
//     login, per user and per source address.
package apiserver
