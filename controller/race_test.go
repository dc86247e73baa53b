package controller_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/controller/controllertest"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/provider"
	"github.com/herd-project/herd/provider/fakeprovider"
	"github.com/herd-project/herd/store"
)

// raceRounds is how many rounds each race test runs; each round takes a
// few milliseconds.
const raceRounds = 30

// jitter hands out random waits, to the fake provider's Latency and to the
// racing calls, from one seeded source.
type jitter struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func newJitter(round int) *jitter {
	return &jitter{rng: rand.New(rand.NewPCG(uint64(round), 7))}
}

// upTo returns a random wait of at most max.
func (j *jitter) upTo(max time.Duration) time.Duration {
	j.mu.Lock()
	defer j.mu.Unlock()
	return time.Duration(j.rng.Int64N(int64(max) + 1))
}

// raceWorld is faultWorld (model admin/m, tom may write to it) with an
// application mysql of `units` units when units >= 0 (mysql/0, removed
// again when units is 0), and then a provider whose every call takes up
// to 2ms each way.
func raceWorld(t *testing.T, round, units int) (*controllertest.Fixture, *controller.Session, *jitter) {
	f, tom, _ := faultWorld(t)
	if units >= 0 {
		f.Deploy(t, "admin/m", "mysql", max(units, 1))
		if units == 0 {
			if err := tom.RemoveUnit(f.Context(), "admin/m", "mysql/0"); err != nil {
				t.Fatal(err)
			}
		}
	}
	j := newJitter(round)
	f.Provider.Latency(func(fakeprovider.Op) time.Duration { return j.upTo(2 * time.Millisecond) })
	return f, tom, j
}

// leaks checks the invariants that hold whenever no call is under way:
// every instance the provider runs for a model has a machine row, and
// every unit has its machine and its application.
func leaks(f *controllertest.Fixture) []string {
	var out []string
	insts, err := f.Provider.Instances(context.Background(), provider.Filter{ControllerUUID: f.Controller.UUID()})
	if err != nil {
		return []string{fmt.Sprintf("provider: %v", err)}
	}
	r := f.Controller.Store().Read()
	defer r.Abort()
	type key struct{ model, id string }
	machines, apps := map[key]bool{}, map[key]bool{}
	for _, mc := range store.List[models.Machine](r, store.TableMachines, store.IndexID) {
		machines[key{mc.ModelUUID, mc.ID}] = true
	}
	for _, a := range store.List[models.Application](r, store.TableApplications, store.IndexID) {
		apps[key{a.ModelUUID, a.Name}] = true
	}
	for _, inst := range insts {
		if inst.ModelUUID != "" && !machines[key{inst.ModelUUID, inst.MachineID}] {
			out = append(out, fmt.Sprintf("instance %s runs without a machine row", inst.ID))
		}
	}
	for _, u := range store.List[models.Unit](r, store.TableUnits, store.IndexID) {
		if !machines[key{u.ModelUUID, u.Machine}] {
			out = append(out, fmt.Sprintf("unit %s without its machine %s", u.Name, u.Machine))
		}
		if !apps[key{u.ModelUUID, u.Application}] {
			out = append(out, fmt.Sprintf("unit %s without its application", u.Name))
		}
	}
	return out
}

