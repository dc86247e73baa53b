// Package etcdtest starts etcd clusters inside a test process, for the
// tests of Herd's etcd backend and of several controllers sharing it.
//
// A cluster's members are go.etcd.io/etcd/server/v3/embed servers on
// loopback ports only, with their data in a temporary directory (on tmpfs
// where there is one, without fsync: a test's cluster need not survive the
// machine). Start registers the cluster's end with the test's Cleanup, and
// a cluster also stops by itself after Options.MaxLife, so that a test
// that hangs does not keep it forever.
package etcdtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.uber.org/zap"
)

// A member preallocates two WAL segments (the one it writes and the
// next); etcd's 64 MB each would put 384 MB of a three-member cluster in
// tmpfs, that is memory. A test's cluster writes little.
func init() { wal.SegmentSizeBytes = 4 << 20 }

// dirPrefix starts the name of a cluster's directory, followed by the
// process id: a directory left by a process that is gone (killed in a
// test, or exited with a shared cluster running) is removed by the next
// Start or Shared.
const dirPrefix = "herd-etcdtest-"

// Options configure Start. The zero value is a three-member cluster.
type Options struct {
	// Members is how many members the cluster has; 0 means 3.
	Members int
	// MaxLife is how long the cluster runs at most before it stops by
	// itself; 0 means 2 minutes.
	MaxLife time.Duration
	// MaxTxnOps is etcd's --max-txn-ops; 0 means 4096.
	MaxTxnOps uint
}

// Cluster is a running etcd cluster. Its methods are safe for concurrent
// use.
type Cluster struct {
	dir   string
	life  *time.Timer
	mu    sync.Mutex
	mems  []*member
	gates []*Gate
	ended bool
}

type member struct {
	cfg   *embed.Config
	etcd  *embed.Etcd // nil while stopped
	proxy *proxy      // in front of the member's client URL
}

// Start starts a cluster and waits until it has a leader; it fails tb if
// the cluster does not start within 30 seconds.
func Start(tb testing.TB, opts Options) *Cluster {
	tb.Helper()
	c, err := New(opts)
	if err != nil {
		tb.Fatalf("etcdtest: %v", err)
	}
	tb.Cleanup(c.Close)
	return c
}

// New is Start for a TestMain, which has no testing.TB: the caller closes
// the cluster.
func New(opts Options) (*Cluster, error) {
	if opts.Members <= 0 {
		opts.Members = 3
	}
	if opts.MaxLife <= 0 {
		opts.MaxLife = 2 * time.Minute
	}
	if opts.MaxTxnOps == 0 {
		opts.MaxTxnOps = 4096
	}
	if opts.Members > 7 {
		return nil, fmt.Errorf("%d members: at most 7", opts.Members)
	}
	var c *Cluster
	var err error
	for try := 0; try < 3; try++ { // a port taken between its pick and its use: pick again
		c, err = start(opts)
		if err == nil {
			return c, nil
		}
	}
	return nil, fmt.Errorf("start %d members: %w", opts.Members, err)
}

func start(opts Options) (*Cluster, error) {
	base := ""
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		base = "/dev/shm"
	}
	removeStale(base)
	dir, err := os.MkdirTemp(base, fmt.Sprintf("%s%d-", dirPrefix, os.Getpid()))
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir}
	var initial []string
	for i := range opts.Members {
		cu, err := freeURL()
		if err != nil {
			c.Close()
			return nil, err
		}
		pu, err := freeURL()
		if err != nil {
			c.Close()
			return nil, err
		}
		cfg := embed.NewConfig()
		cfg.Name = fmt.Sprintf("m%d", i)
		cfg.Dir = fmt.Sprintf("%s/%s", dir, cfg.Name)
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
		cfg.MaxTxnOps = opts.MaxTxnOps
		cfg.UnsafeNoFsync = true
		cfg.TickMs, cfg.ElectionMs = 50, 500
		cfg.InitialClusterToken = "herd-" + strings.TrimPrefix(dir, base)
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
		cfg.EnableGRPCGateway = false
		initial = append(initial, cfg.Name+"="+pu.String())
		px, err := newProxy(cu.Host)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.mems = append(c.mems, &member{cfg: cfg, proxy: px})
	}
	for _, m := range c.mems {
		m.cfg.InitialCluster = strings.Join(initial, ",")
	}
	// Members wait for each other: start them together.
	errs := make([]error, len(c.mems))
	var wg sync.WaitGroup
	for i, m := range c.mems {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.etcd, errs[i] = run(m.cfg)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		c.Close()
		return nil, err
	}
	c.life = time.AfterFunc(opts.MaxLife, c.Close)
	return c, nil
}

// run starts one member and waits until it is ready.
func run(cfg *embed.Config) (*embed.Etcd, error) {
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case err := <-e.Err():
		e.Close()
		return nil, err
	case <-time.After(30 * time.Second):
		e.Close()
		return nil, errors.New("member " + cfg.Name + " not ready after 30s")
	}
}

