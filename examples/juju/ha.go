package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/provider"
	"github.com/herd-project/herd/provider/fakeprovider"
	"github.com/herd-project/herd/store/etcdstore"
)

// Controllers on etcd, and high availability.
//
// `juju bootstrap NAME CLOUD --etcd-endpoints URL[,URL...]` keeps the
// controller's state in etcd instead of state.db, under the key prefix
// --etcd-prefix (default herd/NAME), reaching etcd over TLS with
// --etcd-ca, --etcd-cert and --etcd-key (PEM files: the CA of the etcd
// members, and the client certificate and key for --client-cert-auth);
// each has an environment variable, HERD_ETCD_ENDPOINTS, HERD_ETCD_PREFIX,
// HERD_ETCD_CA, HERD_ETCD_CERT and HERD_ETCD_KEY, which the flag
// overrides. agent.yaml records them (with absolute paths), so the
// controller process opens the same state when it is started again.
//
// `juju enable-ha [-n N]`, for such a controller bootstrapped here,
// starts more controller processes on the same etcd prefix, up to N in
// all (default 3), as Juju's enable-ha adds controller machines: each in
// a folder of its own, nodes/node-K in the controller's folder (its
// agent.yaml, pid and log), serving the API on a new loopback port
// (controller.Options.NodeID node-K). Every process serves the API and
// lists every other in Admin.Login's servers; the client's
// controllers.yaml lists them all, so commands fail over when one is
// down, and a login or a registration token made anywhere names them
// all. On the fake cloud every process shares the fake cloud's file
// (fakeprovider.OpenShared). Any of them may be stopped and started again
// with `juju controller-agent --detach DIR/nodes/node-K`; one started by
// hand elsewhere joins with an agent.yaml of its own (provider, etcd, and
// addr and node set to its own). destroy-controller and kill-controller
// stop every process of the controller; the etcd keys are left as a
// destroyed controller's, as state.db is.

// etcdConfig is where a controller's state is in etcd (agent.yaml).
type etcdConfig struct {
	Endpoints []string `yaml:"endpoints"`
	Prefix    string   `yaml:"prefix"`
	CA        string   `yaml:"ca,omitempty"`   // PEM file of the etcd members' CA
	Cert      string   `yaml:"cert,omitempty"` // PEM file of the client certificate
	Key       string   `yaml:"key,omitempty"`  // PEM file of its key
}

// etcdFlags are bootstrap's etcd flags.
var etcdFlags = []string{"etcd-endpoints", "etcd-prefix", "etcd-ca", "etcd-cert", "etcd-key"}

// etcdFromArgs reads bootstrap's etcd flags (or their environment
// variables): nil when no endpoints are given.
func etcdFromArgs(a *args, name string) (*etcdConfig, error) {
	get := func(flag string) string {
		if v := a.get(flag); v != "" {
			return v
		}
		return os.Getenv("HERD_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_")))
	}
	eps := get("etcd-endpoints")
	if eps == "" {
		for _, f := range etcdFlags[1:] {
			if get(f) != "" {
				return nil, usagef("--%s needs --etcd-endpoints", f)
			}
		}
		return nil, nil
	}
	cfg := &etcdConfig{Prefix: get("etcd-prefix")}
	for _, ep := range strings.Split(eps, ",") {
		if ep = strings.TrimSpace(ep); ep != "" {
			cfg.Endpoints = append(cfg.Endpoints, ep)
		}
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "herd/" + name
	}
	for _, f := range []struct {
		flag string
		dst  *string
	}{{"etcd-ca", &cfg.CA}, {"etcd-cert", &cfg.Cert}, {"etcd-key", &cfg.Key}} {
		if v := get(f.flag); v != "" {
			abs, err := filepath.Abs(v)
			if err != nil {
				return nil, err
			}
			if _, err := os.Stat(abs); err != nil {
				return nil, fmt.Errorf("--%s: %w", f.flag, err)
			}
			*f.dst = abs
		}
	}
	if _, err := etcdstore.TLSFiles(cfg.CA, cfg.Cert, cfg.Key); err != nil {
		return nil, err
	}
	return cfg, nil
}

// backend opens the etcd backend of cfg.
func (cfg *etcdConfig) backend(e *env) (*etcdstore.Backend, error) {
	opts := etcdstore.Options{Endpoints: cfg.Endpoints, Prefix: cfg.Prefix}
	if cfg.CA != "" || cfg.Cert != "" || strings.HasPrefix(cfg.Endpoints[0], "https://") {
		t, err := etcdstore.TLSFiles(cfg.CA, cfg.Cert, cfg.Key)
		if err != nil {
			return nil, err
		}
		opts.TLS = t
	}
	return etcdstore.Open(e.ctx, opts)
}

// fakePath is the fake cloud's file of the controller process of dir.
func fakePath(dir string, cfg agentConfig) string {
	if cfg.Fake != "" {
		return cfg.Fake
	}
	return filepath.Join(dir, fakeFileName)
}

