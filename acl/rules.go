package acl

import "github.com/herd-project/herd"

// AfterGrant returns the level a user holding current has after being granted
// want. Grant only raises: when current already implies want it fails with
// ErrAlreadyExists and Juju's message.
func AfterGrant(current, want Level) (Level, error) {
	if !want.Valid() {
		return current, herd.Errorf(herd.ErrInvalid, "access level %d not valid", uint8(want))
	}
	if current != None && current.Kind() != want.Kind() {
		return current, herd.Errorf(herd.ErrInvalid, "cannot mix %s and %s access", current.Kind(), want.Kind())
	}
	if current.Implies(want) && current != None {
		return current, herd.Errorf(herd.ErrAlreadyExists, "user already has %q access or greater", want.String())
	}
	return want, nil
}

// AfterRevoke returns the level a user holding current has after named is
// revoked: the lower of current and the level just below named. It never
// raises. A user who does not hold named keeps current and the call fails
// with ErrNotFound; the caller adds the user and target to the message.
func AfterRevoke(current, named Level) (Level, error) {
	if !named.Valid() {
		return current, herd.Errorf(herd.ErrInvalid, "access level %d not valid", uint8(named))
	}
	if current == None || !current.Implies(named) {
		return current, herd.Errorf(herd.ErrNotFound, "does not have %q access", named.String())
	}
	below := named.Below()
	if below.rank() < current.rank() {
		return below, nil
	}
	return current, nil
}

// Reason says where a user's access to a model comes from.
type Reason uint8

const (
	// NoReason: the user has no access.
	NoReason Reason = iota
	// DirectGrant: the user holds a grant on the model.
	DirectGrant
	// Owner: the user owns the model and holds its owner's admin grant.
	Owner
	// ControllerSuperuser: the user is a controller superuser, which implies admin.
	ControllerSuperuser
	// ControllerGrant: the user's controller access (for controller operations).
	ControllerGrant
	// Inactive: the user is disabled, removed or may not log in, which
	// leaves no access at all.
	Inactive
)

func (r Reason) String() string {
	switch r {
	case DirectGrant:
		return "direct grant"
	case Owner:
		return "model owner"
	case ControllerSuperuser:
		return "controller superuser"
	case ControllerGrant:
		return "controller access"
	case Inactive:
		return "user inactive"
	}
	return "no access"
}
