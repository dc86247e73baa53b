package controller_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
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
	f.Provider.Latency(func(fakeprovider.Op, bool) time.Duration { return j.upTo(2 * time.Millisecond) })
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

// staged sets the fake provider's latency: request[op] before a call of op
// takes effect and answer[op] after; no wait for other ops.
func staged(p *fakeprovider.Provider, request, answer map[fakeprovider.Op]time.Duration) {
	p.Latency(func(op fakeprovider.Op, ans bool) time.Duration {
		if ans {
			return answer[op]
		}
		return request[op]
	})
}

// raceOnce runs add in a goroutine, then after 10ms remove, and returns
// both errors once both are done.
func raceOnce(add func() error, remove func() error) (addErr, removeErr error) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		addErr = add()
	}()
	time.Sleep(10 * time.Millisecond)
	removeErr = remove()
	<-done
	return addErr, removeErr
}

// The interleaving that leaked: the destroy stops the new machine before
// its instance is there (start takes 30ms) and takes 60ms to hear back;
// meanwhile the deploy's instance lands and is recorded on the row the
// destroy then removed. Now the deploy sees the model dying when it
// records its instance, fails, and stops it; the destroy, finding the row
// changed, stops it again; the model goes at the first try.
func TestDeployLosesToDestroyModel(t *testing.T) {
	f, tom, _ := faultWorld(t)
	ctx := f.Context()
	staged(f.Provider, map[fakeprovider.Op]time.Duration{fakeprovider.OpStart: 30 * time.Millisecond},
		map[fakeprovider.Op]time.Duration{fakeprovider.OpStop: 60 * time.Millisecond})
	deployErr, destroyErr := raceOnce(func() error {
		_, err := tom.Deploy(ctx, "admin/m", "mysql", controller.DeployOptions{})
		return err
	}, func() error { return f.Admin.DestroyModel(ctx, "admin/m") })
	if !errors.Is(deployErr, herd.ErrFailedPrecondition) || !strings.Contains(deployErr.Error(), `model "admin/m" is dying`) {
		t.Errorf("deploy: %v, want the model is dying", deployErr)
	}
	if destroyErr != nil {
		t.Errorf("destroy: %v", destroyErr)
		if err := f.Admin.DestroyModel(ctx, "admin/m"); err != nil {
			t.Errorf("destroy again: %v", err)
		}
	}
	if _, err := f.Admin.Status(ctx, "admin/m"); !errors.Is(err, herd.ErrNotFound) {
		t.Errorf("the model survived: %v", err)
	}
	if l := leaks(f); len(l) > 0 {
		t.Error(l)
	}
}

// The other order: the destroy removes the machine's row before the
// instance lands (its space goes only later). The deploy finds its row
// gone, fails and stops the instance, and the destroy finishes.
func TestDeployFindsItsMachineRemoved(t *testing.T) {
	f, tom, _ := faultWorld(t)
	ctx := f.Context()
	staged(f.Provider, map[fakeprovider.Op]time.Duration{fakeprovider.OpStart: 30 * time.Millisecond, fakeprovider.OpDestroyModel: 40 * time.Millisecond},
		map[fakeprovider.Op]time.Duration{fakeprovider.OpStop: 5 * time.Millisecond})
	deployErr, destroyErr := raceOnce(func() error {
		_, err := tom.Deploy(ctx, "admin/m", "mysql", controller.DeployOptions{})
		return err
	}, func() error { return f.Admin.DestroyModel(ctx, "admin/m") })
	if !errors.Is(deployErr, herd.ErrFailedPrecondition) {
		t.Errorf("deploy: %v, want ErrFailedPrecondition", deployErr)
	}
	if destroyErr != nil {
		t.Errorf("destroy: %v", destroyErr)
	}
	if l := leaks(f); len(l) > 0 {
		t.Error(l)
	}
}

// AddUnit and RemoveApplication in the interleaving that leaked: AddUnit
// fails, its instance is stopped, the application goes.
func TestAddUnitLosesToRemoveApplication(t *testing.T) {
	f, tom, _ := faultWorld(t)
	ctx := f.Context()
	f.Deploy(t, "admin/m", "mysql", 1)
	if err := tom.RemoveUnit(ctx, "admin/m", "mysql/0"); err != nil {
		t.Fatal(err)
	}
	staged(f.Provider, map[fakeprovider.Op]time.Duration{fakeprovider.OpStart: 30 * time.Millisecond},
		map[fakeprovider.Op]time.Duration{fakeprovider.OpStop: 60 * time.Millisecond})
	addErr, removeErr := raceOnce(func() error {
		_, err := tom.AddUnit(ctx, "admin/m", "mysql", controller.AddUnitOptions{})
		return err
	}, func() error { return tom.RemoveApplication(ctx, "admin/m", "mysql") })
	if !errors.Is(addErr, herd.ErrFailedPrecondition) || !strings.Contains(addErr.Error(), `application "mysql" is being removed`) {
		t.Errorf("add-unit: %v, want the application is being removed", addErr)
	}
	if removeErr != nil {
		t.Errorf("remove-application: %v", removeErr)
	}
	wantLayout(t, f, "admin/m", nil, nil)
	if l := leaks(f); len(l) > 0 {
		t.Error(l)
	}
}

// AddUnit and RemoveUnit of the unit it adds, in the same interleaving:
// the model stays alive, so AddUnit succeeds, and RemoveUnit then removes
// the unit and stops its machine.
func TestAddUnitThenRemoveUnit(t *testing.T) {
	f, tom, _ := faultWorld(t)
	ctx := f.Context()
	f.Deploy(t, "admin/m", "mysql", 1)
	staged(f.Provider, map[fakeprovider.Op]time.Duration{fakeprovider.OpStart: 30 * time.Millisecond},
		map[fakeprovider.Op]time.Duration{fakeprovider.OpStop: 60 * time.Millisecond})
	addErr, removeErr := raceOnce(func() error {
		_, err := tom.AddUnit(ctx, "admin/m", "mysql", controller.AddUnitOptions{})
		return err
	}, func() error { return tom.RemoveUnit(ctx, "admin/m", "mysql/1") })
	if addErr != nil || removeErr != nil {
		t.Errorf("add-unit: %v; remove-unit: %v", addErr, removeErr)
	}
	wantLayout(t, f, "admin/m", []string{"mysql/0@0"}, []string{"0"})
	if l := leaks(f); len(l) > 0 {
		t.Error(l)
	}
}
