package params

import (
	"errors"
	"testing"

	"github.com/herd-project/herd"
)

const uuidSample = "0b7c2a5e-8d8e-4d8a-8a0f-0c1d2e3f4a5b"

func TestParseTag(t *testing.T) {
	ok := []struct {
		in   string
		want Tag
		out  string // String() of the parsed tag, if it differs from in
	}{
		{in: "user-tom", want: Tag{KindUser, "tom"}},
		{in: "user-admin", want: Tag{KindUser, "admin"}},
		{in: "user-tom@local", want: Tag{KindUser, "tom"}, out: "user-tom"},
		{in: "user-bob@example.com", want: Tag{KindUser, "bob@example.com"}},
		{in: "user-a.b+c-d", want: Tag{KindUser, "a.b+c-d"}},
		{in: "user-0-a-f@123", want: Tag{KindUser, "0-a-f@123"}},
		{in: "model-" + uuidSample, want: Tag{KindModel, uuidSample}},
		{in: "controller-" + uuidSample, want: Tag{KindController, uuidSample}},
		{in: "cloud-localhost", want: Tag{KindCloud, "localhost"}},
		{in: "cloud-aws_gov.east-1", want: Tag{KindCloud, "aws_gov.east-1"}},
		{in: "application-mysql", want: Tag{KindApplication, "mysql"}},
		{in: "application-my-app2", want: Tag{KindApplication, "my-app2"}},
		{in: "unit-mysql-0", want: Tag{KindUnit, "mysql/0"}},
		{in: "unit-my-app-10", want: Tag{KindUnit, "my-app/10"}},
		{in: "machine-0", want: Tag{KindMachine, "0"}},
		{in: "machine-10-lxd-2", want: Tag{KindMachine, "10/lxd/2"}},
		// Juju accepts these, and writes them back with "-".
		{in: "unit-mysql/0", want: Tag{KindUnit, "mysql/0"}, out: "unit-mysql-0"},
		{in: "machine-0/lxd/1", want: Tag{KindMachine, "0/lxd/1"}, out: "machine-0-lxd-1"},
	}
	for _, c := range ok {
		got, err := ParseTag(c.in)
		if err != nil {
			t.Errorf("ParseTag(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseTag(%q) = %#v, want %#v", c.in, got, c.want)
		}
		out := c.out
		if out == "" {
			out = c.in
		}
		if got.String() != out {
			t.Errorf("ParseTag(%q).String() = %q, want %q", c.in, got.String(), out)
		}
	}

	bad := []struct{ in, msg string }{
		{"", `"" is not a valid tag`},
		{"tom", `"tom" is not a valid tag`},
		{"-tom", `"-tom" is not a valid tag`},
		{"person-tom", `"person-tom" is not a valid tag`},
		{"User-tom", `"User-tom" is not a valid tag`},
		{"storage-data-0", `"storage-data-0" is not a valid tag`},
		{"user-", `"user-" is not a valid user tag`},
		{"user-t", `"user-t" is not a valid user tag`}, // Juju wants two characters
		{"user-tom-", `"user-tom-" is not a valid user tag`},
		{"user-.tom", `"user-.tom" is not a valid user tag`},
		{"user-tom@", `"user-tom@" is not a valid user tag`},
		{"user-tom@a@b", `"user-tom@a@b" is not a valid user tag`},
		{"user-to m", `"user-to m" is not a valid user tag`},
		{"model-", `"model-" is not a valid model tag`},
		{"model-dev", `"model-dev" is not a valid model tag`},
		{"model-0B7C2A5E-8D8E-4D8A-8A0F-0C1D2E3F4A5B", `"model-0B7C2A5E-8D8E-4D8A-8A0F-0C1D2E3F4A5B" is not a valid model tag`},
		{"controller-" + uuidSample + "0", `"controller-` + uuidSample + `0" is not a valid controller tag`},
		{"cloud-", `"cloud-" is not a valid cloud tag`},
		{"cloud-a/b", `"cloud-a/b" is not a valid cloud tag`},
		{"application-", `"application-" is not a valid application tag`},
		{"application-MySQL", `"application-MySQL" is not a valid application tag`},
		{"application-app-1", `"application-app-1" is not a valid application tag`},
		{"application-1app", `"application-1app" is not a valid application tag`},
		{"unit-mysql", `"unit-mysql" is not a valid unit tag`},
		{"unit-mysql-01", `"unit-mysql-01" is not a valid unit tag`},
		{"unit-my-app/0", `"unit-my-app/0" is not a valid unit tag`},
		{"unit--0", `"unit--0" is not a valid unit tag`},
		{"unit-", `"unit-" is not a valid unit tag`},
		{"machine-", `"machine-" is not a valid machine tag`},
		{"machine-01", `"machine-01" is not a valid machine tag`},
		{"machine-0-lxd", `"machine-0-lxd" is not a valid machine tag`},
	}
	for _, c := range bad {
		_, err := ParseTag(c.in)
		if err == nil {
			t.Errorf("ParseTag(%q) succeeded", c.in)
			continue
		}
		if !errors.Is(err, herd.ErrInvalid) {
			t.Errorf("ParseTag(%q): %v does not wrap herd.ErrInvalid", c.in, err)
		}
		if err.Error() != c.msg {
			t.Errorf("ParseTag(%q) = %q, want %q", c.in, err, c.msg)
		}
	}
}

