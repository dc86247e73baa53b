package fakeprovider_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/provider"
	"github.com/herd-project/herd/provider/fakeprovider"
)

// Two values opened on one file, one after the other, see the same cloud.
func TestOpenKeepsState(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fake.json")
	p1, err := fakeprovider.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	m := provider.ModelSpec{ControllerUUID: "c", ModelUUID: "m1"}
	if err := p1.CreateModel(ctx, m); err != nil {
		t.Fatal(err)
	}
	if _, err := p1.StartInstance(ctx, provider.InstanceSpec{ControllerUUID: "c", ModelUUID: "m1", MachineID: "0"}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("state file: %v, %v", fi, err)
	}
	p2, err := fakeprovider.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	list, err := p2.Instances(ctx, provider.Filter{ModelUUID: "m1"})
	if err != nil || len(list) != 1 {
		t.Fatalf("second opener sees %v, %v", list, err)
	}
	if err := p2.StopInstance(ctx, provider.InstanceSpec{ModelUUID: "m1", MachineID: "0"}); err != nil {
		t.Fatal(err)
	}
	if err := p2.DestroyModel(ctx, m); err != nil {
		t.Fatal(err)
	}
	p3, _ := fakeprovider.Open(path)
	if list, _ := p3.Instances(ctx, provider.Filter{}); len(list) != 0 {
		t.Errorf("after teardown: %v", list)
	}
}

func FuzzOpen(f *testing.F) {
	f.Add([]byte(`{"version":1,"models":{"m1":{"ControllerUUID":"c","ModelUUID":"m1","ModelName":"m"}},"instances":{}}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "fake.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		p, err := fakeprovider.Open(path)
		if err != nil {
			if !errors.Is(err, herd.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if _, err := p.Instances(context.Background(), provider.Filter{}); err != nil {
			t.Fatal(err)
		}
	})
}

// Two providers opened with OpenShared on one file, as two processes
// would, each see the other's model spaces and machines at their next call.
func TestOpenShared(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fake.json")
	a, err := fakeprovider.OpenShared(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := fakeprovider.OpenShared(path)
	if err != nil {
		t.Fatal(err)
	}
	m := provider.ModelSpec{ControllerUUID: "c", ModelUUID: "m1", ModelName: "admin-m1"}
	if err := a.CreateModel(ctx, m); err != nil {
		t.Fatal(err)
	}
	inst, err := b.StartInstance(ctx, provider.InstanceSpec{ControllerUUID: "c", ModelUUID: "m1", MachineID: "0"})
	if err != nil {
		t.Fatalf("b starts a machine in a's model space: %v", err)
	}
	got, err := a.Instances(ctx, provider.Filter{ModelUUID: "m1"})
	if err != nil || len(got) != 1 || got[0].ID != inst.ID {
		t.Fatalf("a lists %+v, %v; want b's %s", got, err, inst.ID)
	}
	if err := a.StopInstance(ctx, provider.InstanceSpec{ControllerUUID: "c", ModelUUID: "m1", MachineID: "0"}); err != nil {
		t.Fatal(err)
	}
	if err := b.DestroyModel(ctx, m); err != nil {
		t.Fatalf("b destroys the model space a emptied: %v", err)
	}
	if _, err := a.StartInstance(ctx, provider.InstanceSpec{ControllerUUID: "c", ModelUUID: "m1", MachineID: "1"}); !errors.Is(err, herd.ErrNotFound) {
		t.Errorf("b starts a machine in a model space a destroyed: %v", err)
	}
}
