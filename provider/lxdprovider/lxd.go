// Package lxdprovider is Herd's provider on a real LXD daemon, through
// github.com/canonical/lxd/client. It is the only package of Herd that
// imports LXD, and no LXD type appears in its public signatures.
//
// Mapping:
//   - the controller's machine is a container juju-<controller uuid[:6]>-0
//     in LXD's default project;
//   - each model gets its own LXD project, herd-<model uuid>, which shares
//     the default project's images and profiles (features.images and
//     features.profiles are false); it is created with the model and
//     deleted with it;
//   - each machine is a container juju-<model uuid[:6]>-<machine id> in the
//     model's project.
//
// Every instance and project is tagged with user.herd.controller, and
// instances with user.herd.model and user.herd.machine, so Instances lists
// what exists by its tags: a restarted controller finds its machines and
// DestroyController after a crash cleans up what is left.
//
// Instances are created without a network device (the profile decides;
// the test bed's default profile has none). Teardown is idempotent: a
// machine or project already gone is not an error when tearing down, but
// Instance reports herd.ErrNotFound for it. Every call checks ctx; waits on
// LXD operations are cancelled with it. At most Options.MaxConcurrent LXD
// operations run at once.
package lxdprovider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	lxd "github.com/canonical/lxd/client"
	"github.com/canonical/lxd/shared/api"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/provider"
)

// Config keys Herd tags LXD objects with.
const (
	KeyController = "user.herd.controller"
	KeyModel      = "user.herd.model"
	KeyMachine    = "user.herd.machine"
)

// DefaultImage is the image alias used when Options.Image is empty: the
// busybox image scripts/lxd-testbed.sh imports.
const DefaultImage = "herd-busybox"

// Options configure the provider. The zero value talks to the local daemon
// over its unix socket and uses DefaultImage with the default profile.
type Options struct {
	// Socket is the unix socket path; "" means LXD's default
	// ($LXD_DIR/unix.socket, else /var/lib/lxd/unix.socket).
	Socket string
	// URL, when set, connects over HTTPS instead of the socket, with the
	// PEM client certificate and key below and, if set, the server's
	// certificate to trust.
	URL                   string
	ClientCert, ClientKey string
	ServerCert            string
	// Image is the alias of the image machines start from.
	Image string
	// Profiles applied to every instance; nil means ["default"].
	Profiles []string
	// MaxConcurrent bounds concurrent LXD operations; 0 means 10.
	MaxConcurrent int
	// ProjectPrefix names model projects; "" means "herd-".
	ProjectPrefix string
}

// Provider is the LXD provider. It is safe for concurrent use.
type Provider struct {
	srv  lxd.InstanceServer
	opts Options
	sem  chan struct{}
}

var _ provider.Provider = (*Provider)(nil)

// New connects to LXD and checks that it answers. A daemon that does not
// answer is herd.ErrFailedPrecondition, with a hint to run the test bed.
func New(ctx context.Context, opts Options) (*Provider, error) {
	if opts.Image == "" {
		opts.Image = DefaultImage
	}
	if opts.Profiles == nil {
		opts.Profiles = []string{"default"}
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 10
	}
	if opts.ProjectPrefix == "" {
		opts.ProjectPrefix = "herd-"
	}
	var (
		srv lxd.InstanceServer
		err error
	)
	where := opts.Socket
	if opts.URL != "" {
		where = opts.URL
		srv, err = lxd.ConnectLXDWithContext(ctx, opts.URL, &lxd.ConnectionArgs{
			TLSClientCert: opts.ClientCert, TLSClientKey: opts.ClientKey, TLSServerCert: opts.ServerCert,
		})
	} else {
		if where == "" {
			where = "the default unix socket"
		}
		srv, err = lxd.ConnectLXDUnixWithContext(ctx, opts.Socket, nil)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, herd.Wrap(herd.ErrFailedPrecondition, err,
			fmt.Sprintf("cannot reach LXD at %s (run scripts/lxd-testbed.sh to install and start it)", where))
	}
	if _, _, err := srv.GetImageAlias(opts.Image); err != nil {
		return nil, herd.Wrap(herd.ErrFailedPrecondition, err, fmt.Sprintf("LXD has no image %q (run scripts/lxd-testbed.sh)", opts.Image))
	}
	return &Provider{srv: srv, opts: opts, sem: make(chan struct{}, opts.MaxConcurrent)}, nil
}

// Type returns "lxd".
func (p *Provider) Type() string { return "lxd" }

// Close releases the connection.
func (p *Provider) Close() { p.srv.Disconnect() }

func (p *Provider) project(modelUUID string) string {
	if modelUUID == "" {
		return api.ProjectDefaultName
	}
	return p.opts.ProjectPrefix + modelUUID
}

// in returns a client for one call, bound to project and ctx. UseProject
// makes a fresh client, so binding the context does not touch others.
func (p *Provider) in(ctx context.Context, project string) lxd.InstanceServer {
	c := p.srv.UseProject(project)
	if wc, ok := c.(interface {
		WithContext(context.Context) lxd.InstanceServer
	}); ok {
		return wc.WithContext(ctx)
	}
	return c
}

