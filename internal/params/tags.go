package params

import (
	"regexp"
	"strings"

	"github.com/herd-project/herd"
)

// Kind is the kind of a tag: the part before the first "-".
type Kind string

// The tag kinds Herd reads and writes. Juju knows more kinds (storage,
// volume, relation, action, ...); Herd rejects them as invalid tags,
// since no call it serves takes one.
const (
	KindUser        Kind = "user"
	KindModel       Kind = "model"
	KindController  Kind = "controller"
	KindCloud       Kind = "cloud"
	KindApplication Kind = "application"
	KindUnit        Kind = "unit"
	KindMachine     Kind = "machine"
)

// otherJujuKinds are tag kinds Juju parses and Herd does not. Asked for a
// user tag, Juju says `"storage-data-0" is not a valid user tag` for one of
// these, and Herd says the same.
var otherJujuKinds = map[string]bool{
	"action": true, "applicationoffer": true, "caasmodel": true, "charm": true,
	"cloudcred": true, "controlleragent": true, "filesystem": true, "ipaddress": true,
	"operation": true, "payload": true, "relation": true, "space": true,
	"storage": true, "subnet": true, "volume": true,
}

// localDomain is the domain of users kept by the controller itself. Juju
// drops it from tags and names: "tom@local" is written "user-tom".
const localDomain = "local"

