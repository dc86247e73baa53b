package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/users"
)

const version = "herd-0.1"

func (e *env) clock() time.Time {
	if e.now != nil {
		return e.now()
	}
	return time.Now()
}

func cmdBootstrap(e *env, a *args) error {
	if len(a.pos) != 2 {
		return usagef("bootstrap needs a controller name and a cloud")
	}
	name, cloud := a.pos[0], a.pos[1]
	// The name becomes a folder: check it before anything else.
	dir, err := e.ownControllerDir(name)
	if err != nil {
		return err
	}
	kind := ""
	switch cloud {
	case "lxd":
		kind = "lxd"
	case "localhost-fake":
		kind = "fake"
	default:
		return fmt.Errorf("cloud %q not found: want lxd or localhost-fake", cloud)
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
	made := !exists(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	prov, closeProv, err := e.providerFor(kind, path, true)
	if err != nil {
		if made {
			os.RemoveAll(dir)
		}
		return err
	}
	defer closeProv()
	fmt.Fprintf(e.stdout, "Creating Herd controller %q on %s/default\n", name, cloud)
	opts := e.options(prov)
	opts.Path, opts.Cloud, opts.Region, opts.Addrs = path, cloud, "default", []string{address(path, kind)}
	b, err := controller.Bootstrap(e.ctx, name, opts)
	if err != nil {
		if kind == "fake" {
			os.Remove(filepath.Join(dir, fakeFileName))
		}
		if made {
			os.Remove(dir) // only if empty: a state file is never removed here
		}
		return err
	}
	defer b.Controller.Close()
	entry := controllerEntry{UUID: b.Controller.UUID(), Path: path, Provider: kind, Cloud: cloud, Region: "default"}
	if err := updateControllers(e.cl, func(f *controllersFile) { f.Controllers[name] = entry; f.Current = name }); err != nil {
		return err
	}
	if err := updateAccounts(e.cl, func(f accountsFile) {
		f[name] = account{User: b.Admin.User(), Token: b.Admin.Token(), Password: b.Secret}
	}); err != nil {
		return err
	}
	if err := updateModels(e.cl, func(f modelsFile) { f[name] = "admin/" + controller.DefaultModel }); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Bootstrap complete, controller %q is now available\nInitial model %q added\n", name, controller.DefaultModel)
	return nil
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
		token, err := c.session.ResetPassword(e.ctx, target)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Password for %q has been reset.\nAsk the user to run:\n     juju register %s\n", target, token)
		return nil
	}
	pw, err := e.newPassword(a.has("no-prompt"))
	if err != nil {
		return err
	}
	if err := c.session.ChangePassword(e.ctx, target, pw); err != nil {
		return err
	}
	if target == c.session.User() {
		// The generated secret is no longer needed: drop it.
		if err := updateAccounts(e.cl, func(f accountsFile) { acct := f[c.name]; acct.Password = ""; f[c.name] = acct }); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "Your password has been changed.")
		return nil
	}
	fmt.Fprintf(e.stdout, "Password for %q has been changed.\n", target)
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
		if err := updateModels(e.cl, func(f modelsFile) { f[c.name] = m.FullName() }); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "Added '%s' model on %s/%s for user '%s'\n", m.Name, m.Cloud, m.Region, m.Owner)
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
	// Both the name and the address come from whoever made the token:
	// check them before opening anything.
	name := tok.ControllerName
	if err := models.ValidateControllerName(name); err != nil {
		return fmt.Errorf("registration token: %w", err)
	}
	if len(tok.Addrs) == 0 {
		return errors.New("registration token has no controller address")
	}
	path, kind, err := parseAddress(tok.Addrs[0])
	if err != nil {
		return err
	}
	if cf, err := e.cl.controllers(); err != nil {
		return err
	} else if _, ok := cf.Controllers[name]; ok {
		return fmt.Errorf("controller %q already exists", name)
	}
	pw, err := e.newPassword(a.has("no-prompt"))
	if err != nil {
		return err
	}
	prov, closeProv, err := e.providerFor(kind, path, false)
	if err != nil {
		return err
	}
	defer closeProv()
	ctrl, err := controller.Open(e.ctx, path, e.options(prov))
	if err != nil {
		return err
	}
	defer ctrl.Close()
	s, err := ctrl.Register(e.ctx, a.pos[0], pw)
	if err != nil {
		return err
	}
	cloud, region := ctrl.Cloud()
	entry := controllerEntry{UUID: ctrl.UUID(), Path: path, Provider: kind, Cloud: cloud, Region: region}
	if err := updateControllers(e.cl, func(f *controllersFile) { f.Controllers[name] = entry; f.Current = name }); err != nil {
		return err
	}
	if err := updateAccounts(e.cl, func(f accountsFile) { f[name] = account{User: s.User(), Token: s.Token()} }); err != nil {
		return err
	}
	ms, err := s.Models(e.ctx, controller.ModelsOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Initial password successfully set for %s.\n\nWelcome, %s. You are now logged into %q.\n", s.User(), s.User(), name)
	switch len(ms) {
	case 0:
		fmt.Fprintln(e.stdout, "\nThere are no models available. You can add models with\n\"juju add-model\", or you can ask an administrator or owner\nof a model to grant access to that model with \"juju grant\".")
	case 1:
		if err := updateModels(e.cl, func(f modelsFile) { f[name] = ms[0].FullName() }); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "\nCurrent model set to %q.\n", ms[0].FullName())
	default:
		fmt.Fprintf(e.stdout, "\nThere are %d models available. Use \"juju switch\" to select\none of them.\n", len(ms))
	}
	return nil
}