// acquire takes a slot for an LXD operation, or gives up with ctx.
func (p *Provider) acquire(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case p.sem <- struct{}{}:
		return func() { <-p.sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func isNotFound(err error) bool { return api.StatusErrorCheck(err, http.StatusNotFound) }

// wrap maps an LXD error: context errors pass through, 404 is ErrNotFound.
func wrap(ctx context.Context, err error, what string) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return herd.Wrap(herd.ErrFailedPrecondition, ctx.Err(), "lxd: "+what)
	}
	if isNotFound(err) {
		return herd.Wrap(herd.ErrNotFound, err, "lxd: "+what)
	}
	if api.StatusErrorCheck(err, http.StatusConflict) || strings.Contains(err.Error(), "already exists") {
		return herd.Wrap(herd.ErrAlreadyExists, err, "lxd: "+what)
	}
	return herd.Wrap(herd.ErrFailedPrecondition, err, "lxd: "+what)
}

// Bootstrap starts the controller's machine in the default project.
func (p *Provider) Bootstrap(ctx context.Context, c provider.ControllerSpec) (provider.Instance, error) {
	if c.UUID == "" {
		return provider.Instance{}, herd.Errorf(herd.ErrInvalid, "controller uuid must not be empty")
	}
	return p.start(ctx, provider.InstanceSpec{ControllerUUID: c.UUID, MachineID: "0"})
}

