package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/internal/params"
	"github.com/herd-project/herd/internal/pki"
	"github.com/herd-project/herd/internal/rpc"
)

// Options say where a controller is and how to trust it.
type Options struct {
	// Addrs are the controller's API addresses (host:port), tried in order.
	Addrs []string
	// CACert is the controller's CA certificate (PEM), the only one
	// trusted: the system roots never are. Register returns it.
	CACert []byte
	// ControllerName is what this client calls the controller (Juju keeps
	// it in the client's store; it is not on the wire). It goes into
	// WhoAmI and into the registration tokens AddUser and ResetPassword
	// build. Register sets it from the token.
	ControllerName string
	// DialTimeout bounds the connection to one address (TCP, TLS and the
	// websocket handshake). Default 10 seconds.
	DialTimeout time.Duration
	// PingInterval is how often an idle connection calls Pinger.Ping, as
	// Juju's clients do, so that the server does not close it. Default 1
	// minute; negative: never.
	PingInterval time.Duration
	// Logger receives connection events (dials, failovers). Nil: discarded.
	// Passwords and tokens are never logged.
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultDialTimeout  = 10 * time.Second
	DefaultPingInterval = time.Minute
)

func (o Options) withDefaults() Options {
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.PingInterval == 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	o.Addrs = append([]string(nil), o.Addrs...)
	o.CACert = append([]byte(nil), o.CACert...)
	return o
}

// Conn is a connection to a controller that has not logged in yet. Login,
// Resume or Close it; Login and Resume hand it over to the Session.
type Conn struct {
	opts Options
	tls  *tls.Config
	addr string
	rpc  *rpc.Client
}

// Dial connects to the controller at the first of opts.Addrs that answers
// (wss://ADDR/api), trusting only opts.CACert. An address that refuses,
// is down or does not finish its handshake within opts.DialTimeout is
// skipped for the next. When none answers the error wraps herd.ErrClosed.
func Dial(ctx context.Context, opts Options) (*Conn, error) {
	opts = opts.withDefaults()
	tlsConfig, err := tlsFor(opts.CACert)
	if err != nil {
		return nil, err
	}
	addr, c, err := dialAny(ctx, opts, tlsConfig, opts.Addrs, "")
	if err != nil {
		return nil, err
	}
	return &Conn{opts: opts, tls: tlsConfig, addr: addr, rpc: c}, nil
}

func tlsFor(caCert []byte) (*tls.Config, error) {
	if len(caCert) == 0 {
		return nil, herd.Errorf(herd.ErrInvalid, "no CA certificate: the controller's CA must be pinned")
	}
	return pki.ClientTLSConfig(caCert)
}

// apiPath is the URL path of a controller connection (model "") or of a
// model connection.
func apiPath(model string) string {
	if model == "" {
		return "/api"
	}
	return "/model/" + model + "/api"
}

// dialAny tries addrs in order and returns the first connection made.
func dialAny(ctx context.Context, opts Options, tlsConfig *tls.Config, addrs []string, model string) (string, *rpc.Client, error) {
	if len(addrs) == 0 {
		return "", nil, herd.Errorf(herd.ErrInvalid, "no controller address")
	}
	var errs []error
	for _, addr := range addrs {
		if err := ctx.Err(); err != nil {
			return "", nil, err
		}
		c, err := dialOne(ctx, opts, tlsConfig, addr, model)
		if err == nil {
			return addr, c, nil
		}
		if ctx.Err() != nil {
			return "", nil, ctx.Err()
		}
		opts.Logger.Info("controller address unreachable", "addr", addr, "err", err)
		errs = append(errs, err)
	}
	return "", nil, herd.Wrap(herd.ErrClosed, errors.Join(errs...), "cannot connect to the controller")
}

func dialOne(ctx context.Context, opts Options, tlsConfig *tls.Config, addr, model string) (*rpc.Client, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("address %q: %w", addr, err)
	}
	dctx, cancel := context.WithTimeout(ctx, opts.DialTimeout)
	defer cancel()
	return rpc.Dial(dctx, "wss://"+addr+apiPath(model), tlsConfig.Clone())
}

// Close closes a connection that did not log in.
func (c *Conn) Close() error {
	if c.rpc == nil {
		return nil
	}
	err := c.rpc.Close()
	c.rpc = nil
	return err
}

// Login logs in as user with password (Admin.Login v3, auth-tag and
// credentials) and returns the Session, which takes the connection over.
// The password is not kept. A wrong name or password wraps
// herd.ErrUnauthenticated ("invalid entity name or password"), and the
// connection is closed.
func (c *Conn) Login(ctx context.Context, user, password string) (*Session, error) {
	return c.login(ctx, user, params.LoginRequest{Credentials: password})
}

