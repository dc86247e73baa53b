// Command workflow runs the seed's multi-user workflow
// (shared/seed/juju-workflow-scenarios.txt) through Herd's library, step
// by step, printing for each step the juju command it stands for and what
// happened. By default it runs on the built-in defaults: a memory store
// and the fake provider.
//
//	go run ./examples/workflow
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/provider"
	"github.com/herd-project/herd/provider/fakeprovider"
	"github.com/herd-project/herd/provider/lxdprovider"
)

func main() {
	cloud := flag.String("cloud", "fake", "cloud to bootstrap on: fake (in memory) or lxd (the local LXD daemon)")
	keep := flag.Bool("keep", false, "leave the controller's machines running at the end")
	flag.Parse()
	if _, err := run(context.Background(), os.Stdout, *cloud, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "ERROR", err)
		os.Exit(1)
	}
}

func newProvider(ctx context.Context, cloud string) (provider.Provider, error) {
	switch cloud {
	case "fake", "":
		return fakeprovider.New(), nil
	case "lxd":
		return lxdprovider.New(ctx, lxdprovider.Options{})
	}
	return nil, herd.Errorf(herd.ErrInvalid, "cloud %q not known: want fake or lxd", cloud)
}

// run performs the workflow and returns the controller's UUID.
func run(ctx context.Context, out io.Writer, cloud string, keep bool) (uuid string, err error) {
	prov, err := newProvider(ctx, cloud)
	if err != nil {
		return "", err
	}
	uuid, err = workflow(ctx, out, prov, keep)
	if c, ok := prov.(interface{ Close() }); ok {
		c.Close()
	}
	return uuid, err
}

