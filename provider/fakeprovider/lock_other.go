//go:build !unix

package fakeprovider

import (
	"os"

	"github.com/herd-project/herd"
)

func flock(*os.File) error {
	return herd.Errorf(herd.ErrFailedPrecondition, "fakeprovider.OpenShared needs flock (unix)")
}
func funlock(*os.File) error { return nil }
