// Package fakeprovider is an in-memory provider.Provider for examples and
// tests: deterministic instance names, instances that start at once, and
// switches to make any operation fail or hang. It behaves like lxdprovider
// as seen through the interface: the same errors and idempotent teardown.
// It does not import testing, so programs may use it too.
package fakeprovider

import (
	"context"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/provider"
)

// Method names a provider method, for fault injection and counting calls.
type Method string

const (
	Bootstrap         Method = "bootstrap"
	DestroyController Method = "destroy-controller"
	CreateModel       Method = "create-model"
	DestroyModel      Method = "destroy-model"
	Start             Method = "start"
	Stop              Method = "stop"
	Instance          Method = "instance"
	List              Method = "list"
)

type fault struct {
	err   error
	hang  bool
	times int // <0: always
	skip  int // calls that pass before the fault applies
}

// Provider is the fake. The zero value is not usable: call New.
type Provider struct {
	mu        sync.Mutex
	models    map[string]provider.ModelSpec // by model UUID
	instances map[string]provider.Instance  // by model UUID (or controller UUID) + "/" + name
	faults    map[Method]*fault
	calls     map[Method]int
	delay     func(ctx context.Context, op Method, answer bool)
	path      string   // set by Open: where the state is kept
	shared    bool     // set by OpenShared: the file is loaded under its lock at every call
	lockf     *os.File // the lock file, while a call holds it (OpenShared)
}

var _ provider.Provider = (*Provider)(nil)

// New returns an empty fake provider.
func New() *Provider {
	return &Provider{
		models:    map[string]provider.ModelSpec{},
		instances: map[string]provider.Instance{},
		faults:    map[Method]*fault{},
		calls:     map[Method]int{},
	}
}

// Type returns "fake".
func (p *Provider) Type() string { return "fake" }

// Fail makes every later call of op fail with err (wrapped so errors.Is
// finds err). A nil err clears the fault.
func (p *Provider) Fail(op Method, err error) { p.setFault(op, err, false, -1) }

// FailNext makes the next n calls of op fail with err.
func (p *Provider) FailNext(op Method, n int, err error) { p.setFault(op, err, false, n) }

// FailAt makes the n-th next call of op (1 for the next) fail with err,
// once; the calls before it succeed.
func (p *Provider) FailAt(op Method, n int, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults[op] = &fault{err: err, times: 1, skip: n - 1}
}

// Hang makes every later call of op block until its context is done, then
// return the context's error. Clear it with Fail(op, nil).
func (p *Provider) Hang(op Method) { p.setFault(op, nil, true, -1) }

// Delay makes every later call run fn(ctx, op, false) before it takes
// effect and fn(ctx, op, true) after, before it returns, without holding
// the provider, so that a test can make calls take time, as a real
// daemon's do, or hold a call at either point until it lets it go; nil
// clears it. A call whose context is done when the first fn returns fails
// with the context's error and has no effect; after the second, the
// call's effect and result stand. fn may run for several calls at once.
func (p *Provider) Delay(fn func(ctx context.Context, op Method, answer bool)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = fn
}

func (p *Provider) setFault(op Method, err error, hang bool, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil && !hang {
		delete(p.faults, op)
		return
	}
	p.faults[op] = &fault{err: err, hang: hang, times: n}
}

// Clone returns a provider in memory with p's models, instances and call
// counts, and no faults: what p would be had the same calls been made to
// it. Changes to one do not show in the other.
func (p *Provider) Clone() *Provider {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := New()
	maps.Copy(c.models, p.models)
	maps.Copy(c.instances, p.instances)
	maps.Copy(c.calls, p.calls)
	return c
}

// Calls returns how many times op was called, failed calls included.
func (p *Provider) Calls(op Method) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[op]
}

