package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/herd-project/herd"
)

const testUUID = "deadbeef-1bad-500d-9000-4b1d0d06f00d"

func newCA(t testing.TB, now time.Time) CA {
	t.Helper()
	ca, err := NewCA("herd-test", testUUID, now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestNewCA(t *testing.T) {
	now := time.Date(2026, 11, 29, 5, 0, 0, 0, time.UTC)
	ca := newCA(t, now)
	c := ca.Certificate()
	if !c.IsCA || !c.BasicConstraintsValid || c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("not a CA certificate: IsCA=%v usage=%v", c.IsCA, c.KeyUsage)
	}
	if _, ok := c.PublicKey.(*ecdsa.PublicKey); !ok {
		t.Errorf("CA key is %T, want ECDSA", c.PublicKey)
	}
	if got, want := c.NotBefore, now.Add(-Backdate); !got.Equal(want) {
		t.Errorf("NotBefore = %v, want %v", got, want)
	}
	if got, want := c.NotAfter, now.Add(Validity); !got.Equal(want) {
		t.Errorf("NotAfter = %v, want %v", got, want)
	}
	if c.Subject.CommonName != CACommonName || c.Subject.SerialNumber != testUUID || c.Subject.OrganizationalUnit[0] != "herd-test" {
		t.Errorf("subject = %v", c.Subject)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	again, err := ParseCA(ca.CertPEM, ca.KeyPEM)
	if err != nil {
		t.Fatalf("ParseCA of NewCA's PEM: %v", err)
	}
	if !again.Certificate().Equal(c) {
		t.Error("ParseCA returned another certificate")
	}
	for _, bad := range [][2]string{{"", testUUID}, {"c", ""}} {
		if _, err := NewCA(bad[0], bad[1], now, rand.Reader); !errors.Is(err, herd.ErrInvalid) {
			t.Errorf("NewCA(%q, %q) = %v, want ErrInvalid", bad[0], bad[1], err)
		}
	}
}

func TestServerCertSANs(t *testing.T) {
	now := time.Now()
	ca := newCA(t, now)
	certPEM, _, err := ca.ServerCert([]string{"10.0.0.1:17070", "[fd00::1]:17070", "::2", "Ctrl.Example.COM:17070", "127.0.0.1", "localhost:17070", "10.0.0.1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(certPEM)
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	wantNames := []string{"localhost", "juju-apiserver", "juju-mongodb", "anything", "ctrl.example.com"}
	if strings.Join(c.DNSNames, ",") != strings.Join(wantNames, ",") {
		t.Errorf("DNSNames = %v, want %v", c.DNSNames, wantNames)
	}
	var ips []string
	for _, ip := range c.IPAddresses {
		ips = append(ips, ip.String())
	}
	if got, want := strings.Join(ips, ","), "10.0.0.1,fd00::1,::2,127.0.0.1"; got != want {
		t.Errorf("IPAddresses = %s, want %s", got, want)
	}
	if c.IsCA || len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
		t.Errorf("server certificate usage wrong: IsCA=%v ext=%v", c.IsCA, c.ExtKeyUsage)
	}
	for _, name := range append(wantNames, "10.0.0.1", "fd00::1") {
		if err := c.VerifyHostname(name); err != nil {
			t.Errorf("VerifyHostname(%q): %v", name, err)
		}
	}
}

func TestServerCertRejects(t *testing.T) {
	now := time.Now()
	ca := newCA(t, now)
	for _, addr := range []string{"", "a b", "host:1:2", "-x.com", "x..com", "fe80::1%eth0", strings.Repeat("a", 64) + ".com", "exa_mple.com"} {
		if _, _, err := ca.ServerCert([]string{addr}, now); !errors.Is(err, herd.ErrInvalid) {
			t.Errorf("ServerCert(%q) = %v, want ErrInvalid", addr, err)
		}
	}
	if _, _, err := (CA{}).ServerCert(nil, now); !errors.Is(err, herd.ErrInvalid) {
		t.Errorf("zero CA: %v, want ErrInvalid", err)
	}
	if _, _, err := ca.ServerCert(nil, now.Add(Validity+time.Hour)); !errors.Is(err, herd.ErrInvalid) {
		t.Errorf("expired CA: %v, want ErrInvalid", err)
	}
	// A server certificate never outlives its CA.
	late := now.Add(Validity - time.Hour)
	certPEM, _, err := ca.ServerCert(nil, late)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(certPEM)
	c, _ := x509.ParseCertificate(b.Bytes)
	if !c.NotAfter.Equal(ca.Certificate().NotAfter) {
		t.Errorf("server NotAfter %v, CA NotAfter %v", c.NotAfter, ca.Certificate().NotAfter)
	}
}

// serve starts a TLS server on network/addr that completes handshakes, and
// returns its address.
func serve(t *testing.T, network, addr string, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen(network, addr, cfg)
	if err != nil {
		t.Skipf("cannot listen on %s %s: %v", network, addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				if c.(*tls.Conn).Handshake() != nil {
					return // the client refused us; it sees why
				}
				_, _ = c.Write([]byte("ok"))
				_, _ = io.Copy(io.Discard, c) // until the client closes
			}()
		}
	}()
	return ln.Addr().String()
}

func dial(addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	buf := make([]byte, 2)
	if _, err := c.Read(buf); err != nil {
		return tls.ConnectionState{}, err
	}
	return c.ConnectionState(), nil
}

func serverConfig(t *testing.T, ca CA, addrs []string, now time.Time) *tls.Config {
	t.Helper()
	certPEM, keyPEM, err := ca.ServerCert(addrs, now)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ServerTLSConfig(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestHandshakePinnedCA(t *testing.T) {
	now := time.Now()
	ca := newCA(t, now)
	cfg := serverConfig(t, ca, []string{"127.0.0.1:17070", "[::1]:17070"}, now)
	client, err := ClientTLSConfig(ca.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	if client.ServerName != "juju-apiserver" || client.MinVersion != tls.VersionTLS12 || client.InsecureSkipVerify {
		t.Fatalf("client config: %+v", client)
	}
	for _, tc := range []struct{ network, listen, dialHost string }{
		{"tcp4", "127.0.0.1:0", "127.0.0.1"},
		{"tcp6", "[::1]:0", "::1"},
		{"tcp4", "127.0.0.1:0", "localhost"},
	} {
		t.Run(tc.dialHost, func(t *testing.T) {
			addr := serve(t, tc.network, tc.listen, cfg)
			_, port, _ := net.SplitHostPort(addr)
			target := net.JoinHostPort(tc.dialHost, port)
			st, err := dial(target, client)
			if err != nil {
				t.Fatalf("handshake with pinned CA to %s: %v", target, err)
			}
			if st.Version != tls.VersionTLS13 {
				t.Errorf("negotiated %x, want TLS 1.3", st.Version)
			}
			// A client that verifies the dialled host instead also works:
			// the certificate names the address.
			byAddr := client.Clone()
			byAddr.ServerName = tc.dialHost
			if _, err := dial(target, byAddr); err != nil {
				t.Errorf("handshake verifying %q: %v", tc.dialHost, err)
			}
			// TLS 1.2 only is still accepted.
			v12 := client.Clone()
			v12.MaxVersion = tls.VersionTLS12
			if st, err := dial(target, v12); err != nil || st.Version != tls.VersionTLS12 {
				t.Errorf("TLS 1.2: %v %x", err, st.Version)
			}
		})
	}
}

func TestHandshakeRefused(t *testing.T) {
	now := time.Now()
	ca := newCA(t, now)
	good := serverConfig(t, ca, []string{"127.0.0.1"}, now)
	addr := serve(t, "tcp4", "127.0.0.1:0", good)

	other := newCA(t, now)
	otherClient, err := ClientTLSConfig(other.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dial(addr, otherClient); err == nil {
		t.Error("handshake succeeded with another CA pinned")
	}

	// An expired server certificate (and CA) is refused.
	old := now.AddDate(-11, 0, 0)
	oldCA := newCA(t, old)
	expired := serverConfig(t, oldCA, []string{"127.0.0.1"}, old.Add(time.Hour))
	expiredAddr := serve(t, "tcp4", "127.0.0.1:0", expired)
	oldClient, err := ClientTLSConfig(oldCA.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	_, err = dial(expiredAddr, oldClient)
	var invalid x509.CertificateInvalidError
	if !errors.As(err, &invalid) || invalid.Reason != x509.Expired {
		t.Errorf("expired certificate: err = %v, want x509 Expired", err)
	}

	// A server whose certificate the CA did not sign: same CA name, other key.
	imposterCA := newCA(t, now)
	imposter := serverConfig(t, imposterCA, []string{"127.0.0.1"}, now)
	imposterAddr := serve(t, "tcp4", "127.0.0.1:0", imposter)
	client, _ := ClientTLSConfig(ca.CertPEM)
	if _, err := dial(imposterAddr, client); err == nil {
		t.Error("handshake succeeded with a server certificate from another CA")
	}

	// A client limited to TLS 1.1 is refused by the server.
	old11 := client.Clone()
	old11.MinVersion, old11.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	if _, err := dial(addr, old11); err == nil {
		t.Error("TLS 1.1 handshake succeeded")
	}
}

func TestParseCARejects(t *testing.T) {
	now := time.Now()
	ca := newCA(t, now)
	other := newCA(t, now)
	serverCert, serverKey, err := ca.ServerCert(nil, now)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		cert, key []byte
		want      string
	}{
		{"empty cert", nil, ca.KeyPEM, "invalid CA certificate: empty"},
		{"not PEM", []byte("hello"), ca.KeyPEM, "no PEM data"},
		{"two blocks", append(append([]byte{}, ca.CertPEM...), ca.CertPEM...), ca.KeyPEM, "more than one PEM block"},
		{"key as cert", ca.KeyPEM, ca.KeyPEM, `PEM type "PRIVATE KEY"`},
		{"bad DER", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}}), ca.KeyPEM, "invalid CA certificate"},
		{"leaf", serverCert, serverKey, "not a certificate authority"},
		{"other key", ca.CertPEM, other.KeyPEM, "does not match"},
		{"no key", ca.CertPEM, nil, "invalid CA key: empty"},
		{"bad key", ca.CertPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}), "not a PKCS#8"},
		{"huge", bytes.Repeat([]byte("A"), MaxPEMBytes+1), ca.KeyPEM, "at most"},
	}
	for _, tc := range cases {
		_, err := ParseCA(tc.cert, tc.key)
		if !errors.Is(err, herd.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want ErrInvalid containing %q", tc.name, err, tc.want)
		}
		if err != nil && bytes.Contains([]byte(err.Error()), ca.KeyPEM[30:60]) {
			t.Errorf("%s: error shows key material", tc.name)
		}
	}
	if _, err := ClientTLSConfig([]byte("junk")); !errors.Is(err, herd.ErrInvalid) {
		t.Errorf("ClientTLSConfig(junk) = %v", err)
	}
	if _, err := ServerTLSConfig(serverCert, ca.KeyPEM); !errors.Is(err, herd.ErrInvalid) {
		t.Errorf("ServerTLSConfig with the wrong key = %v", err)
	}
}

func FuzzParseCA(f *testing.F) {
	ca := newCA(f, time.Now())
	f.Add(ca.CertPEM, ca.KeyPEM)
	f.Add(ca.CertPEM, []byte{})
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), ca.KeyPEM)
	f.Add(ca.KeyPEM, ca.CertPEM)
	f.Fuzz(func(t *testing.T, certPEM, keyPEM []byte) {
		got, err := ParseCA(certPEM, keyPEM)
		if err != nil {
			if !errors.Is(err, herd.ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if !got.Certificate().IsCA || !bytes.Equal(got.CertPEM, certPEM) {
			t.Fatal("ParseCA accepted a non-CA or changed the PEM")
		}
		if _, err := ClientTLSConfig(certPEM); err != nil {
			t.Fatalf("ParseCA accepted a certificate ClientTLSConfig refuses: %v", err)
		}
	})
}

// TestImportRSACA reads a CA made the way Juju 3.6 makes one (an RSA key in
// PKCS#1 PEM, CN "juju-ca"; RSA-2048 here to keep the test fast) and signs
// a server certificate with it that a pinned client accepts.
func TestImportRSACA(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "juju-ca", Organization: []string{"Juju"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	ca, err := ParseCA(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, "tcp4", "127.0.0.1:0", serverConfig(t, ca, []string{"127.0.0.1"}, now))
	client, err := ClientTLSConfig(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dial(addr, client); err != nil {
		t.Errorf("handshake with an imported RSA CA: %v", err)
	}
}
