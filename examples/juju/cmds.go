package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/apiserver"
	hclient "github.com/herd-project/herd/client"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/users"
)

func (e *env) clock() time.Time {
	if e.now != nil {
		return e.now()
	}
	return time.Now()
}

// bootstrap [CONTROLLER CLOUD | CLOUD [CONTROLLER]]: the seed's order
// (Juju 2.0 beta) and Juju 3's are both read; a known cloud name decides.
func bootstrapArgs(a *args) (name, cloud string, err error) {
	isCloud := func(s string) bool { return s == "lxd" || s == "localhost" || s == "localhost-fake" }
	switch {
	case len(a.pos) == 1 && isCloud(a.pos[0]):
		return a.pos[0] + "-default", a.pos[0], nil
	case len(a.pos) == 2 && isCloud(a.pos[0]) && !isCloud(a.pos[1]):
		return a.pos[1], a.pos[0], nil
	case len(a.pos) == 2:
		return a.pos[0], a.pos[1], nil
	}
	return "", "", usagef("bootstrap needs a controller name and a cloud")
}

func cmdBootstrap(e *env, a *args) error {
	name, cloud, err := bootstrapArgs(a)
	if err != nil {
		return err
	}
	// The name becomes a folder: check it before anything else.
	dir, err := e.ownControllerDir(name)
	if err != nil {
		return err
	}
	kind := ""
	switch cloud {
	case "lxd", "localhost":
		kind = "lxd"
	case "localhost-fake":
		kind = "fake"
	default:
		return fmt.Errorf("cloud %q not found: want lxd, localhost or localhost-fake", cloud)
	}
	if os.Getenv("HERD_FAKE_PROVIDER") == "1" {
		kind = "fake"
	}
	cf, err := e.cl.controllers()
	if err != nil {
		return err
	}
	if _, ok := cf.Controllers[name]; ok {
		return fmt.Errorf("controller %q already exists", name)
	}
	// Files left in the folder (a controller this client forgot, or a
	// failed bootstrap) are not this command's to reuse or remove.
	path := filepath.Join(dir, stateFileName)
	if exists(path) || exists(filepath.Join(dir, fakeFileName)) {
		return fmt.Errorf("controller folder %s already holds a controller's files: remove it, or choose another name", dir)
	}
	addr := os.Getenv("HERD_CONTROLLER_ADDR") // host:port to listen on; default 127.0.0.1 and a free port
	if addr == "" {
		if addr, err = freeLoopbackAddr(); err != nil {
			return err
		}
	} else if err := checkAddr(addr); err != nil {
		return err
	}
	made := !exists(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	os.Chmod(filepath.Dir(dir), 0o700)
	undo := func() {
		if made {
			os.RemoveAll(dir)
		}
	}
	ecfg, err := etcdFromArgs(a, name)
	if err != nil {
		undo()
		return err
	}
	acfg := agentConfig{Provider: kind}
	if ecfg != nil {
		acfg.Etcd, acfg.Addr, acfg.Node = ecfg, addr, "node-0"
	}
	prov, closeProv, err := e.agentProvider(dir, acfg, true)
	if err != nil {
		undo()
		return err
	}
	fmt.Fprintf(e.stderr, "Creating Herd controller %q on %s/default\n", name, cloud)
	opts := e.options(prov)
	opts.Path, opts.Cloud, opts.Region, opts.Addrs = path, cloud, "default", []string{addr}
	if ecfg != nil {
		// The state is in etcd, under the prefix; this process is node-0.
		backend, berr := ecfg.backend(e)
		if berr != nil {
			closeProv()
			undo()
			return berr
		}
		opts.Path, opts.Backend, opts.NodeID = "", backend, acfg.Node
	}
	b, err := controller.Bootstrap(e.ctx, name, opts)
	if err != nil {
		if opts.Backend != nil {
			opts.Backend.Close() // a failed Bootstrap leaves it to the caller
		}
		closeProv()
		if kind == "fake" {
			os.Remove(filepath.Join(dir, fakeFileName))
		}
		if made {
			os.Remove(dir) // only if empty: a state file is never removed here
		}
		return err
	}
	// The in-process session bootstrap opened is not the one the client
	// keeps: that one is opened over the network below.
	b.Admin.Logout(e.ctx)
	uuid, ca := b.Controller.UUID(), string(b.Controller.CACert())
	b.Controller.Close()
	closeProv()
	if kind == "lxd" {
		fmt.Fprintln(e.stderr, "The controller process runs on this host, not in the controller's container (which has no network device).")
	}
	entry := controllerEntry{UUID: uuid, APIEndpoints: []string{addr}, CACert: ca, Cloud: cloud, Region: "default", Type: kind, AgentVersion: apiserver.ServerVersion,
		ControllerMachineCount: 1, MachineCount: ptr(1)}
	acfg.UUID = uuid
	if err := e.startController(name, dir, acfg, b.Secret, entry); err != nil {
		// Leave nothing: no process, no machines, no folder, no entry.
		e.cl.forget(name)
		if uerr := e.undoBootstrap(dir, acfg, b.Secret); uerr != nil {
			return fmt.Errorf("%w; and undoing the bootstrap failed: %v (the controller's files are left in %s)", err, uerr, dir)
		}
		if made {
			os.RemoveAll(dir)
		} else {
			for _, f := range []string{stateFileName, fakeFileName, agentFileName, pidFileName, logFileName} {
				os.Remove(filepath.Join(dir, f))
			}
		}
		return err
	}
	fmt.Fprintf(e.stderr, "Bootstrap complete, controller %q is now available\nInitial model %q added\n", name, controller.DefaultModel)
	return nil
}

// startController starts the controller process of a new controller, logs
// admin in over the network with the generated secret and writes the
// client files, which keep the session credential only.
func (e *env) startController(name, dir string, cfg agentConfig, secret string, entry controllerEntry) error {
	if err := writeAgentConfig(dir, cfg); err != nil {
		return err
	}
	if _, err := startAgent(dir); err != nil {
		return fmt.Errorf("cannot start the controller process: %w", err)
	}
	cn, err := e.dial(&target{name: name, entry: entry})
	if err != nil {
		return err
	}
	s, err := cn.Login(e.ctx, controller.AdminUser, secret)
	if err != nil {
		cn.Close()
		return err
	}
	defer s.Close()
	if err := updateControllers(e.cl, func(f *controllersFile) { f.Controllers[name] = entry; f.Current = name }); err != nil {
		return err
	}
	if err := updateAccounts(e.cl, func(f map[string]account) {
		f[name] = account{User: s.User(), LastKnownAccess: "superuser"}
	}); err != nil {
		return err
	}
	if err := updateSessions(e.cl, func(f map[string]session) {
		f[name] = session{Token: s.Token(), GeneratedPassword: true}
	}); err != nil {
		return err
	}
	return e.setCurrentModel(s, name, "admin/"+controller.DefaultModel)
}

// undoBootstrap stops a new controller's process, if it started, and
// destroys the controller (its machines at the provider) through its state.
func (e *env) undoBootstrap(dir string, cfg agentConfig, secret string) error {
	if err := stopAgent(dir); err != nil {
		return err
	}
	prov, closeProv, err := e.agentProvider(dir, cfg, false)
	if err != nil {
		return err
	}
	defer closeProv()
	cfg.Addr = "" // no API here
	ctrl, err := e.openAgentController(dir, cfg, e.options(prov))
	if err != nil {
		return err
	}
	defer ctrl.Close()
	s, err := ctrl.Login(e.ctx, controller.AdminUser, secret)
	if err != nil {
		return err
	}
	return s.DestroyController(e.ctx)
}

// setCurrentModel records a model (owner/name) in models.yaml, with its
// UUID as the controller lists it, and makes it current.
func (e *env) setCurrentModel(s *hclient.Session, ctl, full string) error {
	ms, err := s.Models(e.ctx, controller.ModelsOptions{})
	if err != nil {
		return err
	}
	return updateModels(e.cl, ctl, func(cm *controllerModels) {
		if cm.Models == nil {
			cm.Models = map[string]modelEntry{}
		}
		for _, m := range ms {
			cm.Models[m.FullName()] = modelEntry{UUID: m.UUID, ModelType: "iaas"}
		}
		cm.CurrentModel = full
	})
}

func cmdChangePassword(e *env, a *args) error {
	if len(a.pos) > 1 {
		return usagef("change-user-password takes at most one user")
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	target := c.session.User()
	if len(a.pos) == 1 {
		if target, err = users.Canonical(a.pos[0]); err != nil {
			return err
		}
	}
	if a.has("reset") {
		// As Juju's: one's own password is changed, not reset; and the
		// reset's messages are informational, on stderr.
		if target == c.session.User() {
			fmt.Fprintln(e.stderr, "You cannot reset your own password.\nIf you want to change it, please call `juju change-user-password` without --reset option.")
			return nil
		}
		token, err := c.session.ResetPassword(e.ctx, target)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "Password for %q has been reset.\nAsk the user to run:\n     juju register %s\n", a.pos[0], token)
		return nil
	}
	if a.has("no-prompt") {
		fmt.Fprintln(e.stderr, "reading password from stdin...")
	}
	pw, err := e.newPassword(a.has("no-prompt"), "new password: ", "type new password again: ")
	if err != nil {
		return err
	}
	if err := c.session.ChangePassword(e.ctx, target, pw); err != nil {
		return err
	}
	if target == c.session.User() {
		// The generated secret is no longer needed: drop it.
		if err := updateSessions(e.cl, func(f map[string]session) { se := f[c.name]; se.GeneratedPassword = false; f[c.name] = se }); err != nil {
			return err
		}
		fmt.Fprintln(e.stderr, "Your password has been changed.")
		return nil
	}
	fmt.Fprintf(e.stderr, "Password for %q has been changed.\n", target)
	return nil
}

func cmdAddUser(e *env, a *args) error {
	if len(a.pos) < 1 || len(a.pos) > 2 {
		return usagef("add-user needs a user name and, optionally, a display name")
	}
	display := ""
	if len(a.pos) == 2 {
		display = a.pos[1]
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	added, err := c.session.AddUser(e.ctx, a.pos[0], display)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "User %q added\nPlease send this command to %s:\n    juju register %s\n\n%q has not been granted access to any models. You can use \"juju grant\" to grant access.\n",
		added.User.Display(), added.User.Display(), added.Token, added.User.Display())
	return nil
}

func cmdAddModel(e *env, a *args) error {
	if len(a.pos) != 1 {
		return usagef("add-model needs a model name")
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	m, err := c.session.CreateModel(e.ctx, a.pos[0], controller.CreateModelOptions{Owner: a.get("owner")})
	if err != nil {
		return err
	}
	if m.Owner == c.session.User() {
		if err := e.setCurrentModel(c.session, c.name, m.FullName()); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stderr, "Added '%s' model on %s/%s for user '%s'\n", m.Name, m.Cloud, m.Region, m.Owner)
	return nil
}

// accessArgs reads both grant/revoke shapes: `--acl=write tom m1 m2` (Juju
// 2, the seed's) and `tom write m1 m2` (Juju 3); no model means a
// controller level.
func accessArgs(a *args) (user string, level acl.Level, models []string, err error) {
	pos := a.pos
	lvl := a.get("acl")
	if lvl == "" {
		if len(pos) < 2 {
			return "", 0, nil, usagef("want a user and an access level")
		}
		lvl, pos = pos[1], append([]string{pos[0]}, pos[2:]...)
	}
	if len(pos) < 1 {
		return "", 0, nil, usagef("want a user")
	}
	level, err = acl.Parse(lvl)
	if err != nil {
		return "", 0, nil, err
	}
	if level.Kind() == acl.KindModel && len(pos) < 2 {
		return "", 0, nil, usagef("%q access needs at least one model", lvl)
	}
	if level.Kind() == acl.KindController && len(pos) > 1 {
		return "", 0, nil, fmt.Errorf("%q is a controller access level: it takes no model", lvl)
	}
	return pos[0], level, pos[1:], nil
}

func cmdGrant(e *env, a *args) error  { return changeAccess(e, a, true) }
func cmdRevoke(e *env, a *args) error { return changeAccess(e, a, false) }

func changeAccess(e *env, a *args, grant bool) error {
	user, level, ms, err := accessArgs(a)
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	do := c.session.Grant
	if !grant {
		do = c.session.Revoke
	}
	if len(ms) == 0 {
		return do(e.ctx, user, level, "")
	}
	for _, m := range ms {
		if err := do(e.ctx, user, level, m); err != nil {
			return err
		}
	}
	return nil
}

func cmdRegister(e *env, a *args) error {
	if len(a.pos) != 1 {
		return usagef("register needs a registration token")
	}
	tok, err := users.DecodeToken(a.pos[0])
	if err != nil {
		return err
	}
	// Both the name and the addresses come from whoever made the token:
	// check them before anything is sent or written.
	name := tok.ControllerName
	if err := models.ValidateControllerName(name); err != nil {
		return fmt.Errorf("registration token: %w", err)
	}
	if len(tok.Addrs) == 0 {
		return errors.New("registration token has no controller address")
	}
	for _, addr := range tok.Addrs {
		if err := checkAddr(addr); err != nil {
			return fmt.Errorf("registration token: %w", err)
		}
	}
	cf, err := e.cl.controllers()
	if err != nil {
		return err
	}
	if _, ok := cf.Controllers[name]; ok && !a.has("replace") {
		return fmt.Errorf("controller %q already exists", name)
	}
	pw, err := e.newPassword(a.has("no-prompt"), "Enter a new password: ", "Confirm password: ")
	if err != nil {
		return err
	}
	if !a.has("no-prompt") {
		// As Juju: a terminal's line, or the next line of stdin (none: the
		// token's name).
		fmt.Fprintf(e.stderr, "Enter a name for this controller [%s]: ", name)
		if !e.interactive(false) {
			fmt.Fprintln(e.stderr)
		}
		line, _ := e.stdin.ReadString('\n')
		if v := strings.TrimSpace(line); v != "" {
			if err := models.ValidateControllerName(v); err != nil {
				return err
			}
			name = v
		}
	}
	s, reg, err := hclient.Register(e.ctx, a.pos[0], pw, hclient.RegisterOptions{PingInterval: -1})
	if err != nil {
		if errors.Is(err, herd.ErrClosed) {
			return fmt.Errorf("cannot connect to controller %s: %v (is the controller process running?)", name, err)
		}
		return err
	}
	defer s.Close()
	ms, err := s.Models(e.ctx, controller.ModelsOptions{})
	if err != nil {
		return err
	}
	entry := controllerEntry{UUID: reg.ControllerUUID, APIEndpoints: reg.Addrs, CACert: string(reg.CACert), AgentVersion: apiserver.ServerVersion}
	if len(ms) > 0 {
		entry.Cloud, entry.Region, entry.Type = ms[0].Cloud, ms[0].Region, ms[0].Type
	}
	if err := updateControllers(e.cl, func(f *controllersFile) { f.Controllers[name] = entry; f.Current = name }); err != nil {
		return err
	}
	if err := updateAccounts(e.cl, func(f map[string]account) { f[name] = account{User: s.User(), LastKnownAccess: "login"} }); err != nil {
		return err
	}
	if err := updateSessions(e.cl, func(f map[string]session) { f[name] = session{Token: s.Token()} }); err != nil {
		return err
	}
	current := ""
	if len(ms) == 1 {
		current = ms[0].FullName()
	}
	if err := e.setCurrentModel(s, name, current); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "Initial password successfully set for %s.\n\nWelcome, %s. You are now logged into %q.\n", s.User(), s.User(), name)
	switch len(ms) {
	case 0:
		fmt.Fprintln(e.stderr, "\nThere are no models available. You can add models with\n\"juju add-model\", or you can ask an administrator or owner\nof a model to grant access to that model with \"juju grant\".")
	case 1:
		fmt.Fprintf(e.stderr, "\nCurrent model set to %q.\n", ms[0].FullName())
	default:
		fmt.Fprintf(e.stderr, "\nThere are %d models available. Use \"juju switch\" to select\none of them:\n", len(ms))
		for _, m := range ms {
			fmt.Fprintf(e.stderr, "  - juju switch %s\n", m.FullName())
		}
	}
	return nil
}

func cmdLogin(e *env, a *args) error {
	t, err := e.controllerNamed(a.get("c", "controller"))
	if err != nil {
		return err
	}
	user := a.get("u", "user")
	if user == "" {
		user = t.acct.User
	}
	if user == "" {
		return usagef("login needs -u user")
	}
	pw, err := e.readPassword(fmt.Sprintf("please enter password for %s on %s: ", user, t.name), a.has("no-prompt"))
	if err != nil {
		return err
	}
	cn, err := e.dial(t)
	if err != nil {
		return err
	}
	s, err := cn.Login(e.ctx, user, pw)
	if err != nil {
		return err
	}
	defer s.Close()
	who, err := s.WhoAmI(e.ctx)
	if err != nil {
		return err
	}
	if err := updateAccounts(e.cl, func(f map[string]account) {
		f[t.name] = account{User: s.User(), LastKnownAccess: who.Access.String()}
	}); err != nil {
		return err
	}
	if err := updateSessions(e.cl, func(f map[string]session) { f[t.name] = session{Token: s.Token()} }); err != nil {
		return err
	}
	if err := updateControllers(e.cl, func(f *controllersFile) { f.Current = t.name }); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "Welcome, %s. You are now logged into %q.\n", s.User(), t.name)
	return nil
}

