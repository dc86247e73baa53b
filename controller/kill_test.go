package controller_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/controller/controllertest"
	"github.com/herd-project/herd/internal/state"
	"github.com/herd-project/herd/models"
	"github.com/herd-project/herd/provider"
	"github.com/herd-project/herd/provider/fakeprovider"
	"github.com/herd-project/herd/provider/lxdprovider"
	"github.com/herd-project/herd/store"
)

// A controller killed (SIGKILL) at random points of provisioning, many
// times, and reopened each time: once the last one settles, every machine
// runs with its row or is gone. Each round is a child process (this test
// binary, in TestProvisionerChild) that opens the controller's file, asks
// for more (deploys, add-unit, remove-application, a model created and
// one destroyed) and is killed after a random wait while its provisioner
// works; the fake provider keeps its machines in a file and takes up to
// 3 ms a call, so kills land between a start and its record.
func TestKillDuringProvisioning(t *testing.T) {
	rounds := 12
	if testing.Short() {
		rounds = 4
	}
	killRounds(t, "fake", rounds, 60*time.Millisecond)
}

// The same a few times on LXD (skipped without it unless HERD_LXD is set).
func TestKillDuringProvisioningOnLXD(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := lxdprovider.New(ctx, lxdprovider.Options{})
	if err != nil {
		if os.Getenv("HERD_LXD") != "" {
			t.Fatalf("HERD_LXD is set but LXD is not usable: %v", err)
		}
		t.Skipf("no LXD daemon (set HERD_LXD=1 to make this a failure): %v", err)
	}
	p.Close()
	killRounds(t, "lxd", 3, 1500*time.Millisecond)
}

// killRounds runs rounds children on the provider named prov, each killed
// within up to maxWait of its "opened" line, then opens the controller
// here, waits for it to settle and checks the rule.
func killRounds(t *testing.T, prov string, rounds int, maxWait time.Duration) {
	dir := t.TempDir()
	if prov == "lxd" {
		defer func() { // whatever happened, leave nothing at LXD
			if _, err := os.Stat(filepath.Join(dir, "secret")); err != nil {
				return
			}
			c, _, _ := openKilled(t, dir, prov)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			if err := loginKilled(t, c, dir).DestroyController(ctx); err != nil {
				t.Errorf("destroy controller: %v", err)
				c.Close()
			}
		}()
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	underWay := 0
	for r := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestProvisionerChild$", "-test.v=false")
		cmd.Env = append(os.Environ(), "HERD_KILL_DIR="+dir, "HERD_KILL_ROUND="+strconv.Itoa(r), "HERD_KILL_PROVIDER="+prov)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		if !lines.Scan() || lines.Text() != "opened" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("round %d: the child did not open the controller: %q", r, lines.Text())
		}
		time.Sleep(time.Duration(rng.Int64N(int64(maxWait))))
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if n := startsUnderWay(t, dir); n > 0 {
			underWay++
		}
	}
	t.Logf("%d kills, %d of them with a start under way (a machine allocating)", rounds, underWay)
	c, _, p := openKilled(t, dir, prov)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := c.Settle(ctx); err != nil {
		t.Fatalf("the reopened controller did not settle: %v", err)
	}
	checkProvisioned(t, c, p)
}

