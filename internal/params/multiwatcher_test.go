package params

import (
	"encoding/json"
	"strings"
	"testing"
)

// Samples written from Juju 3.6.26's rpc/params/multiwatcher.go tags and
// its allWatcherDeltaTranslater (apiserver/watcher.go): what Juju's
// AllWatcher.Next sends for a freshly deployed machine application.
const (
	modelDeltaSample = `["model","change",{"model-uuid":"0b7c2a5e-8d8e-4d8a-8a0f-0c1d2e3f4a5b","name":"m1","life":"alive","owner":"admin",
		"controller-uuid":"11111111-2222-4333-8444-555555555555","is-controller":false,
		"config":{"name":"m1","type":"lxd","uuid":"0b7c2a5e-8d8e-4d8a-8a0f-0c1d2e3f4a5b","agent-version":"3.6.26"},
		"status":{"current":"available","message":"","since":"2026-01-02T03:04:05Z","version":""},
		"constraints":{},"sla":{"level":"unsupported","owner":""},"type":"iaas","cloud":"localhost","cloud-region":"default","version":"3.6.26"}]`
	applicationDeltaSample = `["application","change",{"model-uuid":"0b7c2a5e-8d8e-4d8a-8a0f-0c1d2e3f4a5b","name":"mysql","exposed":false,
		"charm-url":"ch:amd64/jammy/mysql-12","owner-tag":"","life":"alive","min-units":0,"constraints":{"arch":"amd64"},
		"config":{"mode":"fast"},"subordinate":false,"status":{"current":"unset","message":"","version":""},"workload-version":""}]`
	unitDeltaSample = `["unit","change",{"model-uuid":"0b7c2a5e-8d8e-4d8a-8a0f-0c1d2e3f4a5b","name":"mysql/0","application":"mysql",
		"base":"ubuntu@22.04","charm-url":"ch:amd64/jammy/mysql-12","life":"alive","public-address":"10.0.0.5","private-address":"10.0.0.5",
		"machine-id":"0","ports":[{"protocol":"tcp","number":3306}],"port-ranges":[{"from-port":3306,"to-port":3306,"protocol":"tcp"}],
		"principal":"","subordinate":false,
		"workload-status":{"current":"active","message":"ready","since":"2026-01-02T03:04:05Z","version":"8.0"},
		"agent-status":{"current":"idle","message":"","since":"2026-01-02T03:04:05Z","version":"3.6.26"}}]`
	machineDeltaSample = `["machine","remove",{"model-uuid":"0b7c2a5e-8d8e-4d8a-8a0f-0c1d2e3f4a5b","id":"0","instance-id":"juju-4a5b-0",
		"agent-status":{"current":"started","message":"","since":"2026-01-02T03:04:05Z","version":"3.6.26"},
		"instance-status":{"current":"running","message":"Running","since":"2026-01-02T03:04:05Z","version":""},
		"life":"dead","base":"ubuntu@22.04","container-type":"","supported-containers":["lxd"],"supported-containers-known":true,
		"hardware-characteristics":{"arch":"amd64","mem":2048,"cpu-cores":2},"jobs":["JobHostUnits"],
		"addresses":[{"value":"10.0.0.5","type":"ipv4","scope":"local-cloud"}],"has-vote":false,"wants-vote":false,"hostname":"juju-4a5b-0"}]`
)

func TestDeltaGolden(t *testing.T) {
	for _, c := range []struct{ kind, sample string }{
		{"model", modelDeltaSample}, {"application", applicationDeltaSample},
		{"unit", unitDeltaSample}, {"machine", machineDeltaSample},
	} {
		t.Run(c.kind, func(t *testing.T) {
			var d Delta
			if err := json.Unmarshal([]byte(c.sample), &d); err != nil {
				t.Fatal(err)
			}
			if got := d.Entity.EntityId().Kind; got != c.kind {
				t.Errorf("kind %q", got)
			}
			if d.Removed != strings.Contains(c.sample, `"remove"`) {
				t.Errorf("removed %v", d.Removed)
			}
			// Every key of Juju's sample survives the round trip.
			got, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			assertSameJSON(t, got, []byte(c.sample))
		})
	}
}

// The keys Juju sends even for zero values (no omitempty), per kind.
func TestDeltaZeroKeys(t *testing.T) {
	for _, c := range []struct {
		e    EntityInfo
		want string
	}{
		{&ModelUpdate{}, `["model","change",{"model-uuid":"","name":"","life":"","owner":"","controller-uuid":"","is-controller":false,
			"status":{"current":"","message":"","version":""},"constraints":{},"sla":{"level":"","owner":""},"type":"","cloud":"","cloud-region":"","version":""}]`},
		{&ApplicationInfo{}, `["application","change",{"model-uuid":"","name":"","exposed":false,"charm-url":"","owner-tag":"","life":"","min-units":0,
			"constraints":{},"subordinate":false,"status":{"current":"","message":"","version":""},"workload-version":""}]`},
		{&UnitInfo{}, `["unit","change",{"model-uuid":"","name":"","application":"","base":"","charm-url":"","life":"","public-address":"","private-address":"",
			"machine-id":"","ports":null,"port-ranges":null,"principal":"","subordinate":false,
			"workload-status":{"current":"","message":"","version":""},"agent-status":{"current":"","message":"","version":""}}]`},
		{&MachineInfo{}, `["machine","change",{"model-uuid":"","id":"","instance-id":"","agent-status":{"current":"","message":"","version":""},
			"instance-status":{"current":"","message":"","version":""},"life":"","base":"","container-type":"","supported-containers":null,
			"supported-containers-known":false,"jobs":null,"addresses":null,"has-vote":false,"wants-vote":false}]`},
	} {
		got, err := json.Marshal(AllWatcherNextResults{Deltas: []Delta{{Entity: c.e}}})
		if err != nil {
			t.Fatal(err)
		}
		assertSameJSON(t, got, []byte(`{"deltas":[`+c.want+`]}`))
	}
}

func TestDeltaErrors(t *testing.T) {
	if _, err := json.Marshal(Delta{}); err == nil {
		t.Error("a delta without an entity encodes")
	}
	for _, bad := range []string{
		`{}`, `["unit","change"]`, `["unit","frob",{}]`, `["relation","change",{}]`, `[1,"change",{}]`, `["unit",2,{}]`, `["unit","change",[]]`,
	} {
		var d Delta
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("%s decodes", bad)
		}
	}
	b, err := json.Marshal(AllWatcherId{AllWatcherId: "1"})
	if err != nil || string(b) != `{"watcher-id":"1"}` {
		t.Errorf("AllWatcherId %s %v", b, err)
	}
}
