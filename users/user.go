package users

import (
	"regexp"
	"strings"
	"time"

	"github.com/herd-project/herd"
)

// User is a user as Herd shows it. It carries no secret.
type User struct {
	// Name is the canonical identity: lowercase, without "@local".
	Name string
	// DisplayName is free text, shown in listings.
	DisplayName string
	// GivenName is the name as first given (its case kept), for display.
	GivenName string
	// CreatedBy is the canonical name of the superuser who added the user.
	CreatedBy string
	// Created is when the user was added.
	Created time.Time
	// Disabled users cannot log in or register.
	Disabled bool
	// LastLogin is the time of the last successful login; zero if never.
	LastLogin time.Time
}

const local = "@local"

var (
	namePart   = `[a-zA-Z0-9](?:[a-zA-Z0-9.+-]*[a-zA-Z0-9])`
	domainPart = `[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?`
	nameRE     = regexp.MustCompile(`^` + namePart + `(?:@` + domainPart + `)?$`)
)

// MaxNameLen bounds a user name, domain included.
const MaxNameLen = 255

// MaxDisplayNameLen bounds a display name, in bytes.
const MaxDisplayNameLen = 255

// ValidateDisplayName returns ErrInvalid for a display name over
// MaxDisplayNameLen bytes. Display names are otherwise free text.
func ValidateDisplayName(s string) error {
	if len(s) > MaxDisplayNameLen {
		return herd.Errorf(herd.ErrInvalid, "display name is %d bytes long: at most %d allowed", len(s), MaxDisplayNameLen)
	}
	return nil
}

// ValidateName returns ErrInvalid unless name is a valid user name.
func ValidateName(name string) error {
	if len(name) > MaxNameLen || !nameRE.MatchString(name) {
		return herd.Errorf(herd.ErrInvalid, "user name %q not valid: want letters, digits, '.', '+' or '-', at least 2 characters, starting and ending with a letter or digit, optionally @domain", name)
	}
	return nil
}

// Canonical validates name and returns its identity: lowercase, with the
// default domain "@local" dropped.
func Canonical(name string) (string, error) {
	if err := ValidateName(name); err != nil {
		return "", err
	}
	c := strings.ToLower(name)
	return strings.TrimSuffix(c, local), nil
}

// Display returns the name to show: as first given, without "@local".
func (u User) Display() string {
	if u.GivenName != "" {
		return strings.TrimSuffix(u.GivenName, local)
	}
	return u.Name
}
