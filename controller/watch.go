package controller

import (
	"context"
	"sync"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/models"
)

// Watching a model: a Watcher first gives the model as it is, then one
// batch of deltas per committed write that changed it, in commit order,
// each exactly once. Batches come from the store's commit hook, which
// only appends them to each watcher's queue: a slow watcher never holds
// up a commit or another watcher. A watcher that lets more than
// Options.WatchBuffer batches pile up is ended with an error saying so
// (watch again to start from the current state).

// DefaultWatchBuffer is how many unread batches a watcher may hold.
const DefaultWatchBuffer = 1024

// Delta is one change to a watched model: exactly one of Model,
// Application, Unit and Machine is set, as it is after the change, or as
// it was before for a removal.
type Delta struct {
	Removed     bool
	Model       *models.Model
	Application *models.Application
	Unit        *models.Unit
	Machine     *models.Machine
}

// Watcher follows one model. Its methods are safe for concurrent use.
type Watcher struct {
	s    *Session
	hub  *watchHub
	uuid string
	name string // owner/name, for the access check on every batch

	mu    sync.Mutex
	queue [][]Delta
	err   error         // why the watcher ended; nil while it runs
	wake  chan struct{} // signalled when queue or err changes
}

// Watch starts watching a model (model read access). The first Next
// returns the model, its applications, units and machines as they are.
func (s *Session) Watch(ctx context.Context, model string) (*Watcher, error) {
	t, w, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	m, _, err := s.model(t, w, model, acl.ReadModel, "")
	if err != nil {
		return nil, err
	}
	wt := &Watcher{s: s, hub: &s.c.watch, uuid: m.UUID, name: m.FullName(), wake: make(chan struct{}, 1)}
	var destroyed bool
	s.c.st.Between(func(r *state.Txn) {
		// The first batch and the registration between the same two
		// commits: nothing is missed or given twice.
		if _, ok := state.Get[models.Model](r, state.TableModels, state.IndexID, m.UUID); !ok {
			destroyed = true // since it was looked up
			return
		}
		wt.queue = append(wt.queue, modelState(r, m.UUID))
		s.c.watch.add(wt)
	})
	if destroyed {
		return nil, herd.Errorf(herd.ErrNotFound, "model %q not found", m.FullName())
	}
	return wt, nil
}

// modelState is a model's rows as deltas.
func modelState(r *state.Txn, uuid string) []Delta {
	var out []Delta
	if m, ok := state.Get[models.Model](r, state.TableModels, state.IndexID, uuid); ok {
		out = append(out, Delta{Model: &m})
	}
	for _, a := range state.List[models.Application](r, state.TableApplications, state.IndexModel, uuid) {
		out = append(out, Delta{Application: &a})
	}
	for _, mc := range state.List[models.Machine](r, state.TableMachines, state.IndexModel, uuid) {
		out = append(out, Delta{Machine: &mc})
	}
	for _, u := range state.List[models.Unit](r, state.TableUnits, state.IndexModel, uuid) {
		out = append(out, Delta{Unit: &u})
	}
	return out
}

