package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/apiserver"
	"github.com/herd-project/herd/controller"
)

// The controller process. As Juju runs its controller agent (jujud) on the
// controller machine, bootstrap leaves a controller process running: this
// same binary, as `juju controller-agent DIR`, where DIR is the
// controller's own folder in the bootstrapping user's data folder
// ($JUJU_DATA/controllers/NAME, mode 0700). The folder holds:
//
//	state.db          the controller's state (bbolt, 0600); only this process opens it
//	fakeprovider.json the fake cloud's machines (fake provider only)
//	agent.yaml        which provider the process uses
//	agent.pid         the running process's id, while it runs
//	controller.log    the process's log (0600)
//
// The process listens on the address bootstrap recorded in the state
// (Controller.Addrs: 127.0.0.1 and a port picked at bootstrap), serves
// Juju's API over TLS with the controller's own CA (apiserver), and runs
// until SIGTERM or SIGINT. bootstrap starts it detached (its own session,
// stdin from /dev/null, stdout and stderr to controller.log), so it
// outlives the command; `juju controller-agent --detach DIR` starts it
// again on its state the same way, and without --detach it runs in the
// foreground. A superuser's destroy-controller, from any client, destroys
// the controller through the API (Controller.DestroyController); the
// process sees its controller closed, stops serving and exits 0, removing
// agent.pid, and leaves its state (a destroyed controller's). The
// bootstrapping client's destroy-controller then removes the folder; from
// another client, the folder stays until the bootstrapping user's
// kill-controller removes it. kill-controller, for a process that is
// down, stops it if it runs (SIGTERM, then SIGKILL), destroys the
// controller through its state and removes the folder.
//
// On LXD the process runs on the host too, not in the controller's
// container: Herd's LXD containers have no network device, so a client
// could reach a process inside only through an LXD proxy device, and the
// process would need the host's LXD socket to provision; pushing the binary
// into the container with both proxy devices is future work. The
// container bootstrap starts stands for the controller machine.

const (
	agentFileName = "agent.yaml"
	pidFileName   = "agent.pid"
	logFileName   = "controller.log"
)

type agentConfig struct {
	Provider string `yaml:"provider"`       // "fake" or "lxd"
	UUID     string `yaml:"uuid,omitempty"` // the controller's, so a folder is known for whose it is
	// Etcd, when set, is where the state is (no state.db; ha.go).
	Etcd *etcdConfig `yaml:"etcd,omitempty"`
	// Addr is the API address of this process, and Node its node id,
	// for a controller on etcd (alone, the address is in the state).
	Addr string `yaml:"addr,omitempty"`
	Node string `yaml:"node,omitempty"`
	// Fake is the fake cloud's file, when not fakeprovider.json here
	// (the extra processes of enable-ha share the first's).
	Fake string `yaml:"fake,omitempty"`
}

func writeAgentConfig(dir string, cfg agentConfig) error {
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, agentFileName), b, 0o600)
}

func readAgentConfig(dir string) (agentConfig, error) {
	var cfg agentConfig
	b, err := os.ReadFile(filepath.Join(dir, agentFileName))
	if err != nil {
		return cfg, err
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		return cfg, err
	}
	if cfg.Provider != "fake" && cfg.Provider != "lxd" {
		return cfg, fmt.Errorf("%s: provider %q not known", filepath.Join(dir, agentFileName), cfg.Provider)
	}
	return cfg, nil
}

// cmdControllerAgent is the hidden `controller-agent [--detach] DIR`.
func cmdControllerAgent(e *env, a *args) error {
	if len(a.pos) != 1 {
		return usagef("controller-agent needs the controller's folder")
	}
	dir, err := filepath.Abs(a.pos[0])
	if err != nil {
		return err
	}
	if cfg, err := readAgentConfig(dir); err != nil || cfg.Etcd == nil {
		if err := checkStatePath(filepath.Join(dir, stateFileName)); err != nil {
			return err
		}
	}
	if a.has("detach") {
		if _, err := startAgent(dir); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "Controller process started; its log is %s\n", filepath.Join(dir, logFileName))
		return nil
	}
	return runAgent(e, dir)
}