// runRaces runs round raceRounds times and fails the test with how many
// rounds went wrong and the first few problems.
func runRaces(t *testing.T, round func(t *testing.T, n int) []string) {
	t.Helper()
	failed := 0
	for n := range raceRounds {
		problems := round(t, n)
		if len(problems) > 0 {
			failed++
			if failed <= 3 {
				t.Errorf("round %d: %v", n, problems)
			}
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d rounds went wrong", failed, raceRounds)
	}
}

// lostRace reports whether err is nil or how a call that lost a race to a
// removal fails.
func lostRace(err error) bool {
	return err == nil || errors.Is(err, herd.ErrFailedPrecondition) || errors.Is(err, herd.ErrNotFound)
}

// Deploy racing DestroyModel: the deploy succeeds or fails as one that
// lost the race, the destroy finishes (called again if it failed), and
// nothing is left running at the provider.
func TestDeployRacesDestroyModel(t *testing.T) {
	runRaces(t, func(t *testing.T, n int) (problems []string) {
		f, tom, j := raceWorld(t, n, -1)
		ctx := f.Context()
		var deployErr, destroyErr error
		var wg sync.WaitGroup
		wg.Go(func() {
			_, deployErr = tom.Deploy(ctx, "admin/m", "mysql", controller.DeployOptions{NumUnits: 1 + n%3})
		})
		wg.Go(func() {
			time.Sleep(j.upTo(3 * time.Millisecond))
			destroyErr = f.Admin.DestroyModel(ctx, "admin/m")
		})
		wg.Wait()
		if deployErr != nil && !errors.Is(deployErr, herd.ErrFailedPrecondition) {
			problems = append(problems, fmt.Sprintf("deploy: %v", deployErr))
		}
		if destroyErr != nil {
			if err := f.Admin.DestroyModel(ctx, "admin/m"); err != nil {
				problems = append(problems, fmt.Sprintf("destroy: %v; again: %v", destroyErr, err))
			}
		}
		if _, err := f.Admin.Status(ctx, "admin/m"); !errors.Is(err, herd.ErrNotFound) {
			problems = append(problems, fmt.Sprintf("the model survived its destroy (deploy: %v): %v", deployErr, err))
		}
		return append(problems, leaks(f)...)
	})
}

// AddUnit racing RemoveApplication: the same, for an application, with no
// units or one before the race.
func TestAddUnitRacesRemoveApplication(t *testing.T) {
	runRaces(t, func(t *testing.T, n int) (problems []string) {
		f, tom, j := raceWorld(t, n, n%2)
		ctx := f.Context()
		var addErr, removeErr error
		var wg sync.WaitGroup
		wg.Go(func() {
			_, addErr = tom.AddUnit(ctx, "admin/m", "mysql", controller.AddUnitOptions{NumUnits: 1 + n%3})
		})
		wg.Go(func() {
			time.Sleep(j.upTo(3 * time.Millisecond))
			removeErr = tom.RemoveApplication(ctx, "admin/m", "mysql")
		})
		wg.Wait()
		if !lostRace(addErr) {
			problems = append(problems, fmt.Sprintf("add-unit: %v", addErr))
		}
		if removeErr != nil {
			if err := tom.RemoveApplication(ctx, "admin/m", "mysql"); err != nil {
				problems = append(problems, fmt.Sprintf("remove-application: %v; again: %v", removeErr, err))
			}
		}
		st, err := f.Admin.Status(ctx, "admin/m")
		if err != nil {
			return append(problems, err.Error())
		}
		if len(st.Applications) != 0 || len(st.Units) != 0 {
			problems = append(problems, fmt.Sprintf("the application survived its removal (add-unit: %v): %+v, %+v", addErr, st.Applications, st.Units))
		}
		problems = append(problems, leaks(f)...)
		// Nothing is under way now: the model goes at the first try.
		if err := f.Admin.DestroyModel(ctx, "admin/m"); err != nil {
			problems = append(problems, fmt.Sprintf("destroy after the race: %v", err))
		}
		return append(problems, leaks(f)...)
	})
}

// AddUnit racing RemoveUnit of the unit it is adding: the unit is removed
// (or was never there to remove) and its machine with it.
func TestAddUnitRacesRemoveUnit(t *testing.T) {
	runRaces(t, func(t *testing.T, n int) (problems []string) {
		f, tom, j := raceWorld(t, n, 1)
		ctx := f.Context()
		var addErr, removeErr error
		var added atomic.Bool
		var wg sync.WaitGroup
		wg.Go(func() {
			defer added.Store(true)
			_, addErr = tom.AddUnit(ctx, "admin/m", "mysql", controller.AddUnitOptions{NumUnits: 1 + n%2})
		})
		wg.Go(func() {
			time.Sleep(j.upTo(time.Millisecond))
			for {
				done := added.Load()
				removeErr = tom.RemoveUnit(ctx, "admin/m", "mysql/1")
				if done || !errors.Is(removeErr, herd.ErrNotFound) {
					return
				}
				time.Sleep(j.upTo(200 * time.Microsecond))
			}
		})
		wg.Wait()
		if !lostRace(addErr) {
			problems = append(problems, fmt.Sprintf("add-unit: %v", addErr))
		}
		if removeErr != nil && !errors.Is(removeErr, herd.ErrNotFound) {
			problems = append(problems, fmt.Sprintf("remove-unit: %v", removeErr))
		}
		st, err := f.Admin.Status(ctx, "admin/m")
		if err != nil {
			return append(problems, err.Error())
		}
		for _, u := range st.Units {
			if u.Name == "mysql/1" && removeErr == nil {
				problems = append(problems, "mysql/1 survived its removal")
			}
		}
		problems = append(problems, leaks(f)...)
		if err := f.Admin.DestroyModel(ctx, "admin/m"); err != nil {
			problems = append(problems, fmt.Sprintf("destroy after the race: %v", err))
		}
		return append(problems, leaks(f)...)
	})
}