const accountLoss = `preventing account loss

It appears that you have not changed the password for
your account. If this is the case, change the password
first before logging out, so that you can log in again
afterwards. To change your password, run the command
"juju change-user-password".

If you are sure you want to log out, and it is safe to
clear the credentials from the client, then you can run
this command again with the "--force" option.`

func cmdLogout(e *env, a *args) error {
	t, err := e.controllerNamed(a.get("c", "controller"))
	if err != nil {
		return err
	}
	if t.sess.GeneratedPassword && !a.has("force") {
		return errors.New(accountLoss)
	}
	if t.sess.Token != "" && t.acct.User != "" {
		// End the session on the controller; a controller that is down
		// or a session already ended leaves only the local files to clear.
		if cn, err := e.dial(t); err == nil {
			if s, err := cn.Resume(e.ctx, t.acct.User, t.sess.Token); err == nil {
				err = s.Logout(e.ctx)
				s.Close()
				if err != nil {
					return err
				}
			}
		}
	}
	// As Juju does, logging out forgets the account: listings show "-".
	if err := updateAccounts(e.cl, func(f map[string]account) { delete(f, t.name) }); err != nil {
		return err
	}
	if err := updateSessions(e.cl, func(f map[string]session) { delete(f, t.name) }); err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, "Logged out. You are no longer logged into any controllers.")
	return nil
}

