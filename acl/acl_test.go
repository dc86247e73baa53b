package acl_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
)

var all = []acl.Level{acl.None, acl.Read, acl.Write, acl.Admin, acl.Login, acl.AddModel, acl.Superuser}

func TestParseRoundTrip(t *testing.T) {
	for _, l := range all[1:] {
		got, err := acl.Parse(l.String())
		if err != nil || got != l {
			t.Errorf("Parse(%q) = %v, %v", l.String(), got, err)
		}
	}
	for _, bad := range []string{"", "Admin", "root", "write ", "add_model"} {
		if _, err := acl.Parse(bad); !errors.Is(err, herd.ErrInvalid) {
			t.Errorf("Parse(%q) err = %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := acl.ParseKind("admin", acl.KindController); !errors.Is(err, herd.ErrInvalid) || err.Error() != `"admin" controller access not valid` {
		t.Errorf("ParseKind(admin, controller) = %v", err)
	}
	if _, err := acl.ParseKind("superuser", acl.KindModel); err == nil || err.Error() != `"superuser" model access not valid` {
		t.Errorf("ParseKind(superuser, model) = %v", err)
	}
}

// rank written out by hand, so the test does not reuse the code's ordering.
var order = map[acl.Level]struct {
	kind string
	rank int
}{
	acl.Read: {"m", 1}, acl.Write: {"m", 2}, acl.Admin: {"m", 3},
	acl.Login: {"c", 1}, acl.AddModel: {"c", 2}, acl.Superuser: {"c", 3},
}

func TestImpliesExhaustive(t *testing.T) {
	for _, have := range all {
		for _, want := range all {
			h, w := order[have], order[want]
			expect := want == acl.None || (have != acl.None && h.kind == w.kind && h.rank >= w.rank)
			if got := have.Implies(want); got != expect {
				t.Errorf("%q.Implies(%q) = %v, want %v", have, want, got, expect)
			}
		}
	}
}

func TestGrantExhaustive(t *testing.T) {
	// want: the expected level, or an error kind.
	cases := []struct {
		cur, want acl.Level
		next      acl.Level
		err       error
	}{
		{acl.None, acl.Read, acl.Read, nil},
		{acl.None, acl.Write, acl.Write, nil},
		{acl.None, acl.Admin, acl.Admin, nil},
		{acl.Read, acl.Read, acl.Read, herd.ErrAlreadyExists},
		{acl.Read, acl.Write, acl.Write, nil},
		{acl.Read, acl.Admin, acl.Admin, nil},
		{acl.Write, acl.Read, acl.Write, herd.ErrAlreadyExists},
		{acl.Write, acl.Write, acl.Write, herd.ErrAlreadyExists},
		{acl.Write, acl.Admin, acl.Admin, nil},
		{acl.Admin, acl.Read, acl.Admin, herd.ErrAlreadyExists},
		{acl.Admin, acl.Write, acl.Admin, herd.ErrAlreadyExists},
		{acl.Admin, acl.Admin, acl.Admin, herd.ErrAlreadyExists},
		{acl.None, acl.Login, acl.Login, nil},
		{acl.None, acl.Superuser, acl.Superuser, nil},
		{acl.Login, acl.Login, acl.Login, herd.ErrAlreadyExists},
		{acl.Login, acl.AddModel, acl.AddModel, nil},
		{acl.Login, acl.Superuser, acl.Superuser, nil},
		{acl.AddModel, acl.Login, acl.AddModel, herd.ErrAlreadyExists},
		{acl.AddModel, acl.Superuser, acl.Superuser, nil},
		{acl.Superuser, acl.AddModel, acl.Superuser, herd.ErrAlreadyExists},
		{acl.Superuser, acl.Superuser, acl.Superuser, herd.ErrAlreadyExists},
		{acl.Read, acl.Login, acl.Read, herd.ErrInvalid},
		{acl.Login, acl.Admin, acl.Login, herd.ErrInvalid},
		{acl.Read, acl.None, acl.Read, herd.ErrInvalid},
	}
	for _, c := range cases {
		got, err := acl.AfterGrant(c.cur, c.want)
		if got != c.next || !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
			t.Errorf("Grant(%q, %q) = %q, %v; want %q, %v", c.cur, c.want, got, err, c.next, c.err)
		}
	}
	if _, err := acl.AfterGrant(acl.Write, acl.Read); err.Error() != `user already has "read" access or greater` {
		t.Errorf("message = %q", err)
	}
}

func TestRevokeTable(t *testing.T) {
	// The spec's revoke table, §3, for every current level of the kind.
	cases := []struct {
		cur, named acl.Level
		next       acl.Level
		err        error
	}{
		{acl.Read, acl.Read, acl.None, nil},
		{acl.Write, acl.Read, acl.None, nil},
		{acl.Admin, acl.Read, acl.None, nil},
		{acl.Write, acl.Write, acl.Read, nil},
		{acl.Admin, acl.Write, acl.Read, nil},
		{acl.Admin, acl.Admin, acl.Write, nil},
		{acl.None, acl.Read, acl.None, herd.ErrNotFound},
		{acl.Read, acl.Write, acl.Read, herd.ErrNotFound},
		{acl.Read, acl.Admin, acl.Read, herd.ErrNotFound}, // Juju would raise to write: never.
		{acl.Write, acl.Admin, acl.Write, herd.ErrNotFound},
		{acl.Login, acl.Login, acl.None, nil},
		{acl.AddModel, acl.Login, acl.None, nil},
		{acl.Superuser, acl.Login, acl.None, nil},
		{acl.AddModel, acl.AddModel, acl.Login, nil},
		{acl.Superuser, acl.AddModel, acl.Login, nil},
		{acl.Superuser, acl.Superuser, acl.AddModel, nil},
		{acl.Login, acl.AddModel, acl.Login, herd.ErrNotFound},
		{acl.Login, acl.Superuser, acl.Login, herd.ErrNotFound},
		{acl.AddModel, acl.Superuser, acl.AddModel, herd.ErrNotFound},
		{acl.Admin, acl.Login, acl.Admin, herd.ErrNotFound},
	}
	for _, c := range cases {
		got, err := acl.AfterRevoke(c.cur, c.named)
		if got != c.next || !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
			t.Errorf("Revoke(%q, %q) = %q, %v; want %q, %v", c.cur, c.named, got, err, c.next, c.err)
		}
	}
}

