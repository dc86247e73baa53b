package params

import "time"

// ModelCreateArgs is the argument of ModelManager.CreateModel. OwnerTag is
// a user tag; CloudTag ("cloud-NAME"), CloudRegion and
// CloudCredentialTag may be empty for the controller's defaults.
type ModelCreateArgs struct {
	Name               string         `json:"name"`
	OwnerTag           string         `json:"owner-tag"`
	Config             map[string]any `json:"config,omitempty"`
	CloudTag           string         `json:"cloud-tag,omitempty"`
	CloudRegion        string         `json:"region,omitempty"`
	CloudCredentialTag string         `json:"credential,omitempty"`
}

// EntityStatus is the status of a model in ModelInfo and ModelSummary.
// Juju tags the field "status,omitempty", which has no effect on a
// struct: "status" is always sent, and so are its "status", "info" and
// "since" (null when unknown).
type EntityStatus struct {
	Status string         `json:"status"`
	Info   string         `json:"info"`
	Data   map[string]any `json:"data,omitempty"`
	Since  *time.Time     `json:"since"`
}

// ModelUserInfo is one user's access to a model, in ModelInfo.users.
// UserName is the user's name ("tom"), not its tag. LastConnection is
// always sent (null for never).
type ModelUserInfo struct {
	ModelTag       string     `json:"model-tag"`
	UserName       string     `json:"user"`
	DisplayName    string     `json:"display-name"`
	LastConnection *time.Time `json:"last-connection"`
	Access         string     `json:"access"`
}

// ModelMachineInfo is one machine of a model, in ModelInfo.machines.
type ModelMachineInfo struct {
	ID          string           `json:"id"`
	Hardware    *MachineHardware `json:"hardware,omitempty"`
	InstanceID  string           `json:"instance-id,omitempty"`
	DisplayName string           `json:"display-name,omitempty"`
	Status      string           `json:"status,omitempty"`
	Message     string           `json:"message,omitempty"`
	HasVote     bool             `json:"has-vote,omitempty"`
	WantsVote   bool             `json:"wants-vote,omitempty"`
	HAPrimary   *bool            `json:"ha-primary,omitempty"`
}

// MachineHardware is a machine's hardware, every field optional. Mem and
// RootDisk are in MiB.
type MachineHardware struct {
	Arch             *string   `json:"arch,omitempty"`
	Mem              *uint64   `json:"mem,omitempty"`
	RootDisk         *uint64   `json:"root-disk,omitempty"`
	Cores            *uint64   `json:"cores,omitempty"`
	CPUPower         *uint64   `json:"cpu-power,omitempty"`
	Tags             *[]string `json:"tags,omitempty"`
	AvailabilityZone *string   `json:"availability-zone,omitempty"`
	VirtType         *string   `json:"virt-type,omitempty"`
}

// ModelMigrationStatus is a model's migration, if any.
type ModelMigrationStatus struct {
	Status string     `json:"status"`
	Start  *time.Time `json:"start"`
	End    *time.Time `json:"end,omitempty"`
}

// ModelSLAInfo is a model's SLA. Juju always sends it; "level" is
// "unsupported" for a model without one.
type ModelSLAInfo struct {
	Level string `json:"level"`
	Owner string `json:"owner"`
}

// SupportedFeature is a feature the model supports.
type SupportedFeature struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Version     string `json:"version,omitempty"`
}

// SecretBackendResult stands for Juju's secret backend entry in
// ModelInfo. Herd has no secret backends and always sends an empty list;
// the type keeps the element shape for clients that decode it.
type SecretBackendResult struct {
	Result     SecretBackend `json:"result"`
	ID         string        `json:"id"`
	NumSecrets int           `json:"num-secrets"`
	Status     string        `json:"status"`
	Message    string        `json:"message,omitempty"`
	Error      *Error        `json:"error,omitempty"`
}

// SecretBackend is a secret backend's details.
type SecretBackend struct {
	Name                string         `json:"name"`
	BackendType         string         `json:"backend-type"`
	TokenRotateInterval *time.Duration `json:"token-rotate-interval,omitempty"`
	Config              map[string]any `json:"config"`
}

// ModelInfo describes a model: the result of CreateModel and, wrapped in
// "result", of ModelInfo.
//
// DefaultSeries and DefaultBase are filled on ModelManager v9 only (Juju's
// v10 dropped them; the keys are omitempty, so v10 omits them). Users,
// Machines and SecretBackends are sent as lists, null when nil, as Juju
// does; Herd's server should send [] rather than null (jujulib types them
// as arrays). SLA and AgentVersion are always sent (null when unknown).
type ModelInfo struct {
	Name                    string                `json:"name"`
	Type                    string                `json:"type"`
	UUID                    string                `json:"uuid"`
	ControllerUUID          string                `json:"controller-uuid"`
	IsController            bool                  `json:"is-controller"`
	ProviderType            string                `json:"provider-type,omitempty"`
	DefaultSeries           string                `json:"default-series,omitempty"`
	DefaultBase             string                `json:"default-base,omitempty"`
	CloudTag                string                `json:"cloud-tag"`
	CloudRegion             string                `json:"cloud-region,omitempty"`
	CloudCredentialTag      string                `json:"cloud-credential-tag,omitempty"`
	CloudCredentialValidity *bool                 `json:"cloud-credential-validity,omitempty"`
	OwnerTag                string                `json:"owner-tag"`
	Life                    string                `json:"life"`
	Status                  EntityStatus          `json:"status"`
	Users                   []ModelUserInfo       `json:"users"`
	Machines                []ModelMachineInfo    `json:"machines"`
	SecretBackends          []SecretBackendResult `json:"secret-backends"`
	Migration               *ModelMigrationStatus `json:"migration,omitempty"`
	SLA                     *ModelSLAInfo         `json:"sla"`
	AgentVersion            *Number               `json:"agent-version"`
	SupportedFeatures       []SupportedFeature    `json:"supported-features,omitempty"`
}

