package controller

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/provider"
	"github.com/herd-project/herd/store"
)

// Provisioning, as Juju does it: Deploy, AddUnit, RemoveUnit,
// RemoveApplication and DestroyModel only record what is wanted (machines
// `pending`; machines, applications and models `dying`) and return. The
// controller's provisioner, a goroutine woken by every commit that touches
// models, applications, units or machines, then does the provider's work,
// several machines at a time (Provisioning.Workers):
//
//   - a pending machine is marked `allocating`, started, and marked
//     `started` with its instance, or `error` with the provider's message;
//     a failed start is retried after a delay that doubles each time
//     (Provisioning.Retries times; then the machine stays in error until
//     Session.RetryProvisioning);
//   - a dying machine is stopped, and then its row and its unit removed; a
//     failed stop is recorded on the machine and retried until it works;
//   - a dying application with no units left is removed, and a dying model
//     with no machines left has its space removed and then its rows.
//
// Each machine has at most one provider call under way at a time, so a
// destroy that comes while a machine starts waits for the start and then
// stops what it started. The provider is never called inside a write.
//
// A provisioner resumes when a controller opens on existing state: a
// start that a crash interrupted is begun again, and an instance already
// there (the start took effect, the record of it did not) is adopted; at
// open it lists the provider's instances of the controller and stops any
// that no machine row leads to. So a controller killed in the middle of
// provisioning leaves, once reopened and settled, every machine either
// running with its row or gone.

// Defaults of Provisioning.
const (
	DefaultProvisionWorkers = 16
	DefaultStartRetries     = 3
	DefaultRetryDelay       = 10 * time.Second
	DefaultProviderTimeout  = 10 * time.Minute
)

// Provisioning tunes the provisioner. The zero value is Juju's manner: 16
// machines at a time, a failed start retried 3 times, 10 s before the
// first retry.
type Provisioning struct {
	// Workers bounds the provider calls under way at once; 0 means
	// DefaultProvisionWorkers.
	Workers int
	// Retries is how many times a failed start is tried again before the
	// machine stays in error; 0 means DefaultStartRetries, a negative
	// value none. Failed stops are retried without end.
	Retries int
	// RetryDelay is the wait before the first retry, doubled for each
	// later one up to 32 times it; 0 means DefaultRetryDelay.
	RetryDelay time.Duration
	// Timeout bounds one start or stop; 0 means DefaultProviderTimeout. A
	// start that runs past it fails (and is retried).
	Timeout time.Duration
}

func (p Provisioning) withDefaults() Provisioning {
	if p.Workers <= 0 {
		p.Workers = DefaultProvisionWorkers
	}
	switch {
	case p.Retries == 0:
		p.Retries = DefaultStartRetries
	case p.Retries < 0:
		p.Retries = 0
	}
	if p.RetryDelay <= 0 {
		p.RetryDelay = DefaultRetryDelay
	}
	if p.Timeout <= 0 {
		p.Timeout = DefaultProviderTimeout
	}
	return p
}

// delay is the wait after the n-th failure in a row (n >= 1).
func (p Provisioning) delay(n int) time.Duration {
	d := p.RetryDelay
	for i := 1; i < n && i < 6; i++ {
		d *= 2
	}
	return d
}

// gaveUp reports whether the provisioner has stopped retrying mc's start.
func (p Provisioning) gaveUp(mc models.Machine) bool {
	return mc.Status == models.Error && mc.Attempts > p.Retries
}

type provisioner struct {
	c      *Controller
	opts   Provisioning
	life   context.Context // the provisioner's, until stop
	cancel context.CancelFunc
	// ctx is the current term's (see run): it ends when the term does.
	// Written by run only while no worker runs.
	ctx  context.Context
	wake chan struct{}  // capacity 1: a pass is due
	sem  chan struct{}  // a slot per worker
	wg   sync.WaitGroup // run
	jobs sync.WaitGroup // workers
	// leads is true during a term: this controller's provisioner works.
	leads atomic.Bool
	// resign gives up the current term's lead (nil when there is none
	// to give up); see handOver.
	resignMu sync.Mutex
	resign   func()

	mu       sync.Mutex
	busy     map[string]bool      // job key: a worker has it
	failures map[string]int       // job key: failures in a row (stops, teardowns)
	notAfter map[string]time.Time // job key: not to run before
	timer    *time.Timer          // wakes the loop for the earliest retry
}

