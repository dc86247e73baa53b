// Package provider defines where Herd's machines come from: a small
// Provider interface with value types in and out, and no type of any
// backend in its signatures.
//
// A provider bootstraps the controller's machine, prepares and tears down a
// model's space (an LXD project per model, for lxdprovider), starts, stops
// and lists instances. Teardown is idempotent: stopping an instance that is
// already gone, or destroying a model space that is already gone, is not an
// error. Asking for a missing instance is herd.ErrNotFound. Every method
// honours ctx: a cancelled wait returns the context's error unchanged.
//
// Implementations: fakeprovider (in memory, deterministic, fault
// injection). Every provider must pass the same conformance suite.
package provider

import (
	"context"
	"fmt"
)

// Status is an instance's state as the provider sees it.
type Status string

const (
	Pending Status = "pending"
	Running Status = "running"
	Stopped Status = "stopped"
	Error   Status = "error"
)

// ControllerSpec names the controller a call is for.
type ControllerSpec struct {
	UUID string
	Name string
}

// ModelSpec names a model's space.
type ModelSpec struct {
	ControllerUUID string
	ModelUUID      string
	ModelName      string
}

// InstanceSpec asks for one machine of a model. The controller's own
// machine is the one Bootstrap starts.
type InstanceSpec struct {
	ControllerUUID string
	ModelUUID      string
	MachineID      string
}

// Instance is a machine the provider runs.
type Instance struct {
	ID             string // the provider's name for it
	ControllerUUID string
	ModelUUID      string // empty for the controller's own machine
	MachineID      string
	Status         Status
	Message        string
}

// Filter selects instances in Instances. Empty fields match everything.
type Filter struct {
	ControllerUUID string
	ModelUUID      string
}

// Provider is the seam every machine source implements. Implementations
// must be safe for concurrent use.
type Provider interface {
	// Type is the cloud type shown in listings ("lxd", "fake").
	Type() string
	// Bootstrap starts the controller's machine.
	Bootstrap(ctx context.Context, c ControllerSpec) (Instance, error)
	// DestroyController removes every instance and model space tagged with
	// the controller, the controller's machine included. Idempotent.
	DestroyController(ctx context.Context, c ControllerSpec) error
	// CreateModel prepares a model's space.
	CreateModel(ctx context.Context, m ModelSpec) error
	// DestroyModel removes a model's space; its instances must be stopped
	// first. Idempotent.
	DestroyModel(ctx context.Context, m ModelSpec) error
	// StartInstance creates and starts a machine.
	StartInstance(ctx context.Context, s InstanceSpec) (Instance, error)
	// StopInstance stops and deletes a machine. Idempotent.
	StopInstance(ctx context.Context, s InstanceSpec) error
	// Instance reports one machine; herd.ErrNotFound if it does not exist.
	Instance(ctx context.Context, s InstanceSpec) (Instance, error)
	// Instances lists machines by their tags, sorted by ID.
	Instances(ctx context.Context, f Filter) ([]Instance, error)
}

// InstanceName is the conventional instance name,
// juju-<first 6 of model uuid>-<machine id>; the controller's own machine
// is juju-<first 6 of controller uuid>-0.
func InstanceName(modelOrControllerUUID, machineID string) string {
	short := modelOrControllerUUID
	if len(short) > 6 {
		short = short[:6]
	}
	return fmt.Sprintf("juju-%s-%s", short, machineID)
}

// Name is the conventional instance name of the machine s asks for; a spec
// without a model names the controller's own machine.
func (s InstanceSpec) Name() string {
	if s.ModelUUID == "" {
		return InstanceName(s.ControllerUUID, s.MachineID)
	}
	return InstanceName(s.ModelUUID, s.MachineID)
}