// list-controllers is Juju 3.6's (cmd/juju/controller/listcontrollers*.go):
// it reads the client files only, and says so with Juju's hint; with
// --refresh it first asks each controller for its models (superuser only,
// as Juju's Controller.AllModels; a refusal is reported on stderr and the
// files' figures are shown) and records them as Juju does (models.yaml,
// and machine-count in controllers.yaml). A figure the files do not have,
// or that is 0, shows as "-"; the user's own models are shown
// unqualified; the columns are Juju's, the counts and HA right-aligned.
func cmdListControllers(e *env, a *args) error {
	if len(a.pos) > 0 {
		return usagef("list-controllers takes no arguments")
	}
	format := a.get("format")
	if format != "" && format != "tabular" && format != "json" && format != "yaml" {
		return usagef("format %q not valid: want tabular, json or yaml", format)
	}
	cf, err := e.cl.controllers()
	if err != nil {
		return err
	}
	tabular := format == "" || format == "tabular"
	if len(cf.Controllers) == 0 && tabular {
		return errors.New("No controllers registered.\n\nPlease either create a new controller using \"juju bootstrap\" or connect to\nanother controller that you have been given access to using \"juju register\".")
	}
	if a.has("refresh") {
		for _, name := range sortedKeys(cf.Controllers) {
			if err := e.refreshController(name); err != nil {
				fmt.Fprintf(e.stderr, "error updating cached details for %q: %v\n", name, err)
			}
		}
		if cf, err = e.cl.controllers(); err != nil {
			return err
		}
	}
	accts, err := e.cl.accounts()
	if err != nil {
		return err
	}
	mf, err := e.cl.models()
	if err != nil {
		return err
	}
	set := controllerSet{Controllers: map[string]controllerItem{}, CurrentController: cf.Current}
	for name, ent := range cf.Controllers {
		acct := accts[name]
		it := controllerItem{User: acct.User, Access: acct.LastKnownAccess, UUID: ent.UUID, APIEndpoints: ent.APIEndpoints,
			CACert: ent.CACert, Cloud: ent.Cloud, Region: ent.Region, AgentVersion: ent.AgentVersion}
		if len(ent.APIEndpoints) > 0 {
			it.Server = ent.APIEndpoints[0]
		}
		if cm := mf.Controllers[name]; cm != nil {
			it.ModelName = cm.CurrentModel
			if owner, short, ok := strings.Cut(it.ModelName, "/"); ok && acct.User != "" && owner == acct.User {
				it.ModelName = short // the user's own model, as Juju names it
			}
			if n := len(cm.Models); n > 0 {
				it.ModelCount = ptr(n)
			}
		}
		if ent.MachineCount != nil && *ent.MachineCount > 0 {
			it.MachineCount = ptr(*ent.MachineCount)
		}
		if ent.ControllerMachineCount > 0 {
			it.ControllerMachines = &controllerMachines{Active: ent.ActiveControllerMachineCount, Total: ent.ControllerMachineCount}
		}
		set.Controllers[name] = it
	}
	if !tabular {
		return output(e.stdout, format, set, nil)
	}
	if !a.has("refresh") {
		fmt.Fprint(e.stdout, "Use --refresh option with this command to see the latest information.\n\n")
	}
	rows := [][]string{}
	for _, name := range sortedKeys(set.Controllers) {
		c := set.Controllers[name]
		user, access := "-", "-"
		if c.User != "" {
			user, access = c.User, "(unknown)"
			if c.Access != "" {
				access = c.Access
			}
		}
		if name == set.CurrentController {
			name += "*"
		}
		cloud := c.Cloud
		if c.Region != "" {
			cloud += "/" + c.Region
		}
		version := c.AgentVersion
		if version == "" {
			version = "(unknown)"
		}
		count := func(n *int) string {
			if n == nil || *n <= 0 {
				return "-"
			}
			return strconv.Itoa(*n)
		}
		ha := "-"
		if m := c.ControllerMachines; m != nil && m.Total == 1 {
			ha = "none"
		} else if m != nil && m.Total > 1 {
			ha = strconv.Itoa(m.Total)
			if m.Active < m.Total {
				ha = fmt.Sprintf("%d/%d", m.Active, m.Total)
			}
		}
		rows = append(rows, []string{name, dash(c.ModelName), user, access, cloud, count(c.ModelCount), count(c.MachineCount), ha, version})
	}
	header := []string{"Controller", "Model", "User", "Access", "Cloud/Region", "Models", "Nodes", "HA", "Version"}
	_, err = io.WriteString(e.stdout, jujuTable(header, rows, map[int]bool{5: true, 6: true, 7: true}))
	return err
}

