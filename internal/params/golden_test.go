package params

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// A golden case is a JSON sample written from Juju 3.6.26's rpc/params
// tags: what Juju's server or CLI marshals for some value. The sample must
// decode into Herd's type with no unknown key and encode back to the same
// JSON (same keys, same values; order aside). A zero case asserts what
// Herd's zero value encodes to: Juju's omitempty choices, key by key.
type golden struct {
	name string
	new  func() any // a pointer to a fresh value of the type
	json string
	zero bool // json is the encoding of the zero value
}

func TestGolden(t *testing.T) {
	var all []golden
	for _, g := range [][]golden{commonGoldens, adminGoldens, userGoldens, modelGoldens,
		controllerGoldens, statusGoldens, applicationGoldens} {
		all = append(all, g...)
	}
	for _, g := range all {
		t.Run(g.name, func(t *testing.T) {
			p := g.new()
			if !g.zero {
				dec := json.NewDecoder(bytes.NewReader([]byte(g.json)))
				dec.DisallowUnknownFields()
				if err := dec.Decode(p); err != nil {
					t.Fatalf("decode: %v", err)
				}
			}
			got, err := json.Marshal(p)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			assertSameJSON(t, got, []byte(g.json))
		})
	}
}

func assertSameJSON(t *testing.T, got, want []byte) {
	t.Helper()
	if !reflect.DeepEqual(decodeAny(t, got), decodeAny(t, want)) {
		t.Errorf("JSON differs\n got: %s\nwant: %s", got, compact(t, want))
	}
}

func decodeAny(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("sample is not JSON: %v\n%s", err, b)
	}
	return v
}

func compact(t *testing.T, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// decodeStrict decodes a sample shaped as a client sends it.
func decodeStrict(t *testing.T, sample string, p any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(sample)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p); err != nil {
		t.Fatalf("decode %s: %v", sample, err)
	}
}

var commonGoldens = []golden{
	{name: "Entities", new: func() any { return new(Entities) },
		json: `{"entities":[{"tag":"user-tom"},{"tag":"model-0b7c2a5e-8d8e-4d8a-8a0f-0c1d2e3f4a5b"}]}`},
	{name: "Entities/zero", new: func() any { return new(Entities) }, zero: true,
		json: `{"entities":null}`},
	{name: "EntityPasswords", new: func() any { return new(EntityPasswords) },
		json: `{"changes":[{"tag":"user-tom","password":"s3cret"}]}`},
	{name: "ErrorResults", new: func() any { return new(ErrorResults) },
		json: `{"results":[{},{"error":{"message":"permission denied","code":"unauthorized access"}},
			{"error":{"message":"user \"bob\" not found","code":"user not found","info":{"user":"bob"}}},
			{"error":{"message":"boom","code":""}}]}`},
	{name: "ErrorResults/zero", new: func() any { return new(ErrorResults) }, zero: true,
		json: `{"results":null}`},
	{name: "ErrorResult/zero", new: func() any { return new(ErrorResult) }, zero: true,
		json: `{}`},
	{name: "Error/zero", new: func() any { return new(Error) }, zero: true,
		json: `{"message":"","code":""}`},
	{name: "StringResult", new: func() any { return new(StringResult) },
		json: `{"error":{"message":"no","code":"not found"},"result":""}`},
	{name: "StringResult/zero", new: func() any { return new(StringResult) }, zero: true,
		json: `{"result":""}`},
	{name: "HostPort", new: func() any { return new(HostPort) },
		json: `{"value":"10.0.0.1","cidr":"10.0.0.0/24","type":"ipv4","scope":"local-cloud",
			"space-name":"alpha","space-id":"0","config-type":"static","is-secondary":true,"port":17070}`},
	{name: "HostPort/zero", new: func() any { return new(HostPort) }, zero: true,
		json: `{"value":"","type":"","scope":"","port":0}`},
}

