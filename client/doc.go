// Package client is Herd's Go client of a Herd controller's network API,
// which is Juju's own wire protocol (spec/api.md): a program holding a
// *client.Session does over TLS what one holding a *controller.Session
// does in process, with the same method names, arguments and result types
// (controller.UserInfo, controller.ModelSummary, models.Model, ...), so it
// can switch between the two.
//
// # Usage
//
//	conn, err := client.Dial(ctx, client.Options{
//		Addrs:  []string{"10.0.0.1:17070", "10.0.0.2:17070"},
//		CACert: caPEM, // the controller's CA, pinned: the system roots are never trusted
//	})
//	if err != nil { ... }
//	s, err := conn.Login(ctx, "admin", password) // the password is not kept
//	if err != nil { ... }
//	defer s.Close()
//	added, err := s.AddUser(ctx, "tom", "Tom")           // added.Token goes to tom
//	_, err = s.CreateModel(ctx, "lxd-model-1", controller.CreateModelOptions{})
//	err = s.Grant(ctx, "tom", acl.Write, "lxd-model-1")
//
// On tom's machine:
//
//	s, reg, err := client.Register(ctx, token, newPassword, client.RegisterOptions{})
//	// keep reg.CACert, reg.Addrs and s.Token() (a 0600 file) to come back later:
//	ms, err := s.Models(ctx, controller.ModelsOptions{})
//	d, err := s.Deploy(ctx, "admin/lxd-model-1", "mysql", controller.DeployOptions{Name: "mysql-staging"})
//	st, err := s.WaitStarted(ctx, "admin/lxd-model-1", "mysql-staging") // the provisioner starts them
//	s.Close() // the session goes on on the controller
//
// and later, in another process:
//
//	conn, err := client.Dial(ctx, client.Options{Addrs: reg.Addrs, CACert: reg.CACert})
//	s, err := conn.Resume(ctx, "tom", tokenFromFile)
//	...
//	err = s.Logout(ctx) // ends the session on the controller: the token stops working
//
// # Registration
//
// Register is `juju register`: it decodes the token (users.DecodeToken),
// seals {"password": NEW} with NaCl secretbox under the token's key and
// POSTs it to https://ADDR/register, trying the token's addresses in
// order. That POST is the one request made without verifying the server's
// certificate, as Juju's client does, because the CA is not known yet: it
// carries nothing an impostor could open, and the reply, sealed under the
// same key with a fresh nonce, proves the controller before its CA
// certificate (inside the reply) is pinned. Then Register dials with that
// CA and logs in with the new password. A refusal (a used, reset or
// expired token, a disabled user: the controller does not say which) wraps
// herd.ErrUnauthenticated with Juju's hint.
//
// # What travels on the wire
//
// Every request is a Juju RPC frame over wss://ADDR/api (a controller
// connection) or wss://ADDR/model/UUID/api (a model connection), TLS 1.2
// or later with the controller's CA pinned and server name
// "juju-apiserver". The mapping:
//
//	Conn.Login, Conn.Resume  Admin(3).Login: auth-tag, and credentials (password) or token (session)
//	AddUser                  UserManager(3).AddUser; the token is built here from the secret key
//	ChangePassword           UserManager(3).SetPassword
//	ResetPassword            UserManager(3).ResetPassword; the token is built here
//	DisableUser, EnableUser  UserManager(3).DisableUser, EnableUser
//	RemoveUser               UserManager(3).RemoveUser
//	Users, ShowUser, WhoAmI  UserManager(3).UserInfo
//	CreateModel              ModelManager(10 or 9).CreateModel
//	Models                   ModelManager.ListModelSummaries (with All, UserManager.UserInfo on
//	                         oneself first: Juju quietly lists a non-superuser's own models)
//	ModelUsers               ModelManager.ModelInfo
//	Grant, Revoke            ModelManager.ModifyModelAccess (model levels),
//	                         Controller(12 or 11).ModifyControllerAccess (controller levels)
//	DestroyModel             ModelManager.DestroyModels
//	Status                   Client(8..6).FullStatus            (model connection)
//	Deploy                   Application(22..15).Deploy, then FullStatus (model connection)
//	AddUnit                  Application.AddUnits, then FullStatus      (model connection)
//	RemoveUnit               Application.DestroyUnit                     (model connection)
//	RemoveApplication        Application.DestroyApplication              (model connection)
//	RetryProvisioning        MachineManager(10 or 9).RetryProvisioning   (model connection)
//	WaitFor, WaitStarted,    Client.WatchAll, then AllWatcher(3).Next as the signal that
//	WaitRemoved              something changed and Client.FullStatus after each; AllWatcher.Stop
//	Logout, Token, Explain,  HerdSession(1).Logout, SessionToken, Explain, EndSessions
//	EndSessions
//	Check                    Pinger(1).Ping (the controller checks the session)
//	(idle connections)       Pinger(1).Ping every Options.PingInterval
//
// For each facade the client calls the highest version that both it
// (internal/params.Facades) and the server (the login's facade list) know;
// a facade the server does not list fails locally with code "not
// supported" (wrapping herd.ErrFailedPrecondition). The calls that name a
// model resolve "owner/name", or "name" for one of the caller's own models
// (or controller.UUIDRef), to the model's UUID through ListModelSummaries
// first, at every call (one more round trip; no stale cache when a model
// is destroyed and made again); a model the caller cannot see is
// permission denied, and a missing one in the caller's own namespace is
// not found, as in process. User names are checked with the controller's
// rule (users.Canonical) before they become tags, so a bad name reads as
// it does in process.
//
// The password travels once, in Admin.Login (or sealed, in /register),
// and is not kept. After a password login the client asks for the
// session's credential (HerdSession.SessionToken) and uses it for every
// later login: model connections and reconnections. It is a secret: keep
// it as such (Token).
//
// # Failover and resume
//
// Dial tries Options.Addrs in order, each bounded by Options.DialTimeout,
// and uses the first that completes TCP, TLS and the websocket handshake.
// A logged-in session remembers the controller's servers from the login
// result. When a connection drops (the controller restarts, a network
// blip, the server's idle timer), the call that was in flight fails with
// an error wrapping herd.ErrClosed (it may or may not have been applied:
// it is not retried), and the next call on that connection redials: the
// login's servers in order (every controller process sharing the state,
// the one that dropped the connection last), then Options.Addrs, and
// resumes the session
// with its token (Admin.Login with "token"). A session that ended on the
// server meanwhile (logout, expiry, password change, disable) cannot be
// resumed: that call and every later one wrap herd.ErrUnauthenticated,
// and Token returns "". Reconnecting holds the session's lock, so other
// calls (and Close) wait for it, at most DialTimeout per address. Model connections are
// opened lazily, one per model, cached until Close, and redialled the same
// way. A controller without the HerdSession facade (Juju itself) gives no
// token: such a session can neither fail over nor open model connections.
//
// # Differences from the in-process Session
//
// TestMirrorsInProcess runs one transcript of operations, as a superuser
// and as a user with read access, on an in-process session and on a
// network one, and requires the same results and the same errors; what
// differs is listed here.
//
//   - Controller.Session.Token is the controller's own token; here Token
//     is the same credential, fetched once after login.
//   - UserInfo.Pending is not on the wire (Juju's UserInfo has no such
//     field): it is false in Users and ShowUser (AddUser sets it).
//   - A disabled user's Access reads acl.None in Users and ShowUser:
//     Juju sends no access for a disabled user, and Herd's server does
//     the same.
//   - WhoAmI.Expires is zero: the session's expiry is not on the wire.
//     WhoAmI.Controller is Options.ControllerName (Register sets it from
//     the token), or the controller's UUID when unnamed.
//   - models.Model.Created is not on the wire as such: it is read from the
//     model status's "since", which Herd's server sets to the creation time.
//   - Deploy sends the charm as a Charmhub URL without revision
//     (CharmURL: "ch:mysql") with origin source "charm-hub"; nothing is
//     downloaded, the controller records it.
//   - Deploy, AddUnit, RemoveUnit, RemoveApplication and DestroyModel return
//     when the controller has recorded what is wanted, as their in-process
//     counterparts do; the controller's provisioner then starts and stops
//     machines. Deploy's and AddUnit's machines are read back with
//     FullStatus, so their status is whatever it is by then. Wait with
//     WaitStarted, WaitRemoved or WaitFor, which watch the model (no
//     polling) and test their condition on Status after each change. Each
//     wait holds one AllWatcher on the model connection while it runs; the
//     server allows apiserver.MaxWatchers (64) at once per connection.
//   - Status reads a machine's status from Juju's instance status
//     ("pending", "allocating", "running", "provisioning error" with the
//     provider's message), its life from the agent status, and Attempts
//     from Herd's "attempts" in the error's data. WaitStarted gives up on
//     a machine in error that the controller no longer retries (no
//     "transient" flag), as the in-process WaitStarted does.
//   - Every method may also fail with an error wrapping herd.ErrClosed when
//     the controller cannot be reached, and with the context's error when
//     ctx ends first (the request may still run on the controller).
//
// # Errors
//
// A refused request returns an *rpc.Error-backed error whose text is
// Juju's message ("permission denied", `user "bob" not found`) and which
// wraps the root sentinel the error code stands for, so
// errors.Is(err, herd.ErrPermissionDenied) holds across the wire as in
// process. The error of one item inside a bulk result (Juju's
// params.ErrorResult) maps the same way. Local checks (an invalid level,
// model or unit name) wrap herd.ErrInvalid before anything is sent.
//
// # Concurrency
//
// A Session is safe for concurrent use; calls on one connection are in
// flight together and matched to their replies by request id.
package client