// agentProvider is the provider of the controller process of dir.
func (e *env) agentProvider(dir string, cfg agentConfig, create bool) (provider.Provider, func(), error) {
	if cfg.Etcd != nil && cfg.Provider == "fake" {
		p, err := fakeprovider.OpenShared(fakePath(dir, cfg))
		return p, func() {}, err
	}
	return e.providerFor(cfg.Provider, filepath.Join(dir, stateFileName), create)
}

// openAgentController opens the controller of the process of dir: from
// state.db, or from etcd as that process's node.
func (e *env) openAgentController(dir string, cfg agentConfig, opts controller.Options) (*controller.Controller, error) {
	if cfg.Etcd == nil {
		return controller.Open(e.ctx, filepath.Join(dir, stateFileName), opts)
	}
	b, err := cfg.Etcd.backend(e)
	if err != nil {
		return nil, err
	}
	opts.Backend, opts.NodeID = b, cfg.Node
	if cfg.Addr != "" {
		opts.Addrs = []string{cfg.Addr}
	}
	c, err := controller.Open(e.ctx, "", opts)
	if err != nil {
		b.Close()
		return nil, err
	}
	return c, nil
}

// nodeDirs lists the folders of the extra controller processes of the
// controller folder dir (enable-ha), in order.
func nodeDirs(dir string) []string {
	ents, err := os.ReadDir(filepath.Join(dir, "nodes"))
	if err != nil {
		return nil
	}
	var out []string
	for _, ent := range ents {
		if ent.IsDir() && strings.HasPrefix(ent.Name(), "node-") {
			out = append(out, filepath.Join(dir, "nodes", ent.Name()))
		}
	}
	sort.Slice(out, func(i, j int) bool { return nodeNumber(out[i]) < nodeNumber(out[j]) })
	return out
}

func nodeNumber(dir string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(filepath.Base(dir), "node-"))
	return n
}

// stopNodes stops the extra controller processes of dir.
func stopNodes(dir string) error {
	for _, nd := range nodeDirs(dir) {
		if err := stopAgent(nd); err != nil {
			return err
		}
	}
	return nil
}

// cmdEnableHA is `juju enable-ha [-n N] [-c controller]`.
func cmdEnableHA(e *env, a *args) error {
	if len(a.pos) != 0 {
		return usagef("enable-ha takes no arguments")
	}
	n := 3
	if v := a.get("n"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 9 {
			return usagef("-n must be a number of controllers from 1 to 9, not %q", v)
		}
	}
	t, err := e.controllerNamed(e.ctl)
	if err != nil {
		return err
	}
	dir, err := e.ownControllerDir(t.name)
	if err != nil {
		return err
	}
	cfg, err := readAgentConfig(dir)
	if err != nil || cfg.UUID != t.entry.UUID {
		return fmt.Errorf("controller %s was not bootstrapped from this data folder: only the client that bootstrapped it can enable HA", t.name)
	}
	if cfg.Etcd == nil {
		return fmt.Errorf("controller %s keeps its state in a file, which one process serves: bootstrap a controller with --etcd-endpoints for HA", t.name)
	}
	nodes := nodeDirs(dir)
	have := 1 + len(nodes)
	var maintain, added []string
	maintain = append(maintain, "0")
	for _, nd := range nodes {
		maintain = append(maintain, strconv.Itoa(nodeNumber(nd)))
	}
	next := 1
	if len(nodes) > 0 {
		next = nodeNumber(nodes[len(nodes)-1]) + 1
	}
	for ; have < n; have, next = have+1, next+1 {
		nd := filepath.Join(dir, "nodes", fmt.Sprintf("node-%d", next))
		if err := os.MkdirAll(nd, 0o700); err != nil {
			return err
		}
		addr, err := freeLoopbackAddr()
		if err != nil {
			return err
		}
		ncfg := cfg
		ncfg.Addr, ncfg.Node, ncfg.Fake = addr, fmt.Sprintf("node-%d", next), fakePath(dir, cfg)
		if err := writeAgentConfig(nd, ncfg); err != nil {
			return err
		}
		if _, err := startAgent(nd); err != nil {
			return fmt.Errorf("cannot start controller process %d: %w", next, err)
		}
		added = append(added, strconv.Itoa(next))
	}
	// The client's entry lists every process's address.
	addrs := []string{cfg.Addr}
	if cfg.Addr == "" && len(t.entry.APIEndpoints) > 0 {
		addrs = []string{t.entry.APIEndpoints[0]}
	}
	for _, nd := range nodeDirs(dir) {
		if c, err := readAgentConfig(nd); err == nil && c.Addr != "" {
			addrs = append(addrs, c.Addr)
		}
	}
	if err := updateControllers(e.cl, func(f *controllersFile) {
		ent := f.Controllers[t.name]
		ent.APIEndpoints = addrs
		ent.ControllerMachineCount = len(addrs)
		f.Controllers[t.name] = ent
	}); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "maintaining machines: %s\n", strings.Join(maintain, ", "))
	if len(added) > 0 {
		fmt.Fprintf(e.stdout, "adding machines: %s\n", strings.Join(added, ", "))
	}
	return nil
}
