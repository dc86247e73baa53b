package etcdstore_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/store/etcdstore"
)

// TLSFiles refuses missing, foreign and half-given files with
// herd.ErrInvalid; no files is a config trusting the system's roots.
// (examples/ha and scripts/ha-demo.sh use it against a TLS cluster.)
func TestTLSFiles(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := etcdstore.TLSFiles("", "", "")
	if err != nil || cfg.RootCAs != nil || len(cfg.Certificates) != 0 {
		t.Errorf("no files: %+v, %v", cfg, err)
	}
	for _, c := range []struct{ ca, cert, key string }{
		{filepath.Join(dir, "missing.pem"), "", ""},
		{notPEM, "", ""},
		{"", notPEM, ""},
		{"", "", notPEM},
		{"", notPEM, notPEM},
	} {
		if _, err := etcdstore.TLSFiles(c.ca, c.cert, c.key); !errors.Is(err, herd.ErrInvalid) {
			t.Errorf("TLSFiles(%q, %q, %q): %v, want herd.ErrInvalid", c.ca, c.cert, c.key, err)
		}
	}
}
