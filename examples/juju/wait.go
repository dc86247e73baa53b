package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/models"
)

// Following the provisioner: deploy, add-unit, remove-unit and
// remove-application return once the controller has recorded what is
// wanted; its provisioner starts and stops the machines. `status
// --watch`, `wait-for` and `destroy-model` follow it through the client's
// WaitFor (the model's AllWatcher, no polling), with a progress line on
// stderr at each change, as Juju's "..., waiting..." lines: on a terminal
// one line rewritten in place, otherwise a line per change (what a line
// says, and how many there are, depends on timing). Ctrl-C ends a wait.

// interruptible is e.ctx, ended also by Ctrl-C (SIGINT) or SIGTERM.
func (e *env) interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(e.ctx, os.Interrupt, syscall.SIGTERM)
}

// progress writes progress lines to stderr.
type progress struct {
	w    io.Writer
	tty  bool
	last string
	open bool // a line is on the terminal without its newline
}

func (e *env) progress() *progress {
	p := &progress{w: e.stderr}
	if f, ok := e.stderr.(*os.File); ok {
		p.tty = term.IsTerminal(int(f.Fd()))
	}
	return p
}

// say shows line, unless it is the one shown last.
func (p *progress) say(line string) {
	if line == p.last {
		return
	}
	p.last = line
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		p.open = true
		return
	}
	fmt.Fprintln(p.w, line)
}

// done clears a line left on the terminal.
func (p *progress) done() {
	if p.open {
		fmt.Fprint(p.w, "\r\033[K")
		p.open = false
	}
}

// timeoutArg reads --timeout (def when absent).
func timeoutArg(a *args, def time.Duration) (time.Duration, error) {
	v := a.get("timeout")
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, usagef("--timeout %q not valid: want a duration such as 30s or 10m", v)
	}
	return d, nil
}

// waitErr says why a wait ended early: its deadline (timedOut), Ctrl-C,
// or the controller's error.
func waitErr(parent, ctx context.Context, err error, timedOut string) error {
	switch {
	case err == nil:
		return nil
	case parent.Err() != nil:
		return errors.New("interrupted")
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		return errors.New(timedOut)
	}
	return err
}

