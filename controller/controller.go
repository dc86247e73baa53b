package controller

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/internal/hooks"
	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/provider"
	"github.com/herd-project/herd/provider/fakeprovider"
	"github.com/herd-project/herd/users"
)

// AdminUser is the name of the controller owner that Bootstrap creates.
const AdminUser = "admin"

// DefaultModel is the model every controller starts with.
const DefaultModel = "default"

// Controller is a Herd controller. All its methods are safe for concurrent
// use. Every operation other than Login and Register is a method of a
// *Session, so authorization is decided in one place.
type Controller struct {
	opts   Options
	st     *state.Store
	prov   provider.Provider
	info   state.Controller
	closed atomic.Bool
	// destroying is set by DestroyController before it records the
	// controller destroyed, which it then closes itself.
	destroying atomic.Bool
	auth       authz
	watch      watchHub
	// follow follows other controllers' commits (follow.go).
	follow atomic.Pointer[follower]
	// lastSweep is when (unix nanoseconds, controller clock) expired
	// sessions and keys were last deleted.
	lastSweep atomic.Int64
	// wall is true when Options.Now was left to the wall clock; the
	// authorization fast path then reads coarse instead (see coarseClock).
	wall   bool
	coarse coarseClock

	provisioner *provisioner
	// committed is closed (and cleared) by the next commit; waitUntil
	// waits on it.
	commitMu  sync.Mutex
	committed chan struct{}

	dummyOnce sync.Once
	dummyHash string
}

// Bootstrapped is what Bootstrap returns.
type Bootstrapped struct {
	Controller *Controller
	// Admin is the bootstrap admin, logged in, as `juju bootstrap` leaves
	// its caller.
	Admin *Session
	// Secret is admin's generated password. It is returned only here: keep
	// it to log in again, or set a real password (the seed's step 2).
	Secret string
}

// Bootstrap creates a controller named name: the provider starts the
// controller's machine, the store is initialised with the `admin`
// superuser and the `default` model owned by admin, and admin is logged in
// with a generated secret.
func Bootstrap(ctx context.Context, name string, opts Options) (*Bootstrapped, error) {
	c, admin, secret, err := bootstrap(ctx, name, opts)
	if err != nil {
		return nil, err
	}
	return &Bootstrapped{Controller: c, Admin: admin, Secret: secret}, nil
}

func bootstrap(ctx context.Context, name string, opts Options) (*Controller, *Session, string, error) {
	if err := models.ValidateControllerName(name); err != nil {
		return nil, nil, "", err
	}
	st, created, err := opts.openState(ctx, true)
	if err != nil {
		return nil, nil, "", err
	}
	c, admin, secret, err := bootstrapInto(ctx, name, st, opts)
	if err != nil && opts.Backend == nil && opts.Path != "" {
		// Only a file made here (O_EXCL) is removed: the file of another
		// Bootstrap on the same path is never touched. It is removed
		// while still locked, so no one opens it in between.
		if created {
			err = errors.Join(err, os.Remove(opts.Path))
		}
		err = errors.Join(err, st.Close())
	}
	return c, admin, secret, err
}

