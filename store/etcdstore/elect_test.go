package etcdstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/herd-project/herd/store/etcdstore"
)

// One of two backends leads a role; the other waits, and takes it over
// when the first resigns, and again when the first one's process is cut
// off (its backend closed without resigning: the lease runs out).
func TestLead(t *testing.T) {
	name := endpoint + " " + newPrefix()
	a, b := open(t, name), open(t, name)
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lostA, resignA, err := a.Lead(ctx, "provisioner")
	if err != nil {
		t.Fatal(err)
	}
	type led struct {
		lost   <-chan struct{}
		resign func()
		err    error
		at     time.Time
	}
	campaign := func() chan led {
		ch := make(chan led, 1)
		go func() {
			lost, resign, err := b.Lead(ctx, "provisioner")
			ch <- led{lost, resign, err, time.Now()}
		}()
		return ch
	}
	bLeads := campaign()
	select {
	case l := <-bLeads:
		t.Fatalf("b leads while a does: %v", l.err)
	case <-time.After(300 * time.Millisecond):
	}
	start := time.Now()
	resignA()
	l := <-bLeads
	if l.err != nil {
		t.Fatal(l.err)
	}
	t.Logf("b leads %v after a resigned", l.at.Sub(start).Round(time.Millisecond))
	select {
	case <-lostA:
	case <-time.After(5 * time.Second):
		t.Error("a's lost channel still open after it resigned")
	}

	// Now b holds it; a takes it back once b's process is cut off.
	a2 := open(t, name)
	defer a2.Close()
	aLeads := make(chan error, 1)
	go func() {
		_, resign, err := a2.Lead(ctx, "provisioner")
		if err == nil {
			defer resign()
		}
		aLeads <- err
	}()
	time.Sleep(100 * time.Millisecond)
	start = time.Now()
	b.Close()
	if err := <-aLeads; err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("a leads %v after b's backend closed without resigning", took.Round(time.Millisecond))
	if took > 2*leaseTTL+time.Second {
		t.Errorf("took over after %v, want within about the lease (%v)", took, leaseTTL)
	}
	a.Close()
}

const leaseTTL = etcdstore.LeaseTTL * time.Second