func TestParseKind(t *testing.T) {
	cases := []struct {
		parse func(string) (string, error)
		in    string
		want  string
		msg   string
	}{
		{ParseUserTag, "user-tom", "tom", ""},
		{ParseUserTag, "user-tom@local", "tom", ""},
		{ParseUserTag, "tom", "", `"tom" is not a valid tag`},
		{ParseUserTag, "machine-0", "", `"machine-0" is not a valid user tag`},
		{ParseUserTag, "storage-data-0", "", `"storage-data-0" is not a valid user tag`},
		{ParseModelTag, "model-" + uuidSample, uuidSample, ""},
		{ParseModelTag, "controller-" + uuidSample, "", `"controller-` + uuidSample + `" is not a valid model tag`},
		{ParseControllerTag, "controller-" + uuidSample, uuidSample, ""},
		{ParseCloudTag, "cloud-lxd", "lxd", ""},
		{ParseApplicationTag, "application-wiki", "wiki", ""},
		{ParseApplicationTag, "unit-wiki-0", "", `"unit-wiki-0" is not a valid application tag`},
		{ParseUnitTag, "unit-wiki-0", "wiki/0", ""},
		{ParseMachineTag, "machine-0-lxd-1", "0/lxd/1", ""},
	}
	for _, c := range cases {
		got, err := c.parse(c.in)
		if c.msg != "" {
			if err == nil || err.Error() != c.msg || !errors.Is(err, herd.ErrInvalid) {
				t.Errorf("parse(%q) = %q, %v; want error %q", c.in, got, err, c.msg)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("parse(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestFormatTags(t *testing.T) {
	for got, want := range map[string]string{
		UserTag("tom"):                "user-tom",
		UserTag("tom@local"):          "user-tom",
		UserTag("bob@example"):        "user-bob@example",
		ModelTag(uuidSample):          "model-" + uuidSample,
		ControllerTag(uuidSample):     "controller-" + uuidSample,
		CloudTag("localhost"):         "cloud-localhost",
		ApplicationTag("my-app"):      "application-my-app",
		UnitTag("my-app/3"):           "unit-my-app-3",
		MachineTag("0"):               "machine-0",
		MachineTag("0/lxd/1"):         "machine-0-lxd-1",
		Tag{KindUnit, "a/0"}.String(): "unit-a-0",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if !IsValidUserName("tom") || IsValidUserName("t") || !IsValidUserName("tom@local") {
		t.Error("IsValidUserName")
	}
	if !IsValidApplicationName("wiki") || IsValidApplicationName("wiki-2") {
		t.Error("IsValidApplicationName")
	}
}

// FuzzParseTag checks that ParseTag never panics, that every error wraps
// herd.ErrInvalid, and that a parsed tag writes back to a string that
// parses to the same tag.
func FuzzParseTag(f *testing.F) {
	for _, s := range []string{"user-tom", "user-tom@local", "user-bob@ext", "model-" + uuidSample,
		"controller-" + uuidSample, "cloud-lxd", "application-my-app", "unit-my-app-10",
		"machine-0-lxd-1", "", "-", "user-", "unit--0", "machine-0-", "user-\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tag, err := ParseTag(s)
		if err != nil {
			if !errors.Is(err, herd.ErrInvalid) {
				t.Fatalf("ParseTag(%q): %v does not wrap herd.ErrInvalid", s, err)
			}
			return
		}
		again, err := ParseTag(tag.String())
		if err != nil {
			t.Fatalf("ParseTag(%q) = %#v, whose String %q does not parse: %v", s, tag, tag.String(), err)
		}
		if again != tag {
			t.Fatalf("ParseTag(%q) = %#v; round trip gives %#v", s, tag, again)
		}
		if id, err := ParseKind(s, tag.Kind); err != nil || id != tag.ID {
			t.Fatalf("ParseKind(%q, %q) = %q, %v", s, tag.Kind, id, err)
		}
	})
}
