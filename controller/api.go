package controller

import (
	"context"
	"slices"
	"strings"

	"github.com/herd-project/herd/internal/state"
)

// Several API servers.
//
// A controller's own API endpoints are Options.Addrs. Alone (memory, a
// bbolt file) it records them in its controller row at Bootstrap, and
// Open takes them from there unless Options.Addrs is set: that is all.
// When its backend is shared with other controllers (a store.Follower,
// such as store/etcdstore), each controller process is a node: Bootstrap
// and Open with Options.Addrs set record a node row (its id,
// Options.NodeID, and its addresses) in the shared state, so that every
// controller knows every other's addresses as soon as it follows that
// commit. Servers lists them, this controller's first; Addrs flattens
// them; registration tokens carry them all, and the API server lists
// them in Admin.Login's "servers" (one server per node), so a client
// that loses its controller fails over to another.
//
// A node row stays when its process stops (a controller that is down is
// still a controller of the cluster, as in Juju until it is removed); a
// process started again under the same node id replaces its row. A
// client skips a server that refuses the connection at once, so a dead
// node in the list costs it one refused dial on loopback or a LAN (one
// dial timeout if the host itself is gone).

// Addrs returns the controller's API endpoints ("host:port"), as written
// into registration tokens: this controller's own first, then those of
// the other controllers sharing its state (see Servers). The slice is a
// fresh copy.
func (c *Controller) Addrs() []string {
	var out []string
	for _, s := range c.Servers() {
		out = append(out, s...)
	}
	return out
}

// Servers returns the API endpoints of every controller process serving
// this controller's state, one slice per process: this one's own
// (Options.Addrs) first, then the other nodes' in node id order, each
// address once. A controller alone has one server (or none, without
// Addrs). The API server gives them as Admin.Login's "servers".
func (c *Controller) Servers() [][]string {
	seen := map[string]bool{}
	var out [][]string
	add := func(addrs []string) {
		var s []string
		for _, a := range addrs {
			if a != "" && !seen[a] {
				seen[a] = true
				s = append(s, a)
			}
		}
		if len(s) > 0 {
			out = append(out, s)
		}
	}
	add(c.opts.Addrs)
	if c.st.Follower() == nil {
		return out
	}
	nodes := state.List[state.Node](c.st.Read(), state.TableNodes, state.IndexID)
	for _, n := range nodes {
		if n.ID != c.nodeID() {
			add(n.Addrs)
		}
	}
	if len(out) == 0 && len(nodes) == 0 {
		add(c.info.Addrs) // bootstrapped before nodes were recorded
	}
	return out
}

// nodeID is this process's node id: Options.NodeID, or its addresses.
func (c *Controller) nodeID() string {
	if c.opts.NodeID != "" {
		return c.opts.NodeID
	}
	return strings.Join(c.opts.Addrs, ",")
}

// nodeRow is the node row this controller records, and whether it
// records one: only on a shared backend, and only with addresses.
func (c *Controller) nodeRow() (state.Node, bool) {
	if c.st.Follower() == nil || len(c.opts.Addrs) == 0 {
		return state.Node{}, false
	}
	return state.Node{ID: c.nodeID(), Addrs: slices.Clone(c.opts.Addrs), Started: c.opts.Now()}, true
}

// recordNode writes this controller's node row (Open), if it has one.
func (c *Controller) recordNode(ctx context.Context) error {
	n, ok := c.nodeRow()
	if !ok {
		return nil
	}
	err := c.update(ctx, func(t *state.Txn) error {
		return t.Insert(state.TableNodes, n)
	})
	if err == nil {
		c.opts.Logger.Info("controller node recorded", "node", n.ID, "addrs", n.Addrs)
	}
	return err
}
