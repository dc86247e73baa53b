// Package users holds what Herd knows about a user apart from storage: the
// User value, name rules, password hashing and the registration token.
//
// # Names
//
// A user name matches [a-zA-Z0-9][a-zA-Z0-9.+-]*[a-zA-Z0-9], optionally
// followed by @domain; "@local" is the default and is dropped. Identity is
// case-insensitive: Canonical("Tom@local") == "tom". The name as first given
// is kept for display.
//
// # Passwords
//
// Hasher is the seam: Bcrypt is the production hasher (cost
// bcrypt.DefaultCost unless set). A password must be non-empty and at most
// 72 bytes, bcrypt's limit; longer is ErrInvalid, never silently cut.
//
// # Registration tokens
//
// Token is byte-compatible with what `juju register` takes: ASN.1 DER of
// (User, Addrs, SecretKey, ControllerName, ProxyConfig), padded with zero
// bytes to a multiple of 3 and encoded as URL-safe base64. DecodeToken is
// lenient (3, 4 or 5 fields, with or without '=', trailing zero bytes).
package users
