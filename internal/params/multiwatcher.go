package params

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// The AllWatcher's shapes (Juju 3.6.26 rpc/params/multiwatcher.go and
// params.go): Client.WatchAll returns an AllWatcherId, AllWatcher.Next an
// AllWatcherNextResults whose deltas travel as Juju's JSON arrays
// [kind, "change"|"remove", entity]. Herd sends four kinds: "model",
// "application", "unit" and "machine".

// AllWatcherId is the result of Client.WatchAll: the id to send as the
// request's "id" in AllWatcher.Next and Stop.
type AllWatcherId struct {
	AllWatcherId string `json:"watcher-id"`
}

// AllWatcherNextResults is the result of AllWatcher.Next.
type AllWatcherNextResults struct {
	Deltas []Delta `json:"deltas"`
}

// EntityId names an entity a delta is about: its kind ("model",
// "application", "unit", "machine"), model and id within kind.
type EntityId struct {
	Kind      string `json:"kind"`
	ModelUUID string `json:"model-uuid"`
	Id        string `json:"id"`
}

// EntityInfo is an entity a delta carries: *ModelUpdate,
// *ApplicationInfo, *UnitInfo or *MachineInfo.
type EntityInfo interface {
	EntityId() EntityId
}

// Delta is one change: the entity as it is now, or as it was last for a
// removal. It travels as Juju's [kind, "change"|"remove", entity].
type Delta struct {
	Removed bool
	Entity  EntityInfo
}

// MarshalJSON writes Juju's array form.
func (d Delta) MarshalJSON() ([]byte, error) {
	if d.Entity == nil {
		return nil, fmt.Errorf("params: delta without an entity")
	}
	b, err := json.Marshal(d.Entity)
	if err != nil {
		return nil, err
	}
	op := "change"
	if d.Removed {
		op = "remove"
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "[%q,%q,", d.Entity.EntityId().Kind, op)
	buf.Write(b)
	buf.WriteByte(']')
	return buf.Bytes(), nil
}

// UnmarshalJSON reads Juju's array form. A kind Herd does not know is an
// error, as in Juju.
func (d *Delta) UnmarshalJSON(data []byte) error {
	var elems []json.RawMessage
	if err := json.Unmarshal(data, &elems); err != nil {
		return err
	}
	if len(elems) != 3 {
		return fmt.Errorf("params: a delta has 3 elements, got %d", len(elems))
	}
	var kind, op string
	if err := json.Unmarshal(elems[0], &kind); err != nil {
		return err
	}
	if err := json.Unmarshal(elems[1], &op); err != nil {
		return err
	}
	switch op {
	case "change":
		d.Removed = false
	case "remove":
		d.Removed = true
	default:
		return fmt.Errorf("params: unexpected delta operation %q", op)
	}
	switch kind {
	case "model":
		d.Entity = new(ModelUpdate)
	case "application":
		d.Entity = new(ApplicationInfo)
	case "unit":
		d.Entity = new(UnitInfo)
	case "machine":
		d.Entity = new(MachineInfo)
	default:
		return fmt.Errorf("params: unexpected entity kind %q", kind)
	}
	return json.Unmarshal(elems[2], d.Entity)
}

// StatusInfo is an entity's status in a delta. Juju always sends
// current, message and version.
type StatusInfo struct {
	Err     *Error         `json:"err,omitempty"`
	Current string         `json:"current"`
	Message string         `json:"message"`
	Since   *time.Time     `json:"since,omitempty"`
	Version string         `json:"version"`
	Data    map[string]any `json:"data,omitempty"`
}

// ModelUpdate is a model in a delta (kind "model").
type ModelUpdate struct {
	ModelUUID      string         `json:"model-uuid"`
	Name           string         `json:"name"`
	Life           string         `json:"life"`
	Owner          string         `json:"owner"` // a user name, not a tag
	ControllerUUID string         `json:"controller-uuid"`
	IsController   bool           `json:"is-controller"`
	Config         map[string]any `json:"config,omitempty"`
	Status         StatusInfo     `json:"status"`
	Constraints    Constraints    `json:"constraints"`
	SLA            ModelSLAInfo   `json:"sla"`
	Type           string         `json:"type"`
	Cloud          string         `json:"cloud"` // a name, not a tag
	CloudRegion    string         `json:"cloud-region"`
	Version        string         `json:"version"`
}

// EntityId is the model's.
func (i *ModelUpdate) EntityId() EntityId {
	return EntityId{Kind: "model", ModelUUID: i.ModelUUID, Id: i.ModelUUID}
}

