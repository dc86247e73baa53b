// Package models holds Herd's model world as values: Model, Application,
// Unit and Machine, their name rules, statuses and the life cycle
// alive → dying → dead. It does no I/O.
//
// A model is fully named owner/name and its name is unique per owner.
// Machines are numbered "0", "1", ... per model, as in Juju; each unit of an
// application gets its own machine.
package models

import (
	"regexp"
	"strings"
	"time"

	"github.com/herd-project/herd"
)

// Life is a model's life cycle.
type Life string

const (
	Alive Life = "alive"
	Dying Life = "dying"
	Dead  Life = "dead"
)

// Status is a machine's (and a model's) status as listings show it.
type Status string

const (
	Pending    Status = "pending"
	Allocating Status = "allocating" // the provider is starting it
	Started    Status = "started"
	Stopped    Status = "stopped"
	Error      Status = "error"
	Available  Status = "available" // a model ready for use
	Destroying Status = "destroying"
)

// Model is a model as Herd shows it.
type Model struct {
	UUID   string
	Name   string
	Owner  string // canonical user name
	Cloud  string
	Region string
	Type   string // "lxd" etc.; the provider's kind
	Life   Life
	Status Status
	// StatusMessage holds the last error of a destroy that failed.
	StatusMessage string
	Created       time.Time
}

// FullName returns owner/name.
func (m Model) FullName() string { return m.Owner + "/" + m.Name }

// Application is an application deployed into a model.
type Application struct {
	ModelUUID string
	Name      string
	Charm     string
	// Life is Dying while the application is being removed ("" in state
	// written before removal existed reads as Alive).
	Life Life `json:",omitempty"`
}

// Dying reports whether the application is being removed.
func (a Application) Dying() bool { return a.Life == Dying || a.Life == Dead }

// Unit is one unit of an application, on one machine.
type Unit struct {
	ModelUUID   string
	Name        string // "mysql-staging/0"
	Application string
	Machine     string
}

// Machine is a machine in a model, provisioned by the provider. The
// controller's provisioner moves its Status from Pending through
// Allocating to Started, or to Error with the provider's message; a
// machine whose Life is Dying is being stopped, and its row (with its
// unit) goes once the provider confirms.
type Machine struct {
	ModelUUID  string
	ID         string // "0", "1", ...
	InstanceID string // the provider's id, once known
	Status     Status
	Message    string
	// Life is Dying once the machine's unit, application or model is
	// being removed ("" reads as Alive).
	Life Life `json:",omitempty"`
	// Attempts counts the starts that failed since the last success or
	// retry-provisioning.
	Attempts int `json:",omitempty"`
}

// Dying reports whether the machine is being stopped and removed.
func (m Machine) Dying() bool { return m.Life == Dying || m.Life == Dead }

var (
	modelRE = regexp.MustCompile(`^[a-z0-9]+[a-z0-9-]*$`)
	appRE   = regexp.MustCompile(`^[a-z][a-z0-9]*(?:-[a-z0-9]*[a-z][a-z0-9]*)*$`)
)

// MaxNameLen bounds model and controller names.
const MaxNameLen = 128

// ValidateName returns ErrInvalid unless name is a valid model name.
func ValidateName(name string) error {
	if len(name) > MaxNameLen || !modelRE.MatchString(name) {
		return herd.Errorf(herd.ErrInvalid, "model name %q not valid: want lowercase letters, digits and '-', starting with a letter or digit, at most %d characters", name, MaxNameLen)
	}
	return nil
}

// ValidateControllerName applies the model name rule to a controller name.
func ValidateControllerName(name string) error {
	if len(name) > MaxNameLen || !modelRE.MatchString(name) {
		return herd.Errorf(herd.ErrInvalid, "controller name %q not valid: want lowercase letters, digits and '-', starting with a letter or digit, at most %d characters", name, MaxNameLen)
	}
	return nil
}

// ValidateApplicationName returns ErrInvalid unless name is a valid
// application name (Juju's rule: lowercase letters, digits and single
// hyphens, starting with a letter, no segment of digits only).
func ValidateApplicationName(name string) error {
	if len(name) > MaxNameLen || !appRE.MatchString(name) {
		return herd.Errorf(herd.ErrInvalid, "application name %q not valid: want lowercase letters, digits and single hyphens, starting with a letter, no all-digit segment", name)
	}
	return nil
}

// ParseUnitName splits a unit name such as "mysql-staging/0" into its
// application and number, or returns ErrInvalid.
func ParseUnitName(name string) (app string, n int, err error) {
	app, num, ok := strings.Cut(name, "/")
	if ok && ValidateApplicationName(app) == nil && len(num) > 0 && len(num) <= 9 && (num == "0" || num[0] != '0') {
		n := 0
		for _, c := range []byte(num) {
			if c < '0' || c > '9' {
				n = -1
				break
			}
			n = n*10 + int(c-'0')
		}
		if n >= 0 {
			return app, n, nil
		}
	}
	return "", 0, herd.Errorf(herd.ErrInvalid, "unit name %q not valid: want <application>/<number>", name)
}

// ValidateCharmName applies the application rule to a charm name, which is
// the default application name.
func ValidateCharmName(name string) error {
	if len(name) > MaxNameLen || !appRE.MatchString(name) {
		return herd.Errorf(herd.ErrInvalid, "charm name %q not valid", name)
	}
	return nil
}
