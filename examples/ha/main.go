// Command ha runs Herd in high availability on loopback, end to end: a
// three-member etcd cluster (go.etcd.io/etcd/server/v3/embed, client TLS
// with client certificates), three Herd controllers sharing one key
// prefix of it (store/etcdstore, each with its own etcd client and its
// own API server on a loopback port), and the seed's workflow
// (shared/seed/juju-workflow-scenarios.txt) run against them over the
// network with Herd's Go client, as admin and as tom. Midway, the
// controller admin is connected to (the bootstrap controller) is killed;
// the clients fail over to the others and the workflow goes on. At the
// end every surviving controller holds the same state, and everything is
// stopped and removed.
//
//	go run ./examples/ha               # prints each step; exits 0 when all went as the seed says
//	go run ./examples/ha -timeout 30s  # bound on the whole run (default 50s)
//	go run ./examples/ha -etcd-only DIR # only the etcd cluster (TLS files and endpoints in DIR), for scripts/ha-demo.sh
//
// Everything listens on 127.0.0.1 only, in a temporary folder removed at
// the end. The controllers run in this process, sharing one fake provider
// (the fake cloud keeps its machines in memory); each is what a
// controller process runs (controller.Open on an etcdstore.Backend, an
// apiserver.Server), and the one killed stops as a process's death looks
// to its clients: its API connections drop at once and it answers no
// more. (It still resigns the provisioner's lead as it closes, where a
// dead process's lead would pass when its etcd lease runs out, in
// etcdstore.LeaseTTL, 2 s: client's TestHAProvisionerLeadMoves covers
// that.)
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/apiserver"
	"github.com/herd-project/herd/client"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/provider/fakeprovider"
	"github.com/herd-project/herd/store/etcdstore"
	"github.com/herd-project/herd/users"
)

func main() {
	timeout := flag.Duration("timeout", 50*time.Second, "bound on the whole run")
	etcdOnly := flag.String("etcd-only", "", "only run the etcd cluster, its TLS files and endpoints in this folder, until -timeout or SIGTERM (for scripts/ha-demo.sh)")
	flag.Parse()
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, *timeout)
	defer cancel()
	var err error
	if *etcdOnly != "" {
		err = serveEtcd(ctx, *etcdOnly)
	} else {
		err = run(ctx, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ERROR", err)
		os.Exit(1)
	}
}

