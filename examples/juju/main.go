// Command juju is a Juju-like command-line tool built only on Herd's public
// API: it runs the seed's commands (shared/seed/juju-workflow-scenarios.txt)
// as they are written, and is the complete example of tooling on Herd.
//
// Build it as juju and follow the seed:
//
//	go build -o juju ./examples/juju
//	./juju bootstrap lxd-controller-1 lxd     # the LXD provider (scripts/lxd-testbed.sh)
//	./juju bootstrap demo localhost-fake      # or the fake provider, for demos
//
// As in Juju, bootstrap leaves the controller running as a process of its
// own (agent.go): its state and log are in the controller's folder in the
// bootstrapping user's data folder, and it serves Juju's API over TLS on a
// loopback port (HERD_CONTROLLER_ADDR to choose one). Every other command,
// register included, is a client of that process through Herd's Go client
// (package client): registration tokens carry host:port, register runs
// Juju's /register exchange and pins the controller's CA, and a user's
// data folder holds only Juju's client files (client.go) and the session
// credential, never a password or controller state. Two users on one
// machine are two data folders, and may be two OS users.
//
// Each user's client files live in a data folder ($JUJU_DATA, else
// $HERD_DATA, else $XDG_DATA_HOME/herd, else ~/.local/share/herd). Names
// and addresses, from the command line, a token or a client file, are
// checked before anything is opened or sent (paths.go).
//
// Environment: JUJU_DATA or HERD_DATA (the data folder);
// HERD_FAKE_PROVIDER=1 makes every cloud, lxd included, use the fake
// provider (for demos and the seed's tests on machines without LXD);
// HERD_CONTROLLER_ADDR (host:port) is where a new controller listens;
// HERD_ETCD_ENDPOINTS, HERD_ETCD_PREFIX, HERD_ETCD_CA, HERD_ETCD_CERT and
// HERD_ETCD_KEY stand for bootstrap's --etcd-* flags, which keep the
// controller's state in etcd, where enable-ha adds controller processes
// (ha.go);
// HERD_TEST_NOW (RFC 3339) fixes the clocks of the client and of a
// controller process started with it, and HERD_TEST_NO_LIMITS=1 turns the
// controller's login and register rate limits off, for tests only;
// HERD_TEST_START_FAULT (a path) makes a controller process started with
// it fail every machine start, with the file's text as the provider's
// message, while that file exists, and HERD_TEST_RETRY_DELAY (a
// duration) shortens its wait before retrying a failed start, for tests
// only.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	e := &env{ctx: context.Background(), stdin: bufio.NewReader(os.Stdin), stdinFile: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	os.Exit(e.run(os.Args[1:]))
}

// env is one invocation: its arguments' world.
type env struct {
	ctx       context.Context
	stdin     *bufio.Reader
	stdinFile *os.File // for terminal checks; nil in tests
	stdout    io.Writer
	stderr    io.Writer
	cl        client
	now       func() time.Time // nil: the wall clock
	ctl       string           // -c/--controller, for the commands that take it ("": the current one)
}

