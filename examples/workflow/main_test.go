package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestWorkflowRunsAllTenSteps(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, "fake"); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		"step 1  $ juju bootstrap lxd-controller-1 lxd",
		"step 5  $ juju grant --acl=write tom lxd-model-1",
		"step 10 $ juju logout",
		"admin/lxd-model-1  fake/default  available  1         1      write",
		`application "mysql-staging" (charm mysql): unit mysql-staging/0 on machine 0 (started`,
		"tom logged out; his session is refused",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if err := run(context.Background(), &out, "nowhere"); err == nil {
		t.Error("unknown cloud accepted")
	}
}
