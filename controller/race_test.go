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
	"github.com/herd-project/herd/internal/hooks"
	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/provider"
	"github.com/herd-project/herd/provider/fakeprovider"
)

// raceRounds is how many rounds each race test runs; each round takes a
// few milliseconds.
const raceRounds = 30

// jitter hands out random waits, to the fake provider's calls and to the
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

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
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
			f.Settle(t)
		}
	}
	j := newJitter(round)
	f.Provider.Delay(func(ctx context.Context, _ fakeprovider.Method, _ bool) { sleep(ctx, j.upTo(2*time.Millisecond)) })
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
	r := hooks.State(f.Controller).Read()
	defer r.Abort()
	type key struct{ model, id string }
	machines, apps := map[key]bool{}, map[key]bool{}
	for _, mc := range state.List[models.Machine](r, state.TableMachines, state.IndexID) {
		machines[key{mc.ModelUUID, mc.ID}] = true
	}
	for _, a := range state.List[models.Application](r, state.TableApplications, state.IndexID) {
		apps[key{a.ModelUUID, a.Name}] = true
	}
	for _, inst := range insts {
		if inst.ModelUUID != "" && !machines[key{inst.ModelUUID, inst.MachineID}] {
			out = append(out, fmt.Sprintf("instance %s runs without a machine row", inst.ID))
		}
	}
	for _, u := range state.List[models.Unit](r, state.TableUnits, state.IndexID) {
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
// lost the race, and once the provisioner settles the model is gone with
// nothing left running at the provider.
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
		// The deploy may come after the model is gone: tom is then
		// denied, as for any model he cannot see.
		if !lostRace(deployErr) && !errors.Is(deployErr, herd.ErrPermissionDenied) {
			problems = append(problems, fmt.Sprintf("deploy: %v", deployErr))
		}
		if destroyErr != nil {
			problems = append(problems, fmt.Sprintf("destroy: %v", destroyErr))
		}
		f.Settle(t)
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
			problems = append(problems, fmt.Sprintf("remove-application: %v", removeErr))
		}
		f.Settle(t)
		st, err := f.Admin.Status(ctx, "admin/m")
		if err != nil {
			return append(problems, err.Error())
		}
		if len(st.Applications) != 0 || len(st.Units) != 0 || len(st.Machines) != 0 {
			problems = append(problems, fmt.Sprintf("the application survived its removal (add-unit: %v): %+v, %+v", addErr, st.Applications, st.Units))
		}
		problems = append(problems, leaks(f)...)
		if err := f.Admin.DestroyModel(ctx, "admin/m"); err != nil {
			problems = append(problems, fmt.Sprintf("destroy after the race: %v", err))
		}
		f.Settle(t)
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
		f.Settle(t)
		st, err := f.Admin.Status(ctx, "admin/m")
		if err != nil {
			return append(problems, err.Error())
		}
		for _, u := range st.Units {
			if u.Name == "mysql/1" && removeErr == nil {
				problems = append(problems, "mysql/1 survived its removal")
			}
		}
		if want := 1 + (1 + n%2) - 1; len(st.Units) != want && removeErr == nil {
			problems = append(problems, fmt.Sprintf("%d units left, want %d", len(st.Units), want))
		}
		problems = append(problems, leaks(f)...)
		if err := f.Admin.DestroyModel(ctx, "admin/m"); err != nil {
			problems = append(problems, fmt.Sprintf("destroy after the race: %v", err))
		}
		f.Settle(t)
		return append(problems, leaks(f)...)
	})
}

// hold holds the first call of op at one point, before it takes effect
// or (answer) after, until release is closed; reached is closed when that
// call gets there.
type hold struct {
	op               fakeprovider.Method
	answer           bool
	reached, release chan struct{}
	once             sync.Once
}

func newHold(op fakeprovider.Method, answer bool) *hold {
	return &hold{op: op, answer: answer, reached: make(chan struct{}), release: make(chan struct{})}
}

// holdCalls makes the fake provider hold calls as the holds say.
func holdCalls(p *fakeprovider.Provider, holds ...*hold) {
	p.Delay(func(ctx context.Context, op fakeprovider.Method, answer bool) {
		for _, h := range holds {
			if h.op != op || h.answer != answer {
				continue
			}
			first := false
			h.once.Do(func() { first = true })
			if first {
				close(h.reached)
				select {
				case <-h.release:
				case <-ctx.Done():
				}
			}
		}
	})
}

// within returns what ch delivers, failing the test after 10s.
func within[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still waiting after 10s", what)
	}
	panic("unreachable")
}

// removeWhileStarting holds the provisioner's first start (before it
// takes effect, or after, with its answer held), runs remove meanwhile,
// releases the start, and checks that once the provisioner settles
// nothing is left at the provider without a row, and that the machine
// was stopped after its start.
func removeWhileStarting(t *testing.T, answer bool, remove func(f *controllertest.Fixture, tom *controller.Session) error) *controllertest.Fixture {
	t.Helper()
	f, tom, _ := faultWorld(t)
	ctx := f.Context()
	start := newHold(fakeprovider.Start, answer)
	holdCalls(f.Provider, start)
	if _, err := tom.Deploy(ctx, "admin/m", "mysql", controller.DeployOptions{}); err != nil {
		t.Fatal(err)
	}
	within(t, "the start", start.reached)
	if err := remove(f, tom); err != nil {
		t.Fatal(err)
	}
	if n := f.Provider.Calls(fakeprovider.Stop); n != 0 {
		t.Errorf("%d stops while the start was under way", n)
	}
	close(start.release)
	f.Settle(t)
	if n := f.Provider.Calls(fakeprovider.Stop); n != 1 {
		t.Errorf("%d stops after the start, want 1", n)
	}
	if l := leaks(f); len(l) > 0 {
		t.Error(l)
	}
	return f
}

// A destroy that comes while a machine starts waits for the start and
// then stops what it started; the model goes.
func TestDestroyModelWhileStarting(t *testing.T) {
	for _, answer := range []bool{false, true} {
		t.Run(fmt.Sprint("answer held ", answer), func(t *testing.T) {
			f := removeWhileStarting(t, answer, func(f *controllertest.Fixture, _ *controller.Session) error {
				return f.Admin.DestroyModel(f.Context(), "admin/m")
			})
			if _, err := f.Admin.Status(f.Context(), "admin/m"); !errors.Is(err, herd.ErrNotFound) {
				t.Errorf("the model survived: %v", err)
			}
		})
	}
}

// The same for RemoveApplication and RemoveUnit: the application (or the
// unit) goes, the model stays.
func TestRemoveWhileStarting(t *testing.T) {
	for _, c := range []struct {
		name string
		run  func(*controller.Session, context.Context) error
		apps int
	}{
		{"remove-application", func(tom *controller.Session, ctx context.Context) error {
			return tom.RemoveApplication(ctx, "admin/m", "mysql")
		}, 0},
		{"remove-unit", func(tom *controller.Session, ctx context.Context) error {
			return tom.RemoveUnit(ctx, "admin/m", "mysql/0")
		}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := removeWhileStarting(t, true, func(f *controllertest.Fixture, tom *controller.Session) error {
				return c.run(tom, f.Context())
			})
			st, err := f.Admin.Status(f.Context(), "admin/m")
			if err != nil || len(st.Applications) != c.apps || len(st.Units) != 0 || len(st.Machines) != 0 {
				t.Errorf("after %s: %+v, %v", c.name, st, err)
			}
		})
	}
}
