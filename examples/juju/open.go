package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/herd-project/herd"
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

// conn is an open controller and this user's session on it.
type conn struct {
	name    string
	entry   controllerEntry
	ctrl    *controller.Controller
	session *controller.Session
	acct    account
	close   func()
}

func (c *conn) Close() {
	c.ctrl.Close()
	c.close()
}

func (e *env) options(prov provider.Provider) controller.Options {
	return controller.Options{Provider: prov, Now: e.now, LockTimeout: 30 * time.Second}
}

// openController opens a controller by name ("" for the current one).
func (e *env) openController(name string) (*conn, error) {
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
	prov, closeProv, err := e.providerFor(entry.Provider, entry.Path, false)
	if err != nil {
		return nil, err
	}
	ctrl, err := controller.Open(e.ctx, entry.Path, e.options(prov))
	if err != nil {
		closeProv()
		return nil, err
	}
	accts, err := e.cl.accounts()
	if err != nil {
		ctrl.Close()
		closeProv()
		return nil, err
	}
	return &conn{name: name, entry: entry, ctrl: ctrl, acct: accts[name], close: closeProv}, nil
}

// connect opens the current controller and resumes this user's session.
func (e *env) connect() (*conn, error) { return e.connectTo("") }

// connectTo opens a controller by name ("" for the current one) and
// resumes this user's session on it.
func (e *env) connectTo(name string) (*conn, error) {
	c, err := e.openController(name)
	if err != nil {
		return nil, err
	}
	if c.acct.Token == "" {
		c.Close()
		return nil, fmt.Errorf("not logged in\n\nPlease use \"juju login\" to log in to controller %s", c.name)
	}
	s, err := c.ctrl.Resume(e.ctx, c.acct.Token)
	if err != nil {
		c.Close()
		if errors.Is(err, herd.ErrUnauthenticated) {
			return nil, fmt.Errorf("%w\n\nPlease use \"juju login\" to log in to controller %s again", err, c.name)
		}
		return nil, err
	}
	c.session = s
	return c, nil
}

// currentModel is the user's current model on controller name.
func (e *env) currentModel(name string) string {
	m, _ := e.cl.models()
	return m[name]
}

// readPassword reads a password: from the terminal without echo, or, with
// --no-prompt or when stdin is not a terminal, one line from stdin.
func (e *env) readPassword(prompt string, noPrompt bool) (string, error) {
	if !noPrompt && e.stdinFile != nil && term.IsTerminal(int(e.stdinFile.Fd())) {
		fmt.Fprint(e.stderr, prompt)
		b, err := term.ReadPassword(int(e.stdinFile.Fd()))
		fmt.Fprintln(e.stderr)
		return string(b), err
	}
	line, err := e.stdin.ReadString('\n')
	if err != nil && line == "" {
		return "", errors.New("no password given on standard input")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// newPassword asks for a password twice on a terminal, once otherwise.
func (e *env) newPassword(noPrompt bool) (string, error) {
	pw, err := e.readPassword("new password: ", noPrompt)
	if err != nil {
		return "", err
	}
	if !noPrompt && e.stdinFile != nil && term.IsTerminal(int(e.stdinFile.Fd())) {
		again, err := e.readPassword("type new password again: ", false)
		if err != nil {
			return "", err
		}
		if again != pw {
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