func runAgent(e *env, dir string) error {
	cfg, err := readAgentConfig(dir)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(e.stderr, nil))
	ctx, stop := signal.NotifyContext(e.ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	prov, closeProv, err := e.agentProvider(dir, cfg, false)
	if err != nil {
		return err
	}
	defer closeProv()
	opts := e.options(prov)
	opts.Logger = log
	e.ctx = ctx
	ctrl, err := e.openAgentController(dir, cfg, opts)
	if err != nil {
		return err
	}
	defer ctrl.Close()
	addrs := ctrl.Addrs()
	if len(addrs) == 0 {
		return errors.New("the controller has no recorded address")
	}
	sopts := apiserver.Options{Logger: log}
	if os.Getenv("HERD_TEST_NO_LIMITS") == "1" {
		// Tests run many commands in a row as one user from one address.
		sopts.LoginRate, sopts.LoginAddrRate, sopts.RegisterRate = -1, -1, -1
	}
	srv, err := apiserver.New(ctrl, sopts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addrs[0])
	if err != nil {
		return err
	}
	pidFile := filepath.Join(dir, pidFileName)
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		ln.Close()
		return err
	}
	defer os.Remove(pidFile)
	log.Info("controller serving", "name", ctrl.Name(), "uuid", ctrl.UUID(), "addr", ln.Addr().String(), "pid", os.Getpid())
	// A superuser's destroy-controller (Controller.DestroyController)
	// destroys the controller and closes it: the process then has nothing
	// to serve, and stops as on SIGTERM.
	ctx, destroyed := watchClosed(ctx, ctrl, log)
	err = srv.Serve(ctx, ln, nil)
	if destroyed() {
		err = nil
	}
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Close(cctx)
	log.Info("controller stopped", "err", err)
	return err
}

// closedPoll is how often the controller process checks whether its
// controller was destroyed.
const closedPoll = 100 * time.Millisecond

// watchClosed returns a context that ends when ctrl is closed, which only
// Session.DestroyController does while the process runs, and a function
// that reports whether that happened. Controller has no notification for
// it, so the process probes it with Resume of an empty token: a read that
// fails with herd.ErrClosed once the controller is closed, and otherwise
// finds no session, writing nothing.
func watchClosed(parent context.Context, ctrl *controller.Controller, log *slog.Logger) (context.Context, func() bool) {
	ctx, cancel := context.WithCancel(parent)
	var done atomic.Bool
	go func() {
		t := time.NewTicker(closedPoll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := ctrl.Resume(ctx, ""); errors.Is(err, herd.ErrClosed) {
				log.Info("controller destroyed: stopping", "name", ctrl.Name())
				done.Store(true)
				cancel()
				return
			}
		}
	}()
	return ctx, done.Load
}

// startAgent starts `juju controller-agent DIR` detached: in a session of
// its own, stdin from /dev/null, stdout and stderr appended to
// controller.log. It waits until the process listens on addr (read
// from the controller's addresses through agent.pid appearing and a TCP
// connection succeeding), or reports the log's tail.
func startAgent(dir string) (int, error) {
	if pid, ok := agentPID(dir); ok {
		return 0, fmt.Errorf("the controller process is already running (pid %d)", pid)
	}
	os.Remove(filepath.Join(dir, pidFileName))
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	logPath := filepath.Join(dir, logFileName)
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	cmd := exec.Command(exe, "controller-agent", dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Dir = "/"
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return 0, fmt.Errorf("the controller process exited (%v):\n%s", err, tail(logPath))
		case <-time.After(50 * time.Millisecond):
		}
		if p, ok := agentPID(dir); ok && p == pid {
			// agent.pid is written once the listener is open.
			return pid, nil
		}
	}
	cmd.Process.Kill()
	return 0, fmt.Errorf("the controller process did not start in time:\n%s", tail(logPath))
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return strings.Join(lines, "\n")
}

// agentPID reads agent.pid and reports whether that process is alive and
// is a controller-agent for dir (a pid file left by a killed process, whose
// number was reused since, names another program).
func agentPID(dir string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(dir, pidFileName))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, isAgent(pid, dir)
}

func isAgent(pid int, dir string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	if len(args) < 3 || args[len(args)-2] != "controller-agent" || args[len(args)-1] != dir {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command's closing parenthesis: Z is a zombie.
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
		return false
	}
	return true
}

// stopAgent stops the controller process of dir, if it runs: SIGTERM, and
// SIGKILL after 10 seconds.
func stopAgent(dir string) error {
	pid, ok := agentPID(dir)
	if !ok {
		return nil
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	for i := 0; i < 200; i++ {
		if !isAgent(pid, dir) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	for i := 0; i < 100; i++ {
		if !isAgent(pid, dir) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("the controller process %d does not stop", pid)
}

// waitAgent waits for the controller process of dir, if it runs, to exit
// by itself (its controller destroyed), and stops it after timeout.
func waitAgent(dir string, timeout time.Duration) error {
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if _, ok := agentPID(dir); !ok {
			return nil
		}
	}
	return stopAgent(dir)
}

// freeLoopbackAddr picks a free port on 127.0.0.1 for a new controller.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