// serveEtcd runs the three-member cluster with its TLS files in dir
// (ca.pem, client.pem, client-key.pem: for etcd's clients) and writes its
// client URLs, comma-separated, to dir/endpoints once it serves; it stops
// the cluster when ctx ends.
func serveEtcd(ctx context.Context, dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	files, err := writeCerts(dir)
	if err != nil {
		return err
	}
	members, endpoints, err := startEtcd(ctx, dir, 3, files)
	if err != nil {
		return err
	}
	defer func() {
		for _, m := range members {
			m.Close()
		}
	}()
	if err := os.WriteFile(filepath.Join(dir, "endpoints"), []byte(strings.Join(endpoints, ",")+"\n"), 0o600); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// prefix is the controllers' etcd key prefix.
const prefix = "herd-ha-demo"

// run starts etcd and the controllers, runs the workflow, and stops
// everything, whatever happened.
func run(ctx context.Context, out io.Writer) (err error) {
	dir, err := os.MkdirTemp("", "herd-ha-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }

	files, err := writeCerts(dir)
	if err != nil {
		return err
	}
	members, endpoints, err := startEtcd(ctx, dir, 3, files)
	if err != nil {
		return err
	}
	defer func() {
		for _, m := range members {
			m.Close()
		}
	}()
	say("etcd: 3 members, client URLs %s (TLS, client certificates)", strings.Join(endpoints, " "))

	d := &demo{say: say, files: files, endpoints: endpoints, prov: fakeprovider.New()}
	defer d.stopAll()
	if err := d.startControllers(ctx, 3); err != nil {
		return err
	}
	return d.workflow(ctx)
}

// demo is the controllers and what the workflow needs of them.
type demo struct {
	say       func(string, ...any)
	files     certFiles
	endpoints []string
	prov      *fakeprovider.Provider
	ctls      []*node
	secret    string // admin's bootstrap password
	ca        []byte // the controllers' CA (shared state)
}

// node is one controller with its API server.
type node struct {
	addr string
	ctrl *controller.Controller
	api  *apiserver.Server
	done chan error
	dead bool
}

// options are the controller options of controller i: its own etcd
// client (member i first), the shared fake cloud, its API address.
func (d *demo) options(ctx context.Context, i int, addr string) (controller.Options, error) {
	tlsConfig, err := etcdstore.TLSFiles(d.files.ca, d.files.clientCert, d.files.clientKey)
	if err != nil {
		return controller.Options{}, err
	}
	eps := append([]string{d.endpoints[i%len(d.endpoints)]}, d.endpoints...)
	b, err := etcdstore.Open(ctx, etcdstore.Options{Endpoints: eps, Prefix: prefix, TLS: tlsConfig})
	if err != nil {
		return controller.Options{}, err
	}
	return controller.Options{Backend: b, Provider: d.prov, Addrs: []string{addr}, PasswordCost: 4,
		Logger: slog.New(slog.DiscardHandler), Provisioning: controller.Provisioning{RetryDelay: time.Second}}, nil
}

// startControllers bootstraps the first controller on the prefix and
// opens the others on it (as `controller-agent` processes joining it
// would), each serving the API on a loopback port.
func (d *demo) startControllers(ctx context.Context, n int) error {
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		nd := &node{addr: ln.Addr().String(), done: make(chan error, 1)}
		opts, err := d.options(ctx, i, nd.addr)
		if err != nil {
			ln.Close()
			return err
		}
		if i == 0 {
			b, err := controller.Bootstrap(ctx, "ha-demo", opts)
			if err != nil {
				ln.Close()
				return errors.Join(err, opts.Backend.Close())
			}
			b.Admin.Logout(ctx)
			nd.ctrl, d.secret, d.ca = b.Controller, b.Secret, b.Controller.CACert()
		} else if nd.ctrl, err = controller.Open(ctx, "", opts); err != nil {
			ln.Close()
			return errors.Join(err, opts.Backend.Close())
		}
		if nd.api, err = apiserver.New(nd.ctrl, apiserver.Options{Logger: opts.Logger}); err != nil {
			ln.Close()
			nd.ctrl.Close()
			return err
		}
		go func() { nd.done <- nd.api.Serve(context.Background(), ln, nil) }()
		d.ctls = append(d.ctls, nd)
		verb := "joined"
		if i == 0 {
			verb = "bootstrapped"
		}
		d.say("controller %d %s the etcd prefix %q and serves the API on %s", i, verb, prefix, nd.addr)
	}
	return nil
}

// kill stops controller i at once: its API connections drop.
func (d *demo) kill(i int) {
	nd := d.ctls[i]
	if nd.dead {
		return
	}
	nd.dead = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nd.api.Close(ctx)
	<-nd.done
	nd.ctrl.Close()
}

func (d *demo) stopAll() {
	for i := range d.ctls {
		d.kill(i)
	}
}

func (d *demo) index(addr string) int {
	for i, nd := range d.ctls {
		if nd.addr == addr {
			return i
		}
	}
	return -1
}

// workflow is the seed's, step by step, over the network.
func (d *demo) workflow(ctx context.Context) error {
	step := func(n int, cmd, format string, args ...any) {
		d.say("step %-2d $ %s\n        %s", n, cmd, fmt.Sprintf(format, args...))
	}
	// on names the controller a session is on: the first of its servers.
	on := func(s *client.Session) string {
		a := s.Addrs()[0]
		return fmt.Sprintf("controller %d (%s)", d.index(a), a)
	}

	// 1. juju bootstrap: done above; admin logs in knowing only controller 0.
	cn, err := client.Dial(ctx, client.Options{Addrs: []string{d.ctls[0].addr}, CACert: d.ca, ControllerName: "ha-demo", DialTimeout: 2 * time.Second})
	if err != nil {
		return err
	}
	admin, err := cn.Login(ctx, controller.AdminUser, d.secret)
	if err != nil {
		return err
	}
	defer admin.Close()
	if got := len(admin.Addrs()); got != len(d.ctls) {
		return fmt.Errorf("admin's login lists %d servers, want %d", got, len(d.ctls))
	}
	step(1, "juju bootstrap ha-demo", "admin logged in on %s; the login lists every controller: %s", on(admin), strings.Join(admin.Addrs(), " "))

	// 2. juju change-user-password
	if err := admin.ChangePassword(ctx, controller.AdminUser, "admin-password"); err != nil {
		return err
	}
	step(2, "juju change-user-password", "admin's password set")

	// 3. juju add-user tom
	added, err := admin.AddUser(ctx, "tom", "Tom")
	if err != nil {
		return err
	}
	tok, err := users.DecodeToken(added.Token)
	if err != nil {
		return err
	}
	step(3, "juju add-user tom", "tom added; his registration token names %d controllers: %s", len(tok.Addrs), strings.Join(tok.Addrs, " "))

	// 4. juju create-model lxd-model-1
	if _, err := admin.CreateModel(ctx, "lxd-model-1", controller.CreateModelOptions{}); err != nil {
		return err
	}
	step(4, "juju create-model lxd-model-1", "model admin/lxd-model-1 created")

	// 5. juju grant --acl=write tom lxd-model-1
	if err := admin.Grant(ctx, "tom", acl.Write, "lxd-model-1"); err != nil {
		return err
	}
	step(5, "juju grant --acl=write tom lxd-model-1", "tom may write to admin/lxd-model-1")

	// Midway: the controller admin is connected to dies.
	victim := d.index(admin.Addrs()[0])
	d.kill(victim)
	d.say("*** controller %d (%s) killed", victim, d.ctls[victim].addr)
	if _, err := admin.WhoAmI(ctx); err != nil {
		// The call that races the connection's drop may fail; the next
		// one reconnects to another controller.
		if !errors.Is(err, herd.ErrClosed) {
			return err
		}
		if _, err := admin.WhoAmI(ctx); err != nil {
			return fmt.Errorf("admin after the kill: %w", err)
		}
	}
	d.say("    admin's session goes on, resumed on %s", on(admin))

	// 6. juju register TOKEN: the token's first controller is dead; the
	// next one answers.
	tom, reg, err := client.Register(ctx, added.Token, "tom-password", client.RegisterOptions{Timeout: 2 * time.Second})
	if err != nil {
		return err
	}
	defer tom.Close()
	step(6, "juju register "+added.Token[:12]+"...", "tom registered, on %s", on(tom))

	// 7. juju list-controllers; juju list-models
	list, err := tom.Models(ctx, controller.ModelsOptions{})
	if err != nil {
		return err
	}
	var names []string
	for _, m := range list {
		names = append(names, fmt.Sprintf("%s (%s)", m.FullName(), m.Access))
	}
	step(7, "juju list-controllers; juju list-models", "controller %s (%s); tom's models: %s", reg.ControllerName, reg.ControllerUUID, strings.Join(names, ", "))
	if len(list) != 1 || list[0].FullName() != "admin/lxd-model-1" || list[0].Access != acl.Write {
		return fmt.Errorf("tom's models: %+v", list)
	}

	// 8. juju change-user-password (tom)
	if err := tom.ChangePassword(ctx, "tom", "tom-password-2"); err != nil {
		return err
	}
	step(8, "juju change-user-password", "tom's password changed")

	// 9. juju deploy mysql mysql-staging
	if _, err := tom.Deploy(ctx, "admin/lxd-model-1", "mysql", controller.DeployOptions{Name: "mysql-staging"}); err != nil {
		return err
	}
	st, err := tom.WaitStarted(ctx, "admin/lxd-model-1", "mysql-staging")
	if err != nil {
		return err
	}
	step(9, "juju deploy mysql mysql-staging", "machine %s %s (instance %s), started by the controller leading the provisioner now",
		st.Machines[0].ID, st.Machines[0].Status, st.Machines[0].InstanceID)

	// 10. juju logout
	if err := tom.Logout(ctx); err != nil {
		return err
	}
	if _, err := tom.Models(ctx, controller.ModelsOptions{}); !errors.Is(err, herd.ErrUnauthenticated) {
		return fmt.Errorf("tom's call after logout: %v", err)
	}
	step(10, "juju logout", "tom's session ended on every controller")

	// The survivors hold the same state.
	var want controller.Snapshot
	for i, nd := range d.ctls {
		if nd.dead {
			continue
		}
		if err := nd.ctrl.Sync(ctx); err != nil {
			return err
		}
		got := nd.ctrl.Dump()
		if want == nil {
			want = got
		} else if !reflect.DeepEqual(got, want) {
			return fmt.Errorf("controller %d's state differs from the others'", i)
		}
	}
	d.say("done: the seed ran on 3 controllers with one killed midway; the 2 left hold the same state")
	return nil
}

// certFiles are the PEM files of the etcd cluster's TLS.
type certFiles struct {
	ca, serverCert, serverKey, clientCert, clientKey string
}

// writeCerts makes a CA, a server certificate for 127.0.0.1 and a client
// certificate, in PEM files in dir.
func writeCerts(dir string) (certFiles, error) {
	f := certFiles{ca: filepath.Join(dir, "ca.pem"), serverCert: filepath.Join(dir, "server.pem"), serverKey: filepath.Join(dir, "server-key.pem"),
		clientCert: filepath.Join(dir, "client.pem"), clientKey: filepath.Join(dir, "client-key.pem")}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return f, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "herd-ha-demo etcd CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return f, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return f, err
	}
	if err := writePEM(f.ca, "CERTIFICATE", caDER); err != nil {
		return f, err
	}
	leaf := func(serial int64, name string, usage x509.ExtKeyUsage, certPath, keyPath string) error {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			return err
		}
		kb, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return err
		}
		return errors.Join(writePEM(certPath, "CERTIFICATE", der), writePEM(keyPath, "EC PRIVATE KEY", kb))
	}
	if err := leaf(2, "etcd", x509.ExtKeyUsageServerAuth, f.serverCert, f.serverKey); err != nil {
		return f, err
	}
	return f, leaf(3, "herd-controller", x509.ExtKeyUsageClientAuth, f.clientCert, f.clientKey)
}

