package controller_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	lxd "github.com/canonical/lxd/client"
	"github.com/canonical/lxd/shared/api"

	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/controller/controllertest"
	"github.com/herd-project/herd/provider/lxdprovider"
)

// BenchmarkProvisionLXD measures the provisioner on real LXD against the
// raw LXD client, interleaved in each iteration (these machines are shared
// and noisy: a pair measured at the same moment gives a fair ratio). Each
// sub-benchmark reports raw-ms and herd-ms (medians over -count are what
// to quote) and herd/raw, the ratio of the pair:
//
//   - start-1: create+start one container with the LXD client, against
//     Deploy of one unit until it is started (WaitStarted);
//   - start-10: create+start of ten one after another, against Deploy of
//     ten units until all are started;
//   - stop-10: stop+delete of ten one after another, against DestroyModel
//     of a model of ten machines until it is gone (WaitRemoved).
//
// The raw containers live in the same LXD project as the model's
// machines (lxdprovider makes one per model), from the same image and
// profile. Set-up and clean-up are not timed. Run it with
//
//	go test ./controller -run XXX -bench ProvisionLXD -benchtime 1x -count 6
//
// Skipped without LXD.
func BenchmarkProvisionLXD(b *testing.B) {
	ctx := context.Background()
	p, err := lxdprovider.New(ctx, lxdprovider.Options{})
	if err != nil {
		b.Skipf("no LXD daemon: %v", err)
	}
	defer p.Close()
	conn, err := lxd.ConnectLXDUnixWithContext(ctx, "", nil)
	if err != nil {
		b.Skipf("no LXD socket: %v", err)
	}
	defer conn.Disconnect()
	bs, err := controller.Bootstrap(ctx, "herd-bench", controller.Options{Provider: p, Hasher: controllertest.TestHasher{}})
	if err != nil {
		b.Fatal(err)
	}
	admin := bs.Admin
	defer func() {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		if err := admin.DestroyController(dctx); err != nil {
			b.Errorf("destroy controller: %v", err)
		}
	}()
	m, err := admin.CreateModel(ctx, "bench", controller.CreateModelOptions{})
	if err != nil {
		b.Fatal(err)
	}
	srv := conn.UseProject("herd-" + m.UUID)
	seq := 0
	raw := func(b *testing.B, n int) []string {
		var names []string
		for range n {
			seq++
			name := fmt.Sprintf("rawbench-%d", seq)
			if err := rawStart(ctx, srv, name); err != nil {
				b.Fatal(err)
			}
			names = append(names, name)
		}
		return names
	}
	rawStop := func(b *testing.B, names []string) {
		for _, name := range names {
			if err := rawDelete(ctx, srv, name); err != nil {
				b.Fatal(err)
			}
		}
	}
	deploy := func(b *testing.B, model string, n int) {
		seq++
		app := fmt.Sprintf("app%d", seq)
		if _, err := admin.Deploy(ctx, model, "app", controller.DeployOptions{Name: app, NumUnits: n}); err != nil {
			b.Fatal(err)
		}
		if _, err := admin.WaitStarted(ctx, model, app); err != nil {
			b.Fatal(err)
		}
	}
	clear := func(b *testing.B) {
		st, err := admin.Status(ctx, "bench")
		if err != nil {
			b.Fatal(err)
		}
		for _, a := range st.Applications {
			if err := admin.RemoveApplication(ctx, "bench", a.Name); err != nil {
				b.Fatal(err)
			}
		}
		if err := bs.Controller.Settle(ctx); err != nil {
			b.Fatal(err)
		}
	}
	// pair times rawOp and herdOp (with their set-ups and clean-ups
	// untimed), in alternating order, and reports both and their ratio;
	// parOp, when set, is the raw client doing the same with every
	// container at once (goroutines), LXD's own floor for parallel work.
	pair := func(b *testing.B, rawOp, herdOp, parOp func(b *testing.B) time.Duration) {
		var rawT, herdT, parT time.Duration
		i := 0
		for b.Loop() {
			if i%2 == 0 {
				rawT += rawOp(b)
				herdT += herdOp(b)
			} else {
				herdT += herdOp(b)
				rawT += rawOp(b)
			}
			if parOp != nil {
				parT += parOp(b)
			}
			i++
		}
		b.ReportMetric(float64(rawT.Milliseconds())/float64(i), "raw-ms")
		b.ReportMetric(float64(herdT.Milliseconds())/float64(i), "herd-ms")
		b.ReportMetric(float64(herdT)/float64(rawT), "herd/raw")
		if parOp != nil {
			b.ReportMetric(float64(parT.Milliseconds())/float64(i), "rawpar-ms")
			b.ReportMetric(float64(herdT)/float64(parT), "herd/rawpar")
		}
	}
	// rawPar starts (or, with names, stops) containers all at once.
	rawPar := func(b *testing.B, n int, names []string) ([]string, time.Duration) {
		if names == nil {
			for range n {
				seq++
				names = append(names, fmt.Sprintf("rawbench-%d", seq))
			}
			start := time.Now()
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i, name := range names {
				wg.Go(func() { errs[i] = rawStart(ctx, srv, name) })
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				b.Fatal(err)
			}
			return names, time.Since(start)
		}
		start := time.Now()
		errs := make([]error, len(names))
		var wg sync.WaitGroup
		for i, name := range names {
			wg.Go(func() { errs[i] = rawDelete(ctx, srv, name) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			b.Fatal(err)
		}
		return nil, time.Since(start)
	}
	timed := func(f func()) time.Duration {
		start := time.Now()
		f()
		return time.Since(start)
	}
	for _, n := range []int{1, 10} {
		var par func(b *testing.B) time.Duration
		if n > 1 {
			par = func(b *testing.B) time.Duration {
				names, d := rawPar(b, n, nil)
				rawPar(b, n, names)
				return d
			}
		}
		b.Run(fmt.Sprintf("start-%d", n), func(b *testing.B) {
			pair(b, func(b *testing.B) time.Duration {
				var names []string
				d := timed(func() { names = raw(b, n) })
				rawStop(b, names)
				return d
			}, func(b *testing.B) time.Duration {
				d := timed(func() { deploy(b, "bench", n) })
				clear(b)
				return d
			}, par)
		})
	}
	b.Run("stop-10", func(b *testing.B) {
		pair(b, func(b *testing.B) time.Duration {
			names := raw(b, 10)
			return timed(func() { rawStop(b, names) })
		}, func(b *testing.B) time.Duration {
			seq++
			model := fmt.Sprintf("gone%d", seq)
			if _, err := admin.CreateModel(ctx, model, controller.CreateModelOptions{}); err != nil {
				b.Fatal(err)
			}
			deploy(b, model, 10)
			return timed(func() {
				if err := admin.DestroyModel(ctx, model); err != nil {
					b.Fatal(err)
				}
				if err := admin.WaitRemoved(ctx, model); err != nil {
					b.Fatal(err)
				}
			})
		}, func(b *testing.B) time.Duration {
			names, _ := rawPar(b, 10, nil)
			_, d := rawPar(b, 10, names)
			return d
		})
	})
}

// rawStart creates and starts a container as lxdprovider does, with the
// LXD client alone, in the default project.
func rawStart(ctx context.Context, srv lxd.InstanceServer, name string) error {
	op, err := srv.CreateInstance(api.InstancesPost{
		Name:        name,
		Type:        api.InstanceTypeContainer,
		Source:      api.InstanceSource{Type: "image", Alias: lxdprovider.DefaultImage},
		InstancePut: api.InstancePut{Profiles: []string{"default"}},
	})
	if err == nil {
		err = op.WaitContext(ctx)
	}
	if err != nil {
		return err
	}
	op, err = srv.UpdateInstanceState(name, api.InstanceStatePut{Action: "start", Timeout: -1}, "")
	if err == nil {
		err = op.WaitContext(ctx)
	}
	return err
}

// rawDelete stops and deletes a container with the LXD client alone.
func rawDelete(ctx context.Context, srv lxd.InstanceServer, name string) error {
	op, err := srv.UpdateInstanceState(name, api.InstanceStatePut{Action: "stop", Force: true, Timeout: -1}, "")
	if err == nil {
		err = op.WaitContext(ctx)
	}
	if err != nil {
		return err
	}
	op, err = srv.DeleteInstance(name)
	if err == nil {
		err = op.WaitContext(ctx)
	}
	return err
}
