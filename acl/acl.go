// Package acl holds Herd's access levels and the pure rules that decide
// them: ordering and implication, what a grant or a revoke turns a level
// into, and the invariants a controller keeps. It does no I/O.
//
// There are two kinds of level, each ordered:
//
//	controller: login < add-model < superuser
//	model:      read < write < admin
//
// A level implies every lower level of its kind; controller superuser
// implies model admin on every model; nothing on a model implies anything on
// the controller.
//
// Grant only raises (AfterGrant). Revoke sets the level to the lower of the
// current level and the level just below the one named, and never raises
// (AfterRevoke); revoking a level the user does not hold is ErrNotFound.
package acl

import (
	"fmt"

	"github.com/herd-project/herd"
)

// Level is an access level of either kind. The zero value, None, is no
// access. Levels are small integers so that checks are comparisons.
type Level uint8

// Levels. Model levels and controller levels are distinct values; use Kind
// to tell them apart.
const (
	None Level = iota
	Read
	Write
	Admin
	Login
	AddModel
	Superuser
)

// Kind is the kind of target a level applies to.
type Kind uint8

const (
	// KindNone is the kind of None.
	KindNone Kind = iota
	// KindModel is read, write and admin.
	KindModel
	// KindController is login, add-model and superuser.
	KindController
)

func (k Kind) String() string {
	switch k {
	case KindModel:
		return "model"
	case KindController:
		return "controller"
	}
	return "none"
}

var names = [...]string{None: "", Read: "read", Write: "write", Admin: "admin", Login: "login", AddModel: "add-model", Superuser: "superuser"}

// String returns the level as Juju spells it; None is "".
func (l Level) String() string {
	if int(l) < len(names) {
		return names[l]
	}
	return fmt.Sprintf("Level(%d)", uint8(l))
}

// Kind returns which kind of target the level applies to.
func (l Level) Kind() Kind {
	switch l {
	case Read, Write, Admin:
		return KindModel
	case Login, AddModel, Superuser:
		return KindController
	}
	return KindNone
}

// Valid reports whether l is one of the six levels.
func (l Level) Valid() bool { return l >= Read && l <= Superuser }

// rank is the position of a level within its kind: 0 for None, 1..3.
func (l Level) rank() int {
	switch l {
	case Read, Login:
		return 1
	case Write, AddModel:
		return 2
	case Admin, Superuser:
		return 3
	}
	return 0
}

// Implies reports whether holding l gives want: the same kind and at least
// as high. None is implied by everything. Cross-kind implication (superuser
// ⇒ model admin) is Decide's business, not this method's.
func (l Level) Implies(want Level) bool {
	if want == None {
		return true
	}
	return l.Kind() == want.Kind() && l.rank() >= want.rank()
}

// Below returns the level just below l in its kind (None below the lowest).
func (l Level) Below() Level {
	switch l {
	case Write:
		return Read
	case Admin:
		return Write
	case AddModel:
		return Login
	case Superuser:
		return AddModel
	}
	return None
}

// Parse reads a level by its Juju name. Anything else is ErrInvalid.
func Parse(s string) (Level, error) {
	for l := Read; l <= Superuser; l++ {
		if names[l] == s {
			return l, nil
		}
	}
	return None, herd.Errorf(herd.ErrInvalid, "access level %q not valid: want one of read, write, admin, login, add-model, superuser", s)
}

// ParseKind reads a level that must be of the given kind, with Juju's
// message for one of the other kind (`"admin" controller access not valid`).
func ParseKind(s string, k Kind) (Level, error) {
	l, err := Parse(s)
	if err != nil {
		return None, err
	}
	if err := CheckKind(l, k); err != nil {
		return None, err
	}
	return l, nil
}

// CheckKind returns ErrInvalid unless l is a level of kind k.
func CheckKind(l Level, k Kind) error {
	if !l.Valid() {
		return herd.Errorf(herd.ErrInvalid, "access level %d not valid", uint8(l))
	}
	if l.Kind() != k {
		return herd.Errorf(herd.ErrInvalid, "%q %s access not valid", l.String(), k)
	}
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler; "" is None.
func (l *Level) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*l = None
		return nil
	}
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}
