package params

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// Requests shaped as jujulib 9.1.0 and the juju CLI send them, and what
// the server must read from them.

func TestDecodeLoginFromJujulib(t *testing.T) {
	// jujulib's Client.login with a username and password.
	var req LoginRequest
	decodeStrict(t, `{"auth-tag":"user-tom","client-version":"3.3.0","credentials":"pw","macaroons":[],"nonce":"","user-data":""}`, &req)
	if req.AuthTag != "user-tom" || req.Credentials != "pw" || req.ClientVersion != "3.3.0" || len(req.Macaroons) != 0 {
		t.Errorf("got %+v", req)
	}
	// jujulib's macaroon login with nothing stored: [undefined] becomes [null].
	req = LoginRequest{}
	decodeStrict(t, `{"auth-tag":"","client-version":"3.3.0","credentials":"","macaroons":[null],"nonce":"","user-data":""}`, &req)
	if req.AuthTag != "" || len(req.Macaroons) != 1 || req.Macaroons[0] != nil {
		t.Errorf("got %+v", req)
	}
	// A stored macaroon is kept opaque.
	req = LoginRequest{}
	decodeStrict(t, `{"auth-tag":"","credentials":"","macaroons":[[{"c":[],"l":"loc","i64":"AA","s64":"BB"}]],"nonce":"","user-data":""}`, &req)
	if len(req.Macaroons) != 1 || len(req.Macaroons[0]) != 1 || !bytes.Contains(req.Macaroons[0][0], []byte(`"loc"`)) {
		t.Errorf("got %+v", req)
	}
}

func TestSecretKeyIsBase64(t *testing.T) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	b, err := json.Marshal(AddUserResult{Tag: "user-tom", SecretKey: key})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"tag":"user-tom","secret-key":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}

func TestDecodeDurationsAsNanoseconds(t *testing.T) {
	var p DestroyModelsParams
	decodeStrict(t, `{"models":[{"model-tag":"model-x","force":true,"max-wait":60000000000}]}`, &p)
	m := p.Models[0]
	if m.MaxWait == nil || *m.MaxWait != time.Minute || m.Force == nil || !*m.Force || m.DestroyStorage != nil || m.Timeout != nil {
		t.Errorf("got %+v", m)
	}
}

func TestDecodeDestroyV15(t *testing.T) {
	// Application v15's DestroyApplication and DestroyUnit: force always
	// sent, no dry-run.
	var a DestroyApplicationsParams
	decodeStrict(t, `{"applications":[{"application-tag":"application-mysql","force":false}]}`, &a)
	var u DestroyUnitsParams
	decodeStrict(t, `{"units":[{"unit-tag":"unit-mysql-0","force":false}]}`, &u)
	if a.Applications[0].DryRun || u.Units[0].DryRun {
		t.Error("dry-run")
	}
}

func TestNewFullStatusEncodesAsJuju(t *testing.T) {
	fs := NewFullStatus(ModelStatusInfo{Name: "dev", Type: "iaas", CloudTag: "cloud-localhost", Version: "3.6.26", SLA: "unsupported"})
	got, err := json.Marshal(fs)
	if err != nil {
		t.Fatal(err)
	}
	assertSameJSON(t, got, []byte(`{"model":{"name":"dev","type":"iaas","cloud-tag":"cloud-localhost",
		"version":"3.6.26","available-version":"","model-status":`+detailedStatusZero+`,
		"meter-status":{"color":"","message":""},"sla":"unsupported"},
		"machines":{},"applications":{},"remote-applications":{},"offers":{},"relations":null,
		"controller-timestamp":null,"branches":{}}`))
}

func TestErrorMessage(t *testing.T) {
	var err error = &Error{Message: "permission denied", Code: CodeUnauthorized}
	if err.Error() != "permission denied" {
		t.Errorf("got %q", err)
	}
}