// newProvisioner makes c's provisioner and hooks it to c's commits (it is
// started later, by startProvisioner).
func (c *Controller) newProvisioner() {
	ctx, cancel := context.WithCancel(context.Background())
	p := &provisioner{c: c, opts: c.opts.Provisioning, life: ctx, ctx: ctx, cancel: cancel,
		wake: make(chan struct{}, 1), sem: make(chan struct{}, c.opts.Provisioning.Workers),
		busy: map[string]bool{}, failures: map[string]int{}, notAfter: map[string]time.Time{}}
	c.provisioner = p
	c.st.OnCommit(func(_ *state.Txn, changes []state.Change) {
		for _, ch := range changes {
			row := ch.After
			if row == nil {
				row = ch.Before
			}
			switch row.(type) {
			case models.Model, models.Application, models.Unit, models.Machine:
				p.poke()
				return
			}
		}
	})
}

// startProvisioner starts c's provisioner; reconcile says to look for
// instances no row leads to first (on open).
func (c *Controller) startProvisioner(reconcile bool) {
	p := c.provisioner
	p.wg.Add(1)
	go p.run(reconcile)
}

// handOver gives up the lead, if this provisioner holds one, so that
// another controller's takes over at once rather than when the lease runs
// out. Close calls it before closing the store.
func (p *provisioner) handOver() {
	p.resignMu.Lock()
	resign := p.resign
	p.resign = nil
	p.resignMu.Unlock()
	if resign != nil {
		resign()
	}
}

// LeadsProvisioner reports whether this controller's provisioner is the
// one at work: always, for a controller alone on its backend; for
// controllers sharing etcd, the one elected (see store.Elector).
func (c *Controller) LeadsProvisioner() bool { return c.provisioner.leads.Load() }

