// Package rpc is Juju's RPC protocol over a websocket, the transport under
// Herd's API server and Herd's Go client. It knows frames, request ids,
// error codes and connection limits; it knows no facade, login or session:
// the API layer above it does, through a Handler.
//
// # Frames
//
// As Juju 3.6's rpc/jsoncodec: JSON text messages, a request
//
//	{"request-id": 1, "type": "Admin", "version": 3, "request": "Login", "params": {...}}
//
// and its reply
//
//	{"request-id": 1, "response": {...}}
//	{"request-id": 1, "error": "permission denied", "error-code": "unauthorized access", "response": {}}
//
// Like Juju's server, Herd answers a request in the form it came in: the
// older capitalised form ("RequestId", "Type", ..., chosen when
// "request-id" is absent or 0) is answered in that form. Every reply has a
// "response" ({} when empty, also beside an error): jujulib
// (dist/api/client.js) tells a reply by the presence of "error" or
// "response" and an error by the presence of "error", so an error message is
// never empty. A frame that names neither a facade nor a method is a reply;
// the server ignores it, as Juju does.
//
// # Errors
//
// An error reply is an *Error (message, code, info). ErrorFor gives the
// reply for a Herd error, with the code Juju sends for the same situation
// (apiserver/errors.ServerError); on the client, (*Error).Unwrap gives the
// root sentinel back, so errors.Is(err, herd.ErrPermissionDenied) holds on
// both sides of the wire:
//
//	herd.ErrNotFound            "not found"            (also read: "user not found", "model not found")
//	herd.ErrAlreadyExists       "already exists"
//	herd.ErrInvalid             "not valid"            (also read: "bad request")
//	herd.ErrPermissionDenied    "unauthorized access", message "permission denied" (also read: "forbidden")
//	herd.ErrUnauthenticated     "unauthorized access", any other message, e.g. "invalid entity name or password";
//	                            "login expired" for the message "login expired"
//	                            (also read: "no credentials provided", "session token invalid")
//	herd.ErrFailedPrecondition  "" (Juju has no code: "cannot delete controller owner" has none)
//	herd.ErrClosed              "" (Juju's "connection is shut down" has none)
//
// Where Juju's code does not tell the sentinel (the two with "", and the
// two sharing "unauthorized access"), a Herd server also names it in
// error-info under InfoKind ("herd-kind"), which Juju's clients ignore.
// Any other error goes out with its text and no code, as in Juju. The
// replies for unknown facades, versions and methods are UnknownFacade and
// UnknownMethod, with Juju's texts.
//
// # Limits and their defaults (Options)
//
//   - MaxFrameBytes 1 MiB: a larger frame closes the connection with
//     close code 1009 and the reason "frame larger than 1048576 bytes".
//   - MaxInFlight 16 requests served at once per connection; the next frame
//     is read when one finishes.
//   - RequestTimeout 1 minute: the handler's ctx ends and the client gets
//     "request timed out after 1m0s" (code "deadline exceeded").
//   - IdleTimeout 3 minutes without a frame while no request runs closes
//     the connection (code 1000, reason "idle for 3m0s"); Juju's clients
//     send Pinger.Ping every minute.
//   - PingPeriod 1 minute, PongWait 90 seconds, WriteTimeout 10 seconds,
//     as Juju's apiserver/websocket; CloseTimeout 5 seconds.
//   - Clients: replies up to 64 MiB; handshakes bounded by
//     HandshakeTimeout (30 seconds).
//
// A frame that is not JSON, or whose request id cannot be read, closes
// the connection (code 1003, "malformed frame: ..."); one with a readable
// id but a field of the wrong type is answered with code "bad request".
// A handler panic is answered with the panic's text and no code, and the
// connection keeps serving.
//
// # Where Herd differs from Juju, and why
//
//   - Juju sets no frame cap and closes the connection on any malformed
//     frame; Herd caps frames and answers a malformed frame whose request
//     id it can read, so one bad request costs only itself.
//   - Juju has no per-request timeout, and bounds nothing per connection;
//     Herd has both, against hostile clients (spec §Limits).
//   - Juju's idle timer is reset by Pinger.Ping only; Herd's by any frame,
//     since a client that calls is not idle (spec: "neither pings nor
//     calls").
//   - Juju's client appends " (code)" to an error's text; Herd's Error()
//     is the message alone, as Juju's server-side params.Error prints, so
//     a message reads the same in and out of process.
//   - A result that cannot be encoded is answered with an error (Juju
//     logs it and never replies).
//   - A Herd server adds error-info {"herd-kind": SENTINEL} to the replies
//     for Herd's errors (see Errors); Juju sends error-info only for a few
//     codes (discharge required, redirect, not leader, access required).
//   - Only the websocket transport: Juju's plain net.Conn codec is not
//     served.
//
// # Use
//
// Server side, per connection: ws, err := Upgrade(w, r); c := NewConn(ws,
// opts); err = c.Serve(ctx, handler) (once; it returns when the
// connection is down). c.Close or c.CloseWith end it from anywhere, e.g.
// when the session bound to it ends. A handler that is an InlineHandler
// has its quick requests served on the reading goroutine, with no hand-off.
// Client side: Dial (or NewClient over a websocket of one's own), then
// Call from any number of goroutines; a lone call reads its own reply
// (see Client). The client sends no keepalive of its own: as Juju's
// clients do, the layer above calls Pinger.Ping (the server's websocket
// pings are answered by whoever reads: a call, or the idle reader that
// starts 5 ms after the last call, so an idle connection is always read).
//
// Params and results go through encoding/json, except those that
// implement FastMarshaler or FastUnmarshaler (internal/params does so for
// the hot UserManager.UserInfo request and results): they write and read
// their usual JSON themselves, the same bytes and the same values, and
// hand anything unusual to encoding/json.
package rpc
