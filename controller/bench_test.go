package controller_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/controller/controllertest"
)

// world is a controller with nUsers users, nModels models owned by admin,
// and about grantsPerModel grants on each (users i*g..i*g+g-1 mod nUsers,
// levels read, write, admin in turn), but user-00000 reads every tenth
// model only. Sessions are opened for the users a
// benchmark needs.
type world struct {
	ctrl    *controller.Controller
	admin   *controller.Session
	reader  *controller.Session // holds a grant on model 0, not on model 1
	grantee string
}

var (
	worldsMu sync.Mutex
	worlds   = map[string]*world{}
)

func getWorld(b *testing.B, nUsers, nModels, grantsPerModel int) *world {
	key := fmt.Sprint(nUsers, nModels, grantsPerModel)
	worldsMu.Lock()
	defer worldsMu.Unlock()
	if w, ok := worlds[key]; ok {
		return w
	}
	ctx := context.Background()
	bs, err := controller.Bootstrap(ctx, "bench", controller.Options{Hasher: controllertest.TestHasher{}})
	if err != nil {
		b.Fatal(err)
	}
	admin := bs.Admin
	err = admin.Batch(ctx, func(bt *controller.Batch) error {
		for i := range nUsers {
			if _, err := bt.AddUser(fmt.Sprintf("user-%05d", i), ""); err != nil {
				return err
			}
		}
		if err := bt.SetPassword("user-00000", "pw"); err != nil {
			return err
		}
		for m := range nModels {
			if _, err := bt.CreateModel(fmt.Sprintf("model-%04d", m), controller.CreateModelOptions{}); err != nil {
				return err
			}
			for g := range grantsPerModel {
				u := fmt.Sprintf("user-%05d", (m*grantsPerModel+g)%nUsers)
				if u == "user-00000" {
					continue // below
				}
				if err := bt.Grant(u, acl.Level(1+g%3), fmt.Sprintf("admin/model-%04d", m)); err != nil {
					return err
				}
			}
		}
		// user-00000 reads every tenth model (100 of 1k), not model 1.
		for m := 0; m < nModels; m += 10 {
			if err := bt.Grant("user-00000", acl.Read, fmt.Sprintf("admin/model-%04d", m)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	reader, err := bs.Controller.Login(ctx, "user-00000", "pw")
	if err != nil {
		b.Fatal(err)
	}
	w := &world{ctrl: bs.Controller, admin: admin, reader: reader, grantee: "user-00000"}
	worlds[key] = w
	return w
}

var sizes = []struct {
	name                          string
	users, models, grantsPerModel int
}{
	{"10kGrants", 1_000, 100, 100},
	{"100kGrants", 10_000, 1_000, 100},
}

// BenchmarkAuthorize is the check "may this session act on this model at
// this level?" through the authorization snapshot.
func BenchmarkAuthorize(b *testing.B) {
	for _, sz := range sizes {
		w := getWorld(b, sz.users, sz.models, sz.grantsPerModel)
		for _, c := range []struct {
			name  string
			s     *controller.Session
			model string
			level acl.Level
			ok    bool
		}{
			{"allowed", w.reader, "admin/model-0000", acl.Read, true},
			{"denied", w.reader, "admin/model-0001", acl.Read, false},
			{"superuser", w.admin, "admin/model-0002", acl.Admin, true},
		} {
			b.Run(sz.name+"/"+c.name, func(b *testing.B) {
				if err := c.s.Authorize(c.model, c.level); (err == nil) != c.ok {
					b.Fatalf("Authorize = %v, want allowed %v", err, c.ok)
				}
				b.ReportAllocs()
				for b.Loop() {
					_ = c.s.Authorize(c.model, c.level)
				}
			})
		}
	}
}

// BenchmarkModels lists the models of a user who holds grants on 100 of
// 1k models (100k grants in all).
func BenchmarkModels(b *testing.B) {
	w := getWorld(b, sizes[1].users, sizes[1].models, sizes[1].grantsPerModel)
	ms, err := w.reader.Models(context.Background(), controller.ModelsOptions{})
	if err != nil || len(ms) != 100 {
		b.Fatalf("models = %d, %v", len(ms), err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_, _ = w.reader.Models(context.Background(), controller.ModelsOptions{})
	}
}

// BenchmarkSessionCheck validates a session.
func BenchmarkSessionCheck(b *testing.B) {
	w := getWorld(b, sizes[1].users, sizes[1].models, sizes[1].grantsPerModel)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := w.reader.Check(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoginDefaultCost is a login with bcrypt at its default cost;
// BenchmarkBcryptCompareDefaultCost is its floor.
func BenchmarkLoginDefaultCost(b *testing.B) {
	ctx := context.Background()
	bs, err := controller.Bootstrap(ctx, "bench", controller.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer bs.Controller.Close()
	for b.Loop() {
		if _, err := bs.Controller.Login(ctx, "admin", bs.Secret); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBcryptCompareDefaultCost(b *testing.B) {
	hash, err := bcrypt.GenerateFromPassword([]byte("a generated secret!!!!!!"), bcrypt.DefaultCost)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := bcrypt.CompareHashAndPassword(hash, []byte("a generated secret!!!!!!")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGrantCommit is one grant change at 100k grants: a Grant or a
// Revoke, each its own commit, through the store and the authorization
// snapshot's update.
func BenchmarkGrantCommit(b *testing.B) {
	w := getWorld(b, sizes[1].users, sizes[1].models, sizes[1].grantsPerModel)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		var err error
		if i%2 == 0 {
			err = w.admin.Grant(ctx, "user-00000", acl.Write, "admin/model-0005")
		} else {
			err = w.admin.Revoke(ctx, "user-00000", acl.Write, "admin/model-0005")
		}
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
}