// refreshController is list-controllers --refresh for one controller, as
// Juju's refreshControllerDetails: every model (Controller.AllModels,
// superuser only) into models.yaml, and every machine (the models' and
// the controller's own) into controllers.yaml's machine-count.
func (e *env) refreshController(name string) error {
	c, err := e.connectTo(name)
	if err != nil {
		return err
	}
	defer c.Close()
	ms, err := c.session.Models(e.ctx, controller.ModelsOptions{All: true})
	if err != nil {
		return err
	}
	if err := updateModels(e.cl, name, func(cm *controllerModels) {
		cm.Models = map[string]modelEntry{}
		for _, m := range ms {
			cm.Models[m.FullName()] = modelEntry{UUID: m.UUID, ModelType: "iaas"}
		}
		if _, ok := cm.Models[cm.CurrentModel]; !ok {
			cm.CurrentModel = ""
		}
	}); err != nil {
		return err
	}
	machines := 1 // the controller's own, which is in no model in Herd
	for _, m := range ms {
		machines += m.Machines
	}
	return updateControllers(e.cl, func(f *controllersFile) {
		ent, ok := f.Controllers[name]
		if !ok {
			return
		}
		ent.MachineCount = ptr(machines)
		ent.ControllerMachineCount, ent.ActiveControllerMachineCount = 1, 1
		f.Controllers[name] = ent
	})
}

func ptr[T any](v T) *T { return &v }

// controllerSet and controllerItem are Juju's list-controllers document
// (cmd/juju/controller/listcontrollersconverters.go), field for field:
// the UUID is "controller-uuid" in YAML and "uuid" in JSON, as Juju's.
type controllerSet struct {
	Controllers       map[string]controllerItem `json:"controllers" yaml:"controllers"`
	CurrentController string                    `json:"current-controller" yaml:"current-controller"`
}

type controllerItem struct {
	ModelName          string              `json:"current-model,omitempty" yaml:"current-model,omitempty"`
	User               string              `json:"user,omitempty" yaml:"user,omitempty"`
	Access             string              `json:"access,omitempty" yaml:"access,omitempty"`
	Server             string              `json:"recent-server,omitempty" yaml:"recent-server,omitempty"`
	UUID               string              `json:"uuid" yaml:"controller-uuid"`
	APIEndpoints       []string            `json:"api-endpoints" yaml:"api-endpoints,flow"`
	CACert             string              `json:"ca-cert" yaml:"ca-cert"`
	Cloud              string              `json:"cloud" yaml:"cloud"`
	Region             string              `json:"region,omitempty" yaml:"region,omitempty"`
	AgentVersion       string              `json:"agent-version,omitempty" yaml:"agent-version,omitempty"`
	ModelCount         *int                `json:"model-count,omitempty" yaml:"model-count,omitempty"`
	MachineCount       *int                `json:"machine-count,omitempty" yaml:"machine-count,omitempty"`
	ControllerMachines *controllerMachines `json:"controller-machines,omitempty" yaml:"controller-machines,omitempty"`
}

type controllerMachines struct {
	Active int `json:"Active" yaml:"active"`
	Total  int `json:"Total" yaml:"total"`
}

// modelSet and modelInfo are Juju's models document
// (cmd/juju/controller/listmodels.go, cmd/juju/common ModelInfo).
type modelSet struct {
	Models       []modelInfo `json:"models" yaml:"models"`
	CurrentModel string      `json:"current-model,omitempty" yaml:"current-model,omitempty"`
}

type modelInfo struct {
	Name           string      `json:"name" yaml:"name"`
	ShortName      string      `json:"short-name" yaml:"short-name"`
	UUID           string      `json:"model-uuid" yaml:"model-uuid"`
	ModelType      string      `json:"model-type" yaml:"model-type"`
	ControllerUUID string      `json:"controller-uuid" yaml:"controller-uuid"`
	ControllerName string      `json:"controller-name" yaml:"controller-name"`
	IsController   bool        `json:"is-controller" yaml:"is-controller"`
	Owner          string      `json:"owner" yaml:"owner"`
	Cloud          string      `json:"cloud" yaml:"cloud"`
	Region         string      `json:"region,omitempty" yaml:"region,omitempty"`
	ProviderType   string      `json:"type,omitempty" yaml:"type,omitempty"`
	Life           string      `json:"life" yaml:"life"`
	Status         modelStatus `json:"status" yaml:"status"`
	Access         string      `json:"access,omitempty" yaml:"access,omitempty"`
	LastConnection string      `json:"last-connection,omitempty" yaml:"last-connection,omitempty"`
	AgentVersion   string      `json:"agent-version,omitempty" yaml:"agent-version,omitempty"`
}

