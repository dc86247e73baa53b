package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"time"

	"github.com/herd-project/herd"
)

const (
	// Validity is how long a certificate is valid, as Juju's ten years.
	Validity = 10 * 365 * 24 * time.Hour
	// Backdate is how far before now a certificate becomes valid, for
	// clock skew between controller and clients (Juju: five minutes).
	Backdate = 5 * time.Minute

	// CACommonName is the CA subject's common name, as Juju's bootstrap.
	CACommonName = "juju-ca"
	// Organization is the subject organisation of every certificate.
	Organization = "Juju"

	// MaxPEMBytes caps the PEM a parser reads: a CA or a server
	// certificate is a few hundred bytes; a Juju RSA-4096 chain a few kB.
	MaxPEMBytes = 64 << 10
)

// CA is a controller's certificate authority: its certificate and private
// key, PEM-encoded as the controller keeps them.
type CA struct {
	CertPEM []byte // "CERTIFICATE"
	KeyPEM  []byte // "PRIVATE KEY" (PKCS#8); keep it secret

	cert *x509.Certificate
	key  crypto.Signer
}

// Certificate returns the parsed CA certificate.
func (ca CA) Certificate() *x509.Certificate { return ca.cert }

// NewCA makes a CA key (ECDSA P-256) and a self-signed CA certificate
// valid from now-Backdate for Validity. rand supplies the serial number.
func NewCA(controllerName, uuid string, now time.Time, rand io.Reader) (CA, error) {
	if controllerName == "" || uuid == "" {
		return CA{}, herd.Errorf(herd.ErrInvalid, "cannot make CA: controller name and UUID must not be empty")
	}
	if rand == nil {
		return CA{}, herd.Errorf(herd.ErrInvalid, "cannot make CA: no random source")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand)
	if err != nil {
		return CA{}, herd.Wrap(herd.ErrFailedPrecondition, err, "cannot make CA key")
	}
	serial, err := serialNumber(rand)
	if err != nil {
		return CA{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:         CACommonName,
			Organization:       []string{Organization},
			OrganizationalUnit: []string{controllerName},
			SerialNumber:       uuid,
		},
		NotBefore:             now.Add(-Backdate),
		NotAfter:              now.Add(Validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true, // it signs server certificates only
	}
	der, err := x509.CreateCertificate(rand, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return CA{}, herd.Wrap(herd.ErrFailedPrecondition, err, "cannot make CA certificate")
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return CA{}, herd.Wrap(herd.ErrFailedPrecondition, err, "cannot encode CA key")
	}
	return ParseCA(
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	)
}

// serialNumber returns a random positive 128-bit serial number.
func serialNumber(rand io.Reader) (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(rand, b); err != nil {
		return nil, herd.Wrap(herd.ErrFailedPrecondition, err, "cannot read random serial number")
	}
	b[0] &= 0x7f
	b[0] |= 0x40 // never zero, never negative, always 16 bytes
	return new(big.Int).SetBytes(b), nil
}

// ParseCA reads a CA from its PEM certificate and key. The certificate
// must be a CA certificate and the key must match it. Every failure wraps
// herd.ErrInvalid and names the part at fault, never the key's bytes.
func ParseCA(certPEM, keyPEM []byte) (CA, error) {
	cert, err := ParseCACert(certPEM)
	if err != nil {
		return CA{}, err
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return CA{}, err
	}
	if !publicKeysEqual(key.Public(), cert.PublicKey) {
		return CA{}, herd.Errorf(herd.ErrInvalid, "CA key does not match the CA certificate")
	}
	return CA{CertPEM: clone(certPEM), KeyPEM: clone(keyPEM), cert: cert, key: key}, nil
}

// ParseCACert reads a CA certificate (what a client pins): exactly one
// PEM "CERTIFICATE" block, nothing else but white space, a CA.
func ParseCACert(certPEM []byte) (*x509.Certificate, error) {
	der, err := onePEM(certPEM, "CA certificate", "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, herd.Wrap(herd.ErrInvalid, err, "invalid CA certificate")
	}
	if !cert.BasicConstraintsValid || !cert.IsCA {
		return nil, herd.Errorf(herd.ErrInvalid, "invalid CA certificate: not a certificate authority")
	}
	switch cert.PublicKeyAlgorithm {
	case x509.ECDSA, x509.RSA:
	default:
		return nil, herd.Errorf(herd.ErrInvalid, "invalid CA certificate: %v keys not supported", cert.PublicKeyAlgorithm)
	}
	return cert, nil
}

// onePEM returns the bytes of the single PEM block of one of the given
// types in data.
func onePEM(data []byte, what string, types ...string) ([]byte, error) {
	if len(data) == 0 {
		return nil, herd.Errorf(herd.ErrInvalid, "invalid %s: empty", what)
	}
	if len(data) > MaxPEMBytes {
		return nil, herd.Errorf(herd.ErrInvalid, "invalid %s: %d bytes, at most %d allowed", what, len(data), MaxPEMBytes)
	}
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, herd.Errorf(herd.ErrInvalid, "invalid %s: no PEM data", what)
	}
	if len(trimSpace(rest)) != 0 {
		return nil, herd.Errorf(herd.ErrInvalid, "invalid %s: more than one PEM block", what)
	}
	for _, t := range types {
		if block.Type == t {
			return block.Bytes, nil
		}
	}
	return nil, herd.Errorf(herd.ErrInvalid, "invalid %s: PEM type %q, want %q", what, block.Type, types[0])
}

func parseKey(keyPEM []byte) (crypto.Signer, error) {
	der, err := onePEM(keyPEM, "CA key", "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	var key any
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		key = k
	} else if k, err := x509.ParseECPrivateKey(der); err == nil {
		key = k
	} else if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		key = k
	} else {
		return nil, herd.Errorf(herd.ErrInvalid, "invalid CA key: not a PKCS#8, SEC 1 or PKCS#1 private key")
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		return k, nil
	case *rsa.PrivateKey:
		return k, nil
	default:
		return nil, herd.Errorf(herd.ErrInvalid, "invalid CA key: %T keys not supported", key)
	}
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\n' || b[0] == '\r' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }
