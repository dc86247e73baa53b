package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
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

// address is how a registration token names a controller until Herd has a
// network API: the state file, and which provider runs its machines.
func address(path, prov string) string {
	return (&url.URL{Scheme: "herd+file", Path: path, RawQuery: "provider=" + prov}).String()
}

// parseAddress reads and checks an address from a registration token:
// herd+file:///absolute/path/state.db?provider=fake|lxd and nothing more.
func parseAddress(addr string) (path, prov string, err error) {
	bad := func(why string) error {
		return fmt.Errorf("controller address %q not valid: %s (want herd+file:///path/%s?provider=fake|lxd)", addr, why, stateFileName)
	}
	u, err := url.Parse(addr)
	switch {
	case err != nil:
		return "", "", bad("not a URL")
	case u.Scheme != "herd+file":
		return "", "", bad("scheme is not herd+file")
	case u.Opaque != "" || u.User != nil || u.Host != "" || u.Fragment != "":
		return "", "", bad("want a local absolute path only")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil || len(q) != 1 || len(q["provider"]) != 1 {
		return "", "", bad("want exactly one provider")
	}
	prov = q.Get("provider")
	if prov != "fake" && prov != "lxd" {
		return "", "", bad(fmt.Sprintf("provider %q not known", prov))
	}
	if err := checkStatePath(u.Path); err != nil {
		return "", "", bad(err.Error())
	}
	return u.Path, prov, nil
}

// checkEntry checks a controller as the client's controllers.json lists
// it, since that file may have been edited or copied from elsewhere.
func (e *env) checkEntry(name string, entry controllerEntry) error {
	err := models.ValidateControllerName(name)
	if err == nil && entry.Provider != "fake" && entry.Provider != "lxd" {
		err = fmt.Errorf("provider %q not known", entry.Provider)
	}
	if err == nil {
		err = checkStatePath(entry.Path)
	}
	if err != nil {
		return fmt.Errorf("controller %s in %s is not valid: %w", name, filepath.Join(e.cl.dir, "controllers.json"), err)
	}
	return nil
}