func cmdLogin(e *env, a *args) error {
	c, err := e.openController(a.get("c", "controller"))
	if err != nil {
		return err
	}
	defer c.Close()
	user := a.get("u", "user")
	if user == "" {
		user = c.acct.User
	}
	if user == "" {
		return usagef("login needs -u user")
	}
	pw, err := e.readPassword(fmt.Sprintf("please enter password for %s on %s: ", user, c.name), a.has("no-prompt"))
	if err != nil {
		return err
	}
	s, err := c.ctrl.Login(e.ctx, user, pw)
	if err != nil {
		return err
	}
	if err := updateAccounts(e.cl, func(f accountsFile) {
		acct := f[c.name]
		if acct.User != s.User() {
			acct = account{}
		}
		acct.User, acct.Token = s.User(), s.Token()
		f[c.name] = acct
	}); err != nil {
		return err
	}
	if err := updateControllers(e.cl, func(f *controllersFile) { f.Current = c.name }); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Welcome, %s. You are now logged into %q.\n", s.User(), c.name)
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
	c, err := e.openController("")
	if err != nil {
		return err
	}
	defer c.Close()
	if c.acct.Password != "" && !a.has("force") {
		return errors.New(accountLoss)
	}
	if c.acct.Token != "" {
		if s, err := c.ctrl.Resume(e.ctx, c.acct.Token); err == nil {
			if err := s.Logout(e.ctx); err != nil {
				return err
			}
		}
	}
	if err := updateAccounts(e.cl, func(f accountsFile) { acct := f[c.name]; acct.Token, acct.Password = "", ""; f[c.name] = acct }); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "Logged out. You are no longer logged into any controllers.")
	return nil
}

type controllerRow struct {
	Controller string `json:"controller" yaml:"controller"`
	Current    bool   `json:"current" yaml:"current"`
	Model      string `json:"model" yaml:"model"`
	User       string `json:"user" yaml:"user"`
	Access     string `json:"access" yaml:"access"`
	Cloud      string `json:"cloud-region" yaml:"cloud-region"`
	Models     int    `json:"models" yaml:"models"`
	Machines   int    `json:"machines" yaml:"machines"`
	HA         string `json:"ha" yaml:"ha"`
	Version    string `json:"version" yaml:"version"`
}