// DestroyController deletes every instance and model project tagged with
// the controller, the controller's machine included.
func (p *Provider) DestroyController(ctx context.Context, c provider.ControllerSpec) error {
	insts, err := p.Instances(ctx, provider.Filter{ControllerUUID: c.UUID})
	if err != nil {
		return err
	}
	for _, inst := range insts {
		if err := p.StopInstance(ctx, provider.InstanceSpec{ControllerUUID: c.UUID, ModelUUID: inst.ModelUUID, MachineID: inst.MachineID}); err != nil {
			return err
		}
	}
	spaces, err := p.ModelSpaces(ctx, c.UUID)
	if err != nil {
		return err
	}
	for _, name := range spaces {
		if err := p.deleteProject(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

// ModelSpaces lists the names of the LXD projects tagged with the
// controller ("" for every Herd controller), sorted. A tool uses it to see
// what a crash left behind; DestroyController removes them.
func (p *Provider) ModelSpaces(ctx context.Context, controllerUUID string) ([]string, error) {
	projects, err := p.in(ctx, api.ProjectDefaultName).GetProjects()
	if err != nil {
		return nil, wrap(ctx, err, "list projects")
	}
	var out []string
	for _, pr := range projects {
		ctl, ok := pr.Config[KeyController]
		if ok && pr.Name != api.ProjectDefaultName && (controllerUUID == "" || ctl == controllerUUID) {
			out = append(out, pr.Name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// CreateModel creates the model's project.
func (p *Provider) CreateModel(ctx context.Context, m provider.ModelSpec) error {
	if m.ModelUUID == "" {
		return herd.Errorf(herd.ErrInvalid, "model uuid must not be empty")
	}
	release, err := p.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	err = p.in(ctx, api.ProjectDefaultName).CreateProject(api.ProjectsPost{
		Name: p.project(m.ModelUUID),
		ProjectPut: api.ProjectPut{
			Description: "Herd model " + m.ModelName,
			Config: map[string]string{
				"features.images": "false", "features.profiles": "false",
				KeyController: m.ControllerUUID, KeyModel: m.ModelUUID,
			},
		},
	})
	return wrap(ctx, err, "create project for model "+m.ModelName)
}

// DestroyModel deletes the model's project; one already gone is fine.
func (p *Provider) DestroyModel(ctx context.Context, m provider.ModelSpec) error {
	if m.ModelUUID == "" {
		return herd.Errorf(herd.ErrInvalid, "model uuid must not be empty")
	}
	return p.deleteProject(ctx, p.project(m.ModelUUID))
}

func (p *Provider) deleteProject(ctx context.Context, name string) error {
	release, err := p.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	err = p.in(ctx, api.ProjectDefaultName).DeleteProject(name)
	if err != nil && isNotFound(err) {
		return nil
	}
	return wrap(ctx, err, "delete project "+name)
}

// StartInstance creates and starts a machine in the model's project.
func (p *Provider) StartInstance(ctx context.Context, s provider.InstanceSpec) (provider.Instance, error) {
	if s.ModelUUID == "" || s.MachineID == "" {
		return provider.Instance{}, herd.Errorf(herd.ErrInvalid, "instance spec needs a model and a machine id")
	}
	return p.start(ctx, s)
}

func (p *Provider) start(ctx context.Context, s provider.InstanceSpec) (provider.Instance, error) {
	release, err := p.acquire(ctx)
	if err != nil {
		return provider.Instance{}, err
	}
	defer release()
	name := s.Name()
	c := p.in(ctx, p.project(s.ModelUUID))
	config := map[string]string{KeyController: s.ControllerUUID, KeyMachine: s.MachineID}
	if s.ModelUUID != "" {
		config[KeyModel] = s.ModelUUID
	}
	op, err := c.CreateInstance(api.InstancesPost{
		Name:        name,
		Type:        api.InstanceTypeContainer,
		Source:      api.InstanceSource{Type: "image", Alias: p.opts.Image},
		InstancePut: api.InstancePut{Config: config, Profiles: p.opts.Profiles},
	})
	if err == nil {
		err = op.WaitContext(ctx)
	}
	if err == nil {
		// LXD 5.0 ignores InstancesPost.Start, so start explicitly.
		op, err = c.UpdateInstanceState(name, api.InstanceStatePut{Action: "start", Timeout: -1}, "")
		if err == nil {
			err = op.WaitContext(ctx)
		}
	}
	if err != nil {
		err = wrap(ctx, err, "start "+name)
		if !errors.Is(err, herd.ErrAlreadyExists) {
			// Leave nothing half-made behind.
			_ = p.remove(context.WithoutCancel(ctx), s)
		}
		return provider.Instance{}, err
	}
	// The start operation succeeded: the instance runs. Reading it back
	// would cost one more LXD round trip on every start.
	return provider.Instance{ID: name, ControllerUUID: s.ControllerUUID, ModelUUID: s.ModelUUID,
		MachineID: s.MachineID, Status: provider.Running, Message: "Running"}, nil
}

// StopInstance stops and deletes a machine; one already gone is fine.
func (p *Provider) StopInstance(ctx context.Context, s provider.InstanceSpec) error {
	release, err := p.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	return p.remove(ctx, s)
}

func (p *Provider) remove(ctx context.Context, s provider.InstanceSpec) error {
	name := s.Name()
	c := p.in(ctx, p.project(s.ModelUUID))
	op, err := c.UpdateInstanceState(name, api.InstanceStatePut{Action: "stop", Force: true, Timeout: -1}, "")
	if err == nil {
		err = op.WaitContext(ctx)
	}
	if err != nil && isNotFound(err) {
		return nil
	}
	if err != nil && !strings.Contains(err.Error(), "already stopped") && !strings.Contains(err.Error(), "not running") {
		return wrap(ctx, err, "stop "+name)
	}
	op, err = c.DeleteInstance(name)
	if err == nil {
		err = op.WaitContext(ctx)
	}
	if err != nil && isNotFound(err) {
		return nil
	}
	return wrap(ctx, err, "delete "+name)
}

// Instance reports one machine, or herd.ErrNotFound.
func (p *Provider) Instance(ctx context.Context, s provider.InstanceSpec) (provider.Instance, error) {
	release, err := p.acquire(ctx)
	if err != nil {
		return provider.Instance{}, err
	}
	defer release()
	return p.get(ctx, s)
}

func (p *Provider) get(ctx context.Context, s provider.InstanceSpec) (provider.Instance, error) {
	inst, _, err := p.in(ctx, p.project(s.ModelUUID)).GetInstance(s.Name())
	if err != nil {
		if isNotFound(err) {
			return provider.Instance{}, herd.Errorf(herd.ErrNotFound, "instance %q not found", s.Name())
		}
		return provider.Instance{}, wrap(ctx, err, "get "+s.Name())
	}
	return toInstance(*inst), nil
}

// Instances lists every instance tagged with Herd's keys, across projects,
// that matches f, sorted by model then name.
func (p *Provider) Instances(ctx context.Context, f provider.Filter) ([]provider.Instance, error) {
	release, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	all, err := p.in(ctx, api.ProjectDefaultName).GetInstancesAllProjects(api.InstanceTypeContainer)
	if err != nil {
		return nil, wrap(ctx, err, "list instances")
	}
	var out []provider.Instance
	for _, inst := range all {
		ctl, ok := inst.Config[KeyController]
		if !ok || (f.ControllerUUID != "" && ctl != f.ControllerUUID) {
			continue
		}
		if f.ModelUUID != "" && inst.Config[KeyModel] != f.ModelUUID {
			continue
		}
		out = append(out, toInstance(inst))
	}
	slices.SortFunc(out, func(a, b provider.Instance) int {
		if c := strings.Compare(a.ModelUUID, b.ModelUUID); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

func toInstance(inst api.Instance) provider.Instance {
	return provider.Instance{
		ID: inst.Name, ControllerUUID: inst.Config[KeyController], ModelUUID: inst.Config[KeyModel],
		MachineID: inst.Config[KeyMachine], Status: status(inst.StatusCode), Message: inst.Status,
	}
}

// status maps LXD's state to the provider's.
func status(code api.StatusCode) provider.Status {
	switch code {
	case api.Running:
		return provider.Running
	case api.Stopped, api.Frozen:
		return provider.Stopped
	case api.Error, api.Failure:
		return provider.Error
	}
	return provider.Pending
}