// Revoke never raises, over every pair.
func TestRevokeNeverRaises(t *testing.T) {
	for _, cur := range all {
		for _, named := range all[1:] {
			got, _ := acl.AfterRevoke(cur, named)
			if cur != acl.None && got != acl.None && got.Kind() == cur.Kind() && order[got].rank > order[cur].rank {
				t.Errorf("Revoke(%q, %q) raised to %q", cur, named, got)
			}
			if cur == acl.None && got != acl.None {
				t.Errorf("Revoke(none, %q) = %q", named, got)
			}
		}
	}
}

// A user's effective access to a model, as Decide reports it: the direct
// grant, raised to admin for a controller superuser.
func TestEffectiveModelAccess(t *testing.T) {
	for _, ctl := range []acl.Level{acl.None, acl.Login, acl.AddModel, acl.Superuser} {
		for _, direct := range []acl.Level{acl.None, acl.Read, acl.Write, acl.Admin} {
			want := direct
			if ctl == acl.Superuser {
				want = acl.Admin
			}
			if ctl == acl.None {
				want = acl.None // no login: no access at all
			}
			if got := acl.Decide(acl.ReadModel, acl.Facts{Active: true, Controller: ctl, Direct: direct}).Access; got != want {
				t.Errorf("access with controller %q and grant %q = %q, want %q", ctl, direct, got, want)
			}
		}
	}
}

func TestInvariants(t *testing.T) {
	for _, c := range []struct {
		was, stays bool
		n          int
		fail       bool
	}{
		{true, false, 1, true}, {true, false, 2, false}, {true, true, 1, false},
		{false, false, 1, false}, {false, false, 0, false},
	} {
		err := acl.CheckSuperusers(c.was, c.stays, c.n)
		if (err != nil) != c.fail || (err != nil && !errors.Is(err, herd.ErrFailedPrecondition)) {
			t.Errorf("CheckSuperusers(%v, %v, %d) = %v", c.was, c.stays, c.n, err)
		}
	}
	for _, before := range all[:4] {
		for _, after := range all[:4] {
			for n := 0; n <= 2; n++ {
				err := acl.CheckModelAdmins("admin/m", before, after, n)
				want := before == acl.Admin && after != acl.Admin && n <= 1
				if (err != nil) != want {
					t.Errorf("CheckModelAdmins(%q→%q, %d) = %v", before, after, n, err)
				}
			}
		}
	}
	if err := acl.CheckOwner(true, "admin", acl.Disabling); err == nil || err.Error() != "cannot disable controller owner" {
		t.Errorf("owner disable: %v", err)
	}
	if err := acl.CheckOwner(true, "admin", acl.Removing); err == nil || err.Error() != `cannot delete controller owner "admin"` {
		t.Errorf("owner remove: %v", err)
	}
	if err := acl.CheckOwner(false, "tom", acl.Removing); err != nil {
		t.Errorf("non-owner remove: %v", err)
	}
}

func ExampleAfterRevoke() {
	next, _ := acl.AfterRevoke(acl.Admin, acl.Write)
	fmt.Println(next)
	_, err := acl.AfterRevoke(acl.Read, acl.Admin)
	fmt.Println(err)
	// Output:
	// read
	// does not have "admin" access
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"read", "write", "admin", "login", "add-model", "superuser", "", "Admin", "add_model"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := acl.Parse(s)
		if err != nil {
			if !errors.Is(err, herd.ErrInvalid) || l != acl.None {
				t.Fatalf("Parse(%q) = %v, %v", s, l, err)
			}
			return
		}
		if !l.Valid() || l.String() != s {
			t.Fatalf("Parse(%q) = %v, which prints as %q", s, l, l.String())
		}
		var back acl.Level
		if err := back.UnmarshalText([]byte(s)); err != nil || back != l {
			t.Fatalf("UnmarshalText(%q) = %v, %v", s, back, err)
		}
	})
}
