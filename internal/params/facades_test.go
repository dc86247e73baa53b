package params

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The table spec/api.md asks for, with Application and MachineManager at
// the versions Juju 3.6.26 registers
// (apiserver/facades/client/{application,machinemanager}/register.go).
func TestFacadesMatchSpec(t *testing.T) {
	want := map[string][]int{
		"Admin":          {3},
		"Pinger":         {1},
		"UserManager":    {3},
		"ModelManager":   {9, 10},
		"Controller":     {11, 12},
		"Client":         {6, 7, 8},
		"Application":    {15, 16, 17, 18, 19, 20, 21, 22},
		"MachineManager": {9, 10},
		"HerdSession":    {1},
		"AllWatcher":     {3},
	}
	if !reflect.DeepEqual(Facades, want) {
		t.Fatalf("Facades = %v, want %v", Facades, want)
	}
	if !Serves("ModelManager", 10) || Serves("ModelManager", 11) || Serves("Nope", 1) {
		t.Error("Serves")
	}
}

func TestFacadeList(t *testing.T) {
	names := func(l []FacadeVersions) []string {
		var out []string
		for _, f := range l {
			out = append(out, f.Name)
		}
		return out
	}
	if got, want := names(FacadeList(false)), []string{"Controller", "HerdSession", "ModelManager", "Pinger", "UserManager"}; !reflect.DeepEqual(got, want) {
		t.Errorf("controller connection lists %v, want %v", got, want)
	}
	if got, want := names(FacadeList(true)), []string{"AllWatcher", "Application", "Client", "HerdSession", "MachineManager", "Pinger"}; !reflect.DeepEqual(got, want) {
		t.Errorf("model connection lists %v, want %v", got, want)
	}
	l := FacadeList(true)
	l[0].Versions[0] = 99
	if Facades["Application"][0] != 15 {
		t.Error("FacadeList shares the table's slices")
	}
	b, err := json.Marshal(LoginResult{Facades: FacadeList(false)[:1]})
	if err != nil || string(b) != `{"facades":[{"name":"Controller","versions":[11,12]}]}` {
		t.Errorf("got %s, %v", b, err)
	}
}

func TestServedOn(t *testing.T) {
	for _, c := range []struct {
		facade            string
		model, controller bool
	}{
		{"Admin", true, false},
		{"Pinger", true, true},
		{"HerdSession", true, true},
		{"UserManager", false, true},
		{"ModelManager", false, true},
		{"Controller", false, true},
		{"Client", true, false},
		{"Application", true, false},
		{"AllWatcher", true, false},
		{"MachineManager", true, false},
	} {
		if ServedOn(c.facade, true) != c.model || ServedOn(c.facade, false) != c.controller {
			t.Errorf("%s: ServedOn model %v controller %v", c.facade, ServedOn(c.facade, true), ServedOn(c.facade, false))
		}
	}
	e := NotServedOn("Client", false)
	if e.Message != `facade "Client" not supported for controller API connection` || e.Code != "not supported" {
		t.Errorf("got %+v", e)
	}
	if e := NotServedOn("UserManager", true); e.Message != `facade "UserManager" not supported for model API connection` {
		t.Errorf("got %+v", e)
	}
}
