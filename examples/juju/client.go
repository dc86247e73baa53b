package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// The client side: what `juju` keeps in its data folder, one per user
// ($JUJU_DATA, else $HERD_DATA, else $XDG_DATA_HOME/herd, else
// ~/.local/share/herd). The files are Juju's own client files, in Juju's
// shapes (juju/jujuclient): controllers.yaml, accounts.yaml and
// models.yaml; Herd adds sessions.yaml for the session credential, which
// Juju keeps as macaroons in its cookie jar. No password is ever written.
// Every file is written atomically with mode 0600 in a 0700 folder.
//
// A user's data folder holds no controller state: only a controller this
// user bootstrapped has a folder there (controllers/NAME, with the
// controller process's state and log; see agent.go).

const (
	controllersFileName = "controllers.yaml"
	accountsFileName    = "accounts.yaml"
	modelsFileName      = "models.yaml"
	sessionsFileName    = "sessions.yaml"
)

// controllerEntry is Juju's ControllerDetails, as controllers.yaml holds it.
type controllerEntry struct {
	UUID         string   `yaml:"uuid"`
	APIEndpoints []string `yaml:"api-endpoints,flow"`
	CACert       string   `yaml:"ca-cert"`
	Cloud        string   `yaml:"cloud"`
	Region       string   `yaml:"region,omitempty"`
	Type         string   `yaml:"type,omitempty"`
	AgentVersion string   `yaml:"agent-version,omitempty"`
	// As Juju's: the controller machines (1 from bootstrap, as Juju
	// writes; a registered client learns it with controllers --refresh),
	// those last seen active, and every machine the client last counted
	// (controllers --refresh; bootstrap counts the controller's own).
	ControllerMachineCount       int  `yaml:"controller-machine-count"`
	ActiveControllerMachineCount int  `yaml:"active-controller-machine-count"`
	MachineCount                 *int `yaml:"machine-count,omitempty"`
}

type controllersFile struct {
	Controllers map[string]controllerEntry `yaml:"controllers"`
	Current     string                     `yaml:"current-controller,omitempty"`
}

// account is Juju's AccountDetails: the user and their last known
// controller access. Never a password.
type account struct {
	User            string `yaml:"user"`
	LastKnownAccess string `yaml:"last-known-access,omitempty"`
}

type accountsFile struct {
	Controllers map[string]account `yaml:"controllers"`
}

// modelEntry is Juju's ModelDetails.
type modelEntry struct {
	UUID      string `yaml:"uuid" json:"uuid"`
	ModelType string `yaml:"type" json:"type"`
}

type controllerModels struct {
	Models       map[string]modelEntry `yaml:"models,omitempty"`
	CurrentModel string                `yaml:"current-model,omitempty"`
}

type modelsFile struct {
	Controllers map[string]*controllerModels `yaml:"controllers"`
}

// session is Herd's addition: the session credential (Session.Token) for
// one controller, and whether the account's only password is the one
// bootstrap generated and did not keep (so logging out would lose it).
type session struct {
	Token             string `yaml:"token,omitempty"`
	GeneratedPassword bool   `yaml:"generated-password,omitempty"`
}

type sessionsFile struct {
	Controllers map[string]session `yaml:"controllers"`
}

// client is one user's data folder.
type client struct{ dir string }

func dataDir() (string, error) {
	for _, v := range []string{"JUJU_DATA", "HERD_DATA"} {
		if d := os.Getenv(v); d != "" {
			return d, nil
		}
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "herd"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find a data folder: set JUJU_DATA: %w", err)
	}
	return filepath.Join(home, ".local", "share", "herd"), nil
}

func (c client) read(name string, v any) error {
	b, err := os.ReadFile(filepath.Join(c.dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		return fmt.Errorf("client file %s is not valid: %w", filepath.Join(c.dir, name), err)
	}
	return nil
}

// write replaces a file atomically: a temporary file in the same folder,
// fsync'd, renamed over the old one.
func (c client) write(name string, v any) error {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2) // as Juju's files (yaml.v2)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b := buf.Bytes()
	tmp, err := os.CreateTemp(c.dir, "."+name+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(c.dir, name))
}

func (c client) controllers() (controllersFile, error) {
	var f controllersFile
	err := c.read(controllersFileName, &f)
	if f.Controllers == nil {
		f.Controllers = map[string]controllerEntry{}
	}
	return f, err
}

func (c client) accounts() (map[string]account, error) {
	var f accountsFile
	err := c.read(accountsFileName, &f)
	if f.Controllers == nil {
		f.Controllers = map[string]account{}
	}
	return f.Controllers, err
}

func (c client) models() (modelsFile, error) {
	var f modelsFile
	err := c.read(modelsFileName, &f)
	if f.Controllers == nil {
		f.Controllers = map[string]*controllerModels{}
	}
	for k, v := range f.Controllers {
		if v == nil {
			f.Controllers[k] = &controllerModels{}
		}
	}
	return f, err
}

func (c client) sessions() (map[string]session, error) {
	var f sessionsFile
	err := c.read(sessionsFileName, &f)
	if f.Controllers == nil {
		f.Controllers = map[string]session{}
	}
	return f.Controllers, err
}

// update reads, changes and writes one of the files.
func updateAccounts(c client, fn func(map[string]account)) error {
	f, err := c.accounts()
	if err != nil {
		return err
	}
	fn(f)
	return c.write(accountsFileName, accountsFile{Controllers: f})
}

func updateSessions(c client, fn func(map[string]session)) error {
	f, err := c.sessions()
	if err != nil {
		return err
	}
	fn(f)
	return c.write(sessionsFileName, sessionsFile{Controllers: f})
}

// updateModels changes one controller's models (made if need be).
func updateModels(c client, controller string, fn func(*controllerModels)) error {
	f, err := c.models()
	if err != nil {
		return err
	}
	cm := f.Controllers[controller]
	if cm == nil {
		cm = &controllerModels{}
		f.Controllers[controller] = cm
	}
	fn(cm)
	if cm.Models == nil {
		cm.Models = map[string]modelEntry{}
	}
	return c.write(modelsFileName, f)
}

func updateControllers(c client, fn func(*controllersFile)) error {
	f, err := c.controllers()
	if err != nil {
		return err
	}
	fn(&f)
	return c.write(controllersFileName, f)
}

// forget removes a controller from every client file that names it;
// a file that does not exist is not made.
func (c client) forget(name string) error {
	has := func(f string) bool { return exists(filepath.Join(c.dir, f)) }
	if has(controllersFileName) {
		if err := updateControllers(c, func(f *controllersFile) {
			delete(f.Controllers, name)
			if f.Current == name {
				f.Current = ""
			}
		}); err != nil {
			return err
		}
	}
	if has(accountsFileName) {
		if err := updateAccounts(c, func(f map[string]account) { delete(f, name) }); err != nil {
			return err
		}
	}
	if has(sessionsFileName) {
		if err := updateSessions(c, func(f map[string]session) { delete(f, name) }); err != nil {
			return err
		}
	}
	if !has(modelsFileName) {
		return nil
	}
	f, err := c.models()
	if err != nil {
		return err
	}
	delete(f.Controllers, name)
	return c.write(modelsFileName, f)
}
