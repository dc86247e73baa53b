package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/herd-project/herd"
	hclient "github.com/herd-project/herd/client"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/provider"
	"github.com/herd-project/herd/provider/fakeprovider"
	"github.com/herd-project/herd/provider/lxdprovider"
)

// providerFor makes the provider a controller's machines come from. The
// fake one keeps its state next to the controller's state file, so that
// every command sees the same fake cloud; only bootstrap (create) makes
// that file, in the folder it made: any other command finds it there or
// stops.
func (e *env) providerFor(kind, statePath string, create bool) (provider.Provider, func(), error) {
	switch kind {
	case "fake":
		path := filepath.Join(filepath.Dir(statePath), fakeFileName)
		if !create {
			if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() {
				return nil, nil, fmt.Errorf("controller at %s has no fake provider state file %s", statePath, path)
			}
		}
		p, err := fakeprovider.Open(path)
		return p, func() {}, err
	case "lxd":
		p, err := lxdprovider.New(e.ctx, lxdprovider.Options{})
		if err != nil {
			return nil, nil, fmt.Errorf("%w (is LXD running? run scripts/lxd-testbed.sh)", err)
		}
		return p, p.Close, nil
	}
	return nil, nil, fmt.Errorf("provider %q not known", kind)
}

// conn is this user's session on a controller, over the network.
type conn struct {
	name    string
	entry   controllerEntry
	session *hclient.Session
	acct    account
	sess    session
}

func (c *conn) Close() { c.session.Close() }

func (e *env) options(prov provider.Provider) controller.Options {
	o := controller.Options{Provider: prov, Now: e.now, LockTimeout: 30 * time.Second}
	if v := os.Getenv("HERD_TEST_RETRY_DELAY"); v != "" {
		// Tests of failed starts do not wait Juju's 10 s per retry.
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			o.Provisioning.RetryDelay = d
		}
	}
	if path := os.Getenv("HERD_TEST_START_FAULT"); path != "" {
		o.Provider = faultyStarts{Provider: prov, path: path}
	}
	return o
}

// faultyStarts, for tests only (HERD_TEST_START_FAULT=PATH), makes every
// start of a machine fail, with the file's text as the provider's
// message, while the file at PATH exists.
type faultyStarts struct {
	provider.Provider
	path string
}

func (f faultyStarts) StartInstance(ctx context.Context, s provider.InstanceSpec) (provider.Instance, error) {
	if b, err := os.ReadFile(f.path); err == nil {
		return provider.Instance{}, herd.Errorf(herd.ErrFailedPrecondition, "%s", strings.TrimSpace(string(b)))
	}
	return f.Provider.StartInstance(ctx, s)
}

// target is a controller as this client knows it, before connecting.
type target struct {
	name  string
	entry controllerEntry
	acct  account
	sess  session
}

// controllerNamed finds a controller by name ("" for the current one) in
// the client files, and checks its entry.
func (e *env) controllerNamed(name string) (*target, error) {
	cf, err := e.cl.controllers()
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = cf.Current
	}
	if name == "" {
		return nil, errors.New("no controllers registered.\n\nPlease either create a new controller using \"juju bootstrap\" or connect to\nanother controller that you have been given access to using \"juju register\"")
	}
	entry, ok := cf.Controllers[name]
	if !ok {
		return nil, fmt.Errorf("controller %s not found", name)
	}
	if err := e.checkEntry(name, entry); err != nil {
		return nil, err
	}
	accts, err := e.cl.accounts()
	if err != nil {
		return nil, err
	}
	sessions, err := e.cl.sessions()
	if err != nil {
		return nil, err
	}
	return &target{name: name, entry: entry, acct: accts[name], sess: sessions[name]}, nil
}

// dial connects to a controller, trusting only its pinned CA.
func (e *env) dial(t *target) (*hclient.Conn, error) {
	cn, err := hclient.Dial(e.ctx, hclient.Options{Addrs: t.entry.APIEndpoints, CACert: []byte(t.entry.CACert), ControllerName: t.name, PingInterval: -1, DialTimeout: 5 * time.Second})
	if err != nil {
		if errors.Is(err, herd.ErrClosed) {
			return nil, fmt.Errorf("cannot connect to controller %s: %v (is the controller process running?)", t.name, err)
		}
		return nil, err
	}
	return cn, nil
}

// connect opens the controller -c names, else the current one, and
// resumes this user's session.
func (e *env) connect() (*conn, error) { return e.connectTo(e.ctl) }

// connectTo connects to a controller by name ("" for the current one)
// and resumes this user's session on it.
func (e *env) connectTo(name string) (*conn, error) {
	t, err := e.controllerNamed(name)
	if err != nil {
		return nil, err
	}
	if t.acct.User == "" || t.sess.Token == "" {
		return nil, fmt.Errorf("not logged in\n\nPlease use \"juju login\" to log in to controller %s", t.name)
	}
	cn, err := e.dial(t)
	if err != nil {
		return nil, err
	}
	s, err := cn.Resume(e.ctx, t.acct.User, t.sess.Token)
	if err != nil {
		cn.Close()
		if errors.Is(err, herd.ErrUnauthenticated) {
			return nil, fmt.Errorf("%w\n\nPlease use \"juju login\" to log in to controller %s again", err, t.name)
		}
		return nil, err
	}
	return &conn{name: t.name, entry: t.entry, session: s, acct: t.acct, sess: t.sess}, nil
}

// currentModel is the user's current model on controller name.
func (e *env) currentModel(name string) string {
	m, _ := e.cl.models()
	if cm := m.Controllers[name]; cm != nil {
		return cm.CurrentModel
	}
	return ""
}

// interactive reports whether prompts go to a terminal.
func (e *env) interactive(noPrompt bool) bool {
	return !noPrompt && e.stdinFile != nil && term.IsTerminal(int(e.stdinFile.Fd()))
}

// readPassword reads a password as Juju does: the prompt on stderr, then
// from the terminal without echo, or one line of stdin when stdin is not
// a terminal. --no-prompt (Herd's) reads one line without a prompt.
func (e *env) readPassword(prompt string, noPrompt bool) (string, error) {
	if e.interactive(noPrompt) {
		fmt.Fprint(e.stderr, prompt)
		b, err := term.ReadPassword(int(e.stdinFile.Fd()))
		fmt.Fprintln(e.stderr)
		return string(b), err
	}
	if !noPrompt {
		fmt.Fprintln(e.stderr, prompt)
	}
	line, err := e.stdin.ReadString('\n')
	if err != nil && line == "" {
		return "", errors.New("no password given on standard input")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// newPassword asks for a password and its confirmation, as Juju does
// (from a terminal or two lines of stdin); --no-prompt reads one line.
func (e *env) newPassword(noPrompt bool, prompt, again string) (string, error) {
	pw, err := e.readPassword(prompt, noPrompt)
	if err != nil {
		return "", err
	}
	if pw == "" {
		return "", errors.New("you must enter a password")
	}
	if !noPrompt {
		confirm, err := e.readPassword(again, false)
		if err != nil {
			return "", err
		}
		if confirm != pw {
			return "", errors.New("passwords do not match")
		}
	}
	return pw, nil
}

func (e *env) confirm(a *args, what string) error {
	if a.has("y", "yes", "no-prompt") {
		return nil
	}
	fmt.Fprintf(e.stderr, "%s\n\nContinue [y/N]? ", what)
	line, _ := e.stdin.ReadString('\n')
	if s := strings.ToLower(strings.TrimSpace(line)); s == "y" || s == "yes" {
		return nil
	}
	return errors.New("aborted")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
