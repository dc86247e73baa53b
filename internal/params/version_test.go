package params

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/herd-project/herd"
)

func TestNumber(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Number
	}{
		{"3.6.26", Number{Major: 3, Minor: 6, Patch: 26}},
		{"3.6-beta2", Number{Major: 3, Minor: 6, Tag: "beta", Patch: 2}},
		{"3.6.26.1", Number{Major: 3, Minor: 6, Patch: 26, Build: 1}},
		{"3.6-rc1.4", Number{Major: 3, Minor: 6, Tag: "rc", Patch: 1, Build: 4}},
		{"0.0.0", Number{}},
	} {
		got, err := ParseNumber(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseNumber(%q) = %+v, %v", c.in, got, err)
		}
		if got.String() != c.in {
			t.Errorf("%+v.String() = %q, want %q", got, got.String(), c.in)
		}
		b, err := json.Marshal(&got)
		if err != nil || string(b) != `"`+c.in+`"` {
			t.Errorf("Marshal = %s, %v", b, err)
		}
		var back Number
		if err := json.Unmarshal(b, &back); err != nil || back != got {
			t.Errorf("Unmarshal(%s) = %+v, %v", b, back, err)
		}
	}
	for _, bad := range []string{"", "3", "3.6", "3.6.x", "v3.6.26", "3.6.26.1.2", "3.6-Beta1", "1234567890.0.0"} {
		if _, err := ParseNumber(bad); !errors.Is(err, herd.ErrInvalid) {
			t.Errorf("ParseNumber(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	var n Number
	if err := json.Unmarshal([]byte(`{"Major":3}`), &n); err == nil {
		t.Error("an object decoded as a version; Juju sends a string")
	}
}
