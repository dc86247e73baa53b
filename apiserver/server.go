package apiserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/internal/rpc"
)

// ServerVersion is the Juju version Herd's API speaks, sent as
// LoginResult.server-version and Controller.ControllerVersion: clients
// pick their behaviour (and facade versions) by it.
const ServerVersion = "3.6.26"

// Defaults for Options.
const (
	DefaultMaxConns          = 1000
	DefaultLoginRate         = 2 // attempts per second per user name
	DefaultLoginBurst        = 5
	DefaultLoginAddrRate     = 10 // attempts per second per source address
	DefaultLoginAddrBurst    = 20
	DefaultLoginWait         = 2 * time.Second
	DefaultRegisterRate      = 0.2 // one attempt every 5 seconds
	DefaultRegisterBurst     = 5
	DefaultRegisterMaxBytes  = 4 << 10
	DefaultLimiterKeys       = 10000
	DefaultLoginTimeout      = 30 * time.Second
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultMaxHeaderBytes    = 16 << 10
)

// Options configure a Server. The zero value is usable: every zero field
// takes its default.
type Options struct {
	// Register answers POST /register: it gets the request body (at most
	// RegisterMaxBytes) and returns the reply body, or an error, which the
	// client sees as internal/register's one failure answer, whatever it
	// was. Nil: the controller's own exchange (Controller.RegisterExchange).
	Register func(ctx context.Context, body []byte) ([]byte, error)
	// RPC are the per-connection limits (frame cap, requests in flight,
	// request and idle timeouts); see internal/rpc.
	RPC rpc.Options
	// MaxConns caps the websocket connections served at once; beyond it a
	// connection is refused with HTTP 503 before the upgrade.
	MaxConns int
	// LoginTimeout is how long a connection may stay without logging in
	// (pings do not count): then it is closed, so that peers that never
	// log in cannot hold the connection slots.
	LoginTimeout time.Duration
	// LoginRate and LoginBurst shape the token buckets that slow Admin.Login
	// per user name, LoginAddrRate and LoginAddrBurst per source address
	// (higher by default: several users may share an address). A login
	// beyond them waits up to LoginWait for a token, and is refused with
	// Juju's "try again" beyond that. A negative rate turns that limit off.
	LoginRate      float64
	LoginBurst     int
	LoginAddrRate  float64
	LoginAddrBurst int
	LoginWait      time.Duration
	// RegisterRate and RegisterBurst do the same for POST /register (no
	// waiting: a refused request gets the failure answer).
	RegisterRate  float64
	RegisterBurst int
	// RegisterMaxBytes caps a /register request body.
	RegisterMaxBytes int64
	// LimiterKeys caps the keys each rate limiter remembers.
	LimiterKeys int
	// ReadHeaderTimeout, ReadTimeout, IdleTimeout and MaxHeaderBytes
	// configure Serve's http.Server (ignored when the Server is mounted
	// elsewhere). The TLS handshake must finish within the shorter of the
	// two read timeouts.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	// Logger receives connection events (never secrets); nil discards them.
	Logger *slog.Logger
	// Now is the clock of the rate limiters; nil means time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.LoginTimeout <= 0 {
		o.LoginTimeout = DefaultLoginTimeout
	}
	if o.LoginRate == 0 {
		o.LoginRate = DefaultLoginRate
	}
	if o.LoginBurst <= 0 {
		o.LoginBurst = DefaultLoginBurst
	}
	if o.LoginAddrRate == 0 {
		o.LoginAddrRate = DefaultLoginAddrRate
	}
	if o.LoginAddrBurst <= 0 {
		o.LoginAddrBurst = DefaultLoginAddrBurst
	}
	if o.LoginWait <= 0 {
		o.LoginWait = DefaultLoginWait
	}
	if o.RegisterRate == 0 {
		o.RegisterRate = DefaultRegisterRate
	}
	if o.RegisterBurst <= 0 {
		o.RegisterBurst = DefaultRegisterBurst
	}
	if o.RegisterMaxBytes <= 0 {
		o.RegisterMaxBytes = DefaultRegisterMaxBytes
	}
	if o.LimiterKeys <= 0 {
		o.LimiterKeys = DefaultLimiterKeys
	}
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = DefaultReadTimeout
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.RPC.Logger == nil {
		o.RPC.Logger = o.Logger
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Server is Herd's API server: an http.Handler serving Juju's API for one
// controller. Mount it on a TLS listener (or use Serve). It is safe for
// concurrent use.
type Server struct {
	ctrl *controller.Controller
	opts Options

	loginByUser, loginByAddr *limiter
	regByUser, regByAddr     *limiter

	conns  atomic.Int64 // websocket connections being served
	ctx    context.Context
	cancel context.CancelFunc // ends every connection
	wg     sync.WaitGroup     // connections being served

	mu      sync.Mutex
	closed  bool
	servers []*http.Server
}

// New returns a Server for ctrl.
func New(ctrl *controller.Controller, opts Options) (*Server, error) {
	if ctrl == nil {
		return nil, errors.New("apiserver: nil controller")
	}
	opts = opts.withDefaults()
	if opts.Register == nil {
		opts.Register = ctrl.RegisterExchange
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{ctrl: ctrl, opts: opts, ctx: ctx, cancel: cancel}
	s.loginByUser = newLimiter(opts.LoginRate, opts.LoginBurst, opts.LimiterKeys, opts.Now)
	s.loginByAddr = newLimiter(opts.LoginAddrRate, opts.LoginAddrBurst, opts.LimiterKeys, opts.Now)
	s.regByUser = newLimiter(opts.RegisterRate, opts.RegisterBurst, opts.LimiterKeys, opts.Now)
	s.regByAddr = newLimiter(opts.RegisterRate, opts.RegisterBurst, opts.LimiterKeys, opts.Now)
	return s, nil
}

// ServeHTTP routes GET /api, GET /model/UUID/api and POST /register.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/api":
		s.serveAPI(w, r, "")
	case strings.HasPrefix(r.URL.Path, "/model/") && strings.HasSuffix(r.URL.Path, "/api"):
		uuid := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/model/"), "/api")
		if uuid == "" || strings.Contains(uuid, "/") {
			http.NotFound(w, r)
			return
		}
		s.serveAPI(w, r, uuid)
	case r.URL.Path == "/register" && s.opts.Register != nil:
		s.serveRegister(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, model string) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !s.enter() {
		http.Error(w, "API server closed", http.StatusServiceUnavailable)
		return
	}
	defer s.wg.Done()
	if n := s.conns.Add(1); n > int64(s.opts.MaxConns) {
		s.conns.Add(-1)
		s.opts.Logger.Warn("apiserver: connection refused: too many connections", "max", s.opts.MaxConns, "remote", r.RemoteAddr)
		http.Error(w, fmt.Sprintf("too many connections (at most %d)", s.opts.MaxConns), http.StatusServiceUnavailable)
		return
	}
	defer s.conns.Add(-1)
	ws, err := rpc.Upgrade(w, r)
	if err != nil {
		return // Upgrade answered
	}
	rc := rpc.NewConn(ws, s.opts.RPC)
	c := &apiConn{srv: s, model: model, remote: remoteHost(r.RemoteAddr)}
	deadline := time.AfterFunc(s.opts.LoginTimeout, func() {
		if c.sess.Load() == nil {
			rc.CloseWith(websocket.ClosePolicyViolation, "not logged in within "+s.opts.LoginTimeout.String())
		}
	})
	err = rc.Serve(s.ctx, c)
	deadline.Stop()
	c.finish()
	if err != nil {
		s.opts.Logger.Debug("apiserver: connection closed", "remote", r.RemoteAddr, "err", err)
	}
}

// enter registers a connection unless the server is closed.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// Conns reports how many websocket connections are being served.
func (s *Server) Conns() int { return int(s.conns.Load()) }

// remoteHost is the source a connection's floods are counted by: its IP
// address, or for IPv6 its /64 network, since one host commonly holds a
// whole /64 and could otherwise rotate addresses past the limits.
func remoteHost(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is6() && !ip.Is4In6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String()
		}
	}
	return host
}