type modelStatus struct {
	Current string `json:"current,omitempty" yaml:"current,omitempty"`
	Message string `json:"message,omitempty" yaml:"message,omitempty"`
}

// when is a last connection: "2 hours ago", or with --exact-time the
// time itself.
func (e *env) when(a *args, t time.Time) string {
	if a.has("exact-time") && !t.IsZero() {
		return t.UTC().Format("2006-01-02 15:04:05Z")
	}
	return ago(t, e.clock())
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

type modelRow struct {
	UUID           string `json:"-" yaml:"-"`
	Name           string `json:"name" yaml:"name"`
	Owner          string `json:"owner" yaml:"owner"`
	Current        bool   `json:"current" yaml:"current"`
	Cloud          string `json:"cloud-region" yaml:"cloud-region"`
	Type           string `json:"type" yaml:"type"`
	Status         string `json:"status" yaml:"status"`
	Machines       int    `json:"machines" yaml:"machines"`
	Units          int    `json:"units" yaml:"units"`
	Access         string `json:"access" yaml:"access"`
	LastConnection string `json:"last-connection" yaml:"last-connection"`
}

func cmdListModels(e *env, a *args) error {
	c, err := e.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	ms, err := c.session.Models(e.ctx, controller.ModelsOptions{All: a.has("all"), User: a.get("user")})
	if err != nil {
		return err
	}
	current := e.currentModel(c.name)
	var rows []modelRow
	for _, m := range ms {
		rows = append(rows, modelRow{UUID: m.UUID, Name: m.Name, Owner: m.Owner, Current: m.FullName() == current, Cloud: m.Cloud + "/" + m.Region,
			Type: m.Type, Status: string(m.Status), Machines: m.Machines, Units: m.Units, Access: m.Access.String(),
			LastConnection: e.when(a, m.LastConnection)})
	}
	if f := a.get("format"); f == "" || f == "tabular" {
		fmt.Fprintf(e.stdout, "Controller: %s\n\n", c.name)
	}
	// --format json|yaml: Juju's ModelSet; current-model is unqualified
	// for one's own model, as Juju writes it.
	set := modelSet{Models: []modelInfo{}}
	for _, m := range ms {
		set.Models = append(set.Models, modelInfo{Name: m.FullName(), ShortName: m.Name, UUID: m.UUID, ModelType: "iaas",
			ControllerUUID: c.entry.UUID, ControllerName: c.name, Owner: m.Owner, Cloud: m.Cloud, Region: m.Region,
			ProviderType: m.Type, Life: string(m.Life), Status: modelStatus{Current: string(m.Status), Message: m.StatusMessage},
			Access: m.Access.String(), LastConnection: e.when(a, m.LastConnection), AgentVersion: apiserver.ServerVersion})
		if m.FullName() == current {
			set.CurrentModel = m.FullName()
			if m.Owner == c.session.User() {
				set.CurrentModel = m.Name
			}
		}
	}
	return output(e.stdout, a.get("format"), set, func(tw *tabwriter.Writer) {
		if a.has("uuid") {
			fmt.Fprintln(tw, "Model\tUUID\tCloud/Region\tType\tStatus\tMachines\tUnits\tAccess\tLast connection")
		} else {
			fmt.Fprintln(tw, "Model\tCloud/Region\tType\tStatus\tMachines\tUnits\tAccess\tLast connection")
		}
		for _, r := range rows {
			name := r.Name
			if r.Owner != c.session.User() {
				name = r.Owner + "/" + r.Name
			}
			if r.Current {
				name += "*"
			}
			if a.has("uuid") {
				name += "\t" + r.UUID
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", name, r.Cloud, r.Type, r.Status, r.Machines, r.Units, r.Access, r.LastConnection)
		}
	})
}

type userRow struct {
	Name           string `json:"user-name" yaml:"user-name"`
	DisplayName    string `json:"display-name,omitempty" yaml:"display-name,omitempty"`
	Access         string `json:"access" yaml:"access"`
	DateCreated    string `json:"date-created" yaml:"date-created"`
	LastConnection string `json:"last-connection" yaml:"last-connection"`
	Disabled       bool   `json:"disabled,omitempty" yaml:"disabled,omitempty"`
}

func userRowOf(u controller.UserInfo, now time.Time) userRow {
	last := ago(u.LastLogin, now)
	return userRow{Name: u.Display(), DisplayName: u.DisplayName, Access: u.Access.String(),
		DateCreated: ago(u.Created, now), LastConnection: last, Disabled: u.Disabled}
}

func cmdListUsers(e *env, a *args) error {
	c, err := e.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	if len(a.pos) > 1 {
		return usagef("users takes at most one model")
	}
	if len(a.pos) == 1 {
		return modelUsers(e, a, c, a.pos[0])
	}
	us, err := c.session.Users(e.ctx, controller.UsersOptions{All: a.has("all")})
	if err != nil {
		return err
	}
	var rows []userRow
	for _, u := range us {
		rows = append(rows, userRowOf(u, e.clock()))
	}
	if f := a.get("format"); f == "" || f == "tabular" {
		fmt.Fprintf(e.stdout, "Controller: %s\n\n", c.name)
	}
	return output(e.stdout, a.get("format"), rows, func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "Name\tDisplay name\tAccess\tDate created\tLast connection")
		for _, r := range rows {
			name := r.Name
			if r.Disabled {
				name += " (disabled)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, r.DisplayName, r.Access, r.DateCreated, r.LastConnection)
		}
	})
}

func cmdShowUser(e *env, a *args) error {
	if len(a.pos) > 1 {
		return usagef("show-user takes at most one user")
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	name := ""
	if len(a.pos) == 1 {
		name = a.pos[0]
	}
	u, err := c.session.ShowUser(e.ctx, name)
	if err != nil {
		return err
	}
	row := userRowOf(u, e.clock())
	format := a.get("format")
	if format == "" {
		format = "yaml"
	}
	return output(e.stdout, format, row, func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "Name\tDisplay name\tAccess\tDate created\tLast connection")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", row.Name, row.DisplayName, row.Access, row.DateCreated, row.LastConnection)
	})
}

func cmdWhoami(e *env, a *args) error {
	c, err := e.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	who, err := c.session.WhoAmI(e.ctx)
	if err != nil {
		return err
	}
	v := struct {
		Controller string `json:"controller" yaml:"controller"`
		Model      string `json:"model" yaml:"model"`
		User       string `json:"user" yaml:"user"`
	}{who.Controller, e.currentModel(c.name), who.User}
	return output(e.stdout, a.get("format"), v, func(tw *tabwriter.Writer) {
		fmt.Fprintf(tw, "Controller:\t%s\nModel:\t%s\nUser:\t%s\n", v.Controller, dash(v.Model), v.User)
	})
}