func bootstrapInto(ctx context.Context, name string, st *state.Store, opts Options) (*Controller, *Session, string, error) {
	wall := opts.Now == nil
	opts = opts.withDefaults()
	c := &Controller{opts: opts, st: st, prov: opts.Provider, wall: wall}
	c.attach()
	if n := len(state.List[state.Controller](c.st.Read(), state.TableController, state.IndexID)); n != 0 {
		return nil, nil, "", herd.Errorf(herd.ErrAlreadyExists, "store already holds a controller")
	}
	uuid, err := c.newUUID()
	if err != nil {
		return nil, nil, "", err
	}
	secretBytes, err := c.random(18)
	if err != nil {
		return nil, nil, "", err
	}
	secret := encodeSecret(secretBytes)
	hash, err := opts.Hasher.Hash(secret)
	if err != nil {
		return nil, nil, "", err
	}
	modelUUID, err := c.newUUID()
	if err != nil {
		return nil, nil, "", err
	}
	cspec := provider.ControllerSpec{UUID: uuid, Name: name}
	inst, err := c.prov.Bootstrap(ctx, cspec)
	if err != nil {
		return nil, nil, "", herd.Wrap(herd.ErrFailedPrecondition, err, "cannot bootstrap controller "+name)
	}
	now := opts.Now()
	c.info = state.Controller{ID: "controller", Name: name, UUID: uuid, Cloud: opts.Cloud, Region: opts.Region,
		ProviderType: c.prov.Type(), Owner: AdminUser, Created: now, InstanceID: inst.ID, Addrs: opts.Addrs}
	def := models.Model{UUID: modelUUID, Name: DefaultModel, Owner: AdminUser, Cloud: opts.Cloud, Region: opts.Region,
		Type: c.prov.Type(), Life: models.Alive, Status: models.Available, Created: now}
	undo := func() {
		if err := c.prov.DestroyController(context.WithoutCancel(ctx), cspec); err != nil {
			c.opts.Logger.Warn("cannot remove the controller's machine after a failed bootstrap", "controller", name, "err", err)
		}
	}
	if err := c.newCA(); err != nil {
		undo()
		return nil, nil, "", err
	}
	if err := c.prov.CreateModel(ctx, c.modelSpec(def)); err != nil {
		undo()
		return nil, nil, "", herd.Wrap(herd.ErrFailedPrecondition, err, "cannot create default model")
	}
	adminRow := state.User{User: users.User{Name: AdminUser, GivenName: AdminUser, DisplayName: AdminUser, CreatedBy: AdminUser, Created: now},
		Access: acl.Superuser, PasswordHash: hash}
	var admin *Session
	err = c.update(ctx, func(t *state.Txn) error {
		if n := len(state.List[state.Controller](t, state.TableController, state.IndexID)); n != 0 {
			return herd.Errorf(herd.ErrAlreadyExists, "store already holds a controller")
		}
		for _, e := range []struct {
			table state.Table
			row   any
		}{
			{state.TableController, c.info},
			{state.TableUsers, adminRow},
			{state.TableModels, def},
			{state.TableGrants, state.Grant{ModelUUID: modelUUID, User: AdminUser, Level: acl.Admin}},
		} {
			if err := t.Insert(e.table, e.row); err != nil {
				return err
			}
		}
		if n, ok := c.nodeRow(); ok {
			if err := t.Insert(state.TableNodes, n); err != nil {
				return err
			}
		}
		var err error
		admin, err = c.openSession(t, AdminUser, func(state.User) bool { return true }, nil)
		return err
	})
	if err != nil {
		undo()
		return nil, nil, "", err
	}
	c.startProvisioner(false)
	c.opts.Logger.Info("controller bootstrapped", "controller", name, "uuid", uuid, "cloud", opts.Cloud)
	c.startFollowing()
	return c, admin, secret, nil
}

// Open reopens a controller from the file at path (or, with path "", from
// opts.Backend), with its users, sessions, registration tokens, models and
// machines as they were. opts.Provider must be of the type the controller
// was bootstrapped on (see Options.Provider); otherwise Open fails with
// herd.ErrFailedPrecondition naming both types. Close the controller to
// release the file for other processes.
func Open(ctx context.Context, path string, opts Options) (*Controller, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if path != "" {
		opts.Path = path
	}
	st, _, err := opts.openState(ctx, false)
	if err != nil {
		return nil, err
	}
	var c *Controller
	// fail releases a file opened here; a caller's Backend stays open.
	fail := func(err error) (*Controller, error) {
		if c != nil {
			c.stopFollowing()
		}
		if opts.Backend == nil && opts.Path != "" {
			err = errors.Join(err, st.Close())
		}
		return nil, err
	}
	info, ok := state.Get[state.Controller](st.Read(), state.TableController, state.IndexID, "controller")
	if !ok {
		return fail(herd.Errorf(herd.ErrNotFound, "store holds no controller"))
	}
	if info.Destroyed {
		return fail(herd.Errorf(herd.ErrFailedPrecondition, "controller %q was destroyed", info.Name))
	}
	if err := checkProvider(info, opts.Provider); err != nil {
		return fail(err)
	}
	wall := opts.Now == nil
	opts = opts.withDefaults()
	if len(opts.Addrs) == 0 && st.Follower() == nil {
		// Alone, as bootstrapped. On a shared backend, a process opened
		// without addresses serves no API of its own; Servers lists the
		// nodes'.
		opts.Addrs = info.Addrs
	}
	c = &Controller{opts: opts, st: st, prov: opts.Provider, info: info, wall: wall}
	c.attach()
	c.startFollowing()
	if err := c.ensureCA(ctx); err != nil {
		return fail(err)
	}
	if err := c.dropExpiredKeys(ctx); err != nil {
		return fail(err)
	}
	if err := c.dropExpiredSessions(ctx); err != nil {
		return fail(err)
	}
	if err := c.recordNode(ctx); err != nil {
		return fail(err)
	}
	c.startProvisioner(true)
	return c, nil
}

