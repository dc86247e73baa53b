package rpc

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/herd-project/herd"
)

// overTheWire encodes e as the server does and decodes it as the client
// does.
func overTheWire(t *testing.T, e *Error) error {
	t.Helper()
	data, err := encodeReply(Request{ID: 3}, nil, e)
	if err != nil {
		t.Fatal(err)
	}
	f, _, ok, err := decodeFrame(data)
	if !ok || err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return (&Client{}).finish(reply{f: f}, "F", "M", nil)
}

func TestErrorForAndBack(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code string
		kind error
	}{
		{herd.Errorf(herd.ErrNotFound, "user %q not found", "tom"), CodeNotFound, herd.ErrNotFound},
		{herd.Errorf(herd.ErrAlreadyExists, `user "tom" already exists`), CodeAlreadyExists, herd.ErrAlreadyExists},
		{herd.Errorf(herd.ErrInvalid, `invalid user name "T!"`), CodeNotValid, herd.ErrInvalid},
		{herd.Denied(), CodeUnauthorized, herd.ErrPermissionDenied},
		{herd.Errorf(herd.ErrUnauthenticated, "invalid entity name or password"), CodeUnauthorized, herd.ErrUnauthenticated},
		{herd.Errorf(herd.ErrUnauthenticated, "session ended: log in again"), CodeUnauthorized, herd.ErrUnauthenticated},
		{herd.Errorf(herd.ErrUnauthenticated, "login expired"), CodeLoginExpired, herd.ErrUnauthenticated},
		{herd.Errorf(herd.ErrFailedPrecondition, "cannot delete controller owner %q", "admin"), "", herd.ErrFailedPrecondition},
		{herd.Errorf(herd.ErrClosed, "controller closed"), "", herd.ErrClosed},
		{fmt.Errorf("wrapped: %w", herd.Denied()), CodeUnauthorized, herd.ErrPermissionDenied},
		{UnknownMethod("Client", 8, "Nope"), CodeNotImplemented, nil},
		{fmt.Errorf("op: %w", context.DeadlineExceeded), CodeDeadlineExceeded, nil},
		{errors.New("something broke"), "", nil},
	} {
		e := ErrorFor(tc.err)
		if e.Code != tc.code || e.Message != tc.err.Error() {
			t.Errorf("ErrorFor(%v) = %q (%q), want code %q", tc.err, e.Message, e.Code, tc.code)
		}
		got := overTheWire(t, e)
		if got.Error() != tc.err.Error() || CodeOf(got) != tc.code {
			t.Errorf("%v: client got %q (%q)", tc.err, got, CodeOf(got))
		}
		for _, k := range []error{herd.ErrNotFound, herd.ErrAlreadyExists, herd.ErrInvalid, herd.ErrPermissionDenied,
			herd.ErrUnauthenticated, herd.ErrFailedPrecondition, herd.ErrClosed} {
			if errors.Is(got, k) != (k == tc.kind) {
				t.Errorf("%v: errors.Is(client error, %v) = %v", tc.err, k, !(k == tc.kind))
			}
		}
	}
	if ErrorFor(nil) != nil {
		t.Error("ErrorFor(nil) != nil")
	}
}

// Replies as a Juju controller sends them (no error-info) map to the
// sentinels by code, and for "unauthorized access" by Juju's message.
func TestJujuCodesToSentinels(t *testing.T) {
	for _, tc := range []struct {
		msg, code string
		kind      error
	}{
		{`user "bob" not found`, CodeUserNotFound, herd.ErrNotFound},
		{`model "x" not found`, CodeModelNotFound, herd.ErrNotFound},
		{"id not found", CodeNotFound, herd.ErrNotFound},
		{`user "bob" already exists`, CodeAlreadyExists, herd.ErrAlreadyExists},
		{"bad name", CodeNotValid, herd.ErrInvalid},
		{"invalid request", CodeBadRequest, herd.ErrInvalid},
		{MsgPermissionDenied, CodeUnauthorized, herd.ErrPermissionDenied},
		{"nope", CodeForbidden, herd.ErrPermissionDenied},
		{MsgBadCreds, CodeUnauthorized, herd.ErrUnauthenticated},
		{MsgNotLoggedIn, CodeUnauthorized, herd.ErrUnauthenticated},
		{MsgLoginExpired, CodeLoginExpired, herd.ErrUnauthenticated},
		{"no credentials provided", CodeNoCreds, herd.ErrUnauthenticated},
		{"x", CodeSessionTokenInvalid, herd.ErrUnauthenticated},
		{"this version of Juju does not support login from old clients", CodeNotSupported, nil},
		{`unknown object type "X"`, CodeNotImplemented, nil},
		{"try later", CodeTryAgain, nil},
		{"cannot delete controller owner", "", nil},
	} {
		got := overTheWire(t, &Error{Message: tc.msg, Code: tc.code})
		if u := errors.Unwrap(got); u != tc.kind {
			t.Errorf("%q (%q): unwraps to %v, want %v", tc.msg, tc.code, u, tc.kind)
		}
	}
}

func TestUnknownReplies(t *testing.T) {
	for _, tc := range []struct {
		e    *Error
		want string
	}{
		{UnknownFacade("Client", 0), `unknown object type "Client"`},
		{UnknownFacade("Client", 8), `unknown version (8) of interface "Client"`},
		{UnknownMethod("Client", 8, "Nope"), `no such request - method Client(8).Nope is not implemented`},
		{UnknownMethod("Client", 0, "Nope"), `no such request - method Client.Nope is not implemented`},
	} {
		if tc.e.Message != tc.want || tc.e.Code != CodeNotImplemented {
			t.Errorf("got %q (%q), want %q", tc.e.Message, tc.e.Code, tc.want)
		}
	}
	if e := UnknownModel("d0d0"); e.Message != `unknown model: "d0d0"` || e.Code != CodeModelNotFound || !errors.Is(overTheWire(t, e), herd.ErrNotFound) {
		t.Errorf("UnknownModel: %#v", e)
	}
	if e := OldLogin(); e.Code != CodeNotSupported {
		t.Errorf("OldLogin: %#v", e)
	}
	if (&Error{}).Error() == "" || (&Error{Code: "x"}).Error() != "x" {
		t.Error("an error's text must never be empty (jujulib would read a success)")
	}
}
