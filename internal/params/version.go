package params

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
)

// Number is a Juju version ("3.6.26", "3.6-beta2", "3.6.26.1"). Juju's
// version.Number marshals to its string form, not to an object: that is
// what travels in ModelInfo.agent-version and ModelSummary.agent-version
// (jujulib types both as string).
type Number struct {
	Major int
	Minor int
	Tag   string
	Patch int
	Build int
}

// String writes the version as Juju does: MAJOR.MINOR.PATCH, or
// MAJOR.MINOR-TAGPATCH for a tagged (pre-)release, then .BUILD if the
// build is not zero.
func (n Number) String() string {
	var s string
	if n.Tag == "" {
		s = fmt.Sprintf("%d.%d.%d", n.Major, n.Minor, n.Patch)
	} else {
		s = fmt.Sprintf("%d.%d-%s%d", n.Major, n.Minor, n.Tag, n.Patch)
	}
	if n.Build > 0 {
		s += fmt.Sprintf(".%d", n.Build)
	}
	return s
}

var versionPattern = regexp.MustCompile(`^(\d{1,9})\.(\d{1,9})(?:\.|-([a-z]+))(\d{1,9})(?:\.(\d{1,9}))?$`)

// ParseNumber parses a version in the form String writes.
func ParseNumber(s string) (Number, error) {
	m := versionPattern.FindStringSubmatch(s)
	if m == nil {
		return Number{}, invalid("invalid version %q", s)
	}
	atoi := func(s string) int {
		if s == "" {
			return 0
		}
		n, _ := strconv.Atoi(s) // the pattern allows 9 digits at most
		return n
	}
	return Number{Major: atoi(m[1]), Minor: atoi(m[2]), Tag: m[3], Patch: atoi(m[4]), Build: atoi(m[5])}, nil
}

// MarshalJSON writes the version as a JSON string.
func (n Number) MarshalJSON() ([]byte, error) { return json.Marshal(n.String()) }

// UnmarshalJSON reads a version from a JSON string.
func (n *Number) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := ParseNumber(s)
	if err != nil {
		return err
	}
	*n = v
	return nil
}
