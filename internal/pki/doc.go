// Package pki makes and reads a Herd controller's certificate authority
// and the TLS server certificate it signs, and builds the TLS
// configurations both ends of Herd's API use.
//
// At bootstrap the controller calls NewCA once and keeps CA.CertPEM and
// CA.KeyPEM in its state; on every start it calls ParseCA and
// CA.ServerCert for the addresses it serves. A client pins the CA
// certificate it learned from `POST /register` (ClientTLSConfig) and
// never consults the system roots.
//
// # Choices, and where Herd differs from Juju 3.6
//
// Key type. Juju 3.6 makes RSA-3072 keys for its CA and server
// certificate (pki.DefaultKeyProfile in juju/pki/signer.go). Herd uses
// ECDSA P-256 for both: every client of Juju's protocol (Go's crypto/tls,
// Node's and Python's OpenSSL, browsers) accepts it over TLS 1.2 and 1.3,
// it is as strong as RSA-3072 for this purpose, and a key takes
// microseconds instead of the hundreds of milliseconds RSA-3072 key
// generation costs, so a test controller starts in milliseconds. ParseCA
// still reads an RSA or ECDSA CA in PKCS#1, SEC 1 or PKCS#8 form, so a CA
// made elsewhere (Juju's included) can be imported; server certificates
// are always ECDSA P-256.
//
// Validity. As Juju: a certificate is valid from five minutes before now
// (clock skew) for ten years (juju/pki/request.go DefaultValidityYears,
// NotBeforeJitter). A server certificate never outlives its CA.
//
// Names. The CA's subject is CN "juju-ca", O "Juju", as Juju's bootstrap
// writes it, with the controller name as OU and the controller UUID as the
// subject serial number (Juju's older CAs carried the UUID the same way).
// The server certificate holds every configured address, an IP SAN for an
// IP and a DNS name for a host name (a ":port" is dropped), and always
// Juju's DefaultDNSNames (juju/controller/config.go): "localhost",
// "juju-apiserver", "juju-mongodb" and "anything", which older clients
// set as the TLS server name. Juju's own server certificate carries only
// those DNS names; Herd adds the addresses so that a client that checks
// the address it dialled also succeeds.
//
// Client. Like Juju's api.NewTLSConfig (juju/api/apiclient.go), the
// client config sets ServerName "juju-apiserver" and trusts only the
// pinned CA, so the dialled address (an IP, localhost, a load balancer's
// name) never has to match the certificate.
//
// TLS versions. TLS 1.2 at least; Go negotiates 1.3 whenever the peer
// offers it, so 1.3 is what Herd's own client and server use.
//
// # Randomness
//
// NewCA takes the random source for the serial number. Since Go 1.26 the
// standard library ignores a caller's reader when it generates keys and
// always uses the operating system's secure source, so keys are never
// reproducible even with a fixed reader; that is intended.
package pki