type command struct {
	run   func(e *env, a *args) error
	bools []string // flags without a value
	vals  []string // flags with a value
	usage string
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"bootstrap":            {cmdBootstrap, nil, etcdFlags, "bootstrap <cloud> [<controller>] | bootstrap <controller> <cloud> [--etcd-endpoints URL,... [--etcd-prefix P] [--etcd-ca F --etcd-cert F --etcd-key F]]"},
		"enable-ha":            {cmdEnableHA, nil, []string{"n", "c", "controller"}, "enable-ha [-n N] [-c controller]"},
		"change-user-password": {cmdChangePassword, []string{"reset", "no-prompt"}, []string{"c", "controller"}, "change-user-password [user] [--reset] [--no-prompt] [-c controller]"},
		"add-user":             {cmdAddUser, nil, []string{"c", "controller"}, "add-user <user> [display name] [-c controller]"},
		"create-model":         {cmdAddModel, nil, []string{"owner", "c", "controller"}, "add-model <name> [--owner user] [-c controller]"},
		"add-model":            {cmdAddModel, nil, []string{"owner", "c", "controller"}, "add-model <name> [--owner user] [-c controller]"},
		"grant":                {cmdGrant, nil, []string{"acl", "c", "controller"}, "grant <user> <level> [model...] | grant --acl=<level> <user> [model...] [-c controller]"},
		"revoke":               {cmdRevoke, nil, []string{"acl", "c", "controller"}, "revoke <user> <level> [model...] | revoke --acl=<level> <user> [model...] [-c controller]"},
		"register":             {cmdRegister, []string{"no-prompt", "replace"}, nil, "register <token> [--replace]"},
		"login":                {cmdLogin, []string{"no-prompt"}, []string{"u", "user", "c", "controller"}, "login [-u user] [-c controller]"},
		"logout":               {cmdLogout, []string{"force"}, []string{"c", "controller"}, "logout [-c controller] [--force]"},
		"list-controllers":     {cmdListControllers, []string{"refresh"}, []string{"format"}, "list-controllers [--format tabular|json|yaml]"},
		"controllers":          {cmdListControllers, []string{"refresh"}, []string{"format"}, "controllers [--format tabular|json|yaml]"},
		"list-models":          {cmdListModels, []string{"all", "uuid", "exact-time"}, []string{"format", "user", "c", "controller"}, "list-models [--all] [--uuid] [--exact-time] [--user u] [--format tabular|json|yaml] [-c controller]"},
		"models":               {cmdListModels, []string{"all", "uuid", "exact-time"}, []string{"format", "user", "c", "controller"}, "models [--all] [--uuid] [--exact-time] [--user u] [--format tabular|json|yaml] [-c controller]"},
		"list-users":           {cmdListUsers, []string{"all"}, []string{"format", "c", "controller"}, "list-users [model] [--all] [--format tabular|json|yaml] [-c controller]"},
		"users":                {cmdListUsers, []string{"all"}, []string{"format", "c", "controller"}, "users [model] [--all] [--format tabular|json|yaml] [-c controller]"},
		"show-user":            {cmdShowUser, nil, []string{"format", "c", "controller"}, "show-user [user] [--format yaml|json|tabular] [-c controller]"},
		"whoami":               {cmdWhoami, nil, []string{"format"}, "whoami [--format tabular|json|yaml]"},
		"deploy":               {cmdDeploy, nil, []string{"n", "num-units", "m", "model"}, "deploy <charm> [application] [-n N] [-m model]"},
		"add-unit":             {cmdAddUnit, nil, []string{"n", "num-units", "m", "model"}, "add-unit <application> [-n N] [-m model]"},
		"remove-unit":          {cmdRemoveUnit, nil, []string{"m", "model"}, "remove-unit <unit>... [-m model]"},
		"remove-application":   {cmdRemoveApplication, []string{"y", "yes", "no-prompt"}, []string{"m", "model"}, "remove-application <application>... [-y] [-m model]"},
		"status":               {cmdStatus, nil, []string{"m", "model", "format", "watch"}, "status [-m model] [--format tabular|json|yaml] [--watch DURATION]"},
		"wait-for":             {cmdWaitFor, nil, []string{"m", "model", "timeout"}, "wait-for (application|unit|machine|model) <name> [--timeout DURATION] [-m model]"},
		"retry-provisioning":   {cmdRetryProvisioning, []string{"all"}, []string{"m", "model"}, "retry-provisioning <machine>... | --all [-m model]"},
		"disable-user":         {cmdDisableUser, nil, []string{"c", "controller"}, "disable-user <user> [-c controller]"},
		"enable-user":          {cmdEnableUser, nil, []string{"c", "controller"}, "enable-user <user> [-c controller]"},
		"remove-user":          {cmdRemoveUser, []string{"y", "yes"}, []string{"c", "controller"}, "remove-user <user> [-y] [-c controller]"},
		"destroy-model":        {cmdDestroyModel, []string{"y", "yes"}, []string{"timeout"}, "destroy-model <model> [-y] [--timeout DURATION]"},
		"show-model":           {cmdShowModel, nil, []string{"m", "model", "format"}, "show-model [model] [--format yaml|json]"},
		"grant-cloud":          {cmdGrantCloud, nil, []string{"c", "controller"}, "grant-cloud <user> add-model <cloud>... [-c controller]"},
		"revoke-cloud":         {cmdRevokeCloud, nil, []string{"c", "controller"}, "revoke-cloud <user> add-model <cloud>... [-c controller]"},
		"switch":               {cmdSwitch, nil, nil, "switch [<controller>|<model>|<controller>:<model>]"},
		"destroy-controller":   {cmdDestroyController, []string{"y", "yes", "no-prompt", "destroy-all-models"}, nil, "destroy-controller <controller> [--destroy-all-models] [-y]"},
		"kill-controller":      {cmdKillController, []string{"y", "yes", "no-prompt"}, nil, "kill-controller <controller> [-y]"},
		"unregister":           {cmdUnregister, []string{"y", "yes", "no-prompt"}, nil, "unregister <controller> [-y]"},
		"show-controller":      {cmdShowController, nil, []string{"format"}, "show-controller [controller] [--format yaml|json]"},
		"controller-agent":     {cmdControllerAgent, []string{"detach"}, nil, ""}, // hidden: the controller process (agent.go)
	}
}

