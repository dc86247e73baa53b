package rpc

import (
	"context"
	"errors"
	"fmt"

	"github.com/herd-project/herd"
)

// Juju's error codes (rpc/params/apierror.go in Juju 3.6), the ones Herd
// sends or understands. The strings are the wire values.
const (
	CodeNotFound            = "not found"
	CodeUserNotFound        = "user not found"
	CodeModelNotFound       = "model not found"
	CodeUnauthorized        = "unauthorized access"
	CodeLoginExpired        = "login expired"
	CodeNoCreds             = "no credentials provided"
	CodeSessionTokenInvalid = "session token invalid"
	CodeAlreadyExists       = "already exists"
	CodeNotValid            = "not valid"
	CodeBadRequest          = "bad request"
	CodeForbidden           = "forbidden"
	CodeNotImplemented      = "not implemented"
	CodeNotSupported        = "not supported"
	CodeTryAgain            = "try again"
	CodeDeadlineExceeded    = "deadline exceeded"
)

// Juju's messages for the situations the transport and the API layer answer
// themselves (apiserver/errors/errors.go, github.com/juju/rpcreflect).
const (
	MsgPermissionDenied = "permission denied"               // ErrPerm, code CodeUnauthorized
	MsgBadCreds         = "invalid entity name or password" // ErrBadCreds, code CodeUnauthorized
	MsgNotLoggedIn      = "not logged in"                   // ErrNotLoggedIn, code CodeUnauthorized
	MsgLoginExpired     = "login expired"                   // ErrLoginExpired, code CodeLoginExpired
)

// InfoKind is the error-info key under which Herd names the sentinel an
// error wraps (its text, e.g. "failed precondition"). Juju has no code for
// some of Herd's sentinels (it sends "" for them), and one code
// (CodeUnauthorized) for two of them; the key lets Herd's client restore
// the exact sentinel. Juju's clients ignore error-info for these codes.
const InfoKind = "herd-kind"

// Error is an error reply as it travels: the frame's "error",
// "error-code" and "error-info". It is what the server sends for a failed
// request and what Client.Call returns for one.
//
// Error() is the message alone, as Juju's params.Error prints it; the code
// is in Code. Unwrap returns the Herd sentinel the code (or error-info)
// stands for, so errors.Is(err, herd.ErrPermissionDenied) holds on the
// client for a request the server refused.
type Error struct {
	Message string
	Code    string
	Info    map[string]any
}

func (e *Error) Error() string {
	switch {
	case e.Message != "":
		return e.Message
	case e.Code != "":
		return e.Code
	}
	return "unknown error"
}

// Unwrap returns the root sentinel this error stands for, or nil.
func (e *Error) Unwrap() error { return sentinelFor(e) }

// Is reports whether target is an *Error with the same code and no
// message: errors.Is(err, &rpc.Error{Code: rpc.CodeNotImplemented}).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Code != "" && t.Code == e.Code
}

// CodeOf returns the Juju error code carried by err, or "".
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// kinds lists Herd's sentinels with the code Juju sends for the same
// situation. Juju sends no code ("") where it has none: a failed
// precondition (e.g. "cannot delete controller owner", usermanager.go) and
// a connection or server shutting down (rpc.ErrShutdown).
var kinds = []struct {
	kind error
	code string
}{
	{herd.ErrNotFound, CodeNotFound},
	{herd.ErrAlreadyExists, CodeAlreadyExists},
	{herd.ErrInvalid, CodeNotValid},
	{herd.ErrPermissionDenied, CodeUnauthorized},
	{herd.ErrUnauthenticated, CodeUnauthorized},
	{herd.ErrFailedPrecondition, ""},
	{herd.ErrClosed, ""},
}

// ErrorFor returns the error reply for err, as Juju's apiserver would send
// it for the same situation (apiserver/errors.ServerError): the message is
// err's text; the code comes from the Herd sentinel err wraps. An *Error in
// err's chain is returned as is. An error that wraps no sentinel gets code
// "" as in Juju, except context deadlines (CodeDeadlineExceeded).
func ErrorFor(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	msg := err.Error()
	for _, k := range kinds {
		if !errors.Is(err, k.kind) {
			continue
		}
		code := k.code
		// Herd's controller says "login expired" for an expired session;
		// Juju has a code for it.
		if k.kind == herd.ErrUnauthenticated && msg == MsgLoginExpired {
			code = CodeLoginExpired
		}
		return &Error{Message: msg, Code: code, Info: map[string]any{InfoKind: k.kind.Error()}}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Message: msg, Code: CodeDeadlineExceeded}
	}
	return &Error{Message: msg}
}

// sentinelFor maps a reply back to a root sentinel: by error-info when a
// Herd server named one, else by Juju's code (and, for CodeUnauthorized,
// Juju's message "permission denied" versus any other).
func sentinelFor(e *Error) error {
	if name, ok := e.Info[InfoKind].(string); ok {
		for _, k := range kinds {
			if k.kind.Error() == name {
				return k.kind
			}
		}
	}
	switch e.Code {
	case CodeNotFound, CodeUserNotFound, CodeModelNotFound:
		return herd.ErrNotFound
	case CodeAlreadyExists:
		return herd.ErrAlreadyExists
	case CodeNotValid, CodeBadRequest:
		return herd.ErrInvalid
	case CodeForbidden:
		return herd.ErrPermissionDenied
	case CodeUnauthorized:
		if e.Message == MsgPermissionDenied {
			return herd.ErrPermissionDenied
		}
		return herd.ErrUnauthenticated
	case CodeLoginExpired, CodeNoCreds, CodeSessionTokenInvalid:
		return herd.ErrUnauthenticated
	}
	return nil
}

// UnknownFacade is Juju's reply to a request for a facade, or a version of
// it, that the server does not serve (at all, or before login):
// rpcreflect.CallNotImplementedError without a method, code
// CodeNotImplemented. Juju names the version whenever it is not 0, whether
// or not the facade exists at some other version (apiserver/root.go
// lookupMethod, adminRoot.FindMethod).
func UnknownFacade(facade string, version int) *Error {
	if version == 0 {
		return &Error{Message: fmt.Sprintf("unknown object type %q", facade), Code: CodeNotImplemented}
	}
	return &Error{Message: fmt.Sprintf("unknown version (%d) of interface %q", version, facade), Code: CodeNotImplemented}
}

// UnknownMethod is Juju's reply to a method the facade version lacks.
func UnknownMethod(facade string, version int, method string) *Error {
	fv := facade
	if version != 0 {
		fv = fmt.Sprintf("%s(%d)", facade, version)
	}
	return &Error{Message: fmt.Sprintf("no such request - method %s.%s is not implemented", fv, method), Code: CodeNotImplemented}
}

// UnknownModel is Juju's reply to every request on a model connection
// (/model/UUID/api) whose model does not exist: the connection is served
// by apiserver's errRoot, which answers UnknownModelError with code
// CodeModelNotFound (apiserver/apiserver.go serveConn).
func UnknownModel(uuid string) *Error {
	return &Error{Message: fmt.Sprintf("unknown model: %q", uuid), Code: CodeModelNotFound}
}

// OldLogin is Juju's reply to Admin at a version it does not serve
// (apiserver/root.go adminRoot.FindMethod).
func OldLogin() *Error {
	return &Error{Message: "this version of Juju does not support login from old clients", Code: CodeNotSupported}
}