// halt stops a member as a crash would: without handing its leadership
// over (which, with the other members stopping too, would wait for etcd's
// request timeout).
func halt(e *embed.Etcd) {
	e.Server.HardStop()
	e.Close()
}

// freeURL is a loopback URL on a port free when asked.
func freeURL() (url.URL, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return url.URL{}, err
	}
	defer l.Close()
	return url.URL{Scheme: "http", Host: l.Addr().String()}, nil
}

// Endpoints returns every member's client URL, stopped ones included.
// Clients reach a member through a proxy on loopback that Cut and Stop
// cut off.
func (c *Cluster) Endpoints() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.mems))
	for i, m := range c.mems {
		out[i] = m.proxy.url()
	}
	return out
}

// Cut closes every client connection to member i and refuses new ones
// until Heal, as if the network to it failed; the member itself keeps
// running in the cluster.
func (c *Cluster) Cut(i int) {
	c.mu.Lock()
	m := c.mems[i]
	c.mu.Unlock()
	m.proxy.cut(true)
}

// Heal lets clients reach member i again after Cut.
func (c *Cluster) Heal(i int) {
	c.mu.Lock()
	m := c.mems[i]
	c.mu.Unlock()
	m.proxy.cut(false)
}

// Endpoint returns member i's client URL.
func (c *Cluster) Endpoint(i int) string { return c.Endpoints()[i] }

// Stop stops member i, as a crash of its process would (its data stays
// for Restart). The others keep a quorum while most members run.
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	m := c.mems[i]
	e := m.etcd
	m.etcd = nil
	c.mu.Unlock()
	if e != nil {
		m.proxy.cut(true) // no client waits on it: Close is quick
		halt(e)
	}
}

// Restart starts a stopped member again, on its ports and data.
func (c *Cluster) Restart(i int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return errors.New("etcdtest: cluster stopped")
	}
	m := c.mems[i]
	if m.etcd != nil {
		return nil
	}
	m.cfg.ClusterState = embed.ClusterStateFlagExisting
	e, err := run(m.cfg)
	if err != nil {
		return err
	}
	m.etcd = e
	m.proxy.cut(false)
	return nil
}

// Client returns a client of the whole cluster; the caller closes it.
func (c *Cluster) Client() (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
}

// Compact compacts the cluster's history up to its current revision, so
// that a watch from an older revision fails as compacted.
func (c *Cluster) Compact(ctx context.Context) error {
	cli, err := c.Client()
	if err != nil {
		return err
	}
	defer cli.Close()
	resp, err := cli.Get(ctx, "etcdtest-compact")
	if err != nil {
		return err
	}
	_, err = cli.Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical())
	return err
}

// Close stops every member and removes the data. Closing twice does
// nothing.
func (c *Cluster) Close() {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.ended = true
	if c.life != nil {
		c.life.Stop()
	}
	for _, g := range c.gates {
		g.close()
	}
	var running []*embed.Etcd
	for _, m := range c.mems {
		m.proxy.close()
		if m.etcd != nil {
			running = append(running, m.etcd)
			m.etcd = nil
		}
	}
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, e := range running {
		wg.Add(1)
		go func() {
			defer wg.Done()
			halt(e)
		}()
	}
	wg.Wait()
	os.RemoveAll(c.dir)
}

// proxy forwards TCP connections on a loopback port to a member's client
// port, and can cut them.
type proxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	refuse bool // cut: connections closed, new ones refused
	silent bool // partitioned: bytes dropped, new connections held
	closed bool
}

func newProxy(target string) (*proxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{l: l, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	return p, nil
}

func (p *proxy) url() string { return "http://" + p.l.Addr().String() }

func (p *proxy) serve() {
	for {
		in, err := p.l.Accept()
		if err != nil {
			return
		}
		go p.forward(in)
	}
}

func (p *proxy) state() (refuse, silent bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refuse || p.closed, p.silent
}

func (p *proxy) forward(in net.Conn) {
	if refuse, silent := p.state(); refuse {
		in.Close()
		return
	} else if silent {
		p.hold(in)
		return
	}
	out, err := net.DialTimeout("tcp", p.target, 2*time.Second)
	if err != nil {
		in.Close()
		return
	}
	p.mu.Lock()
	if p.refuse || p.closed {
		p.mu.Unlock()
		in.Close()
		out.Close()
		return
	}
	p.conns[in], p.conns[out] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go p.pipe(out, in, done)
	go p.pipe(in, out, done)
	<-done
	in.Close()
	out.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, in)
	delete(p.conns, out)
	p.mu.Unlock()
}

