package etcdstore

import (
	"context"

	"strings"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/herd-project/herd/store"
)

// LeaseTTL is the lease, in seconds, that a role held through Lead rests
// on: a process that dies (or loses etcd) holds it no longer than this.
const LeaseTTL = 2

var _ store.Elector = (*Backend)(nil)

// Lead campaigns for role in an etcd election under PREFIX.elect/ROLE
// (beside the prefix, not in it, so that Load and Follow never see it)
// (client/v3/concurrency), on a session with a LeaseTTL-second lease kept
// alive while the process runs: it returns once this backend leads. The
// returned channel is closed when the lease is lost (the process cut off
// from etcd for longer than the lease, or the backend closed); resign
// gives the role up at once (waiting at most a second for etcd).
func (b *Backend) Lead(ctx context.Context, role string) (<-chan struct{}, func(), error) {
	if b.isClosed() {
		return nil, nil, errClosed
	}
	sess, err := concurrency.NewSession(b.cli, concurrency.WithTTL(LeaseTTL), concurrency.WithContext(context.WithoutCancel(ctx)))
	if err != nil {
		return nil, nil, b.etcdErr(ctx, err, "start an election session")
	}
	e := concurrency.NewElection(sess, strings.TrimSuffix(b.prefix, "/")+".elect/"+role)
	if err := e.Campaign(ctx, b.id); err != nil {
		sess.Close()
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, b.etcdErr(ctx, err, "campaign for "+role)
	}
	resign := func() {
		// A quick delete of the election key hands the role on at once;
		// if etcd cannot be reached, the lease (no longer kept alive)
		// runs out within LeaseTTL instead.
		rctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = e.Resign(rctx)
		sess.Orphan()
	}
	return sess.Done(), resign, nil
}
