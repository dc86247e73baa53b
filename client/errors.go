package client

import (
	"fmt"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/internal/params"
	"github.com/herd-project/herd/internal/rpc"
)

// fromParams turns the error of one item of a bulk result into the error
// a refused request gives: an *rpc.Error with Juju's message and code,
// which unwraps to the root sentinel (errors.Is(err,
// herd.ErrPermissionDenied)). nil stays nil.
func fromParams(e *params.Error) error {
	if e == nil {
		return nil
	}
	return &rpc.Error{Message: e.Message, Code: e.Code, Info: e.Info}
}

// oneResult checks that a bulk call answered one item.
func oneResult(facade, method string, n int) error {
	if n != 1 {
		return herd.Errorf(herd.ErrInvalid, "%s.%s: expected 1 result, got %d", facade, method, n)
	}
	return nil
}

// errorResult returns the error of the single item of an ErrorResults.
func errorResult(facade, method string, res params.ErrorResults) error {
	if err := oneResult(facade, method, len(res.Results)); err != nil {
		return err
	}
	return fromParams(res.Results[0].Error)
}

// unexpected is a reply this client cannot read (err may be nil).
func unexpected(what string, err error) error {
	msg := fmt.Sprintf("unexpected %s from the controller", what)
	if err == nil {
		return herd.Errorf(herd.ErrInvalid, "%s", msg)
	}
	return herd.Wrap(herd.ErrInvalid, err, msg)
}