// Serve accepts TLS connections on ln with a hardened http.Server
// (header, read and idle timeouts, a header cap; the TLS handshake is
// bounded by the read timeouts) until ctx ends or Close is called. It
// returns nil after a Close or ctx's end, else the listener's error.
func (s *Server) Serve(ctx context.Context, ln net.Listener, tlsConfig *tls.Config) error {
	if tlsConfig == nil {
		// The controller's own certificate, for its addresses and the
		// listener's.
		host, _, _ := net.SplitHostPort(ln.Addr().String())
		var err error
		if tlsConfig, err = s.ctrl.TLSConfig(host); err != nil {
			return err
		}
	}
	tlsConfig = tlsConfig.Clone()
	if tlsConfig.MinVersion < tls.VersionTLS12 {
		tlsConfig.MinVersion = tls.VersionTLS12
	}
	hs := &http.Server{
		Handler:           s,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		// ReadTimeout bounds a request and its body (/register). A
		// websocket outlives it: gorilla/websocket and internal/rpc set
		// their own deadlines once upgraded.
		ReadTimeout:    s.opts.ReadTimeout,
		IdleTimeout:    s.opts.IdleTimeout,
		MaxHeaderBytes: s.opts.MaxHeaderBytes,
		ErrorLog:       slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelDebug),
		BaseContext:    func(net.Listener) context.Context { return s.ctx },
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return http.ErrServerClosed
	}
	s.servers = append(s.servers, hs)
	s.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { _ = hs.Close() })
	defer stop()
	err := hs.Serve(tls.NewListener(ln, tlsConfig))
	if errors.Is(err, http.ErrServerClosed) || ctx.Err() != nil {
		return nil
	}
	return err
}

// ListenAndServe listens on addr (":17070" when empty) and calls Serve.
func (s *Server) ListenAndServe(ctx context.Context, addr string, tlsConfig *tls.Config) error {
	if addr == "" {
		addr = ":17070"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln, tlsConfig)
}

// Close stops every Serve, closes every websocket connection (close code
// 1001, "server shutting down") and waits for their handlers, up to ctx.
// Sessions opened by password logins whose credential was never handed
// out end with their connections. Requests after Close get HTTP 503.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	servers := s.servers
	s.servers = nil
	s.mu.Unlock()
	var errs []error
	for _, hs := range servers {
		errs = append(errs, hs.Shutdown(ctx))
	}
	s.cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, ctx.Err())
	}
	return errors.Join(errs...)
}
