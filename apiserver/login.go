package apiserver

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/internal/params"
	"github.com/herd-project/herd/internal/rpc"
	"github.com/herd-project/herd/users"
)

// login is Admin.Login: a password (auth-tag + credentials) opens a new
// session with ctrl.Login; a session credential (auth-tag + token) resumes
// one with ctrl.Resume. On a model connection the user must have access
// to the model.
func (c *apiConn) login(ctx context.Context, p params.LoginRequest) (any, error) {
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	if c.sess.Load() != nil {
		return nil, errAlreadyLoggedIn
	}
	if p.AuthTag == "" {
		return nil, errNoCreds
	}
	name, err := params.ParseUserTag(p.AuthTag)
	if err != nil {
		return nil, err
	}
	if err := c.slowDown(ctx, name); err != nil {
		return nil, err
	}
	var s *controller.Session
	own := p.Token == ""
	if own {
		s, err = c.srv.ctrl.Login(ctx, name, p.Credentials)
	} else {
		s, err = c.srv.ctrl.Resume(ctx, p.Token)
		if err == nil && !sameUser(s.User(), name) {
			// Not the token's user: refuse as for a wrong password, and
			// leave the session alone (its holder did nothing wrong).
			s, err = nil, herd.Errorf(herd.ErrUnauthenticated, rpc.MsgBadCreds)
		}
	}
	if err != nil {
		return nil, err
	}
	res, err := c.loginResult(ctx, s)
	if err != nil {
		if own {
			c.endSession(s)
		}
		return nil, err
	}
	c.own.Store(own)
	c.sess.Store(s)
	c.srv.opts.Logger.Info("apiserver: login", "user", s.User(), "model", c.model, "remote", c.remote, "resumed", !own)
	return res, nil
}

func sameUser(a, b string) bool {
	ca, err1 := users.Canonical(a)
	cb, err2 := users.Canonical(b)
	return err1 == nil && err2 == nil && ca == cb
}

func (c *apiConn) endSession(s *controller.Session) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.Logout(ctx)
}

// slowDown takes a login token for the user and for the source address,
// waiting for one up to LoginWait, and refuses with Juju's "try again"
// beyond that. The user key is the canonical name when it is one, so
// "Tom" and "tom" share a bucket; it does not depend on whether the user
// exists.
func (c *apiConn) slowDown(ctx context.Context, name string) error {
	key := strings.ToLower(name)
	if k, err := users.Canonical(name); err == nil {
		key = k
	}
	maxWait := c.srv.opts.LoginWait
	w1, ok := c.srv.loginByAddr.reserve(c.remote, maxWait)
	if !ok {
		return errTryAgain
	}
	w2, ok := c.srv.loginByUser.reserve(key, maxWait)
	if !ok {
		c.srv.loginByAddr.refund(c.remote) // this attempt costs the address nothing
		return errTryAgain
	}
	wait := max(w1, w2)
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// loginResult builds Juju's LoginResult for s, and refuses a model
// connection to a user without access to the model (or to a model that
// does not exist: Juju's unknown model error).
func (c *apiConn) loginResult(ctx context.Context, s *controller.Session) (params.LoginResult, error) {
	who, err := s.WhoAmI(ctx)
	if err != nil {
		return params.LoginResult{}, err
	}
	info := &params.AuthUserInfo{
		Identity:         params.UserTag(who.User),
		ControllerAccess: who.Access.String(),
	}
	res := params.LoginResult{
		Servers:       servers(c.srv.ctrl.Servers()),
		ControllerTag: params.ControllerTag(c.srv.ctrl.UUID()),
		UserInfo:      info,
		Facades:       params.FacadeList(c.model != ""),
		ServerVersion: ServerVersion,
	}
	if c.model != "" {
		d, err := s.Allowed(ctx, acl.ReadModel, controller.UUIDRef(c.model), "")
		switch {
		case errors.Is(err, herd.ErrNotFound):
			return params.LoginResult{}, rpc.UnknownModel(c.model)
		case errors.Is(err, herd.ErrPermissionDenied) || (err == nil && !d.Allowed):
			return params.LoginResult{}, errPerm
		case err != nil:
			return params.LoginResult{}, err
		}
		info.ModelAccess = d.Access.String()
		res.ModelTag = params.ModelTag(c.model)
		// As Juju, a model connection is the user's last connection to
		// the model (listings show it); failing to record it fails no login.
		if err := s.ConnectModel(ctx, controller.UUIDRef(c.model)); err != nil {
			c.srv.opts.Logger.Warn("apiserver: cannot record the last connection", "model", c.model, "err", err)
		}
	}
	return res, nil
}

// servers lists the controller's addresses as Juju's LoginResult.servers:
// one server per controller process (controller.Controller.Servers: the
// one answering first, then the others sharing its state), each with its
// addresses.
func servers(groups [][]string) [][]params.HostPort {
	var out [][]params.HostPort
	for _, addrs := range groups {
		var hps []params.HostPort
		for _, a := range addrs {
			host, port, err := net.SplitHostPort(a)
			if err != nil {
				continue
			}
			n, err := strconv.Atoi(port)
			if err != nil {
				continue
			}
			hps = append(hps, params.HostPort{Address: address(host), Port: n})
		}
		if len(hps) > 0 {
			out = append(out, hps)
		}
	}
	return out
}

// address types and scopes a host as Juju's network package does.
func address(host string) params.Address {
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return params.Address{Value: host, Type: "hostname", Scope: "public"}
	}
	a := params.Address{Value: ip.String(), Type: "ipv4"}
	if ip.Is6() && !ip.Is4In6() {
		a.Type = "ipv6"
	}
	switch {
	case ip.IsLoopback():
		a.Scope = "local-machine"
	case ip.IsLinkLocalUnicast():
		a.Scope = "link-local"
	case ip.IsPrivate():
		a.Scope = "local-cloud"
	default:
		a.Scope = "public"
	}
	return a
}