func workflow(ctx context.Context, out io.Writer, prov provider.Provider, keep bool) (uuid string, err error) {
	step := func(n int, cmd, format string, args ...any) {
		fmt.Fprintf(out, "step %-2d $ %s\n        %s\n", n, cmd, fmt.Sprintf(format, args...))
	}

	// 1. juju bootstrap lxd-controller-1 lxd
	b, err := controller.Bootstrap(ctx, "lxd-controller-1", controller.Options{Provider: prov})
	if err != nil {
		return uuid, err
	}
	ctrl, admin := b.Controller, b.Admin
	defer ctrl.Close()
	uuid = ctrl.UUID()
	if !keep {
		// Clean up even when a step fails: every machine, model space and
		// the controller's own machine.
		defer func() {
			if derr := admin.DestroyController(context.WithoutCancel(ctx)); derr != nil && err == nil {
				err = derr
			} else if derr == nil {
				fmt.Fprintf(out, "cleanup  controller destroyed: no machines or model spaces left\n")
			}
		}()
	}
	c, r := ctrl.Cloud()
	step(1, "juju bootstrap lxd-controller-1 lxd", "controller %q on %s/%s; admin (superuser) logged in with a generated secret", ctrl.Name(), c, r)

	// 2. juju change-user-password
	if err := admin.ChangePassword(ctx, "", "admin-S3cret!"); err != nil {
		return uuid, err
	}
	if _, err := ctrl.Login(ctx, "admin", "admin-S3cret!"); err != nil {
		return uuid, err
	}
	step(2, "juju change-user-password", "admin's password changed; admin logs in with it")

	// 3. juju add-user tom
	added, err := admin.AddUser(ctx, "tom", "Tom")
	if err != nil {
		return uuid, err
	}
	step(3, "juju add-user tom", "user %q added with controller access %q; registration token of %d characters", added.User.Name, added.User.Access, len(added.Token))

	// 4. juju create-model lxd-model-1
	m, err := admin.CreateModel(ctx, "lxd-model-1", controller.CreateModelOptions{})
	if err != nil {
		return uuid, err
	}
	step(4, "juju create-model lxd-model-1", "model %q created; admin has %q on it", m.FullName(), acl.Admin)

	// 5. juju grant --acl=write tom lxd-model-1
	if err := admin.Grant(ctx, "tom", acl.Write, "lxd-model-1"); err != nil {
		return uuid, err
	}
	step(5, "juju grant --acl=write tom lxd-model-1", "tom has %q on %s", acl.Write, m.FullName())

	// 6. juju register <token>
	tom, err := ctrl.Register(ctx, added.Token, "tom-first-pw")
	if err != nil {
		return uuid, err
	}
	step(6, "juju register "+short(added.Token), "tom chose a password and is logged in")

	// 7. juju list-controllers; juju list-models
	who, err := tom.WhoAmI(ctx)
	if err != nil {
		return uuid, err
	}
	step(7, "juju list-controllers; juju list-models", "controller %q, user %s, access %s; tom's models:", who.Controller, who.User, who.Access)
	if err := printModels(ctx, out, tom); err != nil {
		return uuid, err
	}

	// 8. juju change-user-password (tom)
	if err := tom.ChangePassword(ctx, "", "tom-second-pw"); err != nil {
		return uuid, err
	}
	_, errOld := ctrl.Login(ctx, "tom", "tom-first-pw")
	step(8, "juju change-user-password", "tom's password changed; the old one is refused (%v)", errOld)

	// 9. juju deploy mysql mysql-staging
	d, err := tom.Deploy(ctx, "admin/lxd-model-1", "mysql", controller.DeployOptions{Name: "mysql-staging"})
	if err != nil {
		return uuid, err
	}
	step(9, "juju deploy mysql mysql-staging", "application %q (charm %s): unit %s on machine %s (%s: the provisioner starts it)",
		d.Application.Name, d.Application.Charm, d.Units[0].Name, d.Machines[0].ID, d.Machines[0].Status)
	// Deploy returns once the controller has recorded the application;
	// wait, as a program would, until its machines have started (with a
	// deadline), watching the model rather than polling.
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	st, err := tom.WaitStarted(wctx, "admin/lxd-model-1", "mysql-staging")
	cancel()
	if err != nil {
		return uuid, err
	}
	for _, m := range st.Machines {
		fmt.Fprintf(out, "        machine %s %s, instance %s\n", m.ID, m.Status, m.InstanceID)
	}
	fmt.Fprintf(out, "        waited: %d unit(s) on %d started machine(s)\n", len(st.Units), len(st.Machines))
	if err := printModels(ctx, out, tom); err != nil {
		return uuid, err
	}

	// 10. juju logout
	if err := tom.Logout(ctx); err != nil {
		return uuid, err
	}
	_, errAfter := tom.Models(ctx, controller.ModelsOptions{})
	if !errors.Is(errAfter, herd.ErrUnauthenticated) {
		return uuid, fmt.Errorf("tom's session still works after logout: %v", errAfter)
	}
	step(10, "juju logout", "tom logged out; his session is refused (%v)", errAfter)
	return uuid, showMachines(ctx, out, prov, uuid)
}

// showMachines lists what the provider itself runs for the controller.
func showMachines(ctx context.Context, out io.Writer, prov provider.Provider, uuid string) error {
	insts, err := prov.Instances(ctx, provider.Filter{ControllerUUID: uuid})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s provider runs %d instance(s):\n", prov.Type(), len(insts))
	for _, inst := range insts {
		role := "controller"
		if inst.ModelUUID != "" {
			role = "model machine " + inst.MachineID
		}
		fmt.Fprintf(out, "        %s  %s  (%s)\n", inst.ID, inst.Status, role)
	}
	return nil
}

func short(token string) string {
	if len(token) > 20 {
		return token[:20] + "..."
	}
	return token
}

func printModels(ctx context.Context, out io.Writer, s *controller.Session) error {
	ms, err := s.Models(ctx, controller.ModelsOptions{})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "        Model\tCloud/Region\tStatus\tMachines\tUnits\tAccess")
	for _, m := range ms {
		name := m.Name
		if m.Owner != s.User() {
			name = m.FullName()
		}
		fmt.Fprintf(tw, "        %s\t%s/%s\t%s\t%d\t%d\t%s\n", name, m.Cloud, m.Region, m.Status, m.Machines, m.Units, m.Access)
	}
	return tw.Flush()
}
