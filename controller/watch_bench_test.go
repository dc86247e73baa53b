package controller

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/models"
)

// BenchmarkWatchLatency measures how long a committed change takes to
// reach a watcher blocked in Next, in process: from just before Commit to
// Next's return. Each iteration commits one machine row of the watched
// model. It reports the p50 and p99 of that delay (the target: p99
// ≤ 1 ms).
//
//	go test ./controller -run XXX -bench WatchLatency -count 5
func BenchmarkWatchLatency(b *testing.B) {
	ctx := context.Background()
	boot, err := Bootstrap(ctx, "c", Options{PasswordCost: 4})
	if err != nil {
		b.Fatal(err)
	}
	defer boot.Controller.Close()
	c, admin := boot.Controller, boot.Admin
	w, err := admin.Watch(ctx, "default")
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	if _, err := w.Next(ctx); err != nil { // the first state
		b.Fatal(err)
	}
	uuid := w.uuid
	delays := make([]time.Duration, 0, b.N)
	got := make(chan time.Time)
	go func() {
		for {
			if _, err := w.Next(ctx); err != nil {
				close(got)
				return
			}
			got <- time.Now()
		}
	}()
	i := 0
	for b.Loop() {
		t := c.st.Write()
		// A started machine: the provisioner has nothing to do for it, so
		// the watcher gets this commit's batch and no other.
		mc := models.Machine{ModelUUID: uuid, ID: strconv.Itoa(i), InstanceID: "i-" + strconv.Itoa(i), Status: models.Started}
		if err := t.Insert(state.TableMachines, mc); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := t.Commit(); err != nil {
			b.Fatal(err)
		}
		at, ok := <-got
		if !ok {
			b.Fatal("the watcher ended")
		}
		delays = append(delays, at.Sub(start))
		i++
	}
	slices.Sort(delays)
	if len(delays) > 0 {
		b.ReportMetric(float64(delays[len(delays)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(delays[len(delays)*99/100].Microseconds()), "p99-µs")
	}
}
