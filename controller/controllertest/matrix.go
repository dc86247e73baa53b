package controllertest

import (
	"fmt"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/herd-project/herd/acl"
)

// Op is a model operation in an access matrix, by the model level it needs
// (spec §4).
type Op string

const (
	// Status reads a model: status, show, list its users (needs read).
	Status Op = "status"
	// Deploy changes what runs in a model (needs write).
	Deploy Op = "deploy"
	// GrantOn grants or revokes others' access to a model (needs admin).
	GrantOn Op = "grant"
	// Destroy destroys a model (needs admin).
	Destroy Op = "destroy"
)

// Needs returns the model level an operation needs.
func (o Op) Needs() acl.Level {
	switch o {
	case Status:
		return acl.Read
	case Deploy:
		return acl.Write
	case GrantOn, Destroy:
		return acl.Admin
	}
	return acl.None
}

// Cell is one expectation: may User do Op on Model (owner/name)?
type Cell struct {
	User    string
	Model   string
	Op      Op
	Allowed bool
}

// AssertAccess checks every cell against the controller's own decision
// (Session.Explain, the function every operation authorizes with) and, if
// any differ, fails the test once with a table of the cells that differ
// and why each user has the access they have.
func (f *Fixture) AssertAccess(tb testing.TB, cells []Cell) {
	tb.Helper()
	var diff strings.Builder
	tw := tabwriter.NewWriter(&diff, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "user\tmodel\top\twant\tgot\twhy")
	bad := 0
	for _, c := range cells {
		if c.Op.Needs() == acl.None {
			tb.Fatalf("controllertest: unknown op %q", c.Op)
		}
		ex, err := f.Admin.Explain(f.Context(), c.User, c.Model)
		if err != nil {
			tb.Fatalf("controllertest: explain %s on %s: %v", c.User, c.Model, err)
		}
		got := ex.Access.Implies(c.Op.Needs()) && ex.Access != acl.None
		if got != c.Allowed {
			bad++
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.User, c.Model, c.Op, verdict(c.Allowed), verdict(got), ex)
		}
	}
	if bad > 0 {
		tw.Flush()
		tb.Errorf("access matrix: %d of %d cells differ:\n%s", bad, len(cells), diff.String())
	}
}

func verdict(allowed bool) string {
	if allowed {
		return "allowed"
	}
	return "denied"
}
