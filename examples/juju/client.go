package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// The client side: what `juju` keeps in its data folder, one per user
// ($HERD_DATA, else $XDG_DATA_HOME/herd, else ~/.local/share/herd). Every
// file holds session tokens, so each is written atomically with mode 0600.
// No password is kept, except the bootstrap admin's generated one until it
// is changed (as Juju does), so that the account is not lost.

// controllerEntry is where a controller is and how to reach its machines.
type controllerEntry struct {
	UUID     string `json:"uuid" yaml:"uuid"`
	Path     string `json:"path" yaml:"path"`         // the controller's state file
	Provider string `json:"provider" yaml:"provider"` // "lxd" or "fake"
	Cloud    string `json:"cloud" yaml:"cloud"`
	Region   string `json:"region" yaml:"region"`
}

type controllersFile struct {
	Current     string                     `json:"current"`
	Controllers map[string]controllerEntry `json:"controllers"`
}

type account struct {
	User  string `json:"user"`
	Token string `json:"token,omitempty"` // the session token; "" when logged out
	// Password is admin's generated secret, kept only until it is changed.
	Password string `json:"password,omitempty"`
}

type accountsFile map[string]account // by controller

type modelsFile map[string]string // controller → current model (owner/name)

// client is one user's data folder.
type client struct{ dir string }

func dataDir() (string, error) {
	if d := os.Getenv("HERD_DATA"); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "herd"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find a data folder: set HERD_DATA: %w", err)
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
	if err := json.Unmarshal(b, v); err != nil {
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
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(c.dir, "."+name+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
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
	f := controllersFile{Controllers: map[string]controllerEntry{}}
	err := c.read("controllers.json", &f)
	if f.Controllers == nil {
		f.Controllers = map[string]controllerEntry{}
	}
	return f, err
}

func (c client) accounts() (accountsFile, error) {
	f := accountsFile{}
	err := c.read("accounts.json", &f)
	if f == nil {
		f = accountsFile{}
	}
	return f, err
}

func (c client) models() (modelsFile, error) {
	f := modelsFile{}
	err := c.read("models.json", &f)
	if f == nil {
		f = modelsFile{}
	}
	return f, err
}

// update reads, changes and writes one of the files.
func updateAccounts(c client, fn func(accountsFile)) error {
	f, err := c.accounts()
	if err != nil {
		return err
	}
	fn(f)
	return c.write("accounts.json", f)
}

func updateModels(c client, fn func(modelsFile)) error {
	f, err := c.models()
	if err != nil {
		return err
	}
	fn(f)
	return c.write("models.json", f)
}

func updateControllers(c client, fn func(*controllersFile)) error {
	f, err := c.controllers()
	if err != nil {
		return err
	}
	fn(&f)
	return c.write("controllers.json", f)
}
