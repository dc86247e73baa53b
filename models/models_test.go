package models_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/models"
)

func TestNames(t *testing.T) {
	for _, c := range []struct {
		name       string
		model, app bool
	}{
		{"lxd-model-1", true, false}, // "-1" is a digit-only segment
		{"mysql-staging", true, true},
		{"mysql", true, true},
		{"m", true, true},
		{"1abc", true, false},
		{"a-b2", true, true},
		{"a--b", true, false},
		{"Mysql", false, false},
		{"my_sql", false, false},
		{"mysql-", true, false},
		{"-mysql", false, false},
		{"", false, false},
		{strings.Repeat("a", 129), false, false},
	} {
		if err := models.ValidateName(c.name); (err == nil) != c.model || (err != nil && !errors.Is(err, herd.ErrInvalid)) {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", c.name, err, c.model)
		}
		if err := models.ValidateApplicationName(c.name); (err == nil) != c.app || (err != nil && !errors.Is(err, herd.ErrInvalid)) {
			t.Errorf("ValidateApplicationName(%q) = %v, want ok=%v", c.name, err, c.app)
		}
	}
}

func TestParseUnitName(t *testing.T) {
	for _, c := range []struct {
		name string
		app  string
		n    int // -1: invalid
	}{
		{"mysql-staging/0", "mysql-staging", 0},
		{"mysql/12", "mysql", 12},
		{"mysql/999999999", "mysql", 999999999},
		{"mysql/1000000000", "", -1}, // ten digits
		{"mysql/01", "", -1},
		{"mysql/+1", "", -1},
		{"mysql/-1", "", -1},
		{"mysql/", "", -1},
		{"mysql", "", -1},
		{"/0", "", -1},
		{"lxd-model-1/0", "", -1},
		{"mysql/0/1", "", -1},
		{"mysql/1a", "", -1},
	} {
		app, n, err := models.ParseUnitName(c.name)
		if c.n < 0 {
			if !errors.Is(err, herd.ErrInvalid) {
				t.Errorf("ParseUnitName(%q) = %q, %d, %v; want ErrInvalid", c.name, app, n, err)
			}
			continue
		}
		if err != nil || app != c.app || n != c.n {
			t.Errorf("ParseUnitName(%q) = %q, %d, %v; want %q, %d", c.name, app, n, err, c.app, c.n)
		}
	}
}

func FuzzNames(f *testing.F) {
	for _, s := range []string{"mysql-staging", "lxd-model-1", "a--b", "", "mysql/0", "mysql/007"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, v := range []func(string) error{models.ValidateName, models.ValidateApplicationName, models.ValidateControllerName} {
			if err := v(s); err != nil && !errors.Is(err, herd.ErrInvalid) {
				t.Fatalf("%q: %v does not wrap ErrInvalid", s, err)
			}
		}
		// A unit name parses back to itself.
		if app, n, err := models.ParseUnitName(s); err != nil {
			if !errors.Is(err, herd.ErrInvalid) {
				t.Fatalf("%q: %v does not wrap ErrInvalid", s, err)
			}
		} else if back := fmt.Sprintf("%s/%d", app, n); back != s {
			t.Fatalf("ParseUnitName(%q) = %q, %d, which reads back as %q", s, app, n, back)
		}
		// A valid application name is always a valid model name.
		if models.ValidateApplicationName(s) == nil && models.ValidateName(s) != nil {
			t.Fatalf("%q: application name but not model name", s)
		}
	})
}
