// Package hooks lets Herd's own packages reach what the public API keeps
// to itself: a controller's working set. controllertest uses it to start
// fixtures from a template; the controller's tests, to read state
// directly. Being internal, it is no back door for users.
package hooks

import (
	"context"

	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/store"
)

// State returns the working set of a *controller.Controller. Package
// controller sets it when it is initialised.
var State func(controller any) *state.Store

// Working is a store.Backend only in name: given as
// controller.Options.Backend, it makes Bootstrap or Open use State itself
// as the controller's working set, in memory only. Its own methods hold
// nothing.
type Working struct{ State *state.Store }

func (*Working) Load(context.Context, func(store.Record) error) error { return nil }
func (*Working) Apply(context.Context, []store.Record) error          { return nil }
func (*Working) Close() error                                         { return nil }