// waitUpTo waits, after cancel, until the provisioner has stopped or d
// has passed.
func (p *provisioner) waitUpTo(d time.Duration) {
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// wait waits, after cancel, until the provisioner and its workers have
// stopped (at once if it never started).
func (p *provisioner) wait() { p.wg.Wait() }

// retryNow drops the waits of the failed jobs of a model (its machines'
// and its own), so that the next pass runs them: a user asking again to
// remove something resumes at once, as in Juju.
func (p *provisioner) retryNow(modelUUID string) {
	p.mu.Lock()
	for key := range p.notAfter {
		if strings.HasPrefix(key, "machine/"+modelUUID+"/") || key == "model/"+modelUUID {
			delete(p.notAfter, key)
			delete(p.failures, key)
		}
	}
	p.mu.Unlock()
	p.poke()
}

func (p *provisioner) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// run provisions in terms: when the backend is shared by several
// controllers (a store.Elector), only the one that leads the
// "provisioner" role provisions, and a term lasts as long as its lead; a
// controller alone has one term, until stop. A new term after another
// controller's starts with a reconcile.
func (p *provisioner) run(reconcile bool) {
	defer p.wg.Done()
	p.timer = time.NewTimer(time.Hour)
	defer p.timer.Stop()
	elector, _ := p.c.opts.Backend.(store.Elector)
	for p.life.Err() == nil {
		term, end := context.WithCancel(p.life)
		if elector != nil {
			lost, giveUp, err := elector.Lead(p.life, "provisioner")
			if err != nil {
				end()
				if p.life.Err() == nil {
					p.c.opts.Logger.Warn("provisioner cannot campaign for the lead; will try again", "err", err)
					sleepCtx(p.life, p.opts.RetryDelay)
				}
				continue
			}
			p.c.opts.Logger.Info("this controller leads the provisioner")
			reconcile = true
			p.resignMu.Lock()
			p.resign = giveUp
			p.resignMu.Unlock()
			go func() {
				select {
				case <-lost:
					p.c.opts.Logger.Warn("this controller lost the provisioner's lead")
				case <-term.Done():
				}
				end()
			}()
		}
		p.ctx = term
		p.leads.Store(true)
		p.serve(reconcile)
		p.leads.Store(false)
		end()
		p.jobs.Wait()
		p.handOver()
		if elector == nil {
			return
		}
	}
}

// serve runs passes until the term ends.
func (p *provisioner) serve(reconcile bool) {
	for {
		if reconcile && p.due("reconcile") {
			reconcile = !p.reconcile()
		}
		p.pass()
		select {
		case <-p.ctx.Done():
			return
		case <-p.wake:
		case <-p.timer.C:
		}
	}
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// reconcile stops every instance of the controller that no machine row
// leads to, and adopts an instance that runs for a row that has none
// recorded. It reports whether it could list the instances.
func (p *provisioner) reconcile() bool {
	c := p.c
	ctx, cancel := context.WithTimeout(p.ctx, p.opts.Timeout)
	defer cancel()
	insts, err := c.prov.Instances(ctx, provider.Filter{ControllerUUID: c.info.UUID})
	if err != nil {
		c.opts.Logger.Warn("provisioner cannot list the provider's instances; will try again", "err", err)
		p.retryLater("reconcile", 0)
		return false
	}
	// Rows are read after the listing: a machine's row is written before
	// its instance starts and removed after it stops, so an instance
	// listed with no row now has none for good.
	t := c.st.Read()
	for _, inst := range insts {
		if inst.ModelUUID == "" {
			continue // the controller's own machine
		}
		mc, ok := state.Get[models.Machine](t, state.TableMachines, state.IndexID, inst.ModelUUID, inst.MachineID)
		switch {
		case !ok:
			c.opts.Logger.Info("provisioner stops an instance no machine leads to", "instance", inst.ID)
			spec := c.machineSpec(inst.ModelUUID, inst.MachineID)
			p.schedule("orphan/"+inst.ID, func() error {
				ctx, cancel := context.WithTimeout(p.ctx, p.opts.Timeout)
				defer cancel()
				return c.prov.StopInstance(ctx, spec)
			})
		case mc.InstanceID == "" && !mc.Dying() && inst.Status == provider.Running:
			p.record(mc, inst)
		}
	}
	return true
}

// due reports whether key's job may run now.
func (p *provisioner) due(key string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	at, ok := p.notAfter[key]
	if !ok {
		return true
	}
	if time.Until(at) > 0 {
		p.timer.Reset(p.untilTimer())
		return false
	}
	delete(p.notAfter, key)
	return true
}

// retryLater keeps key's job from running for the delay of its n-th
// failure (n 0 counts as the first).
func (p *provisioner) retryLater(key string, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.notAfter[key] = time.Now().Add(p.opts.delay(max(n, 1)))
}

// pass reads the state once and hands every job that is due to a worker,
// while workers are free.
func (p *provisioner) pass() {
	c := p.c
	t := c.st.Read()
	var emptyApps []models.Application
	for _, m := range state.List[models.Model](t, state.TableModels, state.IndexID) {
		modelDying := m.Life == models.Dying || m.Life == models.Dead
		apps := map[string]models.Application{}
		for _, a := range state.List[models.Application](t, state.TableApplications, state.IndexModel, m.UUID) {
			apps[a.Name] = a
		}
		appOf := map[string]string{} // machine: application
		withUnits := map[string]bool{}
		for _, u := range state.List[models.Unit](t, state.TableUnits, state.IndexModel, m.UUID) {
			appOf[u.Machine] = u.Application
			withUnits[u.Application] = true
		}
		machines := state.List[models.Machine](t, state.TableMachines, state.IndexModel, m.UUID)
		slices.SortFunc(machines, func(a, b models.Machine) int { return machineOrder(a.ID, b.ID) })
		for _, mc := range machines {
			key := "machine/" + m.UUID + "/" + mc.ID
			a, hasApp := apps[appOf[mc.ID]]
			switch {
			case mc.Dying() || modelDying || (hasApp && a.Dying()):
				p.schedule(key, func() error { return p.stopMachine(mc) })
			case p.startable(mc):
				p.schedule(key, func() error { return p.startMachine(mc) })
			}
		}
		for _, a := range apps {
			if a.Dying() && !withUnits[a.Name] && !modelDying {
				emptyApps = append(emptyApps, a)
			}
		}
		if modelDying && len(machines) == 0 {
			p.schedule("model/"+m.UUID, func() error { return p.removeModel(m) })
		}
	}
	for _, a := range emptyApps {
		p.removeApplication(a)
	}
}

// startable reports whether mc waits for a start: pending, left
// allocating by a controller that stopped, or failed with retries left.
func (p *provisioner) startable(mc models.Machine) bool {
	switch mc.Status {
	case models.Pending, models.Allocating:
		return mc.InstanceID == ""
	case models.Error:
		return mc.InstanceID == "" && mc.Attempts > 0 && mc.Attempts <= p.opts.Retries
	}
	return false
}

// schedule hands job to a worker unless it runs already, waits for a
// retry, or no worker is free (a finished worker wakes the loop).
func (p *provisioner) schedule(key string, job func() error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.busy[key] {
		return
	}
	if at, ok := p.notAfter[key]; ok {
		if time.Until(at) > 0 {
			p.timer.Reset(p.untilTimer())
			return
		}
		delete(p.notAfter, key)
	}
	select {
	case p.sem <- struct{}{}:
	default:
		return
	}
	p.busy[key] = true
	p.jobs.Add(1)
	go func() {
		defer p.jobs.Done()
		err := job()
		p.mu.Lock()
		delete(p.busy, key)
		if err != nil && p.ctx.Err() == nil {
			p.failures[key]++
			p.notAfter[key] = time.Now().Add(p.opts.delay(p.failures[key]))
		} else if err == nil {
			delete(p.failures, key)
		}
		p.mu.Unlock()
		<-p.sem
		p.poke()
	}()
}

// untilTimer is how long until the earliest retry still to come; p.mu is
// held. Entries whose time has passed are dropped: their job runs at the
// next pass, or is gone.
func (p *provisioner) untilTimer() time.Duration {
	earliest := time.Hour
	for key, at := range p.notAfter {
		wait := time.Until(at)
		if wait <= 0 {
			delete(p.notAfter, key)
			continue
		}
		earliest = min(earliest, wait)
	}
	return earliest
}

// startMachine starts mc: it marks the machine allocating (if it is still
// waiting for a start), asks the provider, and records the instance, or
// the failure and when it is retried. A start that finds the instance
// already there (started before a crash, or by an attempt that timed out)
// adopts it if it runs. A failed start is undone, so that the next
// attempt begins afresh.
func (p *provisioner) startMachine(mc models.Machine) error {
	c := p.c
	claimed := false
	err := c.update(p.ctx, func(t *state.Txn) error {
		cur, ok := state.Get[models.Machine](t, state.TableMachines, state.IndexID, mc.ModelUUID, mc.ID)
		if claimed = ok && p.startable(cur) && !machineGoing(t, cur); !claimed {
			return nil
		}
		mc = cur
		mc.Status, mc.Message = models.Allocating, ""
		return t.Insert(state.TableMachines, mc)
	})
	if err != nil || !claimed {
		return nil // closed, or no longer wanted: the next pass sees
	}
	spec := c.machineSpec(mc.ModelUUID, mc.ID)
	ctx, cancel := context.WithTimeout(p.ctx, p.opts.Timeout)
	inst, err := c.prov.StartInstance(ctx, spec)
	if errors.Is(err, herd.ErrNotFound) {
		// The model's space is missing at this controller's provider: the
		// model was created through another controller whose provider
		// keeps its own spaces (a fake one), or the space was lost. Make
		// it, and start again.
		if m, ok := state.Get[models.Model](c.st.Read(), state.TableModels, state.IndexID, mc.ModelUUID); ok {
			if cerr := c.prov.CreateModel(ctx, c.modelSpec(m)); cerr == nil || errors.Is(cerr, herd.ErrAlreadyExists) {
				inst, err = c.prov.StartInstance(ctx, spec)
			}
		}
	}
	if errors.Is(err, herd.ErrAlreadyExists) {
		inst, err = c.prov.Instance(ctx, spec)
		if err == nil && inst.Status != provider.Running {
			err = herd.Errorf(herd.ErrFailedPrecondition, "instance %s is %s", inst.ID, inst.Status)
		}
	}
	cancel()
	if p.ctx.Err() != nil {
		return nil // closing: the row stays allocating and the start resumes on open
	}
	if err != nil {
		cctx, cancel := context.WithTimeout(p.ctx, p.opts.Timeout)
		if serr := c.prov.StopInstance(cctx, spec); serr != nil {
			c.opts.Logger.Warn("cannot undo a failed start", "model", mc.ModelUUID, "machine", mc.ID, "err", serr)
		}
		cancel()
		p.fail(mc, err)
		return nil
	}
	p.record(mc, inst)
	return nil
}

// fail records a failed start on mc's row and when it is retried.
func (p *provisioner) fail(mc models.Machine, cause error) {
	c := p.c
	var attempts int
	err := c.update(p.ctx, func(t *state.Txn) error {
		cur, ok := state.Get[models.Machine](t, state.TableMachines, state.IndexID, mc.ModelUUID, mc.ID)
		if !ok {
			return nil
		}
		cur.Status, cur.Message = models.Error, cause.Error()
		cur.Attempts++
		attempts = cur.Attempts
		return t.Insert(state.TableMachines, cur)
	})
	if err != nil {
		c.opts.Logger.Warn("cannot record a failed start", "machine", mc.ID, "err", err)
		return
	}
	if attempts <= p.opts.Retries {
		p.retryLater("machine/"+mc.ModelUUID+"/"+mc.ID, attempts)
	}
	c.opts.Logger.Warn("machine failed to start", "model", mc.ModelUUID, "machine", mc.ID,
		"attempts", attempts, "retrying", attempts <= p.opts.Retries, "err", cause)
}

// record writes a started instance on mc's row. If the row is gone, the
// instance has nothing leading to it and is stopped.
func (p *provisioner) record(mc models.Machine, inst provider.Instance) {
	c := p.c
	found := false
	err := c.update(p.ctx, func(t *state.Txn) error {
		cur, ok := state.Get[models.Machine](t, state.TableMachines, state.IndexID, mc.ModelUUID, mc.ID)
		if found = ok; !ok {
			return nil
		}
		// Recorded even when the machine is now dying: the row is what
		// leads the stop to the instance.
		cur.InstanceID, cur.Status, cur.Message, cur.Attempts = inst.ID, machineStatus(inst.Status), "", 0
		return t.Insert(state.TableMachines, cur)
	})
	switch {
	case err != nil:
		// Closing: the row stays allocating; on open the start finds the
		// instance and adopts it.
		c.opts.Logger.Warn("cannot record a started machine", "machine", mc.ID, "err", err)
	case !found:
		ctx, cancel := context.WithTimeout(p.ctx, p.opts.Timeout)
		defer cancel()
		if err := c.prov.StopInstance(ctx, c.machineSpec(mc.ModelUUID, mc.ID)); err != nil {
			c.opts.Logger.Warn("cannot stop an instance whose machine was removed", "instance", inst.ID, "err", err)
		}
	default:
		c.opts.Logger.Info("machine started", "model", mc.ModelUUID, "machine", mc.ID, "instance", inst.ID)
	}
}

// machineGoing reports whether mc, its application or its model is being
// removed.
func machineGoing(t *state.Txn, mc models.Machine) bool {
	if mc.Dying() {
		return true
	}
	m, ok := state.Get[models.Model](t, state.TableModels, state.IndexID, mc.ModelUUID)
	if !ok || m.Life != models.Alive {
		return true
	}
	for _, u := range state.List[models.Unit](t, state.TableUnits, state.IndexModel, mc.ModelUUID) {
		if u.Machine != mc.ID {
			continue
		}
		a, ok := state.Get[models.Application](t, state.TableApplications, state.IndexID, mc.ModelUUID, u.Application)
		if !ok || a.Dying() {
			return true
		}
	}
	return false
}

// stopMachine stops mc's instance and then removes mc's row with its
// unit; a failed stop is recorded on the machine (and retried).
func (p *provisioner) stopMachine(mc models.Machine) error {
	c := p.c
	ctx, cancel := context.WithTimeout(p.ctx, p.opts.Timeout)
	err := c.prov.StopInstance(ctx, c.machineSpec(mc.ModelUUID, mc.ID))
	cancel()
	if p.ctx.Err() != nil {
		return nil
	}
	if err != nil {
		rerr := c.update(p.ctx, func(t *state.Txn) error {
			cur, ok := state.Get[models.Machine](t, state.TableMachines, state.IndexID, mc.ModelUUID, mc.ID)
			if !ok {
				return nil
			}
			cur.Status, cur.Message = models.Error, "cannot stop: "+err.Error()
			return t.Insert(state.TableMachines, cur)
		})
		if rerr != nil {
			c.opts.Logger.Warn("cannot record a failed stop", "machine", mc.ID, "err", rerr)
		}
		c.opts.Logger.Warn("machine failed to stop; will try again", "model", mc.ModelUUID, "machine", mc.ID, "err", err)
		return err
	}
	err = c.update(p.ctx, func(t *state.Txn) error {
		for _, u := range state.List[models.Unit](t, state.TableUnits, state.IndexModel, mc.ModelUUID) {
			if u.Machine != mc.ID {
				continue
			}
			if _, err := t.DeleteAll(state.TableUnits, state.IndexID, u.ModelUUID, u.Name); err != nil {
				return err
			}
		}
		_, err := t.DeleteAll(state.TableMachines, state.IndexID, mc.ModelUUID, mc.ID)
		return err
	})
	if err != nil {
		return err
	}
	c.opts.Logger.Info("machine stopped", "model", mc.ModelUUID, "machine", mc.ID)
	return nil
}

// removeApplication removes a dying application that has no units left.
func (p *provisioner) removeApplication(a models.Application) {
	c := p.c
	removed := false
	err := c.update(p.ctx, func(t *state.Txn) error {
		cur, ok := state.Get[models.Application](t, state.TableApplications, state.IndexID, a.ModelUUID, a.Name)
		if removed = ok && cur.Dying() && len(unitsOf(t, a.ModelUUID, a.Name)) == 0; !removed {
			return nil
		}
		if _, err := t.DeleteAll(state.TableSequences, state.IndexID, a.ModelUUID, state.UnitSequence(a.Name)); err != nil {
			return err
		}
		_, err := t.DeleteAll(state.TableApplications, state.IndexID, a.ModelUUID, a.Name)
		return err
	})
	if err != nil {
		c.opts.Logger.Warn("cannot remove an application", "application", a.Name, "err", err)
	} else if removed {
		c.opts.Logger.Info("application removed", "model", a.ModelUUID, "application", a.Name)
	}
}

// removeModel removes a dying model that has no machines left: its space
// at the provider, then its rows. A failure is recorded on the model (and
// retried).
func (p *provisioner) removeModel(m models.Model) error {
	c := p.c
	ctx, cancel := context.WithTimeout(p.ctx, p.opts.Timeout)
	err := c.prov.DestroyModel(ctx, c.modelSpec(m))
	cancel()
	if p.ctx.Err() != nil {
		return nil
	}
	if err != nil {
		err = herd.Wrap(herd.ErrFailedPrecondition, err, "cannot destroy model "+m.FullName())
		rerr := c.update(p.ctx, func(t *state.Txn) error {
			cur, ok := state.Get[models.Model](t, state.TableModels, state.IndexID, m.UUID)
			if !ok {
				return nil
			}
			cur.StatusMessage = err.Error()
			return t.Insert(state.TableModels, cur)
		})
		if rerr != nil {
			c.opts.Logger.Warn("cannot record why a model destroy failed", "model", m.FullName(), "err", rerr)
		}
		c.opts.Logger.Warn("model space not removed; will try again", "model", m.FullName(), "err", err)
		return err
	}
	err = c.update(p.ctx, func(t *state.Txn) error {
		if left := state.List[models.Machine](t, state.TableMachines, state.IndexModel, m.UUID); len(left) > 0 {
			return nil // cannot happen while the model is dying; the next pass sees
		}
		for _, table := range []state.Table{state.TableGrants, state.TableApplications, state.TableUnits, state.TableSequences} {
			if _, err := t.DeleteAll(table, state.IndexModel, m.UUID); err != nil {
				return err
			}
		}
		_, err := t.DeleteAll(state.TableModels, state.IndexID, m.UUID)
		return err
	})
	if err != nil {
		return err
	}
	c.opts.Logger.Info("model destroyed", "model", m.FullName())
	return nil
}

func machineStatus(st provider.Status) models.Status {
	switch st {
	case provider.Running:
		return models.Started
	case provider.Stopped:
		return models.Stopped
	case provider.Error:
		return models.Error
	}
	return models.Pending
}

// RetryProvisioning starts again machines of a model whose start failed
// and is no longer retried, as `juju retry-provisioning` does (model
// write). With no ids it retries every such machine of the model; a named
// machine that is not in error is herd.ErrFailedPrecondition, one that
// does not exist herd.ErrNotFound, and then nothing changes.
func (s *Session) RetryProvisioning(ctx context.Context, model string, machines ...string) error {
	return s.update(ctx, func(t *state.Txn, w caller) error {
		m, err := s.liveModel(t, w, model)
		if err != nil {
			return err
		}
		var todo []models.Machine
		if len(machines) == 0 {
			for _, mc := range state.List[models.Machine](t, state.TableMachines, state.IndexModel, m.UUID) {
				if mc.Status == models.Error && mc.InstanceID == "" && !mc.Dying() {
					todo = append(todo, mc)
				}
			}
		}
		for _, id := range machines {
			mc, ok := state.Get[models.Machine](t, state.TableMachines, state.IndexID, m.UUID, id)
			if !ok {
				return herd.Errorf(herd.ErrNotFound, "machine %q not found", id)
			}
			if mc.Status != models.Error || mc.InstanceID != "" || mc.Dying() {
				return herd.Errorf(herd.ErrFailedPrecondition, "machine %s is %s, not in a provisioning error", id, machineState(mc))
			}
			todo = append(todo, mc)
		}
		for _, mc := range todo {
			mc.Status, mc.Message, mc.Attempts = models.Pending, "", 0
			if err := t.Insert(state.TableMachines, mc); err != nil {
				return err
			}
		}
		return nil
	})
}

func machineState(mc models.Machine) string {
	if mc.Dying() {
		return "dying"
	}
	return string(mc.Status)
}

// WaitStarted waits until every machine of the model (of the named
// applications' units only, when apps are given) is started, and returns
// the model's status then (model read access). It fails with
// herd.ErrFailedPrecondition, naming the machine and the provider's
// message, as soon as a machine it waits for is in error and no longer
// retried, and with ctx's error when ctx ends first (a deadline is how
// long to wait).
func (s *Session) WaitStarted(ctx context.Context, model string, apps ...string) (ModelStatus, error) {
	var failed error
	st, err := s.WaitFor(ctx, model, func(st ModelStatus) bool {
		var done bool
		done, failed = MachinesStarted(st, apps, s.c.opts.Provisioning.gaveUp)
		return done || failed != nil
	})
	if err == nil {
		err = failed
	}
	return st, err
}

// MachinesStarted is WaitStarted's condition, for clients that wait their
// own way: done when every machine of st (of the named applications'
// units only, when apps are given) is started and not dying; an error
// wrapping herd.ErrFailedPrecondition, naming the machine and the
// provider's message, when one of them is one that givenUp says the
// provisioner no longer retries.
func MachinesStarted(st ModelStatus, apps []string, givenUp func(models.Machine) bool) (done bool, err error) {
	wanted := map[string]bool{}
	for _, u := range st.Units {
		if len(apps) == 0 || slices.Contains(apps, u.Application) {
			wanted[u.Machine] = true
		}
	}
	done = true
	for _, mc := range st.Machines {
		if len(apps) > 0 && !wanted[mc.ID] {
			continue
		}
		if givenUp(mc) {
			return false, herd.Errorf(herd.ErrFailedPrecondition, "machine %s failed to start: %s", mc.ID, mc.Message)
		}
		if mc.Status != models.Started || mc.Dying() {
			done = false
		}
	}
	return done, nil
}

// WaitRemoved waits until a model being destroyed is gone (model read
// access while it exists): it returns nil once the model is removed, or
// at once if it is not found. It fails with ctx's error when ctx ends
// first. A user whose access came from a grant on the model loses it with
// the model: asked after the removal, WaitRemoved then answers
// herd.ErrPermissionDenied, as for any model the user cannot see (a
// missing model is not told apart from a hidden one); the owner and
// superusers get nil.
func (s *Session) WaitRemoved(ctx context.Context, model string) error {
	w, err := s.Watch(ctx, model)
	if errors.Is(err, herd.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	defer w.Stop()
	for {
		batch, err := w.Next(ctx)
		if err != nil {
			return err
		}
		if gone(batch) {
			return nil
		}
	}
}

// waitUntil waits until cond holds of the state, reading it again after
// each commit; the controller uses it to wait for its provisioner.
func (c *Controller) waitUntil(ctx context.Context, cond func(*state.Txn) bool) error {
	for {
		c.commitMu.Lock()
		if c.committed == nil {
			c.committed = make(chan struct{})
		}
		ch := c.committed
		c.commitMu.Unlock()
		if err := c.check(ctx); err != nil {
			return err
		}
		// Between: the state as of the last commit whose hooks have run,
		// so that the fast path and watches agree with what cond saw.
		ok := false
		c.st.Between(func(t *state.Txn) { ok = cond(t) })
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// notifyCommit wakes waitUntil's callers.
func (c *Controller) notifyCommit() {
	c.commitMu.Lock()
	if c.committed != nil {
		close(c.committed)
		c.committed = nil
	}
	c.commitMu.Unlock()
}

// Settle waits until the provisioner has done all that the state asks of
// it: no machine waits for a start (one whose start failed and is no
// longer retried does not wait), and no machine, application or model is
// dying. A failure that is retried without end (a stop, a model's space)
// keeps it waiting until ctx ends. Fixtures and tools use it; programs
// waiting for their own units use Session.WaitStarted and
// Session.WaitRemoved, which check access.
func (c *Controller) Settle(ctx context.Context) error {
	p := c.opts.Provisioning
	return c.waitUntil(ctx, func(t *state.Txn) bool {
		for _, m := range state.List[models.Model](t, state.TableModels, state.IndexID) {
			if m.Life != models.Alive {
				return false
			}
		}
		for _, a := range state.List[models.Application](t, state.TableApplications, state.IndexID) {
			if a.Dying() {
				return false
			}
		}
		for _, mc := range state.List[models.Machine](t, state.TableMachines, state.IndexID) {
			if mc.Dying() {
				return false
			}
			switch mc.Status {
			case models.Pending, models.Allocating:
				return false
			case models.Error:
				if mc.InstanceID == "" && !p.gaveUp(mc) {
					return false
				}
			}
		}
		return true
	})
}

// Retrying reports whether the provisioner will try mc's failed start
// again by itself: mc is in error with no instance, not dying, and has
// retries left (Provisioning.Retries). A machine in error that is not
// retrying stays so until Session.RetryProvisioning; WaitStarted fails
// on it. The API server sends this as Juju's "transient" flag.
func (c *Controller) Retrying(mc models.Machine) bool {
	return mc.Status == models.Error && mc.InstanceID == "" && !mc.Dying() && !c.opts.Provisioning.gaveUp(mc)
}
