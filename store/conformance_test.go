package store_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/herd-project/herd/store"
	"github.com/herd-project/herd/store/storetest"
)

func TestConformanceMemory(t *testing.T) {
	storetest.Run(t, storetest.MemoryHarness())
}

func TestConformanceFile(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		NewStorage: func(t *testing.T) string { return filepath.Join(t.TempDir(), "herd.db") },
		Open: func(t *testing.T, path string) store.Backend {
			_, err := os.Stat(path)
			f, err := store.OpenFile(path, store.FileOptions{Create: errors.Is(err, os.ErrNotExist)})
			if err != nil {
				t.Fatal(err)
			}
			return f
		},
		Processes: true,
	})
}
