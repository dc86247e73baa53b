package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/herd-project/herd/models"
)

// Every name and path that reaches the filesystem comes from outside: the
// command line, a registration token someone sent, or a client file. Each
// is checked here, before anything is opened, made or removed; and the
// client makes or removes folders only inside its own data folder.

const (
	stateFileName = "state.db"          // a controller's state file, as bootstrap names it
	fakeFileName  = "fakeprovider.json" // the fake provider's state, next to it
)

// ownControllerDir is the folder bootstrap makes for a controller: in the
// data folder, named by a valid controller name.
func (e *env) ownControllerDir(name string) (string, error) {
	if err := models.ValidateControllerName(name); err != nil {
		return "", err
	}
	return filepath.Abs(filepath.Join(e.cl.dir, "controllers", name))
}

// checkStatePath is the rule for the path of a controller's state file
// that the client did not make itself: absolute and clean (so no ".."),
// named state.db, and an existing regular file, not a link or a folder.
// The client then opens that file and, for the fake provider, the file
// next to it; it never creates either.
func checkStatePath(p string) error {
	if !filepath.IsAbs(p) || filepath.Clean(p) != p || strings.ContainsRune(p, 0) {
		return fmt.Errorf("path %q is not absolute and clean", p)
	}
	if filepath.Base(p) != stateFileName {
		return fmt.Errorf("path %q does not name a controller's %s", p, stateFileName)
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return fmt.Errorf("no controller state file at %s", p)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", p)
	}
	return nil
}

// checkAddr is the rule for a controller's API address, from a
// registration token or a client file: host:port and nothing more (no
// scheme, path or user), with a port number.
func checkAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || strings.ContainsAny(host, "/@?#\\ \x00") {
		return fmt.Errorf("controller address %q not valid: want host:port", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("controller address %q not valid: port %q is not a port number", addr, port)
	}
	return nil
}

// checkEntry checks a controller as the client's controllers.yaml lists
// it, since that file may have been edited or copied from elsewhere.
func (e *env) checkEntry(name string, entry controllerEntry) error {
	err := models.ValidateControllerName(name)
	if err == nil && len(entry.APIEndpoints) == 0 {
		err = errors.New("no api-endpoints")
	}
	for _, a := range entry.APIEndpoints {
		if err == nil {
			err = checkAddr(a)
		}
	}
	if err == nil && !strings.Contains(entry.CACert, "-----BEGIN CERTIFICATE-----") {
		err = errors.New("no ca-cert")
	}
	if err != nil {
		return fmt.Errorf("controller %s in %s is not valid: %w", name, filepath.Join(e.cl.dir, controllersFileName), err)
	}
	return nil
}
