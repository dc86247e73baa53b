package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/herd-project/herd"
)

// ServerName is the TLS server name every client sets (Juju's
// api.NewTLSConfig), whatever address it dials.
const ServerName = "juju-apiserver"

// DNSNames are the names every server certificate holds, Juju's
// controller.DefaultDNSNames: clients old and new set one of them as the
// TLS server name.
var DNSNames = []string{"localhost", ServerName, "juju-mongodb", "anything"}

// MaxAddrs bounds the addresses one server certificate names.
const MaxAddrs = 256

// ServerCert makes a fresh ECDSA P-256 key and a server certificate for it,
// signed by ca, valid from now-Backdate for Validity (never past the CA's
// own expiry). addrs are the controller's configured addresses, each a
// host, an IP, or either with ":port"; each becomes an IP SAN or a DNS
// name, next to DNSNames. The key is fresh randomness from crypto/rand.
func (ca CA) ServerCert(addrs []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	if ca.cert == nil || ca.key == nil {
		return nil, nil, herd.Errorf(herd.ErrInvalid, "cannot make server certificate: CA not loaded (use NewCA or ParseCA)")
	}
	if len(addrs) > MaxAddrs {
		return nil, nil, herd.Errorf(herd.ErrInvalid, "cannot make server certificate: %d addresses, at most %d allowed", len(addrs), MaxAddrs)
	}
	ips, names, err := sans(addrs)
	if err != nil {
		return nil, nil, err
	}
	notAfter := now.Add(Validity)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	if !now.Before(notAfter) {
		return nil, nil, herd.Errorf(herd.ErrInvalid, "cannot make server certificate: the CA expired on %s", ca.cert.NotAfter.UTC().Format(time.RFC3339))
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, herd.Wrap(herd.ErrFailedPrecondition, err, "cannot make server key")
	}
	serial, err := serialNumber(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: ServerName, Organization: []string{Organization}},
		NotBefore:             now.Add(-Backdate),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              names,
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, nil, herd.Wrap(herd.ErrFailedPrecondition, err, "cannot sign server certificate")
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, herd.Wrap(herd.ErrFailedPrecondition, err, "cannot encode server key")
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// sans splits addresses into IP SANs and DNS names, DNSNames first,
// without duplicates.
func sans(addrs []string) ([]net.IP, []string, error) {
	var ips []net.IP
	names := append([]string(nil), DNSNames...)
	seen := map[string]bool{}
	for _, n := range names {
		seen[n] = true
	}
	for _, a := range addrs {
		host, err := hostOf(a)
		if err != nil {
			return nil, nil, err
		}
		if seen[host] {
			continue
		}
		seen[host] = true
		if ip := net.ParseIP(host); ip != nil {
			ips = append(ips, ip)
		} else {
			names = append(names, host)
		}
	}
	return ips, names, nil
}

// hostOf returns the host of "host", "host:port", "IP", "IPv6" or
// "[IPv6]:port", lowercased, or ErrInvalid.
func hostOf(addr string) (string, error) {
	host := addr
	if ip := net.ParseIP(addr); ip == nil && strings.Contains(addr, ":") {
		h, _, err := net.SplitHostPort(addr)
		if err != nil {
			return "", herd.Wrap(herd.ErrInvalid, err, fmt.Sprintf("address %q not valid", addr))
		}
		host = h
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.String(), nil
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if !validHostname(host) {
		return "", herd.Errorf(herd.ErrInvalid, "address %q not valid: want an IP address or a host name", addr)
	}
	return host, nil
}

// validHostname accepts RFC 1123 names (letters, digits, '-', dots
// between labels of 1 to 63 bytes), 253 bytes at most.
func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
