package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// The demo runs to its end within its bound: three etcd members, three
// controllers, the seed with the first controller killed midway, and the
// two left agreeing.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an etcd cluster and three controllers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Second)
	defer cancel()
	var out bytes.Buffer
	start := time.Now()
	if err := run(ctx, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Logf("ran in %v", time.Since(start).Round(time.Millisecond))
	for _, want := range []string{
		"controller 2 joined",
		"the login lists every controller",
		"names 3 controllers",
		"*** controller 0 (",
		"admin's session goes on, resumed on controller ",
		"step 9  $ juju deploy mysql mysql-staging\n        machine 0 started",
		"step 10 $ juju logout",
		"the 2 left hold the same state",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "resumed on controller 0") || strings.Contains(out.String(), "registered, on controller 0") {
		t.Errorf("a client went to the killed controller:\n%s", out.String())
	}
}