var adminGoldens = []golden{
	{name: "LoginRequest/juju", new: func() any { return new(LoginRequest) },
		json: `{"auth-tag":"user-admin","credentials":"pw","nonce":"","macaroons":null,
			"bakery-version":3,"cli-args":"juju status","user-data":"","client-version":"3.6.26"}`},
	{name: "LoginRequest/jujulib", new: func() any { return new(LoginRequest) },
		json: `{"auth-tag":"user-tom","client-version":"3.3.0","credentials":"pw",
			"macaroons":[],"nonce":"","user-data":""}`},
	{name: "LoginRequest/jujulib-no-macaroon", new: func() any { return new(LoginRequest) },
		json: `{"auth-tag":"","client-version":"3.3.0","credentials":"","macaroons":[null],"nonce":"","user-data":""}`},
	{name: "LoginRequest/token", new: func() any { return new(LoginRequest) },
		json: `{"auth-tag":"","credentials":"","nonce":"","macaroons":null,"token":"abc","user-data":""}`},
	{name: "LoginRequest/zero", new: func() any { return new(LoginRequest) }, zero: true,
		json: `{"auth-tag":"","credentials":"","nonce":"","macaroons":null,"user-data":""}`},
	{name: "LoginResult/model", new: func() any { return new(LoginResult) },
		json: `{"servers":[[{"value":"10.0.0.1","type":"ipv4","scope":"local-cloud","port":17070},
				{"value":"localhost","type":"hostname","scope":"","port":17070}]],
			"model-tag":"model-0b7c2a5e-8d8e-4d8a-8a0f-0c1d2e3f4a5b",
			"controller-tag":"controller-9a8b7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
			"user-info":{"display-name":"","identity":"user-tom","last-connection":"2026-11-29T05:00:00Z",
				"controller-access":"login","model-access":"admin"},
			"facades":[{"name":"Application","versions":[15,16,17,18,19,20,21,22]},{"name":"Client","versions":[6,7,8]}],
			"server-version":"3.6.26"}`},
	{name: "LoginResult/controller", new: func() any { return new(LoginResult) },
		json: `{"servers":[[{"value":"127.0.0.1","type":"ipv4","scope":"local-machine","port":17070}]],
			"controller-tag":"controller-9a8b7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
			"user-info":{"display-name":"","identity":"user-admin","credentials":"opaque",
				"controller-access":"superuser","model-access":""},
			"facades":[{"name":"Controller","versions":[11,12]}],"public-dns-name":"ctl.example.com",
			"server-version":"3.6.26"}`},
	{name: "LoginResult/zero", new: func() any { return new(LoginResult) }, zero: true, json: `{}`},
	{name: "AuthUserInfo/zero", new: func() any { return new(AuthUserInfo) }, zero: true,
		json: `{"display-name":"","identity":"","controller-access":"","model-access":""}`},
	{name: "RedirectInfoResult/zero", new: func() any { return new(RedirectInfoResult) }, zero: true,
		json: `{"servers":null,"ca-cert":""}`},
}

var userGoldens = []golden{
	{name: "AddUsers", new: func() any { return new(AddUsers) },
		json: `{"users":[{"username":"tom","display-name":"Tom"},{"username":"ann","display-name":"","password":"pw"}]}`},
	{name: "AddUser/zero", new: func() any { return new(AddUser) }, zero: true,
		json: `{"username":"","display-name":""}`},
	{name: "AddUserResults", new: func() any { return new(AddUserResults) },
		json: `{"results":[{"tag":"user-tom","secret-key":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="},
			{"tag":"user-ann"},
			{"error":{"message":"failed to create user: user \"bob\" already exists","code":"already exists"}}]}`},
	{name: "AddUserResult/zero", new: func() any { return new(AddUserResult) }, zero: true, json: `{}`},
	{name: "UserInfoRequest", new: func() any { return new(UserInfoRequest) },
		json: `{"entities":[{"tag":"user-tom"}],"include-disabled":true}`},
	{name: "UserInfoRequest/zero", new: func() any { return new(UserInfoRequest) }, zero: true,
		json: `{"entities":null,"include-disabled":false}`},
	{name: "UserInfoResults", new: func() any { return new(UserInfoResults) },
		json: `{"results":[
			{"result":{"username":"admin","display-name":"admin","access":"superuser","created-by":"admin",
				"date-created":"2026-11-28T10:00:00Z","last-connection":"2026-11-29T05:00:00.123456789Z","disabled":false}},
			{"result":{"username":"tom","display-name":"","access":"login","created-by":"admin",
				"date-created":"2026-11-28T10:00:00Z","disabled":true}},
			{"error":{"message":"permission denied","code":"unauthorized access"}}]}`},
	{name: "UserInfo/zero", new: func() any { return new(UserInfo) }, zero: true,
		json: `{"username":"","display-name":"","access":"","created-by":"","date-created":"0001-01-01T00:00:00Z","disabled":false}`},
	{name: "UserInfoResult/zero", new: func() any { return new(UserInfoResult) }, zero: true, json: `{}`},
}

