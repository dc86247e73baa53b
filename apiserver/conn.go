package apiserver

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/internal/params"
	"github.com/herd-project/herd/internal/rpc"
)

// apiConn is one websocket connection: before login it serves Admin and
// Pinger.Ping; after, every facade, each call through the connection's
// Herd session.
type apiConn struct {
	srv    *Server
	model  string // the model's UUID on a model connection, else ""
	remote string // the source address (host), for login limits

	loginMu sync.Mutex // one login at a time, as Juju's admin.mu
	sess    atomic.Pointer[controller.Session]
	// own is true when this connection's login opened the session (a
	// password, not a resumed token); shared when its credential went out
	// (HerdSession.SessionToken). An own session never shared ends with
	// the connection: nobody else can use it.
	own    atomic.Bool
	shared atomic.Bool

	watchers watchers // Client.WatchAll's, stopped when the connection closes
}

// Errors Juju sends as they are (apiserver/admin.go, apiserver/root.go,
// apiserver/errors).
var (
	errAlreadyLoggedIn = &rpc.Error{Message: "already logged in"}
	errNotRedirected   = &rpc.Error{Message: "not redirected"}
	errPerm            = &rpc.Error{Message: rpc.MsgPermissionDenied, Code: rpc.CodeUnauthorized}
	errNoCreds         = &rpc.Error{Message: "no credentials provided", Code: rpc.CodeNoCreds}
	errTryAgain        = &rpc.Error{Message: "try again", Code: rpc.CodeTryAgain}
)

// Call serves one request.
func (c *apiConn) Call(ctx context.Context, req rpc.Request) (any, error) {
	s := c.sess.Load()
	if req.Facade == "Admin" {
		return c.admin(ctx, req, s)
	}
	if s == nil {
		// Juju's adminRoot serves only Admin before login; Herd also
		// answers Pinger.Ping, which clients may send at any time.
		if req.Facade == "Pinger" && params.Serves("Pinger", req.Version) && req.Method == "Ping" {
			return nil, nil
		}
		return nil, rpc.UnknownFacade(req.Facade, req.Version)
	}
	if !params.Serves(req.Facade, req.Version) {
		return nil, rpc.UnknownFacade(req.Facade, req.Version)
	}
	if !params.ServedOn(req.Facade, c.model != "") {
		e := params.NotServedOn(req.Facade, c.model != "")
		return nil, &rpc.Error{Message: e.Message, Code: e.Code}
	}
	m, ok := methods[req.Facade][req.Method]
	if !ok {
		return nil, rpc.UnknownMethod(req.Facade, req.Version, req.Method)
	}
	return m(ctx, call{c: c, s: s, req: req})
}

// quick is every method that only reads the controller's in-memory
// state (a Session read or check, no store write, no wait): the
// connection serves these on the goroutine that read them, with no
// goroutine started or woken (rpc.InlineHandler). Anything that writes,
// hashes a password or waits (Admin.Login, AllWatcher.Next) is not here.
var quick = map[string]map[string]bool{
	"Pinger":       {"Ping": true},
	"UserManager":  {"UserInfo": true},
	"ModelManager": {"ListModels": true, "ListModelSummaries": true, "ModelInfo": true},
	"Controller":   {"AllModels": true, "GetControllerAccess": true, "ControllerVersion": true},
}

// Inline reports whether req is one of the quick methods.
func (c *apiConn) Inline(req rpc.Request) bool { return quick[req.Facade][req.Method] }

// call is what a facade method gets: the connection, its session and the
// request.
type call struct {
	c   *apiConn
	s   *controller.Session
	req rpc.Request
}

// modelRef names the connection's model in a Session call.
func (k call) modelRef() string { return controller.UUIDRef(k.c.model) }

type method func(ctx context.Context, k call) (any, error)

// methods is every facade method served after login, by facade and
// method name; a method serves every version params.Facades lists
// (where versions differ, the method reads k.req.Version).
var methods = map[string]map[string]method{}

func serve(facade string, m map[string]method) { methods[facade] = m }

func (c *apiConn) admin(ctx context.Context, req rpc.Request, s *controller.Session) (any, error) {
	if !params.Serves("Admin", req.Version) {
		if s != nil {
			return nil, rpc.UnknownFacade(req.Facade, req.Version)
		}
		return nil, rpc.OldLogin()
	}
	switch req.Method {
	case "Login":
		if s != nil {
			return nil, errAlreadyLoggedIn
		}
		var p params.LoginRequest
		if err := req.Decode(&p); err != nil {
			return nil, err
		}
		return c.login(ctx, p)
	case "RedirectInfo":
		return nil, errNotRedirected
	}
	return nil, rpc.UnknownMethod(req.Facade, req.Version, req.Method)
}

// finish runs when the connection has closed.
func (c *apiConn) finish() {
	c.watchers.closeAll()
	s := c.sess.Load()
	if s == nil || !c.own.Load() || c.shared.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.Logout(ctx) // an ended session is already gone
}

// perr is err as an error inside a result.
func perr(err error) *params.Error {
	if err == nil {
		return nil
	}
	e := rpc.ErrorFor(err)
	return &params.Error{Message: e.Message, Code: e.Code, Info: e.Info}
}
