package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/internal/params"
	"github.com/herd-project/herd/internal/register"
	"github.com/herd-project/herd/internal/rpc"
	"github.com/herd-project/herd/users"
)

// RegisterOptions tune Register.
type RegisterOptions struct {
	// Timeout bounds the exchange with one address (connection, TLS, the
	// POST and its reply), and each address's dial after it. Default 10
	// seconds.
	Timeout time.Duration
	// PingInterval is the new session's Options.PingInterval.
	PingInterval time.Duration
	// Logger is the new session's Options.Logger.
	Logger *slog.Logger
	// Rand is the source of the request's nonce. Default crypto/rand.
	Rand io.Reader
}

// RegisterResult is what a client keeps after registering: with it (and
// the session's Token) it reconnects later.
type RegisterResult struct {
	// CACert is the controller's CA certificate (PEM), to pin from now on.
	CACert []byte
	// ControllerUUID is the controller's UUID.
	ControllerUUID string
	// ControllerName is the controller's name, from the token.
	ControllerName string
	// Addrs are the controller's addresses, in the order to try them: the
	// servers the login listed, then the token's (the one that answered
	// first leading). Keep them for Options.Addrs.
	Addrs []string
}

// registrationRefused is the hint Juju gives when a controller refuses a
// registration, whatever the reason (a used, reset or expired token, a
// disabled user): the controller does not say which. The error Register
// returns with it wraps herd.ErrUnauthenticated.
const registrationRefused = "registration token may have expired: a controller administrator must reset your user to issue a new token"

// Register does `juju register`: it decodes token, sets the user's
// password to password through Juju's exchange (POST https://ADDR/register,
// trying the token's addresses in order), learns and pins the controller's
// CA, and logs in. The password is not kept.
//
// The POST is the only request made without verifying the server's
// certificate, since the CA is not known yet, as in Juju: it carries only
// the password sealed under the token's key, which the server must hold to
// open it, and the reply is sealed under the same key, so opening it
// proves the controller's identity before its CA is trusted. A refusal
// wraps herd.ErrUnauthenticated.
func Register(ctx context.Context, token, password string, opts RegisterOptions) (*Session, RegisterResult, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultDialTimeout
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	tok, err := users.DecodeToken(token)
	if err != nil {
		return nil, RegisterResult{}, err
	}
	key, err := register.Key(tok)
	if err != nil {
		return nil, RegisterResult{}, err
	}
	body, err := register.Request(tok, password, opts.Rand)
	if err != nil {
		return nil, RegisterResult{}, err
	}
	if len(tok.Addrs) == 0 {
		return nil, RegisterResult{}, herd.Errorf(herd.ErrInvalid, "registration token names no controller address")
	}
	var (
		reply []byte
		first string
		errs  []error
	)
	for _, addr := range tok.Addrs {
		reply, err = postRegister(ctx, addr, body, opts.Timeout)
		if err == nil {
			first = addr
			break
		}
		var refused *refusal
		if errors.As(err, &refused) || ctx.Err() != nil {
			if ctx.Err() != nil {
				return nil, RegisterResult{}, ctx.Err()
			}
			log.Info("registration refused", "addr", addr, "reason", refused.msg)
			return nil, RegisterResult{}, refused.err
		}
		log.Info("controller address unreachable", "addr", addr, "err", err)
		errs = append(errs, err)
	}
	if first == "" {
		return nil, RegisterResult{}, herd.Wrap(herd.ErrClosed, errors.Join(errs...), "cannot reach the controller to register")
	}
	payload, err := register.OpenResponse(key, reply)
	if err != nil {
		return nil, RegisterResult{}, err
	}
	addrs := []string{first}
	for _, a := range tok.Addrs {
		if a != first {
			addrs = append(addrs, a)
		}
	}
	conn, err := Dial(ctx, Options{
		Addrs: addrs, CACert: []byte(payload.CACert), ControllerName: tok.ControllerName,
		DialTimeout: opts.Timeout, PingInterval: opts.PingInterval, Logger: log,
	})
	if err != nil {
		return nil, RegisterResult{}, err
	}
	s, err := conn.Login(ctx, tok.User, password)
	if err != nil {
		return nil, RegisterResult{}, err
	}
	if got := s.ControllerUUID(); got != "" && got != payload.ControllerUUID {
		s.Close()
		return nil, RegisterResult{}, herd.Errorf(herd.ErrUnauthenticated, "controller UUID %q differs from the registration's %q", got, payload.ControllerUUID)
	}
	return s, RegisterResult{
		CACert: []byte(payload.CACert), ControllerUUID: payload.ControllerUUID,
		ControllerName: tok.ControllerName, Addrs: s.Addrs(),
	}, nil
}

// refusal is a controller's answer refusing the registration: not a
// reason to try another address.
type refusal struct {
	msg string
	err error
}

func (r *refusal) Error() string { return r.err.Error() }

// postRegister sends the request to one address and returns the body of a
// 200 reply.
func postRegister(ctx context.Context, addr string, body []byte, timeout time.Duration) ([]byte, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("address %q: %w", addr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tr := &http.Transport{
		// The CA is not known before the sealed reply opens; see Register.
		TLSClientConfig:   &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}, //nolint:gosec // Juju's exchange; the reply is authenticated by the token's key
		Proxy:             nil,
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+addr+"/register", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, register.MaxResponseBytes+1))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusOK {
		return data, nil
	}
	var er params.ErrorResult
	if json.Unmarshal(data, &er) == nil && er.Error != nil {
		switch er.Error.Code {
		case register.FailureCode, params.CodeUnauthorized, params.CodeNotFound:
			return nil, &refusal{msg: er.Error.Message, err: herd.Errorf(herd.ErrUnauthenticated, registrationRefused)}
		}
		return nil, &refusal{msg: er.Error.Message, err: &rpc.Error{Message: er.Error.Message, Code: er.Error.Code, Info: er.Error.Info}}
	}
	return nil, &refusal{msg: resp.Status, err: herd.Errorf(herd.ErrFailedPrecondition, "registration failed: HTTP %s", resp.Status)}
}
