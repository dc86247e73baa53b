package apiservertest_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/apiserver/apiservertest"
	"github.com/herd-project/herd/client"
	"github.com/herd-project/herd/controller"
)

// Many users register, log in and are granted access at once, over the
// network; each token is used by several clients at once, and exactly one
// of them wins.
func TestConcurrentRegistrationsAndGrants(t *testing.T) {
	srv := apiservertest.New(t, nil)
	f := srv.Fixture
	f.CreateModel(t, "admin", "m")
	admin := srv.Client(t, "admin")
	ctx := f.Context()
	const users, racers = 8, 4
	tokens := make([]string, users)
	for i := range tokens {
		added, err := admin.AddUser(ctx, fmt.Sprintf("user%d", i), "")
		if err != nil {
			t.Fatal(err)
		}
		tokens[i] = added.Token
	}
	var wins, losses atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, users*racers*2)
	for i, tok := range tokens {
		for r := range racers {
			wg.Go(func() {
				s, _, err := client.Register(ctx, tok, fmt.Sprintf("password-%d-%d", i, r), client.RegisterOptions{})
				switch {
				case err == nil:
					wins.Add(1)
					defer s.Close()
					if _, err := s.Models(ctx, controller.ModelsOptions{}); err != nil {
						errs <- fmt.Errorf("user%d lists models: %w", i, err)
					}
				case errors.Is(err, herd.ErrUnauthenticated):
					losses.Add(1)
				default:
					errs <- fmt.Errorf("user%d registers: %w", i, err)
				}
			})
		}
		// The admin grants at the same time, on another connection.
		wg.Go(func() {
			if err := admin.Grant(ctx, fmt.Sprintf("user%d", i), acl.Read, "admin/m"); err != nil {
				errs <- fmt.Errorf("grant user%d: %w", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if wins.Load() != users || losses.Load() != users*(racers-1) {
		t.Errorf("registrations: %d won, %d lost; want %d and %d (one winner per token)", wins.Load(), losses.Load(), users, users*(racers-1))
	}
	mu, err := admin.ModelUsers(ctx, "admin/m")
	if err != nil || len(mu) != users+1 {
		t.Errorf("model users after concurrent grants: %d, %v; want %d", len(mu), err, users+1)
	}
}

// A model connection is the user's last connection to the model, as in
// Juju: listings show "never" (the zero time) until then, and the time of
// the last one after.
func TestLastConnectionPerModel(t *testing.T) {
	srv := apiservertest.New(t, nil)
	f := srv.Fixture
	f.CreateModel(t, "admin", "m")
	f.CreateModel(t, "admin", "n")
	f.AddUser(t, "tom")
	f.Grant(t, "tom", acl.Write, "admin/m")
	f.Grant(t, "tom", acl.Read, "admin/n")
	tom := srv.Client(t, "tom")
	ctx := f.Context()
	last := func() map[string]time.Time {
		ms, err := tom.Models(ctx, controller.ModelsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]time.Time{}
		for _, m := range ms {
			out[m.FullName()] = m.LastConnection
		}
		return out
	}
	if l := last(); !l["admin/m"].IsZero() || !l["admin/n"].IsZero() {
		t.Fatalf("before any model connection: %v", l)
	}
	if _, err := tom.Status(ctx, "admin/m"); err != nil { // opens a model connection
		t.Fatal(err)
	}
	l := last()
	if !l["admin/m"].Equal(f.Clock.Now()) || !l["admin/n"].IsZero() {
		t.Errorf("after connecting to admin/m at %v: %v", f.Clock.Now(), l)
	}
	// A grant changed later keeps the record.
	f.Grant(t, "tom", acl.Admin, "admin/m")
	if l2 := last(); !l2["admin/m"].Equal(l["admin/m"]) {
		t.Errorf("a grant lost the last connection: %v", l2)
	}
}
