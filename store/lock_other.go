//go:build !unix

package store

import (
	"os"
	"time"
)

// lockFile does nothing where flock is not available: bbolt locks the file
// itself, just after the page tree is checked.
func lockFile(*os.File, time.Duration) error { return nil }