// ApplicationInfo is an application in a delta (kind "application").
type ApplicationInfo struct {
	ModelUUID       string         `json:"model-uuid"`
	Name            string         `json:"name"`
	Exposed         bool           `json:"exposed"`
	CharmURL        string         `json:"charm-url"`
	OwnerTag        string         `json:"owner-tag"`
	Life            string         `json:"life"`
	MinUnits        int            `json:"min-units"`
	Constraints     Constraints    `json:"constraints"`
	Config          map[string]any `json:"config,omitempty"`
	Subordinate     bool           `json:"subordinate"`
	Status          StatusInfo     `json:"status"`
	WorkloadVersion string         `json:"workload-version"`
}

// EntityId is the application's.
func (i *ApplicationInfo) EntityId() EntityId {
	return EntityId{Kind: "application", ModelUUID: i.ModelUUID, Id: i.Name}
}

// Port is an open port.
type Port struct {
	Protocol string `json:"protocol"`
	Number   int    `json:"number"`
}

// PortRange is a range of open ports.
type PortRange struct {
	FromPort int    `json:"from-port"`
	ToPort   int    `json:"to-port"`
	Protocol string `json:"protocol"`
}

// UnitInfo is a unit in a delta (kind "unit"). Juju sends ports and
// port-ranges as [] for a unit with none.
type UnitInfo struct {
	ModelUUID      string      `json:"model-uuid"`
	Name           string      `json:"name"`
	Application    string      `json:"application"`
	Base           string      `json:"base"`
	CharmURL       string      `json:"charm-url"`
	Life           string      `json:"life"`
	PublicAddress  string      `json:"public-address"`
	PrivateAddress string      `json:"private-address"`
	MachineId      string      `json:"machine-id"`
	Ports          []Port      `json:"ports"`
	PortRanges     []PortRange `json:"port-ranges"`
	Principal      string      `json:"principal"`
	Subordinate    bool        `json:"subordinate"`
	WorkloadStatus StatusInfo  `json:"workload-status"`
	AgentStatus    StatusInfo  `json:"agent-status"`
}

// EntityId is the unit's.
func (i *UnitInfo) EntityId() EntityId {
	return EntityId{Kind: "unit", ModelUUID: i.ModelUUID, Id: i.Name}
}

// HardwareCharacteristics is Juju's instance.HardwareCharacteristics:
// every field optional.
type HardwareCharacteristics struct {
	Arch             *string   `json:"arch,omitempty"`
	Mem              *uint64   `json:"mem,omitempty"`
	RootDisk         *uint64   `json:"root-disk,omitempty"`
	RootDiskSource   *string   `json:"root-disk-source,omitempty"`
	CpuCores         *uint64   `json:"cpu-cores,omitempty"`
	CpuPower         *uint64   `json:"cpu-power,omitempty"`
	Tags             *[]string `json:"tags,omitempty"`
	AvailabilityZone *string   `json:"availability-zone,omitempty"`
	VirtType         *string   `json:"virt-type,omitempty"`
}

// MachineInfo is a machine in a delta (kind "machine"). Juju sends
// supported-containers and addresses as null when there are none.
type MachineInfo struct {
	ModelUUID                string                   `json:"model-uuid"`
	Id                       string                   `json:"id"`
	InstanceId               string                   `json:"instance-id"`
	AgentStatus              StatusInfo               `json:"agent-status"`
	InstanceStatus           StatusInfo               `json:"instance-status"`
	Life                     string                   `json:"life"`
	Config                   map[string]any           `json:"config,omitempty"`
	Base                     string                   `json:"base"`
	ContainerType            string                   `json:"container-type"`
	SupportedContainers      []string                 `json:"supported-containers"`
	SupportedContainersKnown bool                     `json:"supported-containers-known"`
	HardwareCharacteristics  *HardwareCharacteristics `json:"hardware-characteristics,omitempty"`
	CharmProfiles            []string                 `json:"charm-profiles,omitempty"`
	Jobs                     []string                 `json:"jobs"`
	Addresses                []Address                `json:"addresses"`
	HasVote                  bool                     `json:"has-vote"`
	WantsVote                bool                     `json:"wants-vote"`
	Hostname                 string                   `json:"hostname,omitempty"`
}

// EntityId is the machine's.
func (i *MachineInfo) EntityId() EntityId {
	return EntityId{Kind: "machine", ModelUUID: i.ModelUUID, Id: i.Id}
}