// checkProvider refuses to open a controller on a provider of another type
// than it was bootstrapped on, which would know none of its machines, and
// refuses to stand a new fake provider in for a real one.
func checkProvider(info state.Controller, p provider.Provider) error {
	switch {
	case p == nil && info.ProviderType != fakeprovider.New().Type():
		return herd.Errorf(herd.ErrFailedPrecondition, "controller %q was bootstrapped on provider %q: set Options.Provider to a provider of that type (none was set)", info.Name, info.ProviderType)
	case p != nil && p.Type() != info.ProviderType:
		return herd.Errorf(herd.ErrFailedPrecondition, "controller %q was bootstrapped on provider %q, not %q", info.Name, info.ProviderType, p.Type())
	}
	return nil
}

// attach keeps the views derived from the store current: the
// authorization snapshot and the watchers.
func (c *Controller) attach() {
	c.auth.attach(c.st)
	c.watch.limit = c.opts.WatchBuffer
	c.st.OnCommit(func(_ *state.Txn, changes []state.Change) {
		c.watch.publish(changes)
		c.notifyCommit()
		for _, ch := range changes {
			if info, ok := ch.After.(state.Controller); ok && info.Destroyed && !c.closed.Load() && !c.destroying.Load() {
				// Another controller on the shared state destroyed it
				// (DestroyController): this one closes too. Not here:
				// Close waits for the follower that runs this hook.
				c.opts.Logger.Info("controller destroyed by another controller process: closing", "controller", info.Name)
				go c.Close()
			}
		}
	})
	c.newProvisioner()
}

// Name returns the controller's name.
func (c *Controller) Name() string { return c.info.Name }

// UUID returns the controller's UUID.
func (c *Controller) UUID() string { return c.info.UUID }

// Cloud returns the cloud and region the controller runs on.
func (c *Controller) Cloud() (cloud, region string) { return c.info.Cloud, c.info.Region }

// Snapshot is a read-only copy of a controller's whole state, for tools
// and tests: each table's rows as JSON, in key order. It shares nothing
// with the controller. Two snapshots are equal (reflect.DeepEqual)
// exactly when the state was the same, which is how tests show that a
// refused call changed nothing.
type Snapshot map[string][]string

// Dump returns a Snapshot of the controller's state. It holds the hashes
// of passwords and session tokens, and no key: registration keys are
// given as their SHA-256 and the CA's private key is left out. Still, do
// not log it.
func (c *Controller) Dump() Snapshot {
	out := Snapshot{}
	for table, rows := range c.st.Dump() {
		for _, row := range rows {
			switch r := row.(type) {
			case state.Controller:
				r.CAKey = "(not shown)"
				row = r
			case state.Secret:
				h := sha256.Sum256(r.Key)
				r.Key = h[:]
				row = r
			}
			b, err := json.Marshal(row)
			if err != nil {
				panic(fmt.Sprintf("controller: row of %s does not encode: %v", table, err)) // rows are plain values
			}
			out[string(table)] = append(out[string(table)], string(b))
		}
	}
	return out
}

func init() {
	hooks.State = func(c any) *state.Store { return c.(*Controller).st }
}

// Close releases the state. Sessions fail with herd.ErrClosed afterwards;
// machines are left running (see Session.DestroyController). The
// provisioner stops: provider calls under way are cancelled, and what they
// leave is resumed when the controller is opened again.
func (c *Controller) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	// The provisioner is cancelled first and given a moment to stop
	// while the store is still open (so that, on etcd, its campaign and
	// lease end cleanly); it is waited for in full once the store is
	// closed: a write of its stuck on an unreachable backend ends with
	// the store, not after the backend's request timeout.
	c.provisioner.cancel()
	c.provisioner.handOver()
	c.provisioner.waitUpTo(250 * time.Millisecond)
	c.watch.closeAll(herd.Errorf(herd.ErrClosed, "controller %q is closed", c.info.Name))
	c.notifyCommit()
	c.cancelFollowing()
	err := c.st.Close()
	c.waitFollowing()
	c.provisioner.wait()
	return err
}

func (c *Controller) check(ctx context.Context) error {
	if c.closed.Load() {
		return herd.Errorf(herd.ErrClosed, "controller %q is closed", c.info.Name)
	}
	return ctx.Err()
}

func (c *Controller) modelSpec(m models.Model) provider.ModelSpec {
	return provider.ModelSpec{ControllerUUID: c.info.UUID, ModelUUID: m.UUID, ModelName: m.Owner + "-" + m.Name}
}

func (c *Controller) machineSpec(modelUUID, id string) provider.InstanceSpec {
	return provider.InstanceSpec{ControllerUUID: c.info.UUID, ModelUUID: modelUUID, MachineID: id}
}
