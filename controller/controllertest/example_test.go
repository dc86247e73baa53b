package controllertest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/controller/controllertest"
)

// releaseToStaging is the made-up function under test: a tool's "release"
// command, which must only let model writers deploy. It leans on Herd's
// own authorization (Deploy needs model write) rather than checking levels
// itself.
func releaseToStaging(ctx context.Context, s *controller.Session, model string) error {
	_, err := s.Deploy(ctx, model, "mysql", controller.DeployOptions{Name: "mysql-staging"})
	return err
}

// The table-driven test a downstream package writes: one fixture per case,
// each built from the same scenario in one call. In your package this is
// the body of `func TestReleaseToStaging(t *testing.T)`; here it runs under
// a small stand-in for *testing.T so that its output can be shown.
func Example_tableDrivenTest() {
	t := &exampleT{}
	scenario := `
		user tom
		user ann
		user bob
		model admin/staging
		grant tom write admin/staging
		grant ann admin admin/staging
		grant bob read admin/staging
	`
	for _, tc := range []struct {
		user    string
		allowed bool
	}{
		{"tom", true},   // write
		{"ann", true},   // admin implies write
		{"bob", false},  // read only
		{"admin", true}, // controller superuser
	} {
		f := controllertest.New(t, nil)
		f.BuildText(t, scenario)
		err := releaseToStaging(context.Background(), f.Session(t, tc.user), "admin/staging")
		switch {
		case tc.allowed && err != nil:
			t.Errorf("%s: %v", tc.user, err)
		case !tc.allowed && !errors.Is(err, herd.ErrPermissionDenied):
			t.Errorf("%s: want permission denied, got %v", tc.user, err)
		}
		fmt.Printf("%-5s allowed=%-5v err=%v\n", tc.user, tc.allowed, err)
		t.cleanup()
	}
	// Output:
	// tom   allowed=true  err=<nil>
	// ann   allowed=true  err=<nil>
	// bob   allowed=false err=permission denied
	// admin allowed=true  err=<nil>
}

// exampleT stands in for *testing.T in the example above.
type exampleT struct {
	testing.TB
	cleanups []func()
}

func (t *exampleT) Helper()                        {}
func (t *exampleT) Cleanup(f func())               { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) Context() context.Context       { return context.Background() }
func (t *exampleT) Errorf(format string, a ...any) { fmt.Printf("FAIL: "+format+"\n", a...) }
func (t *exampleT) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }
func (t *exampleT) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
	t.cleanups = nil
}

// The same table as a real test, so CI runs it as a test too.
func TestReleaseToStaging(t *testing.T) {
	for _, tc := range []struct {
		user string
		need acl.Level
	}{{"tom", acl.Write}, {"bob", acl.Read}} {
		t.Run(tc.user, func(t *testing.T) {
			f := controllertest.New(t, nil)
			f.AddUser(t, tc.user)
			f.CreateModel(t, "admin", "staging")
			f.Grant(t, tc.user, tc.need, "admin/staging")
			err := releaseToStaging(context.Background(), f.Session(t, tc.user), "admin/staging")
			if allowed := tc.need.Implies(acl.Write); allowed != (err == nil) {
				t.Errorf("%s with %s: err = %v", tc.user, tc.need, err)
			}
		})
	}
}
