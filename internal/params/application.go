package params

import "time"

// CharmOrigin is where a charm comes from. Herd records it as sent and
// downloads nothing. Source is "charm-hub" or "local"; Type "charm" or
// "bundle".
type CharmOrigin struct {
	Source       string  `json:"source"`
	Type         string  `json:"type"`
	ID           string  `json:"id"`
	Hash         string  `json:"hash,omitempty"`
	Risk         string  `json:"risk,omitempty"`
	Revision     *int    `json:"revision,omitempty"`
	Track        *string `json:"track,omitempty"`
	Branch       *string `json:"branch,omitempty"`
	Architecture string  `json:"architecture,omitempty"`
	Base         Base    `json:"base,omitempty"`
	InstanceKey  string  `json:"instance-key,omitempty"`
}

// Placement is a placement directive, as Juju's instance.Placement:
// scope "#" with a machine ID as directive ("--to 0"), a container type
// ("lxd") with a machine ID or "" ("--to lxd:0"), or the model UUID with a
// provider directive ("--to zone=z1").
type Placement struct {
	Scope     string `json:"scope"`
	Directive string `json:"directive"`
}

// Constraints is Juju's constraints.Value: every field optional.
type Constraints struct {
	Arch             *string   `json:"arch,omitempty"`
	Container        *string   `json:"container,omitempty"`
	CPUCores         *uint64   `json:"cores,omitempty"`
	CPUPower         *uint64   `json:"cpu-power,omitempty"`
	Mem              *uint64   `json:"mem,omitempty"`
	RootDisk         *uint64   `json:"root-disk,omitempty"`
	RootDiskSource   *string   `json:"root-disk-source,omitempty"`
	Tags             *[]string `json:"tags,omitempty"`
	InstanceRole     *string   `json:"instance-role,omitempty"`
	InstanceType     *string   `json:"instance-type,omitempty"`
	Spaces           *[]string `json:"spaces,omitempty"`
	VirtType         *string   `json:"virt-type,omitempty"`
	Zones            *[]string `json:"zones,omitempty"`
	AllocatePublicIP *bool     `json:"allocate-public-ip,omitempty"`
	ImageID          *string   `json:"image-id,omitempty"`
}

// StorageConstraints is Juju's storage.Constraints. Juju gives it no
// JSON tags, so its keys are the Go field names.
type StorageConstraints struct {
	Pool  string `json:"Pool"`
	Size  uint64 `json:"Size"`
	Count uint64 `json:"Count"`
}

// DeviceConstraints is Juju's devices.Constraints, also without JSON tags.
type DeviceConstraints struct {
	Type       string            `json:"Type"`
	Count      int64             `json:"Count"`
	Attributes map[string]string `json:"Attributes"`
}

// ApplicationDeploy is one application to deploy. Juju gives Force no
// JSON tag: its key is "Force".
//
// Juju's Application v15 to v20 refuse attach-storage ("AttachStorage may
// not be specified for container models"); v21 and v22 take it.
type ApplicationDeploy struct {
	ApplicationName  string                        `json:"application"`
	CharmURL         string                        `json:"charm-url"`
	CharmOrigin      *CharmOrigin                  `json:"charm-origin,omitempty"`
	Channel          string                        `json:"channel"`
	NumUnits         int                           `json:"num-units"`
	Config           map[string]string             `json:"config,omitempty"`
	ConfigYAML       string                        `json:"config-yaml"`
	Constraints      Constraints                   `json:"constraints"`
	Placement        []*Placement                  `json:"placement,omitempty"`
	Policy           string                        `json:"policy,omitempty"`
	Storage          map[string]StorageConstraints `json:"storage,omitempty"`
	Devices          map[string]DeviceConstraints  `json:"devices,omitempty"`
	AttachStorage    []string                      `json:"attach-storage,omitempty"`
	EndpointBindings map[string]string             `json:"endpoint-bindings,omitempty"`
	Resources        map[string]string             `json:"resources,omitempty"`
	Force            bool                          `json:"Force"`
}

// ApplicationsDeploy is the argument of Application.Deploy, whose result
// is ErrorResults.
type ApplicationsDeploy struct {
	Applications []ApplicationDeploy `json:"applications"`
}

// AddApplicationUnits is the argument of Application.AddUnits. Not a
// bulk call: one application per request.
type AddApplicationUnits struct {
	ApplicationName string       `json:"application"`
	NumUnits        int          `json:"num-units"`
	Placement       []*Placement `json:"placement"`
	Policy          string       `json:"policy,omitempty"`
	AttachStorage   []string     `json:"attach-storage,omitempty"`
}

// AddApplicationUnitsResults is the result of Application.AddUnits: the
// names of the new units ("mysql/1").
type AddApplicationUnitsResults struct {
	Units []string `json:"units"`
}

// DestroyApplicationParams is one application to destroy.
//
// Application v15 takes no dry-run (and its force has no omitempty);
// Juju decodes v15 requests into a type without dry-run, so Herd must
// ignore dry-run on v15.
type DestroyApplicationParams struct {
	ApplicationTag string         `json:"application-tag"`
	DestroyStorage bool           `json:"destroy-storage,omitempty"`
	Force          bool           `json:"force"`
	MaxWait        *time.Duration `json:"max-wait,omitempty"`
	DryRun         bool           `json:"dry-run,omitempty"`
}

// DestroyApplicationsParams is the argument of Application.DestroyApplication.
type DestroyApplicationsParams struct {
	Applications []DestroyApplicationParams `json:"applications"`
}

// DestroyApplicationInfo says what destroying an application destroys
// (or would, on a dry run). Every list is omitted when empty.
type DestroyApplicationInfo struct {
	DetachedStorage  []Entity `json:"detached-storage,omitempty"`
	DestroyedStorage []Entity `json:"destroyed-storage,omitempty"`
	DestroyedUnits   []Entity `json:"destroyed-units,omitempty"`
}

// DestroyApplicationResult is the result for one application.
type DestroyApplicationResult struct {
	Error *Error                  `json:"error,omitempty"`
	Info  *DestroyApplicationInfo `json:"info,omitempty"`
}

// DestroyApplicationResults is the result of
// Application.DestroyApplication. Juju marks the list omitempty.
type DestroyApplicationResults struct {
	Results []DestroyApplicationResult `json:"results,omitempty"`
}

// DestroyUnitParams is one unit to destroy. Juju's v15 sends force
// without omitempty and takes no dry-run (ignored on v15, as above).
type DestroyUnitParams struct {
	UnitTag        string         `json:"unit-tag"`
	DestroyStorage bool           `json:"destroy-storage,omitempty"`
	Force          bool           `json:"force,omitempty"`
	MaxWait        *time.Duration `json:"max-wait,omitempty"`
	DryRun         bool           `json:"dry-run,omitempty"`
}

// DestroyUnitsParams is the argument of Application.DestroyUnit.
type DestroyUnitsParams struct {
	Units []DestroyUnitParams `json:"units"`
}

// DestroyUnitInfo says what destroying a unit destroys.
type DestroyUnitInfo struct {
	DetachedStorage  []Entity `json:"detached-storage,omitempty"`
	DestroyedStorage []Entity `json:"destroyed-storage,omitempty"`
}

// DestroyUnitResult is the result for one unit.
type DestroyUnitResult struct {
	Error *Error           `json:"error,omitempty"`
	Info  *DestroyUnitInfo `json:"info,omitempty"`
}

// DestroyUnitResults is the result of Application.DestroyUnit. Juju marks
// the list omitempty.
type DestroyUnitResults struct {
	Results []DestroyUnitResult `json:"results,omitempty"`
}