// Next returns the next batch of deltas, waiting for one until ctx ends.
// The session's read access to the model is checked as each batch is
// committed: a session that has ended or lost its access by then ends the
// watch with that error, and gets no batch committed after. A watch whose
// model is destroyed gives the model's removal, then herd.ErrNotFound.
func (w *Watcher) Next(ctx context.Context) ([]Delta, error) {
	for {
		w.mu.Lock()
		if len(w.queue) > 0 {
			batch := w.queue[0]
			w.queue[0] = nil
			w.queue = w.queue[1:]
			w.mu.Unlock()
			if gone(batch) {
				w.end(herd.Errorf(herd.ErrNotFound, "model %q was destroyed", w.name))
			}
			return batch, nil
		}
		err := w.err
		w.mu.Unlock()
		if err != nil {
			return nil, err
		}
		select {
		case <-w.wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// gone reports whether a batch removes the model itself.
func gone(batch []Delta) bool {
	for _, d := range batch {
		if d.Removed && d.Model != nil {
			return true
		}
	}
	return false
}

// Stop ends the watch; Next then fails with herd.ErrClosed, whatever was
// still unread.
func (w *Watcher) Stop() error {
	w.mu.Lock()
	w.queue = nil
	if w.err == nil {
		w.err = herd.Errorf(herd.ErrClosed, "watcher stopped")
	}
	w.mu.Unlock()
	w.hub.remove(w)
	w.signal()
	return nil
}

// end records why the watcher ended (the first reason stands) and
// unregisters it.
func (w *Watcher) end(err error) {
	w.hub.remove(w)
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
	w.signal()
}

func (w *Watcher) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// fail ends the watcher with err, if err is not nil, and reports whether
// it goes on.
func (w *Watcher) fail(err error) bool {
	if err == nil {
		return true
	}
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
	return false
}

// push queues a batch; a watcher with a full queue is ended instead.
func (w *Watcher) push(batch []Delta, limit int) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return true
	}
	if len(w.queue) >= limit {
		w.queue = nil
		w.err = herd.Errorf(herd.ErrFailedPrecondition, "watcher of %q fell behind: more than %d batches unread; watch again", w.name, limit)
		return false
	}
	w.queue = append(w.queue, batch)
	return true
}

// watchHub holds the watchers of a controller, by model UUID.
type watchHub struct {
	mu       sync.Mutex
	limit    int
	watchers map[string]map[*Watcher]struct{}
}

func (h *watchHub) add(w *Watcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.watchers == nil {
		h.watchers = map[string]map[*Watcher]struct{}{}
	}
	if h.watchers[w.uuid] == nil {
		h.watchers[w.uuid] = map[*Watcher]struct{}{}
	}
	h.watchers[w.uuid][w] = struct{}{}
}

// closeAll ends every watcher with err (the controller is closing).
func (h *watchHub) closeAll(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for uuid, ws := range h.watchers {
		for w := range ws {
			w.fail(err)
			w.signal()
		}
		delete(h.watchers, uuid)
	}
}

func (h *watchHub) remove(w *Watcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.watchers[w.uuid], w)
	if len(h.watchers[w.uuid]) == 0 {
		delete(h.watchers, w.uuid)
	}
}

// publish is the store's commit hook: it sorts a commit's changes by
// model and queues them for that model's watchers. It runs in commit
// order and never waits for a watcher.
func (h *watchHub) publish(changes []state.Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.watchers) == 0 {
		return
	}
	batches := map[string][]Delta{}
	for _, c := range changes {
		row, removed := c.After, c.After == nil
		if removed {
			row = c.Before
		}
		var d Delta
		var uuid string
		switch v := row.(type) {
		case models.Model:
			d.Model, uuid = &v, v.UUID
		case models.Application:
			d.Application, uuid = &v, v.ModelUUID
		case models.Unit:
			d.Unit, uuid = &v, v.ModelUUID
		case models.Machine:
			d.Machine, uuid = &v, v.ModelUUID
		default:
			continue
		}
		if _, ok := h.watchers[uuid]; ok {
			d.Removed = removed
			batches[uuid] = append(batches[uuid], d)
		}
	}
	for uuid, batch := range batches {
		removal := gone(batch)
		for w := range h.watchers[uuid] {
			// Access as of this commit (the authorization snapshot is
			// updated by an earlier hook of the same commit).
			ok := removal || w.fail(w.s.Authorize(w.name, acl.Read))
			if !ok || !w.push(batch, h.limit) {
				delete(h.watchers[uuid], w)
			}
			w.signal()
		}
		if len(h.watchers[uuid]) == 0 {
			delete(h.watchers, uuid)
		}
	}
}

// WaitFor watches a model until cond holds for its status, and returns
// that status; it fails when ctx ends (a deadline is how long to wait) or
// the watch does. It is how a program waits for its units.
func (s *Session) WaitFor(ctx context.Context, model string, cond func(ModelStatus) bool) (ModelStatus, error) {
	w, err := s.Watch(ctx, model)
	if err != nil {
		return ModelStatus{}, err
	}
	defer w.Stop()
	for {
		st, err := s.Status(ctx, UUIDRef(w.uuid))
		if err != nil {
			return ModelStatus{}, err
		}
		if cond(st) {
			return st, nil
		}
		if _, err := w.Next(ctx); err != nil {
			return ModelStatus{}, err
		}
	}
}