// The name rules of juju/names (v5), which Juju 3.6 uses. A user name has
// two characters at least; an application name starts with a letter and
// has no "-" followed by digits only at the end (that would read as a
// unit number).
var (
	userPart        = `[a-zA-Z0-9][a-zA-Z0-9.+-]*[a-zA-Z0-9]`
	validUser       = regexp.MustCompile(`^(` + userPart + `)(?:@(` + userPart + `))?$`)
	numberPart      = `(?:0|[1-9][0-9]*)`
	applicationPart = `(?:[a-z][a-z0-9]*(?:-[a-z0-9]*[a-z][a-z0-9]*)*)`
	validApp        = regexp.MustCompile(`^` + applicationPart + `$`)
	validUnit       = regexp.MustCompile(`^` + applicationPart + `/` + numberPart + `$`)
	validMachine    = regexp.MustCompile(`^` + numberPart + `(?:/[a-z]+/` + numberPart + `)*$`)
	validUUID       = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	validCloud      = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]{0,200}$`)
)

// Tag is a parsed tag. ID is the thing's Juju identifier, in the form
// Juju's names package gives it: "tom" (a local user, the "@local"
// domain dropped), "bob@example" (an external user), a UUID, "mysql",
// "mysql/0", "0/lxd/1".
type Tag struct {
	Kind Kind
	ID   string
}

// String writes the tag: KIND-ID, with the "/" of unit and machine IDs
// replaced by "-" ("unit-mysql-0", "machine-0-lxd-1").
func (t Tag) String() string {
	return string(t.Kind) + "-" + strings.ReplaceAll(t.ID, "/", "-")
}

// ParseTag parses a tag of any kind Herd knows. An error wraps
// herd.ErrInvalid and reads as Juju's: `"tom" is not a valid tag` when the
// kind is missing or unknown, `"user-" is not a valid user tag` when the
// identifier is wrong for its kind.
func ParseTag(s string) (Tag, error) {
	kind, rest, ok := strings.Cut(s, "-")
	if !ok || kind == "" {
		return Tag{}, invalidTag(s, "")
	}
	var id string
	var valid bool
	switch k := Kind(kind); k {
	case KindUser:
		id, valid = userID(rest)
	case KindModel, KindController:
		id, valid = rest, validUUID.MatchString(rest)
	case KindCloud:
		id, valid = rest, validCloud.MatchString(rest)
	case KindApplication:
		id, valid = rest, validApp.MatchString(rest)
	case KindUnit:
		// Only the last "-" separates the number: application names
		// may hold hyphens themselves. Like Juju, a "/" already in
		// place is accepted ("unit-mysql/0").
		id = rest
		if i := strings.LastIndex(rest, "-"); i > 0 {
			id = rest[:i] + "/" + rest[i+1:]
		}
		valid = validUnit.MatchString(id)
	case KindMachine:
		// As in Juju, "machine-0/lxd/1" is accepted too.
		id = strings.ReplaceAll(rest, "-", "/")
		valid = validMachine.MatchString(id)
	default:
		return Tag{}, invalidTag(s, "")
	}
	if !valid {
		return Tag{}, invalidTag(s, Kind(kind))
	}
	return Tag{Kind: Kind(kind), ID: id}, nil
}

// userID validates a user identifier and drops the local domain.
func userID(s string) (string, bool) {
	m := validUser.FindStringSubmatch(s)
	if m == nil {
		return "", false
	}
	if m[2] == "" || m[2] == localDomain {
		return m[1], true
	}
	return m[1] + "@" + m[2], true
}

// ParseKind parses a tag that must be of the given kind. A well-formed tag
// of another kind fails with `"machine-0" is not a valid user tag`, as
// Juju's ParseUserTag and friends say.
func ParseKind(s string, kind Kind) (string, error) {
	t, err := ParseTag(s)
	if err != nil {
		if k, _, _ := strings.Cut(s, "-"); otherJujuKinds[k] {
			return "", invalidTag(s, kind)
		}
		return "", err
	}
	if t.Kind != kind {
		return "", invalidTag(s, kind)
	}
	return t.ID, nil
}

// ParseUserTag returns the user name of a user tag: "user-tom" and
// "user-tom@local" both give "tom". An external user keeps its domain
// ("bob@example"); Herd keeps local users only, so a caller refuses a
// name that still holds an "@".
func ParseUserTag(s string) (string, error) { return ParseKind(s, KindUser) }

// ParseModelTag returns the UUID of a model tag.
func ParseModelTag(s string) (string, error) { return ParseKind(s, KindModel) }

// ParseControllerTag returns the UUID of a controller tag.
func ParseControllerTag(s string) (string, error) { return ParseKind(s, KindController) }

// ParseCloudTag returns the cloud name of a cloud tag.
func ParseCloudTag(s string) (string, error) { return ParseKind(s, KindCloud) }

// ParseApplicationTag returns the application name of an application tag.
func ParseApplicationTag(s string) (string, error) { return ParseKind(s, KindApplication) }

// ParseUnitTag returns the unit name ("mysql/0") of a unit tag.
func ParseUnitTag(s string) (string, error) { return ParseKind(s, KindUnit) }

// ParseMachineTag returns the machine ID ("0", "0/lxd/1") of a machine tag.
func ParseMachineTag(s string) (string, error) { return ParseKind(s, KindMachine) }

// UserTag returns the tag of a user; the local domain is dropped, as
// Juju's names.NewUserTag does ("tom@local" gives "user-tom").
func UserTag(name string) string {
	if id, ok := userID(name); ok {
		name = id
	}
	return Tag{Kind: KindUser, ID: name}.String()
}

// ModelTag returns the tag of a model.
func ModelTag(uuid string) string { return Tag{Kind: KindModel, ID: uuid}.String() }

// ControllerTag returns the tag of a controller.
func ControllerTag(uuid string) string { return Tag{Kind: KindController, ID: uuid}.String() }

// CloudTag returns the tag of a cloud.
func CloudTag(name string) string { return Tag{Kind: KindCloud, ID: name}.String() }

// ApplicationTag returns the tag of an application.
func ApplicationTag(name string) string { return Tag{Kind: KindApplication, ID: name}.String() }

// UnitTag returns the tag of a unit: "mysql/0" gives "unit-mysql-0".
func UnitTag(name string) string { return Tag{Kind: KindUnit, ID: name}.String() }

// MachineTag returns the tag of a machine: "0/lxd/1" gives
// "machine-0-lxd-1".
func MachineTag(id string) string { return Tag{Kind: KindMachine, ID: id}.String() }

// IsValidUserName reports whether name is a valid Juju user name, with
// an optional domain. Juju requires two characters at least.
func IsValidUserName(name string) bool { return validUser.MatchString(name) }

// IsValidApplicationName reports whether name is a valid application name.
func IsValidApplicationName(name string) bool { return validApp.MatchString(name) }

func invalidTag(s string, kind Kind) error {
	if kind == "" {
		return herd.Errorf(herd.ErrInvalid, "%q is not a valid tag", s)
	}
	return herd.Errorf(herd.ErrInvalid, "%q is not a valid %s tag", s, kind)
}

func invalid(format string, args ...any) error {
	return herd.Errorf(herd.ErrInvalid, format, args...)
}
