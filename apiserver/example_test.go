package apiserver_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/herd-project/herd/apiserver"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/controller/controllertest"
	"github.com/herd-project/herd/internal/params"
	"github.com/herd-project/herd/internal/rpc"
	"github.com/herd-project/herd/provider/fakeprovider"
)

// Mount the API server on a TLS listener of your own and log in over
// Juju's protocol (here with Herd's internal client, as the juju CLI or
// jujulib would).
func Example() {
	ctx := context.Background()
	b, err := controller.Bootstrap(ctx, "demo", controller.Options{Provider: fakeprovider.New(), Hasher: controllertest.TestHasher{}})
	if err != nil {
		panic(err)
	}
	defer b.Controller.Close()
	srv, err := apiserver.New(b.Controller, apiserver.Options{})
	if err != nil {
		panic(err)
	}
	defer srv.Close(ctx)
	ts := httptest.NewTLSServer(srv)
	defer ts.Close()

	c, err := rpc.Dial(ctx, "wss"+strings.TrimPrefix(ts.URL, "https")+"/api", ts.Client().Transport.(*http.Transport).TLSClientConfig)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	var res params.LoginResult
	err = c.Call(ctx, "Admin", 3, "", "Login", params.LoginRequest{AuthTag: "user-admin", Credentials: b.Secret}, &res)
	if err != nil {
		panic(err)
	}
	fmt.Println(res.UserInfo.Identity, res.UserInfo.ControllerAccess, res.ServerVersion)

	// A wrong password, on another connection: Juju's error and code.
	c2, err := rpc.Dial(ctx, "wss"+strings.TrimPrefix(ts.URL, "https")+"/api", ts.Client().Transport.(*http.Transport).TLSClientConfig)
	if err != nil {
		panic(err)
	}
	defer c2.Close()
	err = c2.Call(ctx, "Admin", 3, "", "Login", params.LoginRequest{AuthTag: "user-admin", Credentials: "wrong"}, nil)
	fmt.Printf("%v (%s)\n", err, rpc.CodeOf(err))
	// Output:
	// user-admin superuser 3.6.26
	// invalid entity name or password (unauthorized access)
}