// args are a command's positional arguments and flags. Flags may come
// before, between or after the positionals, as `--name=value`,
// `--name value` or `-n value`.
type args struct {
	pos   []string
	flags map[string]string
}

func (a *args) has(names ...string) bool {
	for _, n := range names {
		if _, ok := a.flags[n]; ok {
			return true
		}
	}
	return false
}

func (a *args) get(names ...string) string {
	for _, n := range names {
		if v, ok := a.flags[n]; ok {
			return v
		}
	}
	return ""
}

func parseArgs(c command, in []string) (*args, error) {
	a := &args{flags: map[string]string{}}
	isBool := map[string]bool{}
	for _, b := range c.bools {
		isBool[b] = true
	}
	isVal := map[string]bool{}
	for _, v := range c.vals {
		isVal[v] = true
	}
	for i := 0; i < len(in); i++ {
		s := in[i]
		if s == "--" {
			a.pos = append(a.pos, in[i+1:]...)
			break
		}
		if len(s) < 2 || s[0] != '-' {
			a.pos = append(a.pos, s)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(s, "-"), "=")
		switch {
		case isBool[name]:
			if hasValue {
				return nil, fmt.Errorf("option --%s takes no value", name)
			}
			a.flags[name] = "true"
		case isVal[name]:
			if !hasValue {
				if i+1 >= len(in) {
					return nil, fmt.Errorf("option --%s needs a value", name)
				}
				i++
				value = in[i]
			}
			a.flags[name] = value
		default:
			return nil, fmt.Errorf("option provided but not defined: %s", s)
		}
	}
	return a, nil
}

func (e *env) run(argv []string) int {
	if len(argv) == 0 || (argv[0] == "help" && len(argv) == 1) || argv[0] == "--help" || argv[0] == "-h" {
		e.usage(e.stdout)
		return 0
	}
	if argv[0] == "help" {
		c, ok := commands[argv[1]]
		if !ok || c.usage == "" {
			fmt.Fprintf(e.stderr, "ERROR unknown command or topic for %s\n", argv[1])
			return 1
		}
		fmt.Fprintf(e.stdout, "Usage: juju %s\n", c.usage)
		return 0
	}
	c, ok := commands[argv[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "ERROR juju: %q is not a juju command. See \"juju help\".\n", argv[0])
		return 2
	}
	for _, s := range argv[1:] {
		if s == "--help" || s == "-h" {
			fmt.Fprintf(e.stdout, "Usage: juju %s\n", c.usage)
			return 0
		}
		if s == "--" {
			break
		}
	}
	a, err := parseArgs(c, argv[1:])
	if err != nil {
		// Juju (cmd/supercommand) exits 2 for flag and usage errors.
		fmt.Fprintf(e.stderr, "ERROR %v\n", err)
		return 2
	}
	for _, v := range c.vals {
		if v == "c" {
			e.ctl = a.get("c", "controller")
		}
	}
	if err = e.setup(); err == nil {
		err = c.run(e, a)
	}
	if err != nil {
		var u usageError
		if errors.As(err, &u) {
			fmt.Fprintf(e.stderr, "ERROR %v\nUsage: juju %s\n", err, c.usage)
			return 2
		}
		fmt.Fprintf(e.stderr, "ERROR %v\n", err)
		return 1
	}
	return 0
}

func (e *env) setup() error {
	dir, err := dataDir()
	if err == nil {
		// Absolute, so that a controller's folder (and its process's
		// command line) reads the same from any working directory.
		dir, err = filepath.Abs(dir)
	}
	if err != nil {
		return err
	}
	e.cl = client{dir: dir}
	if v := os.Getenv("HERD_TEST_NOW"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return fmt.Errorf("HERD_TEST_NOW %q is not an RFC 3339 time", v)
		}
		e.now = func() time.Time { return t }
	}
	return nil
}

func (e *env) usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: juju <command> [options]\n\nCommands:")
	seen := map[string]bool{}
	for _, name := range sortedKeys(commands) {
		u := commands[name].usage
		if u != "" && !seen[u] {
			seen[u] = true
			fmt.Fprintf(w, "    juju %s\n", u)
		}
	}
}

type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }
