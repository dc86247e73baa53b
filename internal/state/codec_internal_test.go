package state

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/store"
	"github.com/herd-project/herd/store/storetest"
)

// sealed encodes js as a record of table and key with a valid checksum,
// whatever js holds.
func sealed(table Table, key, js string) store.Record {
	v := []byte{format, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(v[1:], checksum(string(table), key, format, []byte(js)))
	return store.Record{Table: string(table), Key: key, Value: append(v, js...)}
}

// Every kind of damaged record is refused at load with ErrInvalid naming
// its table, and nothing is loaded.
func TestDamagedRecordsRefused(t *testing.T) {
	g := Grant{ModelUUID: "mu", User: "tom", Level: acl.Write}
	k, err := key(TableGrants, g)
	if err != nil {
		t.Fatal(err)
	}
	good, err := encode(TableGrants, k, g)
	if err != nil {
		t.Fatal(err)
	}
	rec := func(table, key string, v []byte) store.Record { return store.Record{Table: table, Key: key, Value: v} }
	flipped := func(at int) []byte { v := slices.Clone(good); v[at] ^= 0x20; return v }
	grants := string(TableGrants)
	cases := map[string]store.Record{
		"flip in the JSON":       rec(grants, k, flipped(len(good)-5)),
		"flip in the checksum":   rec(grants, k, flipped(2)),
		"flip of the format":     rec(grants, k, flipped(0)),
		"truncated":              rec(grants, k, good[:len(good)-1]),
		"too short":              rec(grants, k, good[:3]),
		"moved to another key":   rec(grants, "mu\x00bob\x00", good),
		"moved to another table": rec(string(TableSessions), k, good),
		"sealed, not JSON":       sealed(TableGrants, k, `{"ModelUUID":`),
		"sealed, key not its":    sealed(TableGrants, "mu\x00bob\x00", `{"ModelUUID":"mu","User":"tom","Level":"write"}`),
		"sealed, unknown level":  sealed(TableGrants, k, `{"ModelUUID":"mu","User":"tom","Level":"owner"}`),
		"unknown table":          rec("grants", k, good),
	}
	if _, err := decode(rec(grants, k, good)); err != nil {
		t.Fatalf("the good record is refused: %v", err)
	}
	for name, bad := range cases {
		m := storetest.NewMemory()
		other := sealed(TableUsers, "zed\x00", `{"Name":"zed"}`)
		if err := m.Apply(context.Background(), []store.Record{other, bad}); err != nil {
			t.Fatal(err)
		}
		s, err := New(context.Background(), m)
		if err == nil {
			t.Errorf("%s: loaded, holding %v", name, s.Dump())
			continue
		}
		want := "table " + bad.Table
		if name == "unknown table" {
			want = `table "grants"`
		}
		if !errors.Is(err, herd.ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want ErrInvalid naming the table", name, err)
		}
	}
}

// TestSchemaGolden is the schema as plain data: every table constant is a
// table, every index constant an index of the tables that list by it.
func TestSchemaGolden(t *testing.T) {
	sc := schema()
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for name, ts := range sc.Tables {
		for ix := range ts.Indexes {
			got = append(got, name+" "+ix)
		}
	}
	sort.Strings(got)
	want := []string{
		"applications id", "controller id", "controller_nodes id", "machines id", "model_grants id", "model_grants user",
		"models id", "models owner_name", "registration_secrets id", "removed_users id",
		"sequences id", "sessions id", "sessions user", "units id", "users id",
	}
	if !slices.Equal(got, want) {
		t.Errorf("schema:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(Tables()) != len(sc.Tables) || len(rowCodecs) != len(sc.Tables) {
		t.Errorf("%d tables, Tables() has %d, rowCodecs %d", len(sc.Tables), len(Tables()), len(rowCodecs))
	}
	for _, table := range Tables() {
		if _, ok := sc.Tables[string(table)]; !ok {
			t.Errorf("Tables() lists %s, not in the schema", table)
		}
	}
	// The prefix indexes are go-memdb's "<index>_prefix" scans of an index
	// every such table has.
	for _, ix := range []Index{IndexModel, IndexOwner} {
		base, ok := strings.CutSuffix(string(ix), "_prefix")
		if !ok || !slices.ContainsFunc(want, func(s string) bool { return strings.HasSuffix(s, " "+base) }) {
			t.Errorf("index %s is not a prefix scan of an index", ix)
		}
	}
	s := NewMemory()
	r := s.Read()
	for _, c := range []struct {
		t  Table
		ix Index
	}{{TableGrants, IndexModel}, {TableApplications, IndexModel}, {TableUnits, IndexModel}, {TableMachines, IndexModel}, {TableSequences, IndexModel}, {TableModels, IndexOwner}} {
		t.Run(fmt.Sprintf("%s %s", c.t, c.ix), func(t *testing.T) { List[any](r, c.t, c.ix, "x") })
	}
}