// writeStatus writes a model's status as `juju status` shows it. A unit's
// statuses follow its machine's, as the controller's FullStatus derives
// them: allocating/waiting until the machine is started, then
// idle/unknown. A machine being stopped shows "stopping" (yaml and json:
// life dying), and its unit and a dying application "being removed".
func writeStatus(w io.Writer, format, ctl string, st controller.ModelStatus) error {
	type unit struct {
		Name    string `json:"name" yaml:"name"`
		Machine string `json:"machine" yaml:"machine"`
	}
	type machine struct {
		ID       string `json:"id" yaml:"id"`
		Status   string `json:"status" yaml:"status"`
		Instance string `json:"instance" yaml:"instance"`
		Message  string `json:"message,omitempty" yaml:"message,omitempty"`
		Life     string `json:"life,omitempty" yaml:"life,omitempty"`
	}
	v := struct {
		Model        string            `json:"model" yaml:"model"`
		Controller   string            `json:"controller" yaml:"controller"`
		Cloud        string            `json:"cloud-region" yaml:"cloud-region"`
		Status       string            `json:"status" yaml:"status"`
		Applications map[string]string `json:"applications" yaml:"applications"`
		Units        []unit            `json:"units" yaml:"units"`
		Machines     []machine         `json:"machines" yaml:"machines"`
	}{Model: st.FullName(), Controller: ctl, Cloud: st.Cloud + "/" + st.Region, Status: string(st.Status), Applications: map[string]string{}}
	if st.StatusMessage != "" {
		v.Status += ": " + st.StatusMessage
	}
	for _, app := range st.Applications {
		v.Applications[app.Name] = app.Charm
	}
	byID := map[string]models.Machine{}
	for _, u := range st.Units {
		v.Units = append(v.Units, unit{u.Name, u.Machine})
	}
	for _, m := range st.Machines {
		byID[m.ID] = m
		mv := machine{ID: m.ID, Status: string(m.Status), Instance: m.InstanceID, Message: m.Message}
		if m.Dying() {
			mv.Life = string(models.Dying)
		}
		v.Machines = append(v.Machines, mv)
	}
	dyingApps := map[string]bool{}
	for _, app := range st.Applications {
		dyingApps[app.Name] = app.Dying()
	}
	var b bytes.Buffer
	err := output(&b, format, v, func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "Model\tController\tCloud/Region\tStatus")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n\n", v.Model, v.Controller, v.Cloud, v.Status)
		fmt.Fprintln(tw, "App\tCharm\tUnits\tMessage")
		for _, app := range st.Applications {
			n := 0
			for _, u := range st.Units {
				if u.Application == app.Name {
					n++
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", app.Name, app.Charm, n, removing(app.Dying()))
		}
		fmt.Fprintln(tw, "\nUnit\tWorkload\tAgent\tMachine\tMessage")
		for _, u := range st.Units {
			m := byID[u.Machine]
			workload, agent, msg := "waiting", "allocating", "waiting for machine"
			if m.Status == models.Started {
				workload, agent, msg = "unknown", "idle", ""
			}
			if m.Dying() || dyingApps[u.Application] {
				msg = removing(true)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Name, workload, agent, u.Machine, msg)
		}
		fmt.Fprintln(tw, "\nMachine\tStatus\tInstance\tMessage")
		for _, m := range st.Machines {
			status := string(m.Status)
			if m.Dying() && m.Status != models.Error {
				status = "stopping"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.ID, status, m.InstanceID, m.Message)
		}
	})
	if err != nil {
		return err
	}
	// No trailing blanks where a row's last cells are empty.
	for line := range strings.Lines(b.String()) {
		if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

func removing(dying bool) string {
	if dying {
		return "being removed"
	}
	return ""
}

// watchStatus is `status --watch D`: the status now, then again at each
// change that shows (on a terminal, on a cleared screen; otherwise after a
// blank line), until D has passed or Ctrl-C.
func watchStatus(e *env, c *conn, model, format string, d time.Duration) error {
	parent, stop := e.interruptible()
	defer stop()
	ctx, cancel := context.WithTimeout(parent, d)
	defer cancel()
	var last string
	var werr error
	tty := false
	if f, ok := e.stdout.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	_, err := c.session.WaitFor(ctx, model, func(st controller.ModelStatus) bool {
		var b bytes.Buffer
		if werr = writeStatus(&b, format, c.name, st); werr != nil {
			return true
		}
		if out := b.String(); out != last {
			switch {
			case tty:
				fmt.Fprint(e.stdout, "\033[H\033[2J") // a fresh screen, as Juju's --watch
			case last != "":
				fmt.Fprintln(e.stdout)
			}
			io.WriteString(e.stdout, out)
			last = out
		}
		return false
	})
	if werr != nil {
		return werr
	}
	if ctx.Err() != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		return nil // the time given has passed, or Ctrl-C: watching is over
	}
	return err
}

// goal says, of a model's status, whether what is waited for holds; if
// not, a progress line, and whether a machine waited for is in error
// (then the controller says whether it is given up on).
type goal func(st controller.ModelStatus) (done bool, line string, errored bool)

// cmdWaitFor is Juju's wait-for, with Herd's goals instead of Juju's
// query language: `application NAME` waits until the application has
// units and all their machines are started; `unit NAME` and `machine ID`
// until that unit's machine, or that machine, is started; `model NAME`
// until every machine of the model is started and nothing in it is being
// removed. --timeout bounds the wait
// (10 minutes by default, as Juju's). A machine the controller has given
// up starting ends the wait with its error (retry-provisioning starts it
// again).
func cmdWaitFor(e *env, a *args) error {
	if len(a.pos) != 2 {
		return usagef("wait-for needs what to wait for (application, unit, machine or model) and its name")
	}
	kind, name := a.pos[0], a.pos[1]
	timeout, err := timeoutArg(a, 10*time.Minute)
	if err != nil {
		return err
	}
	switch kind {
	case "application":
		if err := models.ValidateApplicationName(name); err != nil {
			return err
		}
		return e.inModel(a, func(c *conn, model string) error {
			return waitGoal(e, c, model, name, timeout, func() []string { return []string{name} }, appGoal(name), fmt.Sprintf("Application %q is running", name))
		})
	case "unit":
		app, _, err := models.ParseUnitName(name)
		if err != nil {
			return err
		}
		return e.inModel(a, func(c *conn, model string) error {
			return waitGoal(e, c, model, name, timeout, func() []string { return []string{app} }, unitGoal(name), fmt.Sprintf("unit %q is running", name))
		})
	case "machine":
		if !validMachine(name) {
			return usagef("invalid machine %q", name)
		}
		return e.inModel(a, func(c *conn, model string) error {
			var app string // of the machine's unit, once seen
			apps := func() []string {
				if app == "" {
					return nil
				}
				return []string{app}
			}
			return waitGoal(e, c, model, name, timeout, apps, machineGoal(name, &app), fmt.Sprintf("machine %q is running", name))
		})
	case "model":
		if a.has("m", "model") {
			return usagef("wait-for model takes the model as its argument, not -m")
		}
		c, err := e.connect()
		if err != nil {
			return err
		}
		defer c.Close()
		return waitGoal(e, c, name, name, timeout, func() []string { return nil }, modelGoal(name), fmt.Sprintf("model %q is running", name))
	}
	return usagef("wait-for %q: want application, unit, machine or model", kind)
}

// waitGoal waits until g holds in model, printing g's progress lines,
// then says done on stderr. When a machine waited for is in error,
// WaitStarted (of the applications apps gives, or of the whole model)
// says whether the controller has given up on it (the wait ends with that
// error) or waits through its retry.
func waitGoal(e *env, c *conn, model, name string, timeout time.Duration, apps func() []string, g goal, done string) error {
	parent, stop := e.interruptible()
	defer stop()
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	p := e.progress()
	defer p.done()
	timedOut := fmt.Sprintf("timed out waiting for %q to reach goal state", name)
	for {
		var errored bool
		_, err := c.session.WaitFor(ctx, model, func(st controller.ModelStatus) bool {
			ok, line, bad := g(st)
			if !ok {
				p.say(line)
			}
			errored = bad && !ok
			return ok || bad
		})
		if err != nil {
			return waitErr(parent, ctx, err, timedOut)
		}
		if !errored {
			p.done()
			fmt.Fprintln(e.stderr, done)
			return nil
		}
		if _, err := c.session.WaitStarted(ctx, model, apps()...); err != nil {
			return waitErr(parent, ctx, err, timedOut)
		}
	}
}

// notStarted describes the machines among ids that are not started
// ("machine 0 allocating, machine 1 error: no capacity") and reports
// whether one of them is in a provisioning error.
func notStarted(st controller.ModelStatus, ids map[string]bool) (string, bool, bool) {
	var parts []string
	errored := false
	for _, m := range st.Machines {
		if !ids[m.ID] || (m.Status == models.Started && !m.Dying()) {
			continue
		}
		s := "machine " + m.ID + " " + string(m.Status)
		if m.Dying() {
			s += " (dying)"
		}
		if m.Message != "" {
			s += ": " + m.Message
		}
		parts = append(parts, s)
		if m.Status == models.Error && m.InstanceID == "" && !m.Dying() {
			errored = true
		}
	}
	return strings.Join(parts, ", "), len(parts) == 0, errored
}

func appGoal(name string) goal {
	return func(st controller.ModelStatus) (bool, string, bool) {
		i := slices.IndexFunc(st.Applications, func(a models.Application) bool { return a.Name == name })
		if i < 0 {
			return false, fmt.Sprintf("application %q not found, waiting...", name), false
		}
		if st.Applications[i].Dying() {
			return false, fmt.Sprintf("application %q is being removed, waiting...", name), false
		}
		ids := map[string]bool{}
		for _, u := range st.Units {
			if u.Application == name {
				ids[u.Machine] = true
			}
		}
		if len(ids) == 0 {
			return false, fmt.Sprintf("application %q has no units, waiting...", name), false
		}
		what, all, errored := notStarted(st, ids)
		return all, fmt.Sprintf("application %q: %s, waiting...", name, what), errored
	}
}

func unitGoal(name string) goal {
	return func(st controller.ModelStatus) (bool, string, bool) {
		i := slices.IndexFunc(st.Units, func(u models.Unit) bool { return u.Name == name })
		if i < 0 {
			return false, fmt.Sprintf("unit %q not found, waiting...", name), false
		}
		what, all, errored := notStarted(st, map[string]bool{st.Units[i].Machine: true})
		return all, fmt.Sprintf("unit %q: %s, waiting...", name, what), errored
	}
}

// machineGoal waits for machine id; it records in app the application of
// the machine's unit.
func machineGoal(id string, app *string) goal {
	return func(st controller.ModelStatus) (bool, string, bool) {
		for _, u := range st.Units {
			if u.Machine == id {
				*app = u.Application
			}
		}
		if !slices.ContainsFunc(st.Machines, func(m models.Machine) bool { return m.ID == id }) {
			return false, fmt.Sprintf("machine %q not found, waiting...", id), false
		}
		what, all, errored := notStarted(st, map[string]bool{id: true})
		return all, fmt.Sprintf("%s, waiting...", what), errored
	}
}

func modelGoal(name string) goal {
	return func(st controller.ModelStatus) (bool, string, bool) {
		if st.Life != models.Alive {
			return false, fmt.Sprintf("model %q is being removed, waiting...", name), false
		}
		ids := map[string]bool{}
		for _, m := range st.Machines {
			ids[m.ID] = true
		}
		what, all, errored := notStarted(st, ids)
		var parts []string
		if what != "" {
			parts = append(parts, what)
		}
		for _, a := range st.Applications {
			if a.Dying() {
				all = false
				parts = append(parts, "application "+a.Name+" being removed")
			}
		}
		return all, fmt.Sprintf("model %q: %s, waiting...", name, strings.Join(parts, ", ")), errored
	}
}

// waitRemoved waits until a model being destroyed is gone, with Juju's
// progress line ("Waiting for model to be removed, 1 error(s), 2
// machine(s), 1 application(s)...").
func waitRemoved(e *env, c *conn, model string, timeout time.Duration) error {
	parent, stop := e.interruptible()
	defer stop()
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	p := e.progress()
	defer p.done()
	_, err := c.session.WaitFor(ctx, model, func(st controller.ModelStatus) bool {
		line := "Waiting for model to be removed"
		errs := 0
		for _, m := range st.Machines {
			if m.Status == models.Error {
				errs++
			}
		}
		if errs > 0 {
			line += fmt.Sprintf(", %d error(s)", errs)
		}
		if n := len(st.Machines); n > 0 {
			line += fmt.Sprintf(", %d machine(s)", n)
		}
		if n := len(st.Applications); n > 0 {
			line += fmt.Sprintf(", %d application(s)", n)
		}
		if st.StatusMessage != "" {
			line += ": " + st.StatusMessage
		}
		p.say(line + "...")
		return false
	})
	if errors.Is(err, herd.ErrNotFound) {
		// Gone (the watch saw it go, or the model was already gone).
		err = c.session.WaitRemoved(ctx, model)
	}
	return waitErr(parent, ctx, err, fmt.Sprintf("timed out waiting for model %q to be removed (it is still being destroyed; run destroy-model again to wait more)", model))
}

// cmdRetryProvisioning is Juju's retry-provisioning: machines whose start
// failed and that the controller no longer retries are started again. As
// Juju's, it takes machine ids or --all; unlike Juju's, a machine that is
// not in error fails the command (exit 1) and then nothing is retried.
func cmdRetryProvisioning(e *env, a *args) error {
	all := a.has("all")
	if !all && len(a.pos) == 0 {
		return usagef("no machine specified")
	}
	if all && len(a.pos) > 0 {
		return usagef("specify machines or --all but not both")
	}
	for _, id := range a.pos {
		if !validMachine(id) {
			return usagef("invalid machine %q", id)
		}
	}
	return e.inModel(a, func(c *conn, model string) error {
		return c.session.RetryProvisioning(e.ctx, model, a.pos...)
	})
}

// validMachine reports whether id is a machine id ("0", "12").
func validMachine(id string) bool {
	n, err := strconv.Atoi(id)
	return err == nil && n >= 0 && strconv.Itoa(n) == id
}
