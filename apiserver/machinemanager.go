package apiserver

import (
	"context"
	"errors"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/internal/params"
)

// MachineManager v9 and v10 (apiserver/facades/client/machinemanager),
// on a model connection: RetryProvisioning, what `juju
// retry-provisioning` calls. The other methods reply with Juju's "not
// implemented" error.
func init() {
	serve("MachineManager", map[string]method{"RetryProvisioning": retryProvisioning})
}

// retryProvisioning is MachineManager.RetryProvisioning: the named
// machines (tags), or with "all" every machine of the model in a
// provisioning error, are started again, as one
// Session.RetryProvisioning. As Juju's, the result lists failures only
// (an empty list when all went well): a tag that is not a machine's,
// then the Session's refusal (a machine not found, or not in error:
// Herd's Session retries all the named machines or none). A caller
// without model write is refused as a whole, as Juju's CanWrite.
func retryProvisioning(ctx context.Context, k call) (any, error) {
	var p params.RetryProvisioningArgs
	if err := k.req.Decode(&p); err != nil {
		return nil, err
	}
	out := params.ErrorResults{Results: []params.ErrorResult{}}
	var ids []string
	if !p.All {
		for _, tag := range p.Machines {
			id, err := params.ParseMachineTag(tag)
			if err != nil {
				out.Results = append(out.Results, params.ErrorResult{Error: perr(err)})
				continue
			}
			ids = append(ids, id)
		}
	}
	var err error
	if p.All || len(ids) > 0 {
		err = k.s.RetryProvisioning(ctx, k.modelRef(), ids...)
	} else {
		// Nothing asked (no valid tag): only the access check.
		err = k.s.Authorize(k.modelRef(), acl.Write)
	}
	if errors.Is(err, herd.ErrPermissionDenied) || errors.Is(err, herd.ErrUnauthenticated) {
		return nil, err
	}
	if err != nil {
		out.Results = append(out.Results, params.ErrorResult{Error: perr(err)})
	}
	return out, nil
}
