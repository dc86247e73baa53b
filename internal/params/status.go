package params

import "time"

// StatusParams is the argument of Client.FullStatus. Patterns filter
// (none: everything). IncludeStorage is ignored by Juju's Client v6 and,
// since Herd has no storage, by Herd at every version.
type StatusParams struct {
	Patterns       []string `json:"patterns"`
	IncludeStorage bool     `json:"include-storage,omitempty"`
}

// DetailedStatus is the status of a machine, unit, application, relation
// or model in FullStatus. Every key but "err" is always sent: "data" is
// an object (null when nil), "since" null when unknown.
type DetailedStatus struct {
	Status  string         `json:"status"`
	Info    string         `json:"info"`
	Data    map[string]any `json:"data"`
	Since   *time.Time     `json:"since"`
	Kind    string         `json:"kind"`
	Version string         `json:"version"`
	Life    string         `json:"life"`
	Err     *Error         `json:"err,omitempty"`
}

// MeterStatus is a (deprecated in Juju) meter status; always sent.
type MeterStatus struct {
	Color   string `json:"color"`
	Message string `json:"message"`
}

// ModelStatusInfo is the model part of FullStatus.
type ModelStatusInfo struct {
	Name             string         `json:"name"`
	Type             string         `json:"type"`
	CloudTag         string         `json:"cloud-tag"`
	CloudRegion      string         `json:"region,omitempty"`
	Version          string         `json:"version"`
	AvailableVersion string         `json:"available-version"`
	ModelStatus      DetailedStatus `json:"model-status"`
	MeterStatus      MeterStatus    `json:"meter-status"`
	SLA              string         `json:"sla"`
}

// NetworkInterface is one network device of a machine.
type NetworkInterface struct {
	IPAddresses    []string `json:"ip-addresses"`
	MACAddress     string   `json:"mac-address"`
	Gateway        string   `json:"gateway,omitempty"`
	DNSNameservers []string `json:"dns-nameservers,omitempty"`
	Space          string   `json:"space,omitempty"`
	IsUp           bool     `json:"is-up"`
}

// LXDProfile is an LXD profile applied to a machine.
type LXDProfile struct {
	Config      map[string]string            `json:"config"`
	Description string                       `json:"description"`
	Devices     map[string]map[string]string `json:"devices"`
}

// MachineStatus is one machine in FullStatus. Containers is always sent
// (Juju sends {} for none); Jobs is a list of Juju machine jobs
// ("JobHostUnits", "JobManageModel").
type MachineStatus struct {
	AgentStatus        DetailedStatus `json:"agent-status"`
	InstanceStatus     DetailedStatus `json:"instance-status"`
	ModificationStatus DetailedStatus `json:"modification-status"`

	Hostname    string   `json:"hostname,omitempty"`
	DNSName     string   `json:"dns-name"`
	IPAddresses []string `json:"ip-addresses,omitempty"`
	InstanceID  string   `json:"instance-id"`
	DisplayName string   `json:"display-name"`
	Base        Base     `json:"base"`
	ID          string   `json:"id"`

	NetworkInterfaces map[string]NetworkInterface `json:"network-interfaces,omitempty"`
	Containers        map[string]MachineStatus    `json:"containers"`
	Constraints       string                      `json:"constraints"`
	Hardware          string                      `json:"hardware"`
	Jobs              []string                    `json:"jobs"`
	HasVote           bool                        `json:"has-vote"`
	WantsVote         bool                        `json:"wants-vote"`

	LXDProfiles              map[string]LXDProfile `json:"lxd-profiles,omitempty"`
	PrimaryControllerMachine *bool                 `json:"primary-controller-machine,omitempty"`
}

// ExposedEndpoint is how one endpoint of an application is exposed.
type ExposedEndpoint struct {
	ExposeToSpaces []string `json:"expose-to-spaces,omitempty"`
	ExposeToCIDRs  []string `json:"expose-to-cidrs,omitempty"`
}

// UnitStatus is one unit in FullStatus. Machine is the machine ID ("0");
// Charm is set only when the unit runs another charm than its
// application. Every key without omitempty is sent; Juju leaves
// opened-ports and subordinates null when there are none.
type UnitStatus struct {
	AgentStatus     DetailedStatus        `json:"agent-status"`
	WorkloadStatus  DetailedStatus        `json:"workload-status"`
	WorkloadVersion string                `json:"workload-version"`
	Machine         string                `json:"machine"`
	OpenedPorts     []string              `json:"opened-ports"`
	PublicAddress   string                `json:"public-address"`
	Charm           string                `json:"charm"`
	Subordinates    map[string]UnitStatus `json:"subordinates"`
	Leader          bool                  `json:"leader,omitempty"`
	ProviderID      string                `json:"provider-id,omitempty"`
	Address         string                `json:"address,omitempty"`
}