// pipe copies src to dst, dropping what it reads while the proxy is
// partitioned.
func (p *proxy) pipe(dst, src net.Conn, done chan<- struct{}) {
	defer func() { done <- struct{}{} }()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, silent := p.state(); !silent {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// hold keeps a connection made during a partition open, reading and
// dropping, until it is closed (by Heal).
func (p *proxy) hold(in net.Conn) {
	p.mu.Lock()
	p.conns[in] = struct{}{}
	p.mu.Unlock()
	io.Copy(io.Discard, in)
	in.Close()
	p.mu.Lock()
	delete(p.conns, in)
	p.mu.Unlock()
}

// cut closes every connection and refuses new ones (on), or lets them in
// again (!on), ending a partition too.
func (p *proxy) cut(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on || p.silent {
		// After a partition, connections that lost bytes are broken:
		// close them, as the peers' keepalives would in time.
		for c := range p.conns {
			c.Close()
		}
	}
	p.refuse, p.silent = on, false
}

// partition makes the proxy a black hole: connections stay open, and
// what is sent on them is dropped, until cut(false).
func (p *proxy) partition() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.silent = true
}

func (p *proxy) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.l.Close()
	p.cut(true)
}

// shared is the cluster Shared hands out.
var shared struct {
	mu   sync.Mutex
	c    *Cluster
	refs int
	idle *time.Timer
}

// sharedIdle is how long the shared cluster outlives its last user.
const sharedIdle = 3 * time.Second

// Shared returns a three-member cluster shared by the tests of the
// process that use it at about the same time, started on first use: each
// test keeps to its own key prefix and must not stop or cut its members
// (Start gives a cluster of one's own for that; a Gate of its own may be
// cut, and Compact is allowed: a follower then behind loads again). It
// stops by itself sharedIdle after its last test ends, and after 10
// minutes at most.
func Shared(tb testing.TB) *Cluster {
	tb.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.idle != nil {
		shared.idle.Stop()
		shared.idle = nil
	}
	if shared.c == nil || shared.c.isEnded() {
		var err error
		for try := 0; try < 3; try++ {
			shared.c, err = start(Options{Members: 3, MaxLife: 10 * time.Minute, MaxTxnOps: 4096})
			if err == nil {
				break
			}
		}
		if err != nil {
			shared.c = nil
			tb.Fatalf("etcdtest: start the shared cluster: %v", err)
		}
	}
	c := shared.c
	shared.refs++
	tb.Cleanup(func() {
		shared.mu.Lock()
		defer shared.mu.Unlock()
		shared.refs--
		if shared.refs == 0 {
			shared.idle = time.AfterFunc(sharedIdle, func() {
				shared.mu.Lock()
				defer shared.mu.Unlock()
				if shared.refs == 0 && shared.c == c {
					shared.c = nil
					go c.Close()
				}
			})
		}
	})
	return c
}

func (c *Cluster) isEnded() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ended
}

// removeStale removes the directories of clusters whose process is gone.
func removeStale(base string) {
	if base == "" {
		base = os.TempDir()
	}
	ents, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), dirPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || pid == os.Getpid() || alive(pid) {
			continue
		}
		os.RemoveAll(filepath.Join(base, e.Name()))
	}
}

// Gate is a set of proxies of its own in front of every member: a client
// given Gate's endpoints can be cut off from the whole cluster (Cut)
// while other clients go on, as when one controller's network fails.
type Gate struct {
	proxies []*proxy
}

// Gate returns a new gate to the cluster's members; it closes at the end
// of the test, or with the cluster.
func (c *Cluster) Gate(tb testing.TB) *Gate {
	tb.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	g := &Gate{}
	for _, m := range c.mems {
		p, err := newProxy(m.proxy.target)
		if err != nil {
			g.close()
			tb.Fatalf("etcdtest: gate: %v", err)
		}
		g.proxies = append(g.proxies, p)
	}
	c.gates = append(c.gates, g)
	tb.Cleanup(g.close)
	return g
}

// Endpoints returns the gate's client URLs, one a member.
func (g *Gate) Endpoints() []string {
	out := make([]string, len(g.proxies))
	for i, p := range g.proxies {
		out[i] = p.url()
	}
	return out
}

// Cut closes every connection through the gate and refuses new ones until
// Heal.
func (g *Gate) Cut() {
	for _, p := range g.proxies {
		p.cut(true)
	}
}

// Partition makes the gate a black hole until Heal: connections stay
// open and new ones are taken, but nothing sent on them arrives, as when
// the network between a controller and etcd drops packets. Requests then
// wait rather than fail.
func (g *Gate) Partition() {
	for _, p := range g.proxies {
		p.partition()
	}
}

// Heal lets connections through the gate again (closing those that lost
// bytes in a partition).
func (g *Gate) Heal() {
	for _, p := range g.proxies {
		p.cut(false)
	}
}

func (g *Gate) close() {
	for _, p := range g.proxies {
		p.close()
	}
}