// startsUnderWay counts the machines a killed controller left allocating.
func startsUnderWay(t *testing.T, dir string) int {
	f, err := store.OpenFile(filepath.Join(dir, "state.db"), store.FileOptions{LockTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	st, err := state.New(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := 0
	for _, mc := range state.List[models.Machine](st.Read(), state.TableMachines, state.IndexID) {
		if mc.Status == models.Allocating {
			n++
		}
	}
	return n
}

// checkProvisioned checks the rule once the controller has settled: every
// instance of a model has a started machine row recording it, and every
// machine row is started with its instance there.
func checkProvisioned(t *testing.T, c *controller.Controller, p provider.Provider) {
	t.Helper()
	ctx := context.Background()
	insts, err := p.Instances(ctx, provider.Filter{ControllerUUID: c.UUID()})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]provider.Instance{}
	for _, inst := range insts {
		if inst.ModelUUID != "" {
			byID[inst.ID] = inst
		}
	}
	var machines []models.Machine
	for _, row := range c.Dump()["machines"] {
		var mc models.Machine
		if err := json.Unmarshal([]byte(row), &mc); err != nil {
			t.Fatal(err)
		}
		machines = append(machines, mc)
	}
	rows := map[string]bool{}
	for _, mc := range machines {
		rows[mc.InstanceID] = true
		if mc.Status != models.Started || mc.InstanceID == "" {
			t.Errorf("machine %s/%s is %s %q after settling", mc.ModelUUID[:6], mc.ID, mc.Status, mc.Message)
			continue
		}
		if inst, ok := byID[mc.InstanceID]; !ok || inst.Status != provider.Running {
			t.Errorf("machine %s/%s records instance %s, which the provider does not run (%+v)", mc.ModelUUID[:6], mc.ID, mc.InstanceID, inst)
		}
	}
	for id := range byID {
		if !rows[id] {
			t.Errorf("instance %s runs with no machine row", id)
		}
	}
	t.Logf("%d machines, all started with their instances; %d instances, all with their rows", len(machines), len(byID))
}

// openKilled opens the controller the children used, with its provider.
func openKilled(t *testing.T, dir, prov string) (*controller.Controller, string, provider.Provider) {
	t.Helper()
	var p provider.Provider
	switch prov {
	case "lxd":
		lp, err := lxdprovider.New(context.Background(), lxdprovider.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { lp.Close() })
		p = lp
	default:
		fp, err := fakeprovider.Open(filepath.Join(dir, "cloud.json"))
		if err != nil {
			t.Fatal(err)
		}
		p = fp
	}
	opts := controller.Options{Path: filepath.Join(dir, "state.db"), Provider: p, Hasher: controllertest.TestHasher{},
		Provisioning: controller.Provisioning{RetryDelay: 5 * time.Millisecond}}
	c, err := controller.Open(context.Background(), "", opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, prov, p
}

func loginKilled(t *testing.T, c *controller.Controller, dir string) *controller.Session {
	t.Helper()
	secret, err := os.ReadFile(filepath.Join(dir, "secret"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Login(context.Background(), controller.AdminUser, string(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestProvisionerChild is not a test: it is the child process of
// killRounds.
func TestProvisionerChild(t *testing.T) {
	dir := os.Getenv("HERD_KILL_DIR")
	if dir == "" {
		t.Skip("only a child process of TestKillDuringProvisioning")
	}
	round, _ := strconv.Atoi(os.Getenv("HERD_KILL_ROUND"))
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	ctx := context.Background()
	var p provider.Provider
	if os.Getenv("HERD_KILL_PROVIDER") == "lxd" {
		lp, err := lxdprovider.New(ctx, lxdprovider.Options{})
		if err != nil {
			fail(err)
		}
		p = lp
	} else {
		fp, err := fakeprovider.Open(filepath.Join(dir, "cloud.json"))
		if err != nil {
			fail(err)
		}
		fp.Delay(func(ctx context.Context, _ fakeprovider.Method, _ bool) {
			sleep(ctx, time.Duration(rand.Int64N(int64(3*time.Millisecond))))
		})
		p = fp
	}
	opts := controller.Options{Path: filepath.Join(dir, "state.db"), Provider: p, Hasher: controllertest.TestHasher{},
		Provisioning: controller.Provisioning{RetryDelay: 5 * time.Millisecond}}
	var admin *controller.Session
	if round == 0 {
		b, err := controller.Bootstrap(ctx, "killed", opts)
		if err != nil {
			fail(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "secret"), []byte(b.Secret), 0o600); err != nil {
			fail(err)
		}
		admin = b.Admin
	} else {
		c, err := controller.Open(ctx, "", opts)
		if err != nil {
			fail(err)
		}
		secret, err := os.ReadFile(filepath.Join(dir, "secret"))
		if err != nil {
			fail(err)
		}
		if admin, err = c.Login(ctx, controller.AdminUser, string(secret)); err != nil {
			fail(err)
		}
	}
	fmt.Println("opened")
	// What this round asks for; a kill may come at any point of it.
	steps := []func() error{
		func() error {
			_, err := admin.Deploy(ctx, "default", "app", controller.DeployOptions{Name: fmt.Sprintf("a%d", round), NumUnits: 3})
			return err
		},
		func() error {
			_, err := admin.CreateModel(ctx, fmt.Sprintf("m%d", round), controller.CreateModelOptions{})
			return err
		},
		func() error {
			_, err := admin.Deploy(ctx, fmt.Sprintf("m%d", round), "app", controller.DeployOptions{NumUnits: 2})
			return err
		},
	}
	if round > 0 {
		steps = append(steps,
			func() error {
				_, err := admin.AddUnit(ctx, "default", fmt.Sprintf("a%d", round-1), controller.AddUnitOptions{})
				return ignoreGone(err)
			},
			func() error { return ignoreGone(admin.DestroyModel(ctx, fmt.Sprintf("m%d", round-1))) })
	}
	if round > 1 {
		steps = append(steps, func() error {
			return ignoreGone(admin.RemoveApplication(ctx, "default", fmt.Sprintf("a%d", round-2)))
		})
	}
	for _, step := range steps {
		if err := step(); err != nil {
			fail(err)
		}
	}
	select {} // the provisioner works until the kill
}

// ignoreGone ignores that what a step removes is already gone or going (an
// earlier round's kill may have come after the step).
func ignoreGone(err error) error {
	if err == nil || errors.Is(err, herd.ErrNotFound) || errors.Is(err, herd.ErrFailedPrecondition) {
		return nil
	}
	return err
}

// On open, the provisioner stops an instance that no machine row leads
// to, adopts one that a crash left unrecorded (its row still allocating),
// and starts a machine left pending.
func TestReopenReconciles(t *testing.T) {
	dir := t.TempDir()
	cloud := filepath.Join(dir, "cloud.json")
	fp, err := fakeprovider.Open(cloud)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	opts := controller.Options{Path: filepath.Join(dir, "state.db"), Provider: fp, Hasher: controllertest.TestHasher{}}
	b, err := controller.Bootstrap(ctx, "c", opts)
	if err != nil {
		t.Fatal(err)
	}
	admin := b.Admin
	fp.Hang(fakeprovider.Start) // the starts never finish: the rows stay allocating
	d, err := admin.Deploy(ctx, "default", "app", controller.DeployOptions{NumUnits: 2})
	if err != nil {
		t.Fatal(err)
	}
	waitMachinesOf(t, admin, "default", func(ms []models.Machine) bool {
		return ms[0].Status == models.Allocating && ms[1].Status == models.Allocating
	})
	if err := b.Controller.Close(); err != nil {
		t.Fatal(err)
	}
	// What a crash could leave: machine 0's start took effect unrecorded;
	// an instance of the model no row leads to.
	fp, err = fakeprovider.Open(cloud)
	if err != nil {
		t.Fatal(err)
	}
	uuid := d.Application.ModelUUID
	for _, id := range []string{"0", "9"} {
		if _, err := fp.StartInstance(ctx, provider.InstanceSpec{ControllerUUID: b.Controller.UUID(), ModelUUID: uuid, MachineID: id}); err != nil {
			t.Fatal(err)
		}
	}
	opts.Provider = fp
	c, err := controller.Open(ctx, "", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.Settle(sctx); err != nil {
		t.Fatal(err)
	}
	for {
		insts, err := fp.Instances(ctx, provider.Filter{ModelUUID: uuid})
		if err != nil {
			t.Fatal(err)
		}
		if len(insts) == 2 && insts[0].MachineID == "0" && insts[1].MachineID == "1" {
			break
		}
		if sctx.Err() != nil {
			t.Fatalf("instances after reopening: %+v", insts)
		}
		time.Sleep(time.Millisecond)
	}
	if n := fp.Calls(fakeprovider.Stop); n != 1 {
		t.Errorf("%d stops, want 1 (the instance no row leads to): machine 0's instance was adopted", n)
	}
	checkProvisioned(t, c, fp)
}

// waitMachinesOf waits (up to 10s) until cond holds for a model's machines.
func waitMachinesOf(t *testing.T, s *controller.Session, model string, cond func([]models.Machine) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.WaitFor(ctx, model, func(st controller.ModelStatus) bool { return cond(st.Machines) }); err != nil {
		t.Fatal(err)
	}
}
