package params

// RetryProvisioningArgs is MachineManager.RetryProvisioning's argument
// (Juju 3.6.26 rpc/params/internal.go): machine tags, or All for every
// machine in a provisioning error. The result is an ErrorResults holding
// one item per failure only, as Juju's (none when all went well).
type RetryProvisioningArgs struct {
	Machines []string `json:"machines,omitempty"`
	All      bool     `json:"all"`
}
