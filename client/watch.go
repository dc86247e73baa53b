package client

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/internal/params"
	"github.com/herd-project/herd/internal/rpc"
	"github.com/herd-project/herd/models"
)

// Waiting for the provisioner, as controller.Session does it, over the
// network: a wait opens an AllWatcher on the model connection
// (Client.WatchAll) and uses each AllWatcher.Next only as the signal that
// something changed; after each, it reads the model with
// Client.FullStatus and tests the condition on that, so the condition sees
// what Status returns. Nothing polls: between changes the wait is one
// Next in flight. A Next cut short by the server's request timeout (code
// "deadline exceeded") is made again; a connection that drops is dialled
// again (to any of the controller's addresses, the session resumed) with a
// new watcher, and the model read again; the watcher is stopped when the
// wait ends.

// allWatcher is one AllWatcher on a model connection.
type allWatcher struct {
	l  *link
	id string
}

// watchAll opens an AllWatcher on the connection to model uuid.
func (s *Session) watchAll(ctx context.Context, uuid string) (*allWatcher, error) {
	l, err := s.link(ctx, uuid)
	if err != nil {
		return nil, err
	}
	var res params.AllWatcherId
	if err := l.call(ctx, "Client", "WatchAll", nil, &res); err != nil {
		return nil, err
	}
	if res.AllWatcherId == "" {
		return nil, unexpected("Client.WatchAll result without a watcher id", nil)
	}
	return &allWatcher{l: l, id: res.AllWatcherId}, nil
}

// follow is an AllWatcher on model uuid that outlives its connection: a
// Next that fails because the connection dropped (the controller
// restarted, or the session moved to another of its addresses) opens a
// new watcher, on a new connection, and reports a change, so that the
// caller reads the model again and misses nothing.
type follow struct {
	s    *Session
	uuid string
	w    *allWatcher
}

func (s *Session) follow(ctx context.Context, uuid string) (*follow, error) {
	w, err := s.watchAll(ctx, uuid)
	if err != nil {
		return nil, err
	}
	return &follow{s: s, uuid: uuid, w: w}, nil
}

// next waits for a change; its deltas are nil after a reconnection.
func (f *follow) next(ctx context.Context) ([]json.RawMessage, error) {
	deltas, err := f.w.next(ctx)
	if err == nil || ctx.Err() != nil || !f.w.l.down() {
		return deltas, err
	}
	w, werr := f.s.watchAll(ctx, f.uuid)
	if werr != nil {
		return nil, werr
	}
	f.w = w
	return nil, nil
}

func (f *follow) stop(ctx context.Context) { f.w.stop(ctx) }

// next waits for the watcher's next deltas and returns them as sent.
func (w *allWatcher) next(ctx context.Context) ([]json.RawMessage, error) {
	v, err := w.l.version("AllWatcher")
	if err != nil {
		return nil, err
	}
	for {
		var res struct {
			Deltas []json.RawMessage `json:"deltas"`
		}
		err := w.l.rpc.Call(ctx, "AllWatcher", v, w.id, "Next", nil, &res)
		var re *rpc.Error
		if errors.As(err, &re) && re.Code == rpc.CodeDeadlineExceeded && ctx.Err() == nil {
			continue // the server's request timeout: nothing is lost
		}
		return res.Deltas, err
	}
}

// stop ends the watcher; it is best effort (the connection's closing
// stops it too), and runs even when ctx has ended.
func (w *allWatcher) stop(ctx context.Context) {
	v, err := w.l.version("AllWatcher")
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = w.l.rpc.Call(ctx, "AllWatcher", v, w.id, "Stop", nil, nil)
}

// modelRemoved reports whether deltas remove the model itself.
func modelRemoved(deltas []json.RawMessage) bool {
	for _, raw := range deltas {
		var d []json.RawMessage
		if json.Unmarshal(raw, &d) != nil || len(d) < 2 {
			continue
		}
		var kind, op string
		if json.Unmarshal(d[0], &kind) == nil && json.Unmarshal(d[1], &op) == nil && kind == "model" && op == "remove" {
			return true
		}
	}
	return false
}

// WaitFor watches a model until cond holds for its status, and returns
// that status (model read access), as controller.Session.WaitFor; it
// fails when ctx ends (a deadline is how long to wait) or the watch does
// (a model destroyed meanwhile is herd.ErrNotFound).
func (s *Session) WaitFor(ctx context.Context, model string, cond func(controller.ModelStatus) bool) (controller.ModelStatus, error) {
	return s.waitFor(ctx, model, func(st controller.ModelStatus, _ map[string]bool) bool { return cond(st) })
}