const (
	modelTagSample      = "model-0b7c2a5e-8d8e-4d8a-8a0f-0c1d2e3f4a5b"
	controllerTagSample = "controller-9a8b7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
)

var modelGoldens = []golden{
	{name: "ModelCreateArgs", new: func() any { return new(ModelCreateArgs) },
		json: `{"name":"dev","owner-tag":"user-tom","config":{"logging-config":"<root>=INFO","n":1},
			"cloud-tag":"cloud-localhost","region":"localhost","credential":"cloudcred-localhost_admin_default"}`},
	{name: "ModelCreateArgs/zero", new: func() any { return new(ModelCreateArgs) }, zero: true,
		json: `{"name":"","owner-tag":""}`},
	{name: "ModelInfo/v9", new: func() any { return new(ModelInfo) },
		json: `{"name":"dev","type":"iaas","uuid":"0b7c2a5e-8d8e-4d8a-8a0f-0c1d2e3f4a5b",
			"controller-uuid":"9a8b7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d","is-controller":false,
			"provider-type":"lxd","default-series":"jammy","default-base":"ubuntu@22.04/stable",
			"cloud-tag":"cloud-localhost","cloud-region":"localhost",
			"cloud-credential-tag":"cloudcred-localhost_admin_default","cloud-credential-validity":true,
			"owner-tag":"user-tom","life":"alive",
			"status":{"status":"available","info":"","since":"2026-11-29T05:00:00Z"},
			"users":[{"model-tag":"` + modelTagSample + `","user":"tom","display-name":"Tom",
				"last-connection":null,"access":"admin"}],
			"machines":[{"id":"0","instance-id":"juju-4a5b-0","status":"started",
				"hardware":{"arch":"amd64","mem":4096,"root-disk":10240,"cores":2,"availability-zone":"z1"}}],
			"secret-backends":[],
			"sla":{"level":"unsupported","owner":"tom"},"agent-version":"3.6.26",
			"supported-features":[{"name":"juju","description":"the version of Juju used by the model","version":"3.6.26"}]}`},
	{name: "ModelInfo/zero", new: func() any { return new(ModelInfo) }, zero: true,
		json: `{"name":"","type":"","uuid":"","controller-uuid":"","is-controller":false,"cloud-tag":"",
			"owner-tag":"","life":"","status":{"status":"","info":"","since":null},
			"users":null,"machines":null,"secret-backends":null,"sla":null,"agent-version":null}`},
	{name: "ModelInfoResults", new: func() any { return new(ModelInfoResults) },
		json: `{"results":[{"error":{"message":"permission denied","code":"unauthorized access"}},
			{"result":{"name":"dev","type":"iaas","uuid":"0b7c2a5e-8d8e-4d8a-8a0f-0c1d2e3f4a5b",
			"controller-uuid":"9a8b7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d","is-controller":false,
			"cloud-tag":"cloud-localhost","owner-tag":"user-tom","life":"dying",
			"status":{"status":"destroying","info":"","data":{"k":"v"},"since":null},
			"users":[],"machines":[],"secret-backends":[],
			"migration":{"status":"done","start":"2026-11-29T05:00:00Z","end":"2026-11-29T05:01:00Z"},
			"sla":{"level":"unsupported","owner":"tom"},"agent-version":"3.6-beta2"}}]}`},
	{name: "UserModelList", new: func() any { return new(UserModelList) },
		json: `{"user-models":[{"model":{"name":"dev","uuid":"0b7c2a5e-8d8e-4d8a-8a0f-0c1d2e3f4a5b","type":"iaas",
			"owner-tag":"user-tom"},"last-connection":"2026-11-29T05:00:00Z"},
			{"model":{"name":"controller","uuid":"9a8b7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0e","type":"iaas",
			"owner-tag":"user-admin"},"last-connection":null}]}`},
	{name: "UserModel/zero", new: func() any { return new(UserModel) }, zero: true,
		json: `{"model":{"name":"","uuid":"","type":"","owner-tag":""},"last-connection":null}`},
	{name: "UserModelList/zero", new: func() any { return new(UserModelList) }, zero: true,
		json: `{"user-models":null}`},
	{name: "ModelSummariesRequest", new: func() any { return new(ModelSummariesRequest) },
		json: `{"user-tag":"user-admin","all":true}`},
	{name: "ModelSummariesRequest/zero", new: func() any { return new(ModelSummariesRequest) }, zero: true,
		json: `{"user-tag":""}`},
	{name: "ModelSummaryResults", new: func() any { return new(ModelSummaryResults) },
		json: `{"results":[{"result":{"name":"dev","uuid":"0b7c2a5e-8d8e-4d8a-8a0f-0c1d2e3f4a5b","type":"iaas",
			"controller-uuid":"9a8b7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d","is-controller":false,"provider-type":"lxd",
			"default-series":"jammy","cloud-tag":"cloud-localhost","cloud-region":"localhost",
			"owner-tag":"user-tom","life":"alive","status":{"status":"available","info":"","since":"2026-11-29T05:00:00Z"},
			"user-access":"admin","last-connection":null,
			"counts":[{"entity":"machines","count":2},{"entity":"cores","count":4},{"entity":"units","count":3}],
			"sla":{"level":"unsupported","owner":"tom"},"agent-version":"3.6.26"}},
			{"error":{"message":"boom","code":""}}]}`},
	{name: "ModelSummary/zero", new: func() any { return new(ModelSummary) }, zero: true,
		json: `{"name":"","uuid":"","type":"","controller-uuid":"","is-controller":false,"cloud-tag":"",
			"owner-tag":"","life":"","status":{"status":"","info":"","since":null},"user-access":"",
			"last-connection":null,"counts":null,"sla":null,"agent-version":null}`},
	{name: "ModifyModelAccessRequest", new: func() any { return new(ModifyModelAccessRequest) },
		json: `{"changes":[{"user-tag":"user-ann","action":"grant","access":"write","model-tag":"` + modelTagSample + `"},
			{"user-tag":"user-bob","action":"revoke","access":"read","model-tag":"` + modelTagSample + `"}]}`},
	{name: "DestroyModelsParams", new: func() any { return new(DestroyModelsParams) },
		json: `{"models":[{"model-tag":"` + modelTagSample + `","destroy-storage":true,"force":false,
			"max-wait":60000000000,"timeout":1800000000000},{"model-tag":"` + modelTagSample + `"}]}`},
	{name: "DestroyModelParams/zero", new: func() any { return new(DestroyModelParams) }, zero: true,
		json: `{"model-tag":""}`},
}

var controllerGoldens = []golden{
	{name: "ModifyControllerAccessRequest", new: func() any { return new(ModifyControllerAccessRequest) },
		json: `{"changes":[{"user-tag":"user-ann","action":"grant","access":"superuser"}]}`},
	{name: "UserAccessResults", new: func() any { return new(UserAccessResults) },
		json: `{"results":[{"result":{"user-tag":"user-ann","access":"login"}},
			{"error":{"message":"user \"bob\" not found","code":"not found"}}]}`},
	{name: "UserAccessResults/zero", new: func() any { return new(UserAccessResults) }, zero: true, json: `{}`},
	{name: "ControllerVersionResults", new: func() any { return new(ControllerVersionResults) },
		json: `{"version":"3.6.26","git-commit":"bc752a9e2404f17ae16ef41999ce71ecf5935f58"}`},
	{name: "ControllerVersionResults/zero", new: func() any { return new(ControllerVersionResults) }, zero: true,
		json: `{"version":"","git-commit":""}`},
}
