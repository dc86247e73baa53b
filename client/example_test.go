package client_test

import (
	"context"
	"fmt"
	"log"

	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/client"
	"github.com/herd-project/herd/controller"
)

// The seed workflow over the network: admin adds tom, creates a model and
// grants tom write; tom registers with his token alone, lists his models
// and deploys.
func Example() {
	l, stop, err := newLive(1) // a controller behind a live TLS API server
	if err != nil {
		log.Fatal(err)
	}
	defer stop()
	ctx := context.Background()

	conn, err := client.Dial(ctx, client.Options{Addrs: l.addrs, CACert: l.ca, ControllerName: "herd-e2e"})
	if err != nil {
		log.Fatal(err)
	}
	admin, err := conn.Login(ctx, "admin", l.secret)
	if err != nil {
		log.Fatal(err)
	}
	defer admin.Close()
	added, err := admin.AddUser(ctx, "tom", "Tom")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := admin.CreateModel(ctx, "lxd-model-1", controller.CreateModelOptions{}); err != nil {
		log.Fatal(err)
	}
	if err := admin.Grant(ctx, "tom", acl.Write, "lxd-model-1"); err != nil {
		log.Fatal(err)
	}

	// On tom's machine: the token is all he has.
	tom, reg, err := client.Register(ctx, added.Token, "tom-password", client.RegisterOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer tom.Close()
	fmt.Println("registered with", reg.ControllerName)
	models, err := tom.Models(ctx, controller.ModelsOptions{})
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range models {
		fmt.Println(m.FullName(), m.Access)
	}
	d, err := tom.Deploy(ctx, "admin/lxd-model-1", "mysql", controller.DeployOptions{Name: "mysql-staging"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("deployed", d.Application.Name, "units:", len(d.Units))
	// Deploy returns at once; the controller's provisioner starts the
	// machines. Wait for them (a deadline on ctx bounds the wait).
	st, err := tom.WaitStarted(ctx, "admin/lxd-model-1", "mysql-staging")
	if err != nil {
		log.Fatal(err)
	}
	for _, mc := range st.Machines {
		fmt.Println("machine", mc.ID, mc.Status)
	}
	_, err = tom.AddUser(ctx, "bob", "")
	fmt.Println("tom adds a user:", err)
	if err := tom.Logout(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// registered with herd-e2e
	// admin/lxd-model-1 write
	// deployed mysql-staging units: 1
	// machine 0 started
	// tom adds a user: permission denied
}
