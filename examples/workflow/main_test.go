package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/herd-project/herd/provider"
	"github.com/herd-project/herd/provider/lxdprovider"
)

func TestWorkflowRunsAllTenSteps(t *testing.T) {
	var out bytes.Buffer
	if _, err := run(context.Background(), &out, "fake", false); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		"step 1  $ juju bootstrap lxd-controller-1 lxd",
		"step 5  $ juju grant --acl=write tom lxd-model-1",
		"step 10 $ juju logout",
		"admin/lxd-model-1  fake/default  available  1         1      write",
		`application "mysql-staging" (charm mysql): unit mysql-staging/0 on machine 0 (pending: the provisioner starts it)`,
		"        machine 0 started, instance juju-",
		"tom logged out; his session is refused",
		"fake provider runs 2 instance(s):",
		"cleanup  controller destroyed",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if _, err := run(context.Background(), &out, "nowhere", false); err == nil {
		t.Error("unknown cloud accepted")
	}
}

// The seed on real LXD: a real controller container and a real machine for
// mysql-staging, and nothing left behind afterwards.
func TestWorkflowOnLXD(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := lxdprovider.New(ctx, lxdprovider.Options{})
	if err != nil {
		if os.Getenv("HERD_LXD") != "" {
			t.Fatalf("HERD_LXD is set but LXD is not usable: %v", err)
		}
		t.Skipf("no LXD daemon: %v", err)
	}
	defer p.Close()
	var out bytes.Buffer
	uuid, err := run(ctx, &out, "lxd", false)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{"lxd provider runs 2 instance(s):", "running  (controller)", "running  (model machine 0)", "admin/lxd-model-1  lxd/default"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if insts, err := p.Instances(ctx, provider.Filter{ControllerUUID: uuid}); err != nil || len(insts) != 0 {
		t.Errorf("instances left: %+v, %v", insts, err)
	}
	if spaces, err := p.ModelSpaces(ctx, uuid); err != nil || len(spaces) != 0 {
		t.Errorf("projects left: %v, %v", spaces, err)
	}
}