// enter counts the call and applies any fault, then, for a provider
// opened with OpenShared, takes the file's lock and loads the file. It is
// called with p.mu held (released by unlock) and may release it while
// hanging.
func (p *Provider) enter(ctx context.Context, op Method) error {
	if err := p.enterFaults(ctx, op); err != nil {
		return err
	}
	return p.lockShared()
}

// unlock releases the file's lock, if held, and p.mu.
func (p *Provider) unlock() {
	p.unlockShared()
	p.mu.Unlock()
}

func (p *Provider) enterFaults(ctx context.Context, op Method) error {
	p.calls[op]++
	if err := ctx.Err(); err != nil {
		return err
	}
	if fn := p.delay; fn != nil {
		p.mu.Unlock()
		fn(ctx, op, false)
		p.mu.Lock()
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	f := p.faults[op]
	if f == nil {
		return nil
	}
	if f.skip > 0 {
		f.skip--
		return nil
	}
	if f.times > 0 {
		f.times--
		if f.times == 0 {
			delete(p.faults, op)
		}
	}
	if f.hang {
		p.mu.Unlock()
		<-ctx.Done()
		p.mu.Lock()
		return ctx.Err()
	}
	return herd.Wrap(herd.ErrFailedPrecondition, f.err, "fake provider: "+string(op))
}

// answer runs the Delay function after a call took effect. It is called
// without p.mu held.
func (p *Provider) answer(ctx context.Context, op Method) {
	p.mu.Lock()
	fn := p.delay
	p.mu.Unlock()
	if fn != nil {
		fn(ctx, op, true)
	}
}

func key(space, name string) string { return space + "/" + name }

// Bootstrap starts the controller's machine, juju-<uuid[:6]>-0.
func (p *Provider) Bootstrap(ctx context.Context, c provider.ControllerSpec) (provider.Instance, error) {
	defer p.answer(ctx, Bootstrap)
	p.mu.Lock()
	defer p.unlock()
	if err := p.enter(ctx, Bootstrap); err != nil {
		return provider.Instance{}, err
	}
	if c.UUID == "" {
		return provider.Instance{}, herd.Errorf(herd.ErrInvalid, "controller uuid must not be empty")
	}
	inst := provider.Instance{ID: provider.InstanceName(c.UUID, "0"), ControllerUUID: c.UUID, MachineID: "0", Status: provider.Running}
	k := key("", inst.ID)
	if _, ok := p.instances[k]; ok {
		return provider.Instance{}, herd.Errorf(herd.ErrAlreadyExists, "controller %q already bootstrapped", c.Name)
	}
	p.instances[k] = inst
	if err := p.save(); err != nil {
		delete(p.instances, k)
		return provider.Instance{}, err
	}
	return inst, nil
}

// DestroyController removes everything tagged with the controller.
func (p *Provider) DestroyController(ctx context.Context, c provider.ControllerSpec) error {
	defer p.answer(ctx, DestroyController)
	p.mu.Lock()
	defer p.unlock()
	if err := p.enter(ctx, DestroyController); err != nil {
		return err
	}
	for k, inst := range p.instances {
		if inst.ControllerUUID == c.UUID {
			delete(p.instances, k)
		}
	}
	for k, m := range p.models {
		if m.ControllerUUID == c.UUID {
			delete(p.models, k)
		}
	}
	return p.save()
}

// CreateModel records the model's space.
func (p *Provider) CreateModel(ctx context.Context, m provider.ModelSpec) error {
	defer p.answer(ctx, CreateModel)
	p.mu.Lock()
	defer p.unlock()
	if err := p.enter(ctx, CreateModel); err != nil {
		return err
	}
	if m.ModelUUID == "" {
		return herd.Errorf(herd.ErrInvalid, "model uuid must not be empty")
	}
	if _, ok := p.models[m.ModelUUID]; ok {
		return herd.Errorf(herd.ErrAlreadyExists, "model space %q already exists", m.ModelUUID)
	}
	p.models[m.ModelUUID] = m
	if err := p.save(); err != nil {
		delete(p.models, m.ModelUUID)
		return err
	}
	return nil
}

// DestroyModel removes the model's space. It refuses while instances remain,
// as LXD refuses to delete a project that is in use.
func (p *Provider) DestroyModel(ctx context.Context, m provider.ModelSpec) error {
	defer p.answer(ctx, DestroyModel)
	p.mu.Lock()
	defer p.unlock()
	if err := p.enter(ctx, DestroyModel); err != nil {
		return err
	}
	for _, inst := range p.instances {
		if inst.ModelUUID == m.ModelUUID && m.ModelUUID != "" {
			return herd.Errorf(herd.ErrFailedPrecondition, "model space %q still has instance %q", m.ModelUUID, inst.ID)
		}
	}
	delete(p.models, m.ModelUUID)
	return p.save()
}

// StartInstance creates and starts a machine named juju-<uuid[:6]>-<id>.
func (p *Provider) StartInstance(ctx context.Context, s provider.InstanceSpec) (provider.Instance, error) {
	defer p.answer(ctx, Start)
	p.mu.Lock()
	defer p.unlock()
	if err := p.enter(ctx, Start); err != nil {
		return provider.Instance{}, err
	}
	if _, ok := p.models[s.ModelUUID]; !ok {
		return provider.Instance{}, herd.Errorf(herd.ErrNotFound, "model space %q not found", s.ModelUUID)
	}
	inst := provider.Instance{ID: s.Name(), ControllerUUID: s.ControllerUUID,
		ModelUUID: s.ModelUUID, MachineID: s.MachineID, Status: provider.Running}
	k := key(s.ModelUUID, inst.ID)
	if _, ok := p.instances[k]; ok {
		return provider.Instance{}, herd.Errorf(herd.ErrAlreadyExists, "instance %q already exists", inst.ID)
	}
	p.instances[k] = inst
	if err := p.save(); err != nil {
		delete(p.instances, k)
		return provider.Instance{}, err
	}
	return inst, nil
}

// StopInstance deletes a machine; one already gone is not an error.
func (p *Provider) StopInstance(ctx context.Context, s provider.InstanceSpec) error {
	defer p.answer(ctx, Stop)
	p.mu.Lock()
	defer p.unlock()
	if err := p.enter(ctx, Stop); err != nil {
		return err
	}
	delete(p.instances, key(s.ModelUUID, s.Name()))
	return p.save()
}

// Instance reports one machine, or herd.ErrNotFound.
func (p *Provider) Instance(ctx context.Context, s provider.InstanceSpec) (provider.Instance, error) {
	defer p.answer(ctx, Instance)
	p.mu.Lock()
	defer p.unlock()
	if err := p.enter(ctx, Instance); err != nil {
		return provider.Instance{}, err
	}
	name := s.Name()
	inst, ok := p.instances[key(s.ModelUUID, name)]
	if !ok {
		return provider.Instance{}, herd.Errorf(herd.ErrNotFound, "instance %q not found", name)
	}
	return inst, nil
}

// Instances lists machines matching f, sorted by model then ID.
func (p *Provider) Instances(ctx context.Context, f provider.Filter) ([]provider.Instance, error) {
	defer p.answer(ctx, List)
	p.mu.Lock()
	defer p.unlock()
	if err := p.enter(ctx, List); err != nil {
		return nil, err
	}
	var out []provider.Instance
	for _, inst := range p.instances {
		if f.ControllerUUID != "" && inst.ControllerUUID != f.ControllerUUID {
			continue
		}
		if f.ModelUUID != "" && inst.ModelUUID != f.ModelUUID {
			continue
		}
		out = append(out, inst)
	}
	slices.SortFunc(out, func(a, b provider.Instance) int {
		if c := strings.Compare(a.ModelUUID, b.ModelUUID); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// AnyFilter matches every instance.
func AnyFilter() provider.Filter { return provider.Filter{} }