// inModel connects to a controller and runs fn on the model -m names,
// else the current model of that controller. -m takes
// [CONTROLLER:]MODEL, as Juju's; without a controller, the current one.
func (e *env) inModel(a *args, fn func(c *conn, model string) error) error {
	m := a.get("m", "model")
	ctl := e.ctl
	if name, model, ok := strings.Cut(m, ":"); ok {
		if name == "" || model == "" {
			return usagef("-m %q not valid: want [controller:]model", m)
		}
		ctl, m = name, model
	}
	c, err := e.connectTo(ctl)
	if err != nil {
		return err
	}
	defer c.Close()
	model, err := e.modelArg(c, m)
	if err != nil {
		return err
	}
	return fn(c, model)
}

// modelArg is m, else the current model of c's controller.
func (e *env) modelArg(c *conn, m string) (string, error) {
	if m != "" {
		return m, nil
	}
	if m := e.currentModel(c.name); m != "" {
		return m, nil
	}
	return "", errors.New("no model in focus\n\nPlease use \"juju models\" to see models available to you.\nYou can set current model by running \"juju switch\"\nor specify any other model on the command line using the \"-m\" option.")
}

func cmdDeploy(e *env, a *args) error {
	if len(a.pos) < 1 || len(a.pos) > 2 {
		return usagef("deploy needs a charm and, optionally, an application name")
	}
	n, err := numUnits(a)
	if err != nil {
		return err
	}
	name := ""
	if len(a.pos) == 2 {
		name = a.pos[1]
	}
	return e.inModel(a, func(c *conn, model string) error {
		d, err := c.session.Deploy(e.ctx, model, a.pos[0], controller.DeployOptions{Name: name, NumUnits: n})
		if err != nil {
			return err
		}
		// Juju's one line: the controller records the application and
		// returns; its provisioner starts the machines (watch them with
		// status --watch, or wait-for application).
		fmt.Fprintf(e.stderr, "Deploying %q from charm %q\n", d.Application.Name, d.Application.Charm)
		return nil
	})
}

func numUnits(a *args) (int, error) {
	n := 1
	if v := a.get("n", "num-units"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			return 0, herd.Errorf(herd.ErrInvalid, "-n %q not valid: want a positive number of units", v)
		}
	}
	return n, nil
}

// printUnits lists new units and their machines (whose statuses are the
// provisioner's business by now: see status).
func printUnits(e *env, d controller.Deployed) {
	for _, u := range d.Units {
		fmt.Fprintf(e.stderr, "  %s on machine %s\n", u.Name, u.Machine)
	}
}

func cmdAddUnit(e *env, a *args) error {
	if len(a.pos) != 1 {
		return usagef("add-unit needs an application")
	}
	n, err := numUnits(a)
	if err != nil {
		return err
	}
	return e.inModel(a, func(c *conn, model string) error {
		d, err := c.session.AddUnit(e.ctx, model, a.pos[0], controller.AddUnitOptions{NumUnits: n})
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "Added %d unit(s) to %q\n", len(d.Units), d.Application.Name)
		printUnits(e, d)
		return nil
	})
}

func cmdRemoveUnit(e *env, a *args) error {
	if len(a.pos) == 0 {
		return usagef("remove-unit needs one or more units")
	}
	return e.inModel(a, func(c *conn, model string) error {
		for _, u := range a.pos {
			if err := c.session.RemoveUnit(e.ctx, model, u); err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "removing unit %s\n", u)
		}
		return nil
	})
}

func cmdRemoveApplication(e *env, a *args) error {
	if len(a.pos) == 0 {
		return usagef("remove-application needs one or more applications")
	}
	if err := e.confirm(a, fmt.Sprintf("WARNING! This command will remove the application(s) %s,\nwith all their units and machines.", strings.Join(a.pos, ", "))); err != nil {
		return err
	}
	return e.inModel(a, func(c *conn, model string) error {
		for _, app := range a.pos {
			if err := c.session.RemoveApplication(e.ctx, model, app); err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "removing application %s\n", app)
		}
		return nil
	})
}

func cmdStatus(e *env, a *args) error {
	format := a.get("format")
	var watch time.Duration
	if v := a.get("watch"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return usagef("--watch %q not valid: want a duration such as 30s or 5m", v)
		}
		watch = d
	}
	return e.inModel(a, func(c *conn, model string) error {
		if watch == 0 {
			st, err := c.session.Status(e.ctx, model)
			if err != nil {
				return err
			}
			return writeStatus(e.stdout, format, c.name, st)
		}
		return watchStatus(e, c, model, format, watch)
	})
}

func userCmd(e *env, a *args, verb string, do func(*hclient.Session, string) error) error {
	if len(a.pos) != 1 {
		return usagef("%s-user needs a user name", verb)
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	if err := do(c.session, a.pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "User %q %sd\n", a.pos[0], verb)
	return nil
}

func cmdDisableUser(e *env, a *args) error {
	return userCmd(e, a, "disable", func(s *hclient.Session, u string) error { return s.DisableUser(e.ctx, u) })
}

func cmdEnableUser(e *env, a *args) error {
	return userCmd(e, a, "enable", func(s *hclient.Session, u string) error { return s.EnableUser(e.ctx, u) })
}

func cmdRemoveUser(e *env, a *args) error {
	if len(a.pos) == 1 {
		cf, err := e.cl.controllers()
		if err != nil {
			return err
		}
		ctl := e.ctl
		if ctl == "" {
			ctl = cf.Current
		}
		if err := e.confirm(a, fmt.Sprintf("WARNING! This command will permanently archive the user %q on the %q\ncontroller. This action is irreversible.", a.pos[0], ctl)); err != nil {
			return err
		}
	}
	return userCmd(e, a, "remove", func(s *hclient.Session, u string) error { return s.RemoveUser(e.ctx, u) })
}

// cmdDestroyModel is Juju's destroy-model: the controller marks the
// model dying and its provisioner stops the machines; the command waits
// until the model is gone (--timeout, 30 minutes by default, as Juju's),
// with a progress line as the machines and applications go.
func cmdDestroyModel(e *env, a *args) error {
	if len(a.pos) != 1 {
		return usagef("destroy-model needs a model")
	}
	timeout, err := timeoutArg(a, 30*time.Minute)
	if err != nil {
		return err
	}
	if err := e.confirm(a, fmt.Sprintf("WARNING! This command will destroy the %q model.\nThis includes all machines, applications, data and other resources.", a.pos[0])); err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.session.DestroyModel(e.ctx, a.pos[0]); err != nil {
		return err
	}
	if cur := e.currentModel(c.name); cur == a.pos[0] || strings.HasSuffix(cur, "/"+a.pos[0]) {
		if err := updateModels(e.cl, c.name, func(cm *controllerModels) { delete(cm.Models, cur); cm.CurrentModel = "" }); err != nil {
			return err
		}
	}
	fmt.Fprintln(e.stderr, "Destroying model")
	if err := waitRemoved(e, c, a.pos[0], timeout); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "Model %q destroyed.\n", a.pos[0])
	return nil
}

