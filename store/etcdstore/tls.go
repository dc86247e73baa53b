package etcdstore

import (
	"crypto/tls"
	"crypto/x509"
	"os"

	"github.com/herd-project/herd"
)

// TLSFiles is the TLS configuration for Options.TLS from files in PEM, as
// etcd's own --cacert, --cert and --key take them: caFile is the CA that
// signed the members' certificates (the only one trusted; "" trusts the
// system's roots), certFile and keyFile the client certificate and key
// etcd checks when it runs with --client-cert-auth (both "" for none).
// Unreadable or invalid files wrap herd.ErrInvalid.
func TLSFiles(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, herd.Wrap(herd.ErrInvalid, err, "etcdstore: etcd CA")
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, herd.Errorf(herd.ErrInvalid, "etcdstore: etcd CA %s holds no PEM certificate", caFile)
		}
		cfg.RootCAs = pool
	}
	switch {
	case certFile != "" && keyFile != "":
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, herd.Wrap(herd.ErrInvalid, err, "etcdstore: etcd client certificate")
		}
		cfg.Certificates = []tls.Certificate{cert}
	case certFile != "" || keyFile != "":
		return nil, herd.Errorf(herd.ErrInvalid, "etcdstore: an etcd client certificate needs both its certificate and key files")
	}
	return cfg, nil
}