// ApplicationStatus is one application in FullStatus. Charm is the charm
// URL ("ch:amd64/jammy/mysql-42"). Units is keyed by unit name
// ("mysql/0").
//
// Juju tags Scale "int" (not "scale"): a slip kept on the wire, kept here.
type ApplicationStatus struct {
	Err              *Error                     `json:"err,omitempty"`
	Charm            string                     `json:"charm"`
	CharmVersion     string                     `json:"charm-version"`
	CharmProfile     string                     `json:"charm-profile"`
	CharmChannel     string                     `json:"charm-channel,omitempty"`
	CharmRev         int                        `json:"charm-rev,omitempty"`
	Base             Base                       `json:"base"`
	Exposed          bool                       `json:"exposed"`
	ExposedEndpoints map[string]ExposedEndpoint `json:"exposed-endpoints,omitempty"`
	Life             string                     `json:"life"`
	Relations        map[string][]string        `json:"relations"`
	CanUpgradeTo     string                     `json:"can-upgrade-to"`
	SubordinateTo    []string                   `json:"subordinate-to"`
	Units            map[string]UnitStatus      `json:"units"`
	MeterStatuses    map[string]MeterStatus     `json:"meter-statuses"`
	Status           DetailedStatus             `json:"status"`
	WorkloadVersion  string                     `json:"workload-version"`
	EndpointBindings map[string]string          `json:"endpoint-bindings"`
	Scale            int                        `json:"int,omitempty"`
	ProviderID       string                     `json:"provider-id,omitempty"`
	PublicAddress    string                     `json:"public-address"`
}

// RemoteEndpoint is an endpoint of an offer or a remote application.
type RemoteEndpoint struct {
	Name      string `json:"name"`
	Role      string `json:"role"`
	Interface string `json:"interface"`
	Limit     int    `json:"limit"`
}

// RemoteApplicationStatus is a consumed remote application. Herd has
// none; the type keeps the shape.
type RemoteApplicationStatus struct {
	Err       *Error              `json:"err,omitempty"`
	OfferURL  string              `json:"offer-url"`
	OfferName string              `json:"offer-name"`
	Endpoints []RemoteEndpoint    `json:"endpoints"`
	Life      string              `json:"life"`
	Relations map[string][]string `json:"relations"`
	Status    DetailedStatus      `json:"status"`
}

// ApplicationOfferStatus is an offer. Herd has none.
type ApplicationOfferStatus struct {
	Err                  *Error                    `json:"err,omitempty"`
	OfferName            string                    `json:"offer-name"`
	ApplicationName      string                    `json:"application-name"`
	CharmURL             string                    `json:"charm"`
	Endpoints            map[string]RemoteEndpoint `json:"endpoints"`
	ActiveConnectedCount int                       `json:"active-connected-count"`
	TotalConnectedCount  int                       `json:"total-connected-count"`
}

// EndpointStatus is one end of a relation.
type EndpointStatus struct {
	ApplicationName string `json:"application"`
	Name            string `json:"name"`
	Role            string `json:"role"`
	Subordinate     bool   `json:"subordinate"`
}

// RelationStatus is one relation. Herd has none yet.
type RelationStatus struct {
	ID        int              `json:"id"`
	Key       string           `json:"key"`
	Interface string           `json:"interface"`
	Scope     string           `json:"scope"`
	Endpoints []EndpointStatus `json:"endpoints"`
	Status    DetailedStatus   `json:"status"`
}

// BranchStatus is a model generation branch. Herd has none.
type BranchStatus struct {
	AssignedUnits map[string][]string `json:"assigned-units"`
	Created       int64               `json:"created"`
	CreatedBy     string              `json:"created-by"`
}

// FullStatus is the result of Client.FullStatus.
//
// Juju always builds machines, applications, remote-applications, offers
// and branches as maps, so they are sent as {} when empty; relations is a
// list that Juju leaves null when there are none. NewFullStatus returns a
// value with those maps made, so an empty model encodes as Juju's does.
// Juju's storage, filesystems and volumes (omitempty, filled only for
// include-storage on v7+) are left out: Herd has no storage and never
// sends them.
type FullStatus struct {
	Model               ModelStatusInfo                    `json:"model"`
	Machines            map[string]MachineStatus           `json:"machines"`
	Applications        map[string]ApplicationStatus       `json:"applications"`
	RemoteApplications  map[string]RemoteApplicationStatus `json:"remote-applications"`
	Offers              map[string]ApplicationOfferStatus  `json:"offers"`
	Relations           []RelationStatus                   `json:"relations"`
	ControllerTimestamp *time.Time                         `json:"controller-timestamp"`
	Branches            map[string]BranchStatus            `json:"branches"`
}

// NewFullStatus returns a FullStatus for model with every map made.
func NewFullStatus(model ModelStatusInfo) FullStatus {
	return FullStatus{
		Model:              model,
		Machines:           map[string]MachineStatus{},
		Applications:       map[string]ApplicationStatus{},
		RemoteApplications: map[string]RemoteApplicationStatus{},
		Offers:             map[string]ApplicationOfferStatus{},
		Branches:           map[string]BranchStatus{},
	}
}