func cmdSwitch(e *env, a *args) error {
	cf, err := e.cl.controllers()
	if err != nil {
		return err
	}
	if len(a.pos) == 0 {
		if cf.Current == "" {
			return errors.New("no currently specified controller")
		}
		fmt.Fprintf(e.stdout, "%s:%s\n", cf.Current, dash(e.currentModel(cf.Current)))
		return nil
	}
	target := a.pos[0]
	ctl, model, hasModel := strings.Cut(target, ":")
	if !hasModel {
		if _, ok := cf.Controllers[target]; ok {
			ctl, model = target, ""
		} else {
			ctl, model = cf.Current, target
		}
	}
	from := cf.Current + ":" + dash(e.currentModel(cf.Current))
	if model != "" {
		// Check that the model is there and visible, through the library,
		// before changing anything.
		c, err := e.connectTo(ctl)
		if err != nil {
			return err
		}
		defer c.Close()
		st, err := c.session.Status(e.ctx, model)
		if err != nil {
			return err
		}
		model = st.FullName()
		if err := updateControllers(e.cl, func(f *controllersFile) { f.Current = ctl }); err != nil {
			return err
		}
		if err := e.setCurrentModel(c.session, ctl, model); err != nil {
			return err
		}
	} else {
		if _, ok := cf.Controllers[ctl]; !ok {
			return fmt.Errorf("%q is not the name of a model or controller", target)
		}
		if err := updateControllers(e.cl, func(f *controllersFile) { f.Current = ctl }); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stderr, "%s -> %s:%s\n", from, ctl, dash(e.currentModel(ctl)))
	return nil
}

// destroy-controller asks the controller to destroy itself
// (Controller.DestroyController): the controller decides, superuser only,
// so any superuser's client may, as in Juju. The controller destroys its
// models and machines and closes, and its process exits (agent.go). The
// client then forgets the controller, and the bootstrapping client, whose
// folder holds the controller's state and log, removes that folder. A
// refusal changes nothing. The controller's models are always destroyed
// with it (client.Session.DestroyController sends destroy-models), so
// Juju's --destroy-all-models is accepted and changes nothing.
//
// kill-controller is for a controller whose process is down (or will not
// answer): only the bootstrapping client can, since it works on the
// controller's state file. It stops the process if it runs, opens the
// state itself, destroys the controller as the logged-in user without
// asking whether the user may, and removes the folder even if the destroy
// at the provider failed.
func cmdDestroyController(e *env, a *args) error {
	if len(a.pos) != 1 {
		return usagef("destroy-controller needs a controller name")
	}
	name := a.pos[0]
	if err := models.ValidateControllerName(name); err != nil {
		return err
	}
	c, err := e.connectTo(name)
	if err != nil {
		if errors.Is(err, herd.ErrClosed) || strings.Contains(err.Error(), "(is the controller process running?)") {
			return fmt.Errorf("%w\n\nUse \"juju kill-controller %s\" to destroy a controller whose process is down", err, name)
		}
		return err
	}
	defer c.Close()
	if err := e.confirm(a, fmt.Sprintf("WARNING! This command will destroy the %q controller and every model in it.", name)); err != nil {
		return err
	}
	// The process of a controller this client bootstrapped, known before
	// it exits (its pid file goes before it has quite finished).
	own, ownErr := e.ownControllerDir(name)
	pid, running := 0, false
	if ownErr == nil {
		pid, running = agentPID(own)
	}
	if err := c.session.DestroyController(e.ctx); err != nil && !(errors.Is(err, herd.ErrClosed) && controllerGone(e, c)) {
		return err
	}
	// The controller is gone: forget it, and remove its folder if this
	// client bootstrapped it (the folder says whose it is).
	if ownErr == nil {
		if cfg, err := readAgentConfig(own); err == nil && cfg.UUID == c.entry.UUID {
			// The process that destroyed the controller exits by itself;
			// the others of a controller in HA are stopped.
			if err := stopNodes(own); err != nil {
				return err
			}
			wait := 10 * time.Second
			if cfg.Etcd != nil {
				wait = time.Second // it may not be the one that destroyed it
			}
			if err := waitAgent(own, wait); err != nil {
				return err
			}
			for end := time.Now().Add(10 * time.Second); running && isAgent(pid, own) && time.Now().Before(end); {
				time.Sleep(20 * time.Millisecond)
			}
			if err := os.RemoveAll(own); err != nil {
				return err
			}
		}
	}
	if err := e.cl.forget(name); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "Destroyed controller %q\n", name)
	return nil
}

// controllerGone reports, after a destroy-controller whose connection
// closed before its answer came (the controller stops serving once it is
// destroyed, and the answer may lose that race), whether the controller
// is gone: it no longer answers, or answers that it is closed. One that
// still serves the session was not destroyed.
//
// A controller in HA has other processes, to which the check fails over:
// each closes as it follows the commit that destroyed the controller,
// milliseconds later, so the check is made again for up to 2 seconds.
func controllerGone(e *env, c *conn) bool {
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	for end := time.Now().Add(2 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		err := c.session.Check(ctx)
		if err != nil && errors.Is(err, herd.ErrClosed) {
			return true
		}
		if err != nil || time.Now().After(end) {
			return false
		}
	}
}

func cmdKillController(e *env, a *args) error {
	if len(a.pos) != 1 {
		return usagef("kill-controller needs a controller name")
	}
	name := a.pos[0]
	own, err := e.ownControllerDir(name)
	if err != nil {
		return err
	}
	t, err := e.controllerNamed(name)
	if err != nil {
		return err
	}
	cfg, cfgErr := readAgentConfig(own)
	if (cfgErr != nil || cfg.Etcd == nil) && checkStatePath(filepath.Join(own, stateFileName)) != nil {
		return fmt.Errorf("controller %s was not bootstrapped from this data folder: only the client that bootstrapped it can kill it (use \"juju unregister %s\" to forget it here)", name, name)
	}
	if cfgErr != nil {
		return cfgErr
	}
	if err := e.confirm(a, fmt.Sprintf("WARNING! This command will destroy the %q controller and every model in it.", name)); err != nil {
		return err
	}
	if err := stopNodes(own); err != nil {
		return err
	}
	if err := stopAgent(own); err != nil {
		return err
	}
	derr := func() error {
		prov, closeProv, err := e.agentProvider(own, cfg, false)
		if err != nil {
			return err
		}
		defer closeProv()
		cfg.Addr = "" // no API here
		ctrl, err := e.openAgentController(own, cfg, e.options(prov))
		if err != nil {
			return err
		}
		defer ctrl.Close()
		s, err := ctrl.Resume(e.ctx, t.sess.Token)
		if err != nil {
			return err
		}
		return s.DestroyController(e.ctx)
	}()
	if derr != nil {
		fmt.Fprintf(e.stderr, "WARNING the controller could not destroy its machines: %v\n", derr)
	}
	if err := e.cl.forget(name); err != nil {
		return err
	}
	if err := os.RemoveAll(own); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "Killed controller %q\n", name)
	return nil
}

