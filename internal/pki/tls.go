package pki

import (
	"crypto/tls"
	"crypto/x509"

	"github.com/herd-project/herd"
)

// ServerTLSConfig returns the TLS configuration of a controller serving
// the server certificate certPEM with its key keyPEM (from CA.ServerCert):
// TLS 1.2 at least, 1.3 whenever the client offers it.
func ServerTLSConfig(certPEM, keyPEM []byte) (*tls.Config, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// The error names the problem (mismatch, bad PEM), never key bytes.
		return nil, herd.Wrap(herd.ErrInvalid, err, "invalid server certificate or key")
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{pair},
	}, nil
}

// ClientTLSConfig returns the TLS configuration of a client that trusts
// only the CA certificate caCertPEM (never the system roots) and verifies
// the server as ServerName, so that any address of the controller works.
func ClientTLSConfig(caCertPEM []byte) (*tls.Config, error) {
	ca, err := ParseCACert(caCertPEM)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		RootCAs:    pool,
		ServerName: ServerName,
	}, nil
}