// waitFor is WaitFor with, for cond, the machines the provisioner is
// still retrying.
func (s *Session) waitFor(ctx context.Context, model string, cond func(controller.ModelStatus, map[string]bool) bool) (controller.ModelStatus, error) {
	m, err := s.resolve(ctx, model)
	if err != nil {
		return controller.ModelStatus{}, err
	}
	w, err := s.follow(ctx, m.UUID)
	if err != nil {
		return controller.ModelStatus{}, err
	}
	defer w.stop(ctx)
	for {
		st, retrying, err := s.fullStatus(ctx, m)
		if err != nil {
			return controller.ModelStatus{}, err
		}
		if cond(st, retrying) {
			return st, nil
		}
		if _, err := w.next(ctx); err != nil {
			return controller.ModelStatus{}, err
		}
	}
}

// WaitStarted waits until every machine of the model (of the named
// applications' units only, when apps are given) is started, and returns
// the model's status then (model read access), as
// controller.Session.WaitStarted: it fails with herd.ErrFailedPrecondition,
// naming the machine and the provider's message, as soon as a machine it
// waits for is in error and no longer retried (the controller sends no
// "transient" flag for it), and with ctx's error when ctx ends first.
func (s *Session) WaitStarted(ctx context.Context, model string, apps ...string) (controller.ModelStatus, error) {
	var failed error
	st, err := s.waitFor(ctx, model, func(st controller.ModelStatus, retrying map[string]bool) bool {
		var done bool
		done, failed = controller.MachinesStarted(st, apps, func(mc models.Machine) bool {
			return mc.Status == models.Error && mc.InstanceID == "" && !mc.Dying() && !retrying[mc.ID]
		})
		return done || failed != nil
	})
	if err == nil {
		err = failed
	}
	return st, err
}

// WaitRemoved waits until a model being destroyed is gone (model read
// access while it exists), as controller.Session.WaitRemoved: nil once
// the model is removed (its AllWatcher gives the model's removal), or at
// once if it is not found; ctx's error when ctx ends first.
func (s *Session) WaitRemoved(ctx context.Context, model string) error {
	m, err := s.resolve(ctx, model)
	if errors.Is(err, herd.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	w, err := s.follow(ctx, m.UUID)
	if errors.Is(err, herd.ErrNotFound) {
		return nil // gone since it was looked up
	}
	if err != nil {
		return err
	}
	defer w.stop(ctx)
	for {
		deltas, err := w.next(ctx)
		if errors.Is(err, herd.ErrNotFound) {
			// The removal was given to a Next that was cut short, or the
			// model went while the connection was down.
			return nil
		}
		if err != nil {
			return err
		}
		if modelRemoved(deltas) {
			return nil
		}
	}
}

// RetryProvisioning starts again machines of a model whose start failed
// and is no longer retried (MachineManager.RetryProvisioning on the model
// connection: model write), as controller.Session.RetryProvisioning: with
// no ids every such machine ("all"); a named machine not in error is
// herd.ErrFailedPrecondition, one that does not exist herd.ErrNotFound,
// and then nothing changes.
func (s *Session) RetryProvisioning(ctx context.Context, model string, machines ...string) error {
	for _, id := range machines {
		if !validMachineID(id) {
			// As the in-process Session, which finds no such machine.
			return herd.Errorf(herd.ErrNotFound, "machine %q not found", id)
		}
	}
	m, err := s.resolve(ctx, model)
	if err != nil {
		return err
	}
	args := params.RetryProvisioningArgs{All: len(machines) == 0}
	for _, id := range machines {
		args.Machines = append(args.Machines, params.MachineTag(id))
	}
	var res params.ErrorResults
	if err := s.modelCall(ctx, m.UUID, "MachineManager", "RetryProvisioning", args, &res); err != nil {
		return err
	}
	for _, r := range res.Results {
		if r.Error != nil {
			return fromParams(r.Error)
		}
	}
	return nil
}

// validMachineID reports whether id is a machine's ("0", "12"): what a
// machine tag holds for Herd's machines.
func validMachineID(id string) bool {
	n, err := strconv.Atoi(id)
	return err == nil && n >= 0 && strconv.Itoa(n) == id
}

// attempts reads Herd's "attempts" from a provisioning error's data.
func attempts(data map[string]any) int {
	switch v := data["attempts"].(type) {
	case float64:
		return int(v)
	case json.Number:
		n, _ := v.Int64()
		return int(n)
	}
	return 0
}
