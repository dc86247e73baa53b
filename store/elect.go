package store

import "context"

// Elector is an optional interface of a backend shared by several
// controller processes: it chooses one of them for a role that must run
// once (the provisioner), as Juju's controllers in HA choose one
// provisioner. The controller checks for it with a type assertion; a
// backend without it serves one process, which always leads.
type Elector interface {
	// Lead waits until this process holds role (or ctx ends, returning
	// its error) and returns a channel that is closed when it stops
	// holding it (its lease lost with the connection, or the backend
	// closed), and resign, which gives the role up at once for another
	// process to take. A process that dies loses the role within a
	// bound the backend documents.
	Lead(ctx context.Context, role string) (lost <-chan struct{}, resign func(), err error)
}
