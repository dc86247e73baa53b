package store_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/store"
	"github.com/herd-project/herd/users"
)

// BenchmarkDurableGrant is one grant per write transaction on the file
// store: written to bbolt and fsync'd, then committed in memory.
func BenchmarkDurableGrant(b *testing.B) {
	s, err := openState(filepath.Join(b.TempDir(), "herd.db"), store.FileOptions{Create: true})
	if err != nil {
		b.Fatal(err)
	}
	defer closeState(b, s)
	i := 0
	for b.Loop() {
		i++
		insert(b, s, state.TableGrants, state.Grant{ModelUUID: "bench-model", User: fmt.Sprintf("user-%08d", i), Level: acl.Write})
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// BenchmarkRawBoltPut is the floor for BenchmarkDurableGrant: one put per
// fsync'd bbolt transaction, of a value the size of a grant's.
func BenchmarkRawBoltPut(b *testing.B) {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "raw.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
	}()
	value := []byte(`{"ModelUUID":"bench-model","User":"user-00000000","Level":"write"}`)
	i := 0
	for b.Loop() {
		i++
		err := db.Update(func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte("grants"))
			if err != nil {
				return err
			}
			return bk.Put(fmt.Appendf(nil, "bench-model\x00user-%08d\x00", i), value)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

const (
	largeUsers  = 10_000
	largeModels = 1_000
	largeGrants = 100_000
)

// largeRows are 10k users, 1k models and 100k grants (100 users a model).
func largeRows() (tables []state.Table, rows []any) {
	add := func(t state.Table, r any) { tables = append(tables, t); rows = append(rows, r) }
	for i := range largeUsers {
		add(state.TableUsers, state.User{User: users.User{Name: fmt.Sprintf("user-%05d", i), DisplayName: "User"}, Access: acl.Login, PasswordHash: "$2a$10$abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabc"})
	}
	for m := range largeModels {
		uuid := fmt.Sprintf("%08x-0000-4000-8000-%012x", m, m)
		add(state.TableModels, models.Model{UUID: uuid, Name: fmt.Sprintf("model-%04d", m), Owner: fmt.Sprintf("user-%05d", m), Life: models.Alive, Status: models.Available})
		for g := range largeGrants / largeModels {
			add(state.TableGrants, state.Grant{ModelUUID: uuid, User: fmt.Sprintf("user-%05d", (m*100+g)%largeUsers), Level: acl.Level(1 + g%3)})
		}
	}
	return tables, rows
}

var (
	largeOnce sync.Once
	largePath string
)

func largeFile(b *testing.B) string {
	largeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "herd-bench")
		if err != nil {
			b.Fatal(err)
		}
		largePath = filepath.Join(dir, "large.db")
		s, err := openState(largePath, store.FileOptions{Create: true})
		if err != nil {
			b.Fatal(err)
		}
		tables, rows := largeRows()
		insertAll(b, s, tables, rows)
		closeState(b, s)
	})
	return largePath
}

// insertAll inserts rows[i] into tables[i], all in one transaction.
func insertAll(b *testing.B, s *state.Store, tables []state.Table, rows []any) {
	w := s.Write()
	defer w.Abort()
	for i := range rows {
		if err := w.Insert(tables[i], rows[i]); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		b.Fatal(err)
	}
}

// liveMB reports the heap in use after a collection, with the store alive.
func liveMB(b *testing.B, keep any) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "live-MB")
	runtime.KeepAlive(keep)
}

// BenchmarkOpenLarge opens a file of 10k users, 1k models and 100k grants.
func BenchmarkOpenLarge(b *testing.B) {
	path := largeFile(b)
	b.ReportAllocs()
	var s *state.Store
	for b.Loop() {
		var err error
		s, err = openState(path, store.FileOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if got := len(state.List[state.Grant](s.Read(), state.TableGrants, state.IndexID)); got != largeGrants {
			b.Fatalf("%d grants", got)
		}
		closeState(b, s)
		b.StartTimer()
	}
	liveMB(b, s)
}

// BenchmarkMemdbInsertLarge is the floor for BenchmarkOpenLarge: the same
// rows, already in memory, inserted into go-memdb in one transaction.
func BenchmarkMemdbInsertLarge(b *testing.B) {
	tables, rows := largeRows()
	b.ReportAllocs()
	var s *state.Store
	for b.Loop() {
		s = state.NewMemory()
		insertAll(b, s, tables, rows)
	}
	liveMB(b, s)
}
