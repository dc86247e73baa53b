package controller_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
)

// The seed's workflow, end to end, on the defaults (memory store, fake
// provider).
func Example() {
	ctx := context.Background()
	check := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	// 1. juju bootstrap lxd-controller-1 lxd
	b, err := controller.Bootstrap(ctx, "lxd-controller-1", controller.Options{PasswordCost: bcrypt.MinCost})
	check(err)
	ctrl, admin := b.Controller, b.Admin // admin is logged in with a generated secret
	defer ctrl.Close()
	// 2. juju change-user-password
	check(admin.ChangePassword(ctx, "", "admin-pw"))
	// 3. juju add-user tom
	added, err := admin.AddUser(ctx, "tom", "Tom")
	check(err)
	// 4. juju create-model lxd-model-1
	_, err = admin.CreateModel(ctx, "lxd-model-1", controller.CreateModelOptions{})
	check(err)
	// 5. juju grant --acl=write tom lxd-model-1
	check(admin.Grant(ctx, "tom", acl.Write, "lxd-model-1"))
	// 6. juju register <token>
	tom, err := ctrl.Register(ctx, added.Token, "tom-pw")
	check(err)
	// 7. juju list-controllers; juju list-models
	who, err := tom.WhoAmI(ctx)
	check(err)
	fmt.Println(who.Controller, who.User, who.Access)
	ms, err := tom.Models(ctx, controller.ModelsOptions{})
	check(err)
	for _, m := range ms {
		fmt.Println(m.FullName(), m.Access, m.Machines)
	}
	// 8. juju change-user-password
	check(tom.ChangePassword(ctx, "", "tom-new-pw"))
	// 9. juju deploy mysql mysql-staging
	d, err := tom.Deploy(ctx, "admin/lxd-model-1", "mysql", controller.DeployOptions{Name: "mysql-staging"})
	check(err)
	fmt.Println(d.Application.Name, d.Units[0].Name, "machine", d.Machines[0].ID, d.Machines[0].Status)
	//    juju wait-for application mysql-staging (the provisioner starts the machine)
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	st, err := tom.WaitStarted(waitCtx, "admin/lxd-model-1", "mysql-staging")
	check(err)
	fmt.Println("machine", st.Machines[0].ID, st.Machines[0].Status)
	// 10. juju logout
	check(tom.Logout(ctx))
	_, err = tom.Models(ctx, controller.ModelsOptions{})
	fmt.Println(errors.Is(err, herd.ErrUnauthenticated))
	// Output:
	// lxd-controller-1 tom login
	// admin/lxd-model-1 write 0
	// mysql-staging mysql-staging/0 machine 0 pending
	// machine 0 started
	// true
}
