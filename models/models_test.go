package models_test

import (
	"errors"
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

func FuzzNames(f *testing.F) {
	for _, s := range []string{"mysql-staging", "lxd-model-1", "a--b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, v := range []func(string) error{models.ValidateName, models.ValidateApplicationName, models.ValidateControllerName} {
			if err := v(s); err != nil && !errors.Is(err, herd.ErrInvalid) {
				t.Fatalf("%q: %v does not wrap ErrInvalid", s, err)
			}
		}
		// A valid application name is always a valid model name.
		if models.ValidateApplicationName(s) == nil && models.ValidateName(s) != nil {
			t.Fatalf("%q: application name but not model name", s)
		}
	})
}
