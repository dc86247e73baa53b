package controllertest

import (
	"bufio"
	"fmt"
	"strings"
	"testing"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
)

// Scenario is a set of users, models and grants, written as a Go value or
// as text (ParseScenario), and built in one call (Fixture.Build).
type Scenario struct {
	Users  []ScenarioUser
	Models []ScenarioModel
	Grants []ScenarioGrant
}

// ScenarioUser is a fixture user with optional controller access beyond login.
type ScenarioUser struct {
	Name   string
	Access acl.Level // acl.None or acl.Login: just login
}

// ScenarioModel is a model and its owner.
type ScenarioModel struct {
	Owner, Name string
}

// ScenarioGrant is a model grant; Model is owner/name.
type ScenarioGrant struct {
	User  string
	Level acl.Level
	Model string
}

// Build creates the scenario's users (with passwords, logged in), models
// and grants, in that order, all in one store transaction: on any error
// nothing is created and the test fails.
func (f *Fixture) Build(tb testing.TB, s Scenario) {
	tb.Helper()
	f.admin(tb) // renewed if the test's clock has ended its session
	if err := f.build(s); err != nil {
		tb.Fatalf("controllertest: %v", err)
	}
}

func (f *Fixture) build(s Scenario) error {
	var sessions []*controller.Session
	err := f.Admin.Batch(f.Context(), func(b *controller.Batch) error {
		for _, u := range s.Users {
			var access []acl.Level
			if u.Access != acl.None && u.Access != acl.Login {
				access = []acl.Level{u.Access}
			}
			sess, err := f.addUser(b, u.Name, access)
			if err != nil {
				return fmt.Errorf("user %s: %w", u.Name, err)
			}
			sessions = append(sessions, sess)
		}
		for _, m := range s.Models {
			if _, err := b.CreateModel(m.Name, controller.CreateModelOptions{Owner: m.Owner}); err != nil {
				return fmt.Errorf("model %s/%s: %w", m.Owner, m.Name, err)
			}
		}
		for _, g := range s.Grants {
			if err := b.Grant(g.User, g.Level, g.Model); err != nil {
				return fmt.Errorf("grant %s %s %s: %w", g.User, g.Level, g.Model, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("Build: %w", err)
	}
	for _, sess := range sessions {
		f.remember(sess)
	}
	return nil
}

// ParseScenario reads a scenario written one statement a line:
//
//	user tom                      # a user with login
//	user alice add-model          # a user with more controller access
//	model admin/lxd-model-1       # a model: owner/name
//	grant tom write admin/lxd-model-1
//
// Blank lines and text after '#' are ignored. Errors are herd.ErrInvalid
// and name the line.
func ParseScenario(text string) (Scenario, error) {
	var s Scenario
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		bad := func(format string, args ...any) (Scenario, error) {
			return Scenario{}, herd.Errorf(herd.ErrInvalid, "scenario line %d: %s", n, fmt.Sprintf(format, args...))
		}
		switch {
		case f[0] == "user" && (len(f) == 2 || len(f) == 3):
			u := ScenarioUser{Name: f[1]}
			if len(f) == 3 {
				l, err := acl.ParseKind(f[2], acl.KindController)
				if err != nil {
					return bad("%v", err)
				}
				u.Access = l
			}
			s.Users = append(s.Users, u)
		case f[0] == "model" && len(f) == 2:
			owner, name, ok := strings.Cut(f[1], "/")
			if !ok || owner == "" || name == "" {
				return bad("model %q: want owner/name", f[1])
			}
			s.Models = append(s.Models, ScenarioModel{Owner: owner, Name: name})
		case f[0] == "grant" && len(f) == 4:
			l, err := acl.ParseKind(f[2], acl.KindModel)
			if err != nil {
				return bad("%v", err)
			}
			if !strings.Contains(f[3], "/") {
				return bad("model %q: want owner/name", f[3])
			}
			s.Grants = append(s.Grants, ScenarioGrant{User: f[1], Level: l, Model: f[3]})
		default:
			return bad("%q: want `user NAME [LEVEL]`, `model OWNER/NAME` or `grant USER LEVEL OWNER/NAME`", strings.Join(f, " "))
		}
	}
	if err := sc.Err(); err != nil {
		return Scenario{}, herd.Wrap(herd.ErrInvalid, err, "scenario")
	}
	return s, nil
}

// BuildText parses and builds a scenario, failing the test on error.
func (f *Fixture) BuildText(tb testing.TB, text string) {
	tb.Helper()
	s, err := ParseScenario(text)
	if err != nil {
		tb.Fatalf("controllertest: %v", err)
	}
	f.Build(tb, s)
}
