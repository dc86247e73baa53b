package acl

// The one decision. Every operation of a controller session, the session's
// Explain, its authorization fast path and the test fixtures' access
// matrix call Decide with the facts they read; none of them re-implements
// the rule. The table below is spec §4, "who may do what", as data.

// Op is an operation as access rules see it: what it needs, not how it is
// carried out. Several controller operations share an Op (deploy, add-unit,
// remove-unit and remove-application are all WriteModel).
type Op uint8

// The operations (spec §4). The zero Op is no operation.
const (
	// UseController: be logged in (controller login).
	UseController Op = iota + 1
	// ManageUsers: add, disable, enable or remove a user, or end another
	// user's sessions (superuser).
	ManageUsers
	// ResetPassword: reset another user's password (superuser, never
	// oneself).
	ResetPassword
	// ChangePassword: set a password (oneself, or anyone for a superuser).
	ChangePassword
	// ShowUser: read a user's record (oneself, or anyone for a superuser).
	ShowUser
	// ListAllUsers: list every user (superuser; others see themselves).
	ListAllUsers
	// CreateModel: create a model owned by oneself (add-model).
	CreateModel
	// CreateModelFor: create a model owned by another user (superuser).
	CreateModelFor
	// ListModelsOf: list another user's or every model (superuser).
	ListModelsOf
	// ReadModel: show a model, its status, one's own entry in its users.
	ReadModel
	// WriteModel: deploy, add or remove units, remove an application.
	WriteModel
	// AdminModel: grant or revoke on a model, list all its users, destroy
	// it, explain another user's access to it.
	AdminModel
	// LeaveModel: revoke one's own access to a model (anyone with access,
	// beyond Juju).
	LeaveModel
	// ExplainModel: explain a user's access to a model (oneself with any
	// access, or a model admin for anyone).
	ExplainModel
	// ControllerAccess: grant or revoke controller access, destroy the
	// controller (superuser).
	ControllerAccess
	numOps
	opNone Op = 0
)

// rule is what an Op needs: a level (of the controller or of the model),
// and what being the operation's own subject changes.
type rule struct {
	name  string
	need  Level
	self  bool // allowed on oneself whatever the level (self: any access for model ops)
	never bool // never allowed on oneself, whatever the level
}

var rules = [numOps]rule{
	UseController:    {"use the controller", Login, false, false},
	ManageUsers:      {"manage users", Superuser, false, false},
	ResetPassword:    {"reset a password", Superuser, false, true},
	ChangePassword:   {"change a password", Superuser, true, false},
	ShowUser:         {"show a user", Superuser, true, false},
	ListAllUsers:     {"list all users", Superuser, false, false},
	CreateModel:      {"create a model", AddModel, false, false},
	CreateModelFor:   {"create a model for another user", Superuser, false, false},
	ListModelsOf:     {"list another user's models", Superuser, true, false},
	ReadModel:        {"read a model", Read, false, false},
	WriteModel:       {"change what runs in a model", Write, false, false},
	AdminModel:       {"administer a model", Admin, false, false},
	LeaveModel:       {"leave a model", Admin, true, false},
	ExplainModel:     {"explain access to a model", Admin, true, false},
	ControllerAccess: {"change controller access", Superuser, false, false},
}

// String names the operation in a sentence ("reset a password").
func (o Op) String() string {
	if o > opNone && o < numOps {
		return rules[o].name
	}
	return "unknown operation"
}

// Valid reports whether o is one of the operations.
func (o Op) Valid() bool { return o > opNone && o < numOps }

// Need returns the level the operation needs: a controller level, or a
// model level on the target model.
func (o Op) Need() Level {
	if !o.Valid() {
		return None
	}
	return rules[o].need
}

// Facts are what the decision reads about a user and a target. The caller
// reads them in one consistent view of the state.
type Facts struct {
	// Active: the user exists, is enabled and may log in.
	Active bool
	// Controller is the user's controller access.
	Controller Level
	// Direct is the user's direct grant on the target model (None for
	// the controller, or no grant).
	Direct Level
	// Owner: the user owns the target model.
	Owner bool
	// Self: the operation's subject is the user themself (their own
	// password, their own record, their own access to leave a model,
	// their own models).
	Self bool
}

// Decision is Decide's answer and why.
type Decision struct {
	Allowed bool
	// Access is the user's effective level of the kind the operation
	// needs: on the target model for a model operation (admin for a
	// superuser), on the controller otherwise.
	Access Level
	// Reason is where Access comes from.
	Reason Reason
}

// Decide reports whether a user with facts f may do op. It is the only
// place Herd decides access.
func Decide(op Op, f Facts) Decision {
	if !op.Valid() {
		return Decision{}
	}
	if !f.Active || f.Controller == None {
		return Decision{Reason: Inactive}
	}
	r := rules[op]
	var d Decision
	if r.need.Kind() == KindModel {
		d.Access, d.Reason = effectiveModel(f)
		if r.self && f.Self {
			// Oneself, with any access to the model.
			d.Allowed = d.Access != None
			return d
		}
	} else {
		d.Access, d.Reason = f.Controller, ControllerGrant
		if r.self && f.Self {
			d.Allowed = true
			return d
		}
	}
	if r.never && f.Self {
		return d
	}
	d.Allowed = d.Access.Implies(r.need)
	return d
}

// effectiveModel is a user's access to a model and its strongest source.
func effectiveModel(f Facts) (Level, Reason) {
	switch {
	case f.Controller == Superuser:
		return Admin, ControllerSuperuser
	case f.Direct != None && f.Owner:
		return f.Direct, Owner
	case f.Direct != None:
		return f.Direct, DirectGrant
	}
	return None, NoReason
}

// ModelOp returns the operation that acting at a model level needs
// (read, write, admin), and opNone for any other level.
func ModelOp(l Level) Op {
	switch l {
	case Read:
		return ReadModel
	case Write:
		return WriteModel
	case Admin:
		return AdminModel
	}
	return opNone
}