// unregister forgets a controller in this client's files; the controller
// and its process are left alone.
func cmdUnregister(e *env, a *args) error {
	if len(a.pos) != 1 {
		return usagef("unregister needs a controller name")
	}
	name := a.pos[0]
	if err := models.ValidateControllerName(name); err != nil {
		return err
	}
	cf, err := e.cl.controllers()
	if err != nil {
		return err
	}
	if _, ok := cf.Controllers[name]; !ok {
		return fmt.Errorf("controller %s not found", name)
	}
	if err := e.confirm(a, fmt.Sprintf("This command will remove connection information for controller %q.\nRunning this command will not destroy the controller.", name)); err != nil {
		return err
	}
	return e.cl.forget(name)
}

type showController struct {
	Details struct {
		UUID         string   `json:"uuid" yaml:"uuid"`
		APIEndpoints []string `json:"api-endpoints" yaml:"api-endpoints"`
		Cloud        string   `json:"cloud" yaml:"cloud"`
		Region       string   `json:"region" yaml:"region"`
		AgentVersion string   `json:"agent-version" yaml:"agent-version"`
		CACert       string   `json:"ca-cert" yaml:"ca-cert"`
	} `json:"details" yaml:"details"`
	Models       map[string]modelEntry `json:"models,omitempty" yaml:"models,omitempty"`
	CurrentModel string                `json:"current-model,omitempty" yaml:"current-model,omitempty"`
	Account      *struct {
		User   string `json:"user" yaml:"user"`
		Access string `json:"access" yaml:"access"`
	} `json:"account,omitempty" yaml:"account,omitempty"`
}

func cmdShowController(e *env, a *args) error {
	if len(a.pos) > 1 {
		return usagef("show-controller takes at most one controller name")
	}
	name := ""
	if len(a.pos) == 1 {
		name = a.pos[0]
	}
	t, err := e.controllerNamed(name)
	if err != nil {
		return err
	}
	var v showController
	v.Details.UUID, v.Details.APIEndpoints, v.Details.Cloud, v.Details.Region = t.entry.UUID, t.entry.APIEndpoints, t.entry.Cloud, t.entry.Region
	v.Details.AgentVersion, v.Details.CACert = t.entry.AgentVersion, t.entry.CACert
	if mf, err := e.cl.models(); err == nil && mf.Controllers[t.name] != nil {
		v.Models, v.CurrentModel = mf.Controllers[t.name].Models, mf.Controllers[t.name].CurrentModel
	}
	if t.acct.User != "" {
		v.Account = &struct {
			User   string `json:"user" yaml:"user"`
			Access string `json:"access" yaml:"access"`
		}{t.acct.User, t.acct.LastKnownAccess}
	}
	format := a.get("format")
	if format == "" || format == "tabular" {
		format = "yaml"
	}
	return output(e.stdout, format, map[string]showController{t.name: v}, nil)
}

type modelUserRow struct {
	Name   string `json:"user-name" yaml:"user-name"`
	Access string `json:"access" yaml:"access"`
}

// modelUsers is `users MODEL`: who has access to a model (everyone for a
// model admin, only oneself for anyone else, as the controller decides).
func modelUsers(e *env, a *args, c *conn, model string) error {
	us, err := c.session.ModelUsers(e.ctx, model)
	if err != nil {
		return err
	}
	rows := []modelUserRow{}
	for _, u := range us {
		rows = append(rows, modelUserRow{Name: u.User, Access: u.Access.String()})
	}
	if f := a.get("format"); f == "" || f == "tabular" {
		fmt.Fprintf(e.stdout, "Model: %s\n\n", model)
	}
	return output(e.stdout, a.get("format"), rows, func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "Name\tAccess")
		for _, r := range rows {
			name := r.Name
			if name == c.session.User() {
				name += "*"
			}
			fmt.Fprintf(tw, "%s\t%s\n", name, r.Access)
		}
	})
}

// show-model [MODEL]: Juju's ModelInfo document, keyed by the model's
// short name, with the users the caller may see.
func cmdShowModel(e *env, a *args) error {
	if len(a.pos) > 1 {
		return usagef("show-model takes at most one model")
	}
	return e.inModel(a, func(c *conn, model string) error {
		if len(a.pos) == 1 {
			model = a.pos[0]
		}
		st, err := c.session.Status(e.ctx, model)
		if err != nil {
			return err
		}
		us, err := c.session.ModelUsers(e.ctx, st.FullName())
		if err != nil {
			return err
		}
		type userAccess struct {
			Access string `json:"access" yaml:"access"`
		}
		v := struct {
			modelInfo `yaml:",inline"`
			Users     map[string]userAccess `json:"users,omitempty" yaml:"users,omitempty"`
		}{modelInfo: modelInfo{Name: st.FullName(), ShortName: st.Name, UUID: st.UUID, ModelType: "iaas",
			ControllerUUID: c.entry.UUID, ControllerName: c.name, Owner: st.Owner, Cloud: st.Cloud, Region: st.Region,
			ProviderType: st.Type, Life: string(st.Life), Status: modelStatus{Current: string(st.Status), Message: st.StatusMessage},
			AgentVersion: apiserver.ServerVersion}, Users: map[string]userAccess{}}
		for _, u := range us {
			v.Users[u.User] = userAccess{u.Access.String()}
			if u.User == c.session.User() {
				v.Access = u.Access.String()
			}
		}
		format := a.get("format")
		if format == "" || format == "tabular" {
			format = "yaml"
		}
		return output(e.stdout, format, map[string]any{st.Name: v}, nil)
	})
}

// grant-cloud / revoke-cloud USER add-model CLOUD: Juju 3's way to let a
// user add models; Herd keeps it as the controller's add-model level, on
// the controller's one cloud.
func cmdGrantCloud(e *env, a *args) error  { return changeCloudAccess(e, a, true) }
func cmdRevokeCloud(e *env, a *args) error { return changeCloudAccess(e, a, false) }

func changeCloudAccess(e *env, a *args, grant bool) error {
	if len(a.pos) < 3 {
		return usagef("want a user, an access level and one or more clouds")
	}
	user, lvl, clouds := a.pos[0], a.pos[1], a.pos[2:]
	if lvl != "add-model" {
		return herd.Errorf(herd.ErrInvalid, "cloud access %q not supported: Herd has add-model only", lvl)
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	for _, cl := range clouds {
		if cl != c.entry.Cloud && !(cl == "localhost" && c.entry.Cloud == "lxd") && !(cl == "lxd" && c.entry.Cloud == "localhost") {
			return herd.Errorf(herd.ErrNotFound, "cloud %q not found", cl)
		}
	}
	if grant {
		return c.session.Grant(e.ctx, user, acl.AddModel, "")
	}
	return c.session.Revoke(e.ctx, user, acl.AddModel, "")
}
