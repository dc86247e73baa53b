package params

import (
	"fmt"
	"sort"
)

// Facades is every facade Herd serves and its versions, each list
// ascending. Juju's facades hold the versions Juju 3.6.26 registers
// (apiserver/facades/client/*/register.go, AllWatcher in
// apiserver/allfacades.go); HerdSession is Herd's own.
// A client picks the highest version both sides know, so serving every
// version Juju serves lets jujulib, python-libjuju and the juju CLI 3.6
// all find theirs. The table is read-only: never modify it.
var Facades = map[string][]int{
	"Admin":          {3},
	"Pinger":         {1},
	"UserManager":    {3},
	"ModelManager":   {9, 10},
	"Controller":     {11, 12},
	"Client":         {6, 7, 8},
	"Application":    {15, 16, 17, 18, 19, 20, 21, 22},
	"MachineManager": {9, 10},
	"HerdSession":    {1},
	"AllWatcher":     {3},
}

// Serves reports whether Herd serves version of facade.
func Serves(facade string, version int) bool {
	for _, v := range Facades[facade] {
		if v == version {
			return true
		}
	}
	return false
}

// controllerOnly are the facades Juju serves on a controller connection
// (wss://ADDR/api) and refuses on a model one; common are served on both
// (apiserver/restrict_controller.go). Every other facade is served on a
// model connection only.
var (
	controllerOnly = map[string]bool{"Controller": true, "ModelManager": true, "UserManager": true}
	common         = map[string]bool{"Pinger": true, "HerdSession": true}
)

// ServedOn reports whether facade is served on a model connection
// (model true) or on a controller connection (model false). Juju refuses
// the others with code "not supported" and the message NotServedOn gives.
func ServedOn(facade string, model bool) bool {
	if model {
		return !controllerOnly[facade]
	}
	return controllerOnly[facade] || common[facade]
}

// NotServedOn is Juju's error for a facade called on the wrong kind of
// connection.
func NotServedOn(facade string, model bool) *Error {
	kind := "controller"
	if model {
		kind = "model"
	}
	return &Error{
		Message: fmt.Sprintf("facade %q not supported for %s API connection", facade, kind),
		Code:    CodeNotSupported,
	}
}

// FacadeList returns the facades a login lists in LoginResult.facades:
// those ServedOn the connection, as Juju filters them, without Admin
// (Juju serves Admin before login from outside its facade registry, and
// never lists it), sorted by name so
// a reply is the same from one login to the next. The slices are fresh
// copies.
func FacadeList(model bool) []FacadeVersions {
	out := make([]FacadeVersions, 0, len(Facades))
	for name, versions := range Facades {
		if name == "Admin" || !ServedOn(name, model) {
			continue
		}
		out = append(out, FacadeVersions{Name: name, Versions: append([]int(nil), versions...)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