// ModelInfoResult is a ModelInfo or an error.
type ModelInfoResult struct {
	Result *ModelInfo `json:"result,omitempty"`
	Error  *Error     `json:"error,omitempty"`
}

// ModelInfoResults is the result of ModelManager.ModelInfo.
type ModelInfoResults struct {
	Results []ModelInfoResult `json:"results"`
}

// Model names a model in a UserModel.
type Model struct {
	Name     string `json:"name"`
	UUID     string `json:"uuid"`
	Type     string `json:"type"`
	OwnerTag string `json:"owner-tag"`
}

// UserModel is a model and when the user last connected to it. The key is
// always sent; for a user who never connected Juju's Controller.AllModels
// sends null, while ModelManager.ListModels sends the zero time
// ("0001-01-01T00:00:00Z": Juju's state keeps a time.Time there).
type UserModel struct {
	Model          Model      `json:"model"`
	LastConnection *time.Time `json:"last-connection"`
}

// UserModelList is the result of ModelManager.ListModels and of
// Controller.AllModels.
type UserModelList struct {
	UserModels []UserModel `json:"user-models"`
}

// ModelSummariesRequest is the argument of ModelManager.ListModelSummaries.
// All asks for every model; Juju honours it for controller superusers
// only and otherwise lists the user's models.
type ModelSummariesRequest struct {
	UserTag string `json:"user-tag"`
	All     bool   `json:"all,omitempty"`
}

// Counted entities, for ModelEntityCount.Entity.
const (
	CountMachines = "machines"
	CountCores    = "cores"
	CountUnits    = "units"
)

// ModelEntityCount counts one kind of thing in a model. Juju lists only
// the non-zero counts.
type ModelEntityCount struct {
	Entity string `json:"entity"`
	Count  int64  `json:"count"`
}

// ModelSummary describes a model for one user (UserAccess is that user's
// access). DefaultSeries is filled on ModelManager v9 only. Counts is
// always a list (Juju sends [] when all counts are zero);
// last-connection, sla and agent-version are always sent.
type ModelSummary struct {
	Name               string                `json:"name"`
	UUID               string                `json:"uuid"`
	Type               string                `json:"type"`
	ControllerUUID     string                `json:"controller-uuid"`
	IsController       bool                  `json:"is-controller"`
	ProviderType       string                `json:"provider-type,omitempty"`
	DefaultSeries      string                `json:"default-series,omitempty"`
	CloudTag           string                `json:"cloud-tag"`
	CloudRegion        string                `json:"cloud-region,omitempty"`
	CloudCredentialTag string                `json:"cloud-credential-tag,omitempty"`
	OwnerTag           string                `json:"owner-tag"`
	Life               string                `json:"life"`
	Status             EntityStatus          `json:"status"`
	UserAccess         string                `json:"user-access"`
	UserLastConnection *time.Time            `json:"last-connection"`
	Counts             []ModelEntityCount    `json:"counts"`
	Migration          *ModelMigrationStatus `json:"migration,omitempty"`
	SLA                *ModelSLAInfo         `json:"sla"`
	AgentVersion       *Number               `json:"agent-version"`
}

// ModelSummaryResult is a ModelSummary or an error.
type ModelSummaryResult struct {
	Result *ModelSummary `json:"result,omitempty"`
	Error  *Error        `json:"error,omitempty"`
}

// ModelSummaryResults is the result of ModelManager.ListModelSummaries.
type ModelSummaryResults struct {
	Results []ModelSummaryResult `json:"results"`
}

// Access actions, for ModifyModelAccess.Action and
// ModifyControllerAccess.Action.
const (
	ActionGrant  = "grant"
	ActionRevoke = "revoke"
)

// ModifyModelAccess is one grant or revoke of a model access level
// ("read", "write", "admin") to a user. Revoking a level leaves the user
// with the level below it, as Juju does.
type ModifyModelAccess struct {
	UserTag  string `json:"user-tag"`
	Action   string `json:"action"`
	Access   string `json:"access"`
	ModelTag string `json:"model-tag"`
}

// ModifyModelAccessRequest is the argument of ModelManager.ModifyModelAccess.
type ModifyModelAccessRequest struct {
	Changes []ModifyModelAccess `json:"changes"`
}

// DestroyModelParams is one model to destroy. The optional fields are
// pointers, as in Juju, so "not sent" differs from false or zero;
// durations travel as integer nanoseconds (encoding/json's
// time.Duration).
type DestroyModelParams struct {
	ModelTag       string         `json:"model-tag"`
	DestroyStorage *bool          `json:"destroy-storage,omitempty"`
	Force          *bool          `json:"force,omitempty"`
	MaxWait        *time.Duration `json:"max-wait,omitempty"`
	Timeout        *time.Duration `json:"timeout,omitempty"`
}

// DestroyModelsParams is the argument of ModelManager.DestroyModels.
type DestroyModelsParams struct {
	Models []DestroyModelParams `json:"models"`
}