// Resume logs in with a session token from Session.Token instead of a
// password: the session it names goes on, on this new connection. An
// ended or expired session wraps herd.ErrUnauthenticated.
func (c *Conn) Resume(ctx context.Context, user, token string) (*Session, error) {
	if token == "" {
		return nil, herd.Errorf(herd.ErrInvalid, "no session token")
	}
	return c.login(ctx, user, params.LoginRequest{Token: token})
}

func (c *Conn) login(ctx context.Context, user string, req params.LoginRequest) (*Session, error) {
	if c.rpc == nil {
		return nil, herd.Errorf(herd.ErrClosed, "connection is closed")
	}
	tag, err := userTag(user) // the controller's own check and message
	if err != nil {
		c.Close()
		return nil, err
	}
	req.AuthTag = tag
	l, err := login(ctx, c.rpc, c.addr, req)
	if err != nil {
		c.Close()
		return nil, err
	}
	c.rpc = nil // the session owns it now
	s := newSession(c.opts, c.tls, user, l)
	if req.Token != "" {
		s.token = req.Token
		return s, nil
	}
	if err := s.fetchToken(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// link is one logged-in connection: to the controller, or to one model.
type link struct {
	addr    string
	rpc     *rpc.Client
	result  params.LoginResult
	facades map[string]int // the version used for each facade both sides know
	stop    chan struct{}  // closed to stop the pinger
	dead    atomic.Bool    // a call found the connection shut down
}

// login calls Admin.Login on c. On failure c is left to the caller.
func login(ctx context.Context, c *rpc.Client, addr string, req params.LoginRequest) (*link, error) {
	var res params.LoginResult
	if err := c.Call(ctx, "Admin", 3, "", "Login", req, &res); err != nil {
		return nil, err
	}
	return &link{addr: addr, rpc: c, result: res, facades: bestVersions(res.Facades), stop: make(chan struct{})}, nil
}

// bestVersions picks, for each facade the server lists, the highest
// version both the server and this client (params.Facades) know.
func bestVersions(served []params.FacadeVersions) map[string]int {
	out := make(map[string]int, len(served))
	for _, f := range served {
		best := 0
		for _, v := range f.Versions {
			if v > best && params.Serves(f.Name, v) {
				best = v
			}
		}
		if best > 0 {
			out[f.Name] = best
		}
	}
	return out
}

// version returns the version of facade to call on l, or Juju's error
// for a facade the server does not serve.
func (l *link) version(facade string) (int, error) {
	if v, ok := l.facades[facade]; ok {
		return v, nil
	}
	// Juju's code for it, under Herd's sentinel for "not here".
	return 0, &herd.Error{Kind: herd.ErrFailedPrecondition, Err: &rpc.Error{
		Message: fmt.Sprintf("facade %q not supported by the controller", facade), Code: rpc.CodeNotSupported,
	}}
}

func (l *link) call(ctx context.Context, facade, method string, args, result any) error {
	v, err := l.version(facade)
	if err != nil {
		return err
	}
	err = l.rpc.Call(ctx, facade, v, "", method, args, result)
	var reply *rpc.Error
	if errors.Is(err, herd.ErrClosed) && !errors.As(err, &reply) {
		// The transport is gone (a server's reply would be an *rpc.Error).
		// The read loop may not have said so yet: remember it, so that the
		// next call redials.
		l.dead.Store(true)
	}
	return err
}

// down reports whether the link's connection is gone.
func (l *link) down() bool {
	if l.dead.Load() {
		return true
	}
	select {
	case <-l.rpc.Done():
		return true
	default:
		return false
	}
}

// ping calls Pinger.Ping every interval until the link stops or drops.
func (l *link) ping(interval time.Duration, log *slog.Logger) {
	if interval < 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-l.rpc.Done():
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), interval)
			if err := l.call(ctx, "Pinger", "Ping", nil, nil); err != nil {
				log.Debug("ping failed", "addr", l.addr, "err", err)
			}
			cancel()
		}
	}
}

func (l *link) close() error {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	return l.rpc.Close()
}

// hostPorts flattens a LoginResult's servers into host:port addresses,
// in Juju's order, without duplicates.
func hostPorts(servers [][]params.HostPort) []string {
	var out []string
	seen := map[string]bool{}
	for _, group := range servers {
		for _, hp := range group {
			if hp.Value == "" || hp.Port <= 0 {
				continue
			}
			a := net.JoinHostPort(hp.Value, strconv.Itoa(hp.Port))
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}
