package apiserver

import (
	"context"
	"encoding/json"
	"sort"
	"testing"

	"github.com/herd-project/herd/controller/controllertest"
	"github.com/herd-project/herd/internal/params"
	"github.com/herd-project/herd/internal/rpc"
)

// FuzzFacadeParams sends arbitrary params to every method Herd serves, on
// a model connection of the admin (so every facade is reachable, the
// controller-only ones answering "not supported"), straight through
// apiConn.Call: a method may refuse anything, but never panic, and always
// answer with a result or an error.
func FuzzFacadeParams(f *testing.F) {
	for _, seed := range []string{
		`{}`, `null`, `[]`, `{"entities":[{"tag":"user-admin"}]}`, `{"entities":"x"}`,
		`{"users":[{"username":"tom"},{"username":"!"}]}`, `{"changes":[{"tag":"user-admin","password":""}]}`,
		`{"name":"m","owner-tag":"user-admin","cloud-tag":"cloud-x"}`, `{"user-tag":"user-admin","all":true}`,
		`{"changes":[{"user-tag":"user-x","action":"grant","access":"write","model-tag":"model-1"}]}`,
		`{"models":[{"model-tag":"model-"}]}`, `{"applications":[{"application":"a","charm-url":"ch:","num-units":-1}]}`,
		`{"application":"a","num-units":1000000}`, `{"units":[{"unit-tag":"unit-a-0"}]}`,
		`{"user-tag":"","model-tag":"model-x"}`, `{"applications":[{"application-tag":"application-a","dry-run":true}]}`,
		`{"machines":["machine-0","machine-x","unit-a-0"],"all":false}`, `{"all":true}`,
	} {
		for i := range len(sortedMethods()) {
			f.Add(i, []byte(seed))
		}
	}
	fx := controllertest.New(f, nil)
	m := fx.CreateModel(f, "admin", "fuzz")
	srv, err := New(fx.Controller, Options{LoginRate: -1, LoginAddrRate: -1})
	if err != nil {
		f.Fatal(err)
	}
	c := &apiConn{srv: srv, model: m.UUID, remote: "fuzz"}
	c.sess.Store(fx.LoginAs(f, "admin"))
	methods := sortedMethods()
	f.Fuzz(func(t *testing.T, i int, raw []byte) {
		if i < 0 {
			i = -i
		}
		fm := methods[i%len(methods)]
		if !json.Valid(raw) {
			raw = nil
		}
		res, err := c.Call(context.Background(), rpc.Request{Facade: fm[0], Version: params.Facades[fm[0]][0], Method: fm[1], Params: raw})
		if err != nil {
			if e := rpc.ErrorFor(err); e.Message == "" {
				t.Fatalf("%s.%s: an error without a message", fm[0], fm[1])
			}
			return
		}
		if _, err := json.Marshal(res); err != nil {
			t.Fatalf("%s.%s: result does not encode: %v", fm[0], fm[1], err)
		}
	})
}

func sortedMethods() [][2]string {
	var out [][2]string
	for f, ms := range methods {
		for m := range ms {
			if f == "HerdSession" && (m == "Logout" || m == "EndSessions") {
				continue // these end the fuzzing session: covered by the tests
			}
			out = append(out, [2]string{f, m})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0]+"."+out[i][1] < out[j][0]+"."+out[j][1] })
	return out
}