func cmdListControllers(e *env, a *args) error {
	cf, err := e.cl.controllers()
	if err != nil {
		return err
	}
	accts, err := e.cl.accounts()
	if err != nil {
		return err
	}
	var rows []controllerRow
	for _, name := range sortedKeys(cf.Controllers) {
		ent := cf.Controllers[name]
		row := controllerRow{Controller: name, Current: name == cf.Current, Model: e.currentModel(name), User: accts[name].User,
			Access: "-", Cloud: ent.Cloud + "/" + ent.Region, HA: "none", Version: version}
		// Fill in what the controller says, when this user is logged in.
		if c, err := e.openController(name); err == nil {
			if s, err := c.ctrl.Resume(e.ctx, c.acct.Token); err == nil {
				if who, err := s.WhoAmI(e.ctx); err == nil {
					row.Access = who.Access.String()
				}
				if ms, err := s.Models(e.ctx, controller.ModelsOptions{}); err == nil {
					row.Models = len(ms)
					for _, m := range ms {
						row.Machines += m.Machines
					}
				}
			}
			c.Close()
		}
		rows = append(rows, row)
	}
	return output(e.stdout, a.get("format"), rows, func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "Controller\tModel\tUser\tAccess\tCloud/Region\tModels\tMachines\tHA\tVersion")
		for _, r := range rows {
			name := r.Controller
			if r.Current {
				name += "*"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", name, dash(r.Model), r.User, r.Access, r.Cloud, r.Models, r.Machines, r.HA, r.Version)
		}
	})
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

