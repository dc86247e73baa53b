package controllertest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/users"
)

// Cell is one expectation of an access matrix: may User do Op on Target?
// The target of a model operation (acl.ReadModel, WriteModel, AdminModel,
// LeaveModel, ExplainModel) is a model, owner/name, and the operation acts
// on User themself (LeaveModel: their own access); the target of a
// controller operation is the user it acts on (acl.ChangePassword,
// ShowUser, ResetPassword, ManageUsers, ...), or "" for none.
type Cell struct {
	User    string
	Target  string
	Op      acl.Op
	Allowed bool
}

// AssertAccess checks every cell with the decision the operations
// themselves ask (Session.Allowed, as each user: the fixture's session for
// them, or a new login), and, if any differ, fails the test once with a
// table of the cells that differ and the reason for each answer. A user
// who cannot log in (disabled, removed, no controller access) is denied
// everything.
func (f *Fixture) AssertAccess(tb testing.TB, cells []Cell) {
	tb.Helper()
	var diff strings.Builder
	tw := tabwriter.NewWriter(&diff, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "user\ttarget\top\twant\tgot\twhy")
	bad := 0
	for _, c := range cells {
		if !c.Op.Valid() {
			tb.Fatalf("controllertest: AssertAccess: operation %d not valid", uint8(c.Op))
		}
		got, why := f.allowed(tb, c)
		if got != c.Allowed {
			bad++
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.User, c.Target, c.Op, verdict(c.Allowed), verdict(got), why)
		}
	}
	if bad > 0 {
		tw.Flush()
		tb.Errorf("access matrix: %d of %d cells differ:\n%s", bad, len(cells), diff.String())
	}
}

// allowed asks as c.User whether c is allowed, and why.
func (f *Fixture) allowed(tb testing.TB, c Cell) (bool, string) {
	tb.Helper()
	s, err := f.sessionOrLogin(c.User)
	if errors.Is(err, herd.ErrUnauthenticated) {
		return false, "cannot log in: " + err.Error()
	}
	if err != nil {
		tb.Fatalf("controllertest: AssertAccess: session for %q: %v", c.User, err)
	}
	model, subject := c.Target, c.User
	if c.Op.Need().Kind() != acl.KindModel {
		model, subject = "", c.Target
	}
	d, err := s.Allowed(f.Context(), c.Op, model, subject)
	switch {
	case errors.Is(err, herd.ErrUnauthenticated):
		return false, "session not valid: " + err.Error()
	case err != nil && !errors.Is(err, herd.ErrPermissionDenied):
		tb.Fatalf("controllertest: AssertAccess: %s: %s on %q: %v", c.User, c.Op, c.Target, err)
	}
	why := c.User + " has no access (" + d.Reason.String() + ")"
	if d.Access != acl.None {
		why = c.User + " has " + d.Access.String() + " by " + d.Reason.String()
	}
	return d.Allowed && err == nil, why
}

// sessionOrLogin is the fixture's valid session for name, or a new login.
func (f *Fixture) sessionOrLogin(name string) (*controller.Session, error) {
	id, err := users.Canonical(name)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	s, ok := f.sessions[id]
	f.mu.Unlock()
	if ok && s.Check(f.Context()) == nil {
		return s, nil
	}
	if s, err = f.Controller.Login(f.Context(), name, f.Password(name)); err != nil {
		return nil, err
	}
	f.remember(s)
	return s, nil
}

func verdict(allowed bool) string {
	if allowed {
		return "allowed"
	}
	return "denied"
}
