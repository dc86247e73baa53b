package controller

import (
	"context"
	"crypto/tls"
	"slices"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/internal/pki"
	"github.com/herd-project/herd/internal/state"
)

// The controller's CA: made at bootstrap and kept in the controller's
// state, as Juju keeps its CA; the API server's certificates are signed
// by it, and clients pin its certificate (Juju's /register hands it to
// them). Its key never leaves the controller.

// newCA makes the controller's CA into c.info.
func (c *Controller) newCA() error {
	ca, err := pki.NewCA(c.info.Name, c.info.UUID, c.opts.Now(), c.randReader())
	if err != nil {
		return err
	}
	c.info.CACert, c.info.CAKey = string(ca.CertPEM), string(ca.KeyPEM)
	return nil
}

// ensureCA gives a controller from before the CA was kept one, on open.
func (c *Controller) ensureCA(ctx context.Context) error {
	if c.info.CACert != "" {
		return nil
	}
	if err := c.newCA(); err != nil {
		return err
	}
	return c.update(ctx, func(t *state.Txn) error { return t.Insert(state.TableController, c.info) })
}

// CACert returns the controller's CA certificate (PEM), for clients to pin.
func (c *Controller) CACert() []byte { return []byte(c.info.CACert) }

// TLSConfig returns a server TLS configuration with a certificate signed
// by the controller's CA for the controller's addresses (Options.Addrs),
// the extra host names or IPs given, "localhost" and "juju-apiserver"
// (the name Juju's clients verify). TLS 1.2 at least.
func (c *Controller) TLSConfig(extra ...string) (*tls.Config, error) {
	ca, err := pki.ParseCA([]byte(c.info.CACert), []byte(c.info.CAKey))
	if err != nil {
		return nil, herd.Wrap(herd.ErrFailedPrecondition, err, "controller CA")
	}
	cert, key, err := ca.ServerCert(slices.Concat(c.opts.Addrs, extra), c.opts.Now())
	if err != nil {
		return nil, err
	}
	return pki.ServerTLSConfig(cert, key)
}
