package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/herd-project/herd/internal/etcdtest"
)

// run runs a command that must succeed and returns its output.
func (u *user) run(stdin, line string) string {
	u.t.Helper()
	out, errOut, code := u.juju(stdin, strings.Fields(line)...)
	if code != 0 {
		u.t.Fatalf("$ juju %s\nexit %d\n%s%s", line, code, out, errOut)
	}
	return out + errOut
}

// The seed on a controller in HA: bootstrap on etcd, enable-ha to three
// controller processes, and the first process killed (SIGKILL) midway;
// every later command, tom's registration and deploy included, goes to
// the others, and destroy-controller stops them all.
func TestSeedOnEtcdHA(t *testing.T) {
	cl := etcdtest.Shared(t)
	admin, tom := newUser(t, "HERD_FAKE_PROVIDER=1"), newUser(t, "HERD_FAKE_PROVIDER=1")
	prefix := fmt.Sprintf("herd-cli-ha-%d-%d", os.Getpid(), time.Now().UnixNano())
	admin.run("", "bootstrap ha localhost-fake --etcd-endpoints "+strings.Join(cl.Endpoints(), ",")+" --etcd-prefix "+prefix)
	dir := filepath.Join(admin.data, "controllers", "ha")
	if _, err := os.Stat(filepath.Join(dir, stateFileName)); !os.IsNotExist(err) {
		t.Errorf("a controller on etcd has a %s: %v", stateFileName, err)
	}
	if out := admin.run("", "enable-ha"); out != "maintaining machines: 0\nadding machines: 1, 2\n" {
		t.Errorf("enable-ha said:\n%s", out)
	}
	if out := admin.run("", "enable-ha -n 3"); out != "maintaining machines: 0, 1, 2\n" {
		t.Errorf("enable-ha again said:\n%s", out)
	}
	out := admin.run("", "show-controller --format json")
	if strings.Count(out, "127.0.0.1:") < 3 {
		t.Errorf("show-controller lists fewer than 3 API endpoints:\n%s", out)
	}
	admin.run("admin-password\nadmin-password\n", "change-user-password")
	token := tokenIn(t, admin.run("", "add-user tom"))
	admin.run("", "create-model lxd-model-1")
	admin.run("", "grant --acl=write tom lxd-model-1")

	// Midway, the first controller process dies.
	pid, ok := agentPID(dir)
	if !ok {
		t.Fatal("the first controller process is not running")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100 && isAgent(pid, dir); i++ {
		time.Sleep(20 * time.Millisecond)
	}

	tom.run("tom-password\ntom-password\n\n", "register "+token)
	if out := tom.run("", "list-models"); !strings.Contains(out, "admin/lxd-model-1") {
		t.Errorf("tom's models:\n%s", out)
	}
	tom.run("tom-new-password\ntom-new-password\n", "change-user-password")
	tom.run("", "deploy mysql mysql-staging")
	// The provisioner's lead passes to another process once the dead
	// one's lease runs out (2 s).
	tom.run("", "wait-for application mysql-staging --timeout 30s")
	if out := tom.run("", "status"); !strings.Contains(out, "started") {
		t.Errorf("tom's status:\n%s", out)
	}
	tom.run("", "logout")
	if out := admin.run("", "list-users"); !strings.Contains(out, "tom") {
		t.Errorf("admin's users:\n%s", out)
	}
	type proc struct {
		pid int
		dir string
	}
	var procs []proc
	for _, nd := range nodeDirs(dir) {
		if pid, ok := agentPID(nd); ok {
			procs = append(procs, proc{pid, nd})
		}
	}
	if len(procs) != 2 {
		t.Errorf("%d extra controller processes run, want 2", len(procs))
	}
	admin.run("", "destroy-controller ha -y --destroy-all-models")
	for _, p := range procs {
		if isAgent(p.pid, p.dir) {
			t.Errorf("controller process %d of %s still runs after destroy-controller", p.pid, p.dir)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the controller's folder is left: %v", err)
	}
}

// kill-controller stops every process of a controller in HA, and
// enable-ha refuses a controller kept in a file.
func TestKillControllerInHA(t *testing.T) {
	cl := etcdtest.Shared(t)
	admin := newUser(t, "HERD_FAKE_PROVIDER=1")
	prefix := fmt.Sprintf("herd-cli-kill-%d-%d", os.Getpid(), time.Now().UnixNano())
	admin.run("", "bootstrap ha localhost-fake --etcd-endpoints "+strings.Join(cl.Endpoints(), ",")+" --etcd-prefix "+prefix)
	admin.run("", "enable-ha -n 2")
	dir := filepath.Join(admin.data, "controllers", "ha")
	var pids []int
	for _, d := range append([]string{dir}, nodeDirs(dir)...) {
		pid, ok := agentPID(d)
		if !ok {
			t.Fatalf("no controller process for %s", d)
		}
		pids = append(pids, pid)
	}
	if len(pids) != 2 {
		t.Fatalf("%d controller processes, want 2", len(pids))
	}
	admin.run("", "kill-controller ha -y")
	for _, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); strings.Contains(string(b), "controller-agent") {
				t.Errorf("controller process %d still runs", pid)
			}
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the controller's folder is left: %v", err)
	}

	admin.run("", "bootstrap solo localhost-fake")
	if _, errOut, code := admin.juju("", "enable-ha"); code == 0 || !strings.Contains(errOut, "bootstrap a controller with --etcd-endpoints") {
		t.Errorf("enable-ha on a file controller: exit %d, %s", code, errOut)
	}
}
