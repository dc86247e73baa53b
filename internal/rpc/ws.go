package rpc

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

// HandshakeTimeout bounds the websocket handshake: Dial's (after the TCP
// connection is made: the TLS handshake and the HTTP upgrade) and
// Upgrade's response write. The HTTP server in front of Upgrade bounds the
// rest (ReadHeaderTimeout, the TLS handshake).
const HandshakeTimeout = 30 * time.Second

// upgrader accepts any Origin, as Juju's apiserver/websocket does: Juju's
// clients are the browser dashboard served from any origin, and the CLI
// and libraries, which send none. Nothing is granted by the connection
// itself (no cookies are read; every connection logs in with Admin.Login),
// so a page on another origin gains nothing a script could not do
// directly.
var upgrader = websocket.Upgrader{
	HandshakeTimeout: HandshakeTimeout,
	CheckOrigin:      func(*http.Request) bool { return true },
}

// Upgrade turns an HTTP request into a server websocket for NewConn. On
// failure it has already answered the request with an HTTP error.
func Upgrade(w http.ResponseWriter, r *http.Request) (*websocket.Conn, error) {
	return upgrader.Upgrade(w, r, nil)
}

// Dial opens a Juju RPC connection to url (wss://host:port/api or
// /model/UUID/api) trusting tlsConfig (nil: the system roots; Herd's
// clients pin the controller's CA here) and returns a Client with default
// options. No proxy from the environment is used.
func Dial(ctx context.Context, url string, tlsConfig *tls.Config) (*Client, error) {
	// The connections go through handshakeConn, which keeps what gorilla
	// reads ahead during the handshake for the Client's own reader.
	var nd net.Dialer
	d := websocket.Dialer{
		TLSClientConfig:  tlsConfig,
		HandshakeTimeout: HandshakeTimeout,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := nd.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &handshakeConn{Conn: c}, nil
		},
		NetDialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := nd.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// As gorilla's own TLS dial: the config cloned, the server
			// name the host's when unset.
			cfg := tlsConfig.Clone()
			if cfg == nil {
				cfg = &tls.Config{}
			}
			if cfg.ServerName == "" {
				if host, _, err := net.SplitHostPort(addr); err == nil {
					cfg.ServerName = host
				} else {
					cfg.ServerName = addr
				}
			}
			tc := tls.Client(c, cfg)
			if err := tc.HandshakeContext(ctx); err != nil {
				c.Close()
				return nil, err
			}
			return &handshakeConn{Conn: tc}, nil
		},
	}
	ws, resp, err := d.DialContext(ctx, url, nil)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("rpc: dial %s: %w (HTTP %s)", url, err, resp.Status)
		}
		return nil, fmt.Errorf("rpc: dial %s: %w", url, err)
	}
	return NewClient(ws, ClientOptions{}), nil
}
