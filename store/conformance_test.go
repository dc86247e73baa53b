package store_test

import (
	"path/filepath"
	"testing"

	"github.com/herd-project/herd/store"
	"github.com/herd-project/herd/store/storetest"
)

func TestConformanceMemory(t *testing.T) {
	storetest.Run(t, func(*testing.T) *store.Store { return store.NewMemory() })
}

func TestConformanceFile(t *testing.T) {
	storetest.Run(t, func(t *testing.T) *store.Store {
		s, err := store.OpenFile(filepath.Join(t.TempDir(), "herd.db"), store.FileOptions{Create: true})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