type modelRow struct {
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
	who, err := c.session.ShowUser(e.ctx, "")
	if err != nil {
		return err
	}
	current := e.currentModel(c.name)
	var rows []modelRow
	for _, m := range ms {
		rows = append(rows, modelRow{Name: m.Name, Owner: m.Owner, Current: m.FullName() == current, Cloud: m.Cloud + "/" + m.Region,
			Type: m.Type, Status: string(m.Status), Machines: m.Machines, Units: m.Units, Access: m.Access.String(),
			LastConnection: ago(who.LastLogin, e.clock())})
	}
	if f := a.get("format"); f == "" || f == "tabular" {
		fmt.Fprintf(e.stdout, "Controller: %s\n\n", c.name)
	}
	return output(e.stdout, a.get("format"), rows, func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "Model\tCloud/Region\tType\tStatus\tMachines\tUnits\tAccess\tLast connection")
		for _, r := range rows {
			name := r.Name
			if r.Owner != c.session.User() {
				name = r.Owner + "/" + r.Name
			}
			if r.Current {
				name += "*"
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

// modelArg is -m, else the current model.
// inModel connects to the current controller and runs fn on the model
// that -m names, or the current one.
func (e *env) inModel(a *args, fn func(c *conn, model string) error) error {
	c, err := e.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	model, err := e.modelArg(c, a)
	if err != nil {
		return err
	}
	return fn(c, model)
}

func (e *env) modelArg(c *conn, a *args) (string, error) {
	if m := a.get("m", "model"); m != "" {
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
		fmt.Fprintf(e.stdout, "Deployed %q from charm %q\n", d.Application.Name, d.Application.Charm)
		printUnits(e, d)
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

func printUnits(e *env, d controller.Deployed) {
	for i, u := range d.Units {
		fmt.Fprintf(e.stdout, "  %s on machine %s (%s)\n", u.Name, d.Machines[i].ID, d.Machines[i].Status)
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
		fmt.Fprintf(e.stdout, "Added %d unit(s) to %q\n", len(d.Units), d.Application.Name)
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
			fmt.Fprintf(e.stdout, "removing unit %s\n", u)
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
			fmt.Fprintf(e.stdout, "removing application %s\n", app)
		}
		return nil
	})
}

func cmdStatus(e *env, a *args) error {
	return e.inModel(a, func(c *conn, model string) error {
		st, err := c.session.Status(e.ctx, model)
		if err != nil {
			return err
		}
		type unit struct {
			Name, Machine string
		}
		type machine struct {
			ID, Status, Instance string
		}
		v := struct {
			Model        string            `json:"model" yaml:"model"`
			Controller   string            `json:"controller" yaml:"controller"`
			Cloud        string            `json:"cloud-region" yaml:"cloud-region"`
			Status       string            `json:"status" yaml:"status"`
			Applications map[string]string `json:"applications" yaml:"applications"`
			Units        []unit            `json:"units" yaml:"units"`
			Machines     []machine         `json:"machines" yaml:"machines"`
		}{Model: st.FullName(), Controller: c.name, Cloud: st.Cloud + "/" + st.Region, Status: string(st.Status), Applications: map[string]string{}}
		if st.StatusMessage != "" {
			v.Status += ": " + st.StatusMessage
		}
		for _, app := range st.Applications {
			v.Applications[app.Name] = app.Charm
		}
		for _, u := range st.Units {
			v.Units = append(v.Units, unit{u.Name, u.Machine})
		}
		for _, m := range st.Machines {
			v.Machines = append(v.Machines, machine{m.ID, string(m.Status), m.InstanceID})
		}
		return output(e.stdout, a.get("format"), v, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "Model\tController\tCloud/Region\tStatus")
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n\n", v.Model, v.Controller, v.Cloud, v.Status)
			fmt.Fprintln(tw, "App\tCharm\tUnits")
			for _, app := range st.Applications {
				n := 0
				for _, u := range st.Units {
					if u.Application == app.Name {
						n++
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\n", app.Name, app.Charm, n)
			}
			fmt.Fprintln(tw, "\nUnit\tMachine")
			for _, u := range v.Units {
				fmt.Fprintf(tw, "%s\t%s\n", u.Name, u.Machine)
			}
			fmt.Fprintln(tw, "\nMachine\tStatus\tInstance")
			for _, m := range v.Machines {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", m.ID, m.Status, m.Instance)
			}
		})
	})
}

func userCmd(e *env, a *args, verb string, do func(*controller.Session, string) error) error {
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
	fmt.Fprintf(e.stdout, "User %q %sd\n", a.pos[0], verb)
	return nil
}

func cmdDisableUser(e *env, a *args) error {
	return userCmd(e, a, "disable", func(s *controller.Session, u string) error { return s.DisableUser(e.ctx, u) })
}

func cmdEnableUser(e *env, a *args) error {
	return userCmd(e, a, "enable", func(s *controller.Session, u string) error { return s.EnableUser(e.ctx, u) })
}

func cmdRemoveUser(e *env, a *args) error {
	if len(a.pos) == 1 {
		cf, err := e.cl.controllers()
		if err != nil {
			return err
		}
		if err := e.confirm(a, fmt.Sprintf("WARNING! This command will permanently archive the user %q on the %q\ncontroller. This action is irreversible.", a.pos[0], cf.Current)); err != nil {
			return err
		}
	}
	return userCmd(e, a, "remove", func(s *controller.Session, u string) error { return s.RemoveUser(e.ctx, u) })
}

func cmdDestroyModel(e *env, a *args) error {
	if len(a.pos) != 1 {
		return usagef("destroy-model needs a model")
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
		if err := updateModels(e.cl, func(f modelsFile) { delete(f, c.name) }); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "Destroying model\nModel %q destroyed.\n", a.pos[0])
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
		st, err := c.session.Status(e.ctx, model)
		c.Close()
		if err != nil {
			return err
		}
		model = st.FullName()
		if err := updateControllers(e.cl, func(f *controllersFile) { f.Current = ctl }); err != nil {
			return err
		}
		if err := updateModels(e.cl, func(f modelsFile) { f[ctl] = model }); err != nil {
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
	fmt.Fprintf(e.stdout, "%s -> %s:%s\n", from, ctl, dash(e.currentModel(ctl)))
	return nil
}

func cmdDestroyController(e *env, a *args) error {
	if len(a.pos) != 1 {
		return usagef("destroy-controller needs a controller name")
	}
	name := a.pos[0]
	own, err := e.ownControllerDir(name)
	if err != nil {
		return err
	}
	if err := e.confirm(a, fmt.Sprintf("WARNING! This command will destroy the %q controller and every model in it.", name)); err != nil {
		return err
	}
	c, err := e.connectTo(name)
	if err != nil {
		return err
	}
	err = c.session.DestroyController(e.ctx)
	c.close()
	if err != nil {
		return err
	}
	if err := updateControllers(e.cl, func(f *controllersFile) {
		delete(f.Controllers, name)
		if f.Current == name {
			f.Current = ""
		}
	}); err != nil {
		return err
	}
	if err := updateAccounts(e.cl, func(f accountsFile) { delete(f, name) }); err != nil {
		return err
	}
	if err := updateModels(e.cl, func(f modelsFile) { delete(f, name) }); err != nil {
		return err
	}
	// Remove the controller's folder only if this client made it: a
	// registered user's entry points into the bootstrapping user's data
	// folder, which is theirs to clean up.
	if filepath.Dir(c.entry.Path) == own {
		os.RemoveAll(own)
	}
	fmt.Fprintf(e.stdout, "Destroyed controller %q\n", name)
	return nil
}
