// Package register implements both halves of Juju's registration
// exchange, `POST /register` (Juju 3.6: apiserver/registration.go on the
// server, cmd/juju/controller/register.go in the client), as pure
// functions over bytes: no HTTP, no store, no clock.
//
// The client holds a registration token (users.Token) whose 32-byte
// secret key the controller also keeps for that user until first use.
//
//  1. Client: Request seals {"password": NEW} with NaCl secretbox under
//     the key and a random 24-byte nonce, and returns the JSON body
//     {"user": "user-NAME", "nonce": B64, "cipher-text": B64} (Juju's
//     params.SecretKeyLoginRequest; byte fields in standard base64 with
//     padding, as Go's encoding/json writes []byte).
//  2. Server: ParseRequest checks the body's shape; the HTTP layer looks
//     up the user's pending key; OpenPassword opens the box, which proves
//     the client holds the key, and returns the new password. Setting it
//     and deleting the key is one transaction of the caller's.
//  3. Server: SealResponse seals Payload ({"ca-cert", "controller-uuid",
//     "proxy-config"}, Juju's params.SecretKeyLoginResponsePayload) under
//     the same key with a fresh random nonce, as
//     {"nonce": B64, "cipher-text": B64} (params.SecretKeyLoginResponse).
//  4. Client: OpenResponse opens it, which proves the server holds the
//     key, and returns the CA certificate to pin.
//
// # Failures
//
// Juju answers each failure differently (`user "bob" not found` 404,
// `secret key for user "bob" not found` 404, `secret key not valid` 500),
// which tells a caller whether a user exists and has a pending
// registration. Herd answers every refusal the same way: the HTTP layer
// sends FailureStatus with FailureBody, which is exactly Juju's answer to a
// box that does not open (status 500, {"error": {"message": "secret key
// not valid", "code": "not valid"}}), whether the user is unknown, has no
// pending key, the key expired, or the box or the request is malformed.
// Juju's `juju register` prints the same advice for any non-200 answer
// whose body is a params.ErrorResult ("Provided registration token may
// have expired..."), so Juju's client behaves as with Juju. To spend the
// same time when there is no key, the HTTP layer calls Decoy, which opens
// the box under a random key. Only after the box opens (the client has
// proved it holds the key) may an error say more: a new password that
// users.ValidatePassword refuses.
//
// Errors returned by this package wrap herd.ErrInvalid (the bytes are not
// a well-formed request or reply) or herd.ErrUnauthenticated (a box that
// does not open); their messages never hold a password, a key or a box.
//
// # Limits
//
// A request body is at most MaxRequestBytes unless the caller passes a
// smaller cap (a valid one is under 1 KiB: a 255-byte name, a 24-byte
// nonce and a box around a password of at most 72 bytes, which JSON
// escaping can make six times longer). The user must be "user-" followed
// by a name users.Canonical accepts; the nonce exactly 24 bytes; the box
// between MinBoxBytes and MaxBoxBytes. A reply is at most
// MaxResponseBytes (Juju's proxy configuration can carry a Kubernetes
// credential). Unknown JSON fields are ignored, as Juju's
// encoding/json-based server and client do.
//
// # Nonces
//
// A secretbox nonce must never be used twice under one key. The client's
// nonce is random; SealResponse draws its own and, beyond Juju, takes the
// request's nonce to refuse a reply that would reuse it (only a broken
// random source could produce one) and refuses an all-zero nonce.
package register