func writePEM(path, kind string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600)
}

// startEtcd starts an n-member etcd cluster on loopback ports, its client
// URLs over TLS with client certificates required, and waits until it
// serves.
func startEtcd(ctx context.Context, dir string, n int, f certFiles) ([]*embed.Etcd, []string, error) {
	type ports struct{ client, peer url.URL }
	var ps []ports
	var initial []string
	for i := range n {
		c, err := freeURL("https")
		if err != nil {
			return nil, nil, err
		}
		p, err := freeURL("http")
		if err != nil {
			return nil, nil, err
		}
		ps = append(ps, ports{c, p})
		initial = append(initial, fmt.Sprintf("m%d=%s", i, p.String()))
	}
	var members []*embed.Etcd
	var endpoints []string
	fail := func(err error) ([]*embed.Etcd, []string, error) {
		for _, m := range members {
			m.Close()
		}
		return nil, nil, err
	}
	for i, p := range ps {
		cfg := embed.NewConfig()
		cfg.Name = fmt.Sprintf("m%d", i)
		cfg.Dir = filepath.Join(dir, cfg.Name)
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
		cfg.TickMs, cfg.ElectionMs = 50, 500
		cfg.InitialClusterToken = filepath.Base(dir)
		cfg.InitialCluster = strings.Join(initial, ",")
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{p.client}, []url.URL{p.client}
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{p.peer}, []url.URL{p.peer}
		cfg.ClientTLSInfo = transport.TLSInfo{CertFile: f.serverCert, KeyFile: f.serverKey, TrustedCAFile: f.ca, ClientCertAuth: true}
		e, err := embed.StartEtcd(cfg)
		if err != nil {
			return fail(fmt.Errorf("etcd member %s: %w", cfg.Name, err))
		}
		members = append(members, e)
		endpoints = append(endpoints, p.client.String())
	}
	for _, e := range members {
		select {
		case <-e.Server.ReadyNotify():
		case err := <-e.Err():
			return fail(err)
		case <-ctx.Done():
			return fail(fmt.Errorf("etcd not ready: %w", ctx.Err()))
		}
	}
	return members, endpoints, nil
}

// freeURL is a loopback URL on a port free when asked.
func freeURL(scheme string) (url.URL, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return url.URL{}, err
	}
	defer l.Close()
	return url.URL{Scheme: scheme, Host: l.Addr().String()}, nil
}
