package acl_test

import (
	"testing"

	"github.com/herd-project/herd/acl"
)

// TestDecide checks Decide against spec §4, written out case by case
// rather than derived from the rule table.
func TestDecide(t *testing.T) {
	su := acl.Facts{Active: true, Controller: acl.Superuser}
	am := acl.Facts{Active: true, Controller: acl.AddModel}
	login := acl.Facts{Active: true, Controller: acl.Login}
	with := func(f acl.Facts, direct acl.Level) acl.Facts { f.Direct = direct; return f }
	self := func(f acl.Facts) acl.Facts { f.Self = true; return f }
	owner := func(f acl.Facts) acl.Facts { f.Owner = true; return f }
	cases := []struct {
		name string
		op   acl.Op
		f    acl.Facts
		want bool
	}{
		{"inactive superuser", acl.ManageUsers, acl.Facts{Controller: acl.Superuser}, false},
		{"no login", acl.UseController, acl.Facts{Active: true}, false},
		{"login uses", acl.UseController, login, true},
		{"superuser adds users", acl.ManageUsers, su, true},
		{"add-model cannot add users", acl.ManageUsers, am, false},
		{"superuser resets another", acl.ResetPassword, su, true},
		{"nobody resets own", acl.ResetPassword, self(su), false},
		{"login resets none", acl.ResetPassword, login, false},
		{"own password", acl.ChangePassword, self(login), true},
		{"another's password", acl.ChangePassword, login, false},
		{"superuser sets any password", acl.ChangePassword, su, true},
		{"show self", acl.ShowUser, self(login), true},
		{"show other", acl.ShowUser, am, false},
		{"superuser shows other", acl.ShowUser, su, true},
		{"list all users", acl.ListAllUsers, am, false},
		{"superuser lists all", acl.ListAllUsers, su, true},
		{"login cannot create model", acl.CreateModel, login, false},
		{"add-model creates", acl.CreateModel, am, true},
		{"superuser creates", acl.CreateModel, su, true},
		{"add-model cannot create for other", acl.CreateModelFor, am, false},
		{"superuser creates for other", acl.CreateModelFor, su, true},
		{"list own models", acl.ListModelsOf, self(login), true},
		{"list other's models", acl.ListModelsOf, am, false},
		{"superuser lists other's models", acl.ListModelsOf, su, true},
		{"no grant cannot read", acl.ReadModel, login, false},
		{"read reads", acl.ReadModel, with(login, acl.Read), true},
		{"read cannot write", acl.WriteModel, with(login, acl.Read), false},
		{"write writes", acl.WriteModel, with(login, acl.Write), true},
		{"write cannot admin", acl.AdminModel, with(login, acl.Write), false},
		{"admin admins", acl.AdminModel, with(login, acl.Admin), true},
		{"superuser admins any model", acl.AdminModel, su, true},
		{"owner without grant has nothing", acl.ReadModel, owner(am), false},
		{"controller access implies nothing on a model", acl.ReadModel, am, false},
		{"read leaves", acl.LeaveModel, self(with(login, acl.Read)), true},
		{"no access cannot leave", acl.LeaveModel, self(login), false},
		{"write cannot revoke others", acl.LeaveModel, with(login, acl.Write), false},
		{"explain self", acl.ExplainModel, self(with(login, acl.Read)), true},
		{"explain self without access", acl.ExplainModel, self(login), false},
		{"explain other needs admin", acl.ExplainModel, with(login, acl.Write), false},
		{"admin explains other", acl.ExplainModel, with(login, acl.Admin), true},
		{"controller access", acl.ControllerAccess, with(am, acl.Admin), false},
		{"superuser controller access", acl.ControllerAccess, su, true},
		{"invalid op", acl.Op(0), su, false},
		{"unknown op", acl.Op(200), su, false},
	}
	for _, c := range cases {
		if got := acl.Decide(c.op, c.f); got.Allowed != c.want {
			t.Errorf("%s: Decide(%v, %+v) = %+v, want allowed %v", c.name, c.op, c.f, got, c.want)
		}
	}
}

func TestDecideReason(t *testing.T) {
	cases := []struct {
		f      acl.Facts
		access acl.Level
		reason acl.Reason
	}{
		{acl.Facts{Active: true, Controller: acl.Superuser, Direct: acl.Read}, acl.Admin, acl.ControllerSuperuser},
		{acl.Facts{Active: true, Controller: acl.Login, Direct: acl.Admin, Owner: true}, acl.Admin, acl.Owner},
		{acl.Facts{Active: true, Controller: acl.Login, Direct: acl.Write}, acl.Write, acl.DirectGrant},
		{acl.Facts{Active: true, Controller: acl.Login, Owner: true}, acl.None, acl.NoReason},
		{acl.Facts{Controller: acl.Superuser, Direct: acl.Admin}, acl.None, acl.Inactive},
	}
	for _, c := range cases {
		d := acl.Decide(acl.ReadModel, c.f)
		if d.Access != c.access || d.Reason != c.reason {
			t.Errorf("Decide(read, %+v) = %+v, want access %v reason %v", c.f, d, c.access, c.reason)
		}
	}
}

func TestModelOp(t *testing.T) {
	for l, want := range map[acl.Level]acl.Op{acl.Read: acl.ReadModel, acl.Write: acl.WriteModel, acl.Admin: acl.AdminModel, acl.Login: 0, acl.None: 0} {
		if got := acl.ModelOp(l); got != want {
			t.Errorf("ModelOp(%v) = %v, want %v", l, got, want)
		}
		if want != 0 && want.Need() != l {
			t.Errorf("%v.Need() = %v, want %v", want, want.Need(), l)
		}
	}
}
