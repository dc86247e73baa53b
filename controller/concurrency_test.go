package controller_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/controller/controllertest"
	"github.com/herd-project/herd/internal/hooks"
	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/models"
)

// TestConcurrentUsers runs 8 goroutines of 1,000 random operations each,
// as 6 users and the admin, against one controller, then checks the
// invariants. Run it with -race.
func TestConcurrentUsers(t *testing.T) {
	const goroutines, opsEach = 8, 1000
	f := controllertest.New(t, nil)
	ctx := context.Background()
	names := []string{"u0", "u1", "u2", "u3", "u4", "u5"}
	for i, n := range names {
		if i%2 == 0 {
			f.AddUser(t, n, acl.AddModel)
		} else {
			f.AddUser(t, n)
		}
	}
	for i := range 3 {
		f.CreateModel(t, names[i], fmt.Sprintf("m%d", i))
	}
	refs := []string{"u0/m0", "u1/m1", "u2/m2", "admin/default"}
	var mu sync.Mutex // guards sessions
	sessions := map[string]*controller.Session{}
	for _, n := range names {
		sessions[n] = f.Session(t, n)
	}
	session := func(n string) *controller.Session {
		mu.Lock()
		defer mu.Unlock()
		return sessions[n]
	}
	var wg sync.WaitGroup
	counts := make([]map[string]int, goroutines)
	for g := range goroutines {
		counts[g] = map[string]int{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 99))
			pick := func(s []string) string { return s[rng.IntN(len(s))] }
			for i := range opsEach {
				me := pick(names)
				s := session(me)
				var err error
				op := rng.IntN(14)
				switch op {
				case 0, 1:
					err = s.Grant(ctx, pick(names), acl.Level(1+rng.IntN(3)), pick(refs))
				case 2, 3:
					err = s.Revoke(ctx, pick(names), acl.Level(1+rng.IntN(3)), pick(refs))
				case 4:
					_, err = s.Deploy(ctx, pick(refs), "app", controller.DeployOptions{Name: fmt.Sprintf("a%d-%d", g, i)})
				case 5:
					_, err = s.CreateModel(ctx, fmt.Sprintf("n%d-%d", g, i%5), controller.CreateModelOptions{})
				case 6:
					err = s.DestroyModel(ctx, fmt.Sprintf("%s/n%d-%d", me, g, i%5))
				case 7:
					err = f.Admin.DisableUser(ctx, pick(names))
				case 8:
					err = f.Admin.EnableUser(ctx, pick(names))
				case 9:
					err = f.Admin.RemoveUser(ctx, pick(names))
				case 10:
					n := pick(names)
					if _, err = f.Admin.AddUser(ctx, n, ""); err == nil {
						err = f.Admin.ChangePassword(ctx, n, f.Password(n))
					}
				case 11:
					var ns *controller.Session
					if ns, err = f.Controller.Login(ctx, me, f.Password(me)); err == nil {
						mu.Lock()
						sessions[me] = ns
						mu.Unlock()
					}
				case 12:
					err = s.Logout(ctx)
				case 13:
					_, err = s.Models(ctx, controller.ModelsOptions{})
				}
				if err == nil {
					counts[g]["ok"]++
				} else {
					counts[g]["refused"]++
				}
			}
		}()
	}
	wg.Wait()
	ok, refused := 0, 0
	for _, c := range counts {
		ok, refused = ok+c["ok"], refused+c["refused"]
	}
	t.Logf("%d operations: %d done, %d refused", ok+refused, ok, refused)
	if ok == 0 {
		t.Fatal("nothing succeeded: the test exercised nothing")
	}

	r := hooks.State(f.Controller).Read()
	us := map[string]state.User{}
	enabledSupers := 0
	for _, u := range state.List[state.User](r, state.TableUsers, state.IndexID) {
		us[u.Name] = u
		if u.Access == acl.Superuser && !u.Disabled {
			enabledSupers++
		}
	}
	if enabledSupers == 0 {
		t.Error("no enabled superuser left")
	}
	for _, m := range state.List[models.Model](r, state.TableModels, state.IndexID) {
		admins := 0
		for _, g := range state.List[state.Grant](r, state.TableGrants, state.IndexModel, m.UUID) {
			if g.Level == acl.Admin {
				admins++
			}
		}
		if admins == 0 {
			t.Errorf("model %s has no admin", m.FullName())
		}
		if _, ok := us[m.Owner]; !ok {
			t.Errorf("model %s has a removed owner", m.FullName())
		}
	}
	for _, g := range state.List[state.Grant](r, state.TableGrants, state.IndexID) {
		if _, ok := us[g.User]; !ok {
			t.Errorf("grant to removed user %s", g.User)
		}
	}
	for _, s := range state.List[state.Session](r, state.TableSessions, state.IndexID) {
		u, ok := us[s.User]
		if !ok || u.Disabled || u.Access == acl.None {
			t.Errorf("session of %s, who is removed, disabled or without access", s.User)
		}
	}
	for _, sec := range state.List[state.Secret](r, state.TableSecrets, state.IndexID) {
		if _, ok := us[sec.User]; !ok {
			t.Errorf("registration secret of removed user %s", sec.User)
		}
	}
}
