package herd

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error Herd returns wraps exactly one of these (or a
// context error, which passes through unchanged), so callers match with
// errors.Is and never by message.
var (
	ErrNotFound           = errors.New("not found")
	ErrAlreadyExists      = errors.New("already exists")
	ErrInvalid            = errors.New("not valid")
	ErrPermissionDenied   = errors.New("permission denied")
	ErrUnauthenticated    = errors.New("unauthenticated")
	ErrFailedPrecondition = errors.New("failed precondition")
	ErrClosed             = errors.New("controller closed")
)

// Error is an error with a Juju-like message that wraps one sentinel. Its
// message is the message alone: the sentinel does not repeat itself, so
// `user "tom" not found` reads as Juju prints it.
type Error struct {
	Kind error  // one of the sentinels above
	Msg  string // the human message
	Err  error  // an optional cause, also matched by errors.Is
}

func (e *Error) Error() string {
	if e.Err != nil && e.Msg != "" {
		return e.Msg + ": " + e.Err.Error()
	}
	if e.Msg == "" {
		if e.Err != nil {
			return e.Err.Error()
		}
		return e.Kind.Error()
	}
	return e.Msg
}

// Unwrap returns the sentinel and the cause.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Kind, e.Err}
	}
	return []error{e.Kind}
}

// Errorf returns an *Error of the given kind with a formatted message.
func Errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error of the given kind that carries cause, with msg
// before the cause's text. It returns nil for a nil cause.
func Wrap(kind error, cause error, msg string) error {
	if cause == nil {
		return nil
	}
	return &Error{Kind: kind, Msg: msg, Err: cause}
}

// Denied is the error every refused operation returns.
func Denied() error { return &Error{Kind: ErrPermissionDenied, Msg: "permission denied"} }
