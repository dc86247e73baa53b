package apiserver

import (
	"errors"
	"strings"
	"testing"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/acl"
	"github.com/herd-project/herd/internal/params"
	"github.com/herd-project/herd/internal/rpc"
)

func apiCreateModel(t *testing.T, c *rpc.Client, name, owner string) params.ModelInfo {
	t.Helper()
	var info params.ModelInfo
	if err := c.Call(ctxFor(t), "ModelManager", 10, "", "CreateModel", params.ModelCreateArgs{Name: name, OwnerTag: owner}, &info); err != nil {
		t.Fatalf("CreateModel %s: %v", name, err)
	}
	return info
}

func TestModelManager(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := ctxFor(t)
	e.f.AddUser(t, "tom")
	admin := e.as(t, "admin")
	m := apiCreateModel(t, admin, "lxd-model-1", "user-admin")
	if m.Name != "lxd-model-1" || m.OwnerTag != "user-admin" || m.Type != "iaas" || m.ControllerUUID != e.f.Controller.UUID() ||
		m.Users == nil || m.Machines == nil || m.SecretBackends == nil || m.AgentVersion == nil || m.AgentVersion.String() != ServerVersion {
		t.Errorf("CreateModel %+v", m)
	}
	// tom (login only) may not create a model.
	tom := e.as(t, "tom")
	err := tom.Call(ctx, "ModelManager", 10, "", "CreateModel", params.ModelCreateArgs{Name: "mine", OwnerTag: "user-tom"}, nil)
	wantErr(t, err, "permission denied", rpc.CodeUnauthorized)

	var er params.ErrorResults
	if err := admin.Call(ctx, "ModelManager", 10, "", "ModifyModelAccess", params.ModifyModelAccessRequest{Changes: []params.ModifyModelAccess{
		{UserTag: "user-tom", Action: "grant", Access: "write", ModelTag: params.ModelTag(m.UUID)},
		{UserTag: "user-tom", Action: "grant", Access: "superuser", ModelTag: params.ModelTag(m.UUID)},
		{UserTag: "user-tom", Action: "frob", Access: "read", ModelTag: params.ModelTag(m.UUID)},
		{UserTag: "user-tom", Action: "grant", Access: "read", ModelTag: params.ModelTag(m.UUID)},
	}}, &er); err != nil {
		t.Fatal(err)
	}
	if er.Results[0].Error != nil || er.Results[1].Error == nil || er.Results[2].Error == nil ||
		er.Results[3].Error == nil || er.Results[3].Error.Code != rpc.CodeAlreadyExists {
		t.Errorf("ModifyModelAccess %+v", er.Results)
	}
	if e := er.Results[1].Error; !strings.HasPrefix(e.Message, "could not modify model access: ") || e.Code != rpc.CodeNotValid {
		t.Errorf("a controller level on a model: %q (%q), want Juju's prefix and not valid", e.Message, e.Code)
	}
	if e := er.Results[2].Error; e.Message != `unknown action "frob"` || e.Code != rpc.CodeNotValid {
		t.Errorf("unknown action: %q (%q)", e.Message, e.Code)
	}

	var sums params.ModelSummaryResults
	if err := tom.Call(ctx, "ModelManager", 10, "", "ListModelSummaries", params.ModelSummariesRequest{UserTag: "user-tom", All: true}, &sums); err != nil {
		t.Fatal(err)
	}
	if len(sums.Results) != 1 || sums.Results[0].Result.Name != "lxd-model-1" || sums.Results[0].Result.UserAccess != "write" || sums.Results[0].Result.Counts == nil {
		t.Errorf("tom's summaries %+v", sums.Results)
	}
	var list params.UserModelList
	if err := tom.Call(ctx, "ModelManager", 9, "", "ListModels", params.Entity{Tag: "user-tom"}, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.UserModels) != 1 || list.UserModels[0].Model.UUID != m.UUID || list.UserModels[0].LastConnection == nil {
		t.Errorf("ListModels %+v", list)
	}
	// Another user's listing is a superuser's.
	err = tom.Call(ctx, "ModelManager", 10, "", "ListModels", params.Entity{Tag: "user-admin"}, &list)
	wantErr(t, err, "permission denied", rpc.CodeUnauthorized)
	if err := admin.Call(ctx, "Controller", 11, "", "AllModels", nil, &list); err != nil || len(list.UserModels) != 2 {
		t.Errorf("AllModels %+v %v", list, err)
	}
	err = tom.Call(ctx, "Controller", 12, "", "AllModels", nil, &list)
	wantErr(t, err, "permission denied", rpc.CodeUnauthorized)

	var infos params.ModelInfoResults
	if err := tom.Call(ctx, "ModelManager", 10, "", "ModelInfo", entities(params.ModelTag(m.UUID), "model-00000000-0000-4000-8000-000000000000", "user-tom"), &infos); err != nil {
		t.Fatal(err)
	}
	if infos.Results[0].Result == nil || len(infos.Results[0].Result.Users) != 1 || infos.Results[0].Result.Users[0].UserName != "tom" ||
		infos.Results[1].Error == nil || infos.Results[2].Error == nil {
		t.Errorf("ModelInfo %+v", infos.Results)
	}
	if err := admin.Call(ctx, "ModelManager", 10, "", "ModelInfo", entities(params.ModelTag(m.UUID)), &infos); err != nil {
		t.Fatal(err)
	}
	if len(infos.Results[0].Result.Users) != 2 {
		t.Errorf("admin sees users %+v", infos.Results[0].Result.Users)
	}

	// Controller access.
	if err := admin.Call(ctx, "Controller", 12, "", "ModifyControllerAccess", params.ModifyControllerAccessRequest{Changes: []params.ModifyControllerAccess{
		{UserTag: "user-tom", Action: "grant", Access: "add-model"},
		{UserTag: "user-tom", Action: "grant", Access: "write"},
	}}, &er); err != nil {
		t.Fatal(err)
	}
	if er.Results[0].Error != nil || er.Results[1].Error == nil || er.Results[1].Error.Code != rpc.CodeNotValid {
		t.Errorf("ModifyControllerAccess %+v", er.Results)
	}
	var acc params.UserAccessResults
	if err := tom.Call(ctx, "Controller", 12, "", "GetControllerAccess", entities("user-tom", "user-admin"), &acc); err != nil {
		t.Fatal(err)
	}
	if acc.Results[0].Result == nil || acc.Results[0].Result.Access != "add-model" || acc.Results[1].Error == nil {
		t.Errorf("GetControllerAccess %+v", acc.Results)
	}

	// Destroy: tom (write) may not, admin may.
	if err := tom.Call(ctx, "ModelManager", 10, "", "DestroyModels", params.DestroyModelsParams{Models: []params.DestroyModelParams{{ModelTag: params.ModelTag(m.UUID)}}}, &er); err != nil {
		t.Fatal(err)
	}
	if er.Results[0].Error == nil || er.Results[0].Error.Message != "permission denied" {
		t.Errorf("tom's DestroyModels %+v", er.Results)
	}
	er = params.ErrorResults{}
	if err := admin.Call(ctx, "ModelManager", 10, "", "DestroyModels", params.DestroyModelsParams{Models: []params.DestroyModelParams{{ModelTag: params.ModelTag(m.UUID)}}}, &er); err != nil {
		t.Fatal(err)
	}
	if er.Results[0].Error != nil {
		t.Errorf("admin's DestroyModels %+v", er.Results)
	}
}

func TestModelConnection(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := ctxFor(t)
	e.f.AddUser(t, "tom")
	e.f.AddUser(t, "bob")
	m := e.f.CreateModel(t, "admin", "m1")
	e.f.Grant(t, "bob", acl.Read, "admin/m1")
	path := "/model/" + m.UUID + "/api"

	c := e.dial(t, path)
	_, err := login(ctx, c, "tom", e.f.Password("tom"))
	wantErr(t, err, "permission denied", rpc.CodeUnauthorized)

	c = e.dial(t, path)
	res, err := login(ctx, c, "bob", e.f.Password("bob"))
	if err != nil {
		t.Fatal(err)
	}
	if res.ModelTag != params.ModelTag(m.UUID) || res.UserInfo.ModelAccess != "read" || res.UserInfo.ControllerAccess != "login" {
		t.Errorf("model login %+v %+v", res, res.UserInfo)
	}
	for _, f := range res.Facades {
		if f.Name == "UserManager" || f.Name == "ModelManager" || f.Name == "Controller" {
			t.Errorf("model connection lists %s", f.Name)
		}
	}
	err = c.Call(ctx, "UserManager", 3, "", "UserInfo", params.UserInfoRequest{}, nil)
	wantErr(t, err, `facade "UserManager" not supported for model API connection`, rpc.CodeNotSupported)

	admin := e.dial(t, path)
	if res, err = login(ctx, admin, "admin", e.f.Password("admin")); err != nil || res.UserInfo.ModelAccess != "admin" {
		t.Errorf("admin model login %+v %v", res.UserInfo, err)
	}

	unknown := e.dial(t, "/model/00000000-0000-4000-8000-000000000000/api")
	_, err = login(ctx, unknown, "admin", e.f.Password("admin"))
	wantErr(t, err, `unknown model: "00000000-0000-4000-8000-000000000000"`, rpc.CodeModelNotFound)
}

func TestDeployAndFullStatus(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := ctxFor(t)
	e.f.AddUser(t, "tom")
	m := e.f.CreateModel(t, "admin", "m1")
	e.f.Grant(t, "tom", acl.Write, "admin/m1")
	e.f.AddUser(t, "ro")
	e.f.Grant(t, "ro", acl.Read, "admin/m1")
	path := "/model/" + m.UUID + "/api"
	tom := e.asAt(t, path, "tom")

	var er params.ErrorResults
	if err := tom.Call(ctx, "Application", 19, "", "Deploy", params.ApplicationsDeploy{Applications: []params.ApplicationDeploy{
		{ApplicationName: "mysql-staging", CharmURL: "ch:amd64/jammy/mysql-12", NumUnits: 1},
		{ApplicationName: "mysql-staging", CharmURL: "mysql", NumUnits: 1},
		{CharmURL: "postgresql", NumUnits: 2},
	}}, &er); err != nil {
		t.Fatal(err)
	}
	if er.Results[0].Error != nil || er.Results[1].Error == nil || er.Results[1].Error.Code != rpc.CodeAlreadyExists || er.Results[2].Error != nil {
		t.Fatalf("Deploy %+v", er.Results)
	}
	var fs params.FullStatus
	if err := tom.Call(ctx, "Client", 8, "", "FullStatus", params.StatusParams{}, &fs); err != nil {
		t.Fatal(err)
	}
	app, ok := fs.Applications["mysql-staging"]
	if !ok || app.Charm != "ch:mysql" || len(app.Units) != 1 {
		t.Fatalf("FullStatus applications %+v", fs.Applications)
	}
	if u, ok := app.Units["mysql-staging/0"]; !ok || u.Machine != "0" {
		t.Errorf("units %+v", app.Units)
	}
	if len(fs.Machines) != 3 || len(fs.Applications["postgresql"].Units) != 2 || fs.Model.Name != "m1" {
		t.Errorf("FullStatus %+v", fs)
	}

	var au params.AddApplicationUnitsResults
	if err := tom.Call(ctx, "Application", 22, "", "AddUnits", params.AddApplicationUnits{ApplicationName: "mysql-staging", NumUnits: 1}, &au); err != nil {
		t.Fatal(err)
	}
	if len(au.Units) != 1 || au.Units[0] != "mysql-staging/1" {
		t.Errorf("AddUnits %+v", au)
	}
	var du params.DestroyUnitResults
	if err := tom.Call(ctx, "Application", 22, "", "DestroyUnit", params.DestroyUnitsParams{Units: []params.DestroyUnitParams{
		{UnitTag: "unit-mysql-staging-1"}, {UnitTag: "unit-nope-0"},
	}}, &du); err != nil {
		t.Fatal(err)
	}
	if du.Results[0].Error != nil || du.Results[1].Error == nil {
		t.Errorf("DestroyUnit %+v", du.Results)
	}

	// A read-only user sees the status and may not deploy or destroy.
	ro := e.asAt(t, path, "ro")
	if err := ro.Call(ctx, "Client", 6, "", "FullStatus", params.StatusParams{}, &fs); err != nil {
		t.Fatal(err)
	}
	if err := ro.Call(ctx, "Application", 15, "", "Deploy", params.ApplicationsDeploy{Applications: []params.ApplicationDeploy{{CharmURL: "redis"}}}, &er); err != nil {
		t.Fatal(err)
	}
	if er.Results[0].Error == nil || !errors.Is(er.Results[0].Error, herd.ErrPermissionDenied) && er.Results[0].Error.Message != "permission denied" {
		t.Errorf("ro Deploy %+v", er.Results)
	}
	var da params.DestroyApplicationResults
	if err := ro.Call(ctx, "Application", 22, "", "DestroyApplication", params.DestroyApplicationsParams{Applications: []params.DestroyApplicationParams{{ApplicationTag: "application-postgresql"}}}, &da); err != nil {
		t.Fatal(err)
	}
	if da.Results[0].Error == nil || da.Results[0].Error.Message != "permission denied" {
		t.Errorf("ro DestroyApplication %+v", da.Results)
	}
	da = params.DestroyApplicationResults{}
	if err := tom.Call(ctx, "Application", 22, "", "DestroyApplication", params.DestroyApplicationsParams{Applications: []params.DestroyApplicationParams{{ApplicationTag: "application-postgresql"}}}, &da); err != nil {
		t.Fatal(err)
	}
	if da.Results[0].Error != nil {
		t.Errorf("tom DestroyApplication %+v", da.Results)
	}
	err := ro.Call(ctx, "Application", 14, "", "Deploy", params.ApplicationsDeploy{}, nil)
	wantErr(t, err, `unknown version (14) of interface "Application"`, rpc.CodeNotImplemented)
}

func TestCharmName(t *testing.T) {
	for in, want := range map[string]string{
		"mysql": "mysql", "ch:mysql": "mysql", "ch:amd64/jammy/mysql-12": "mysql", "cs:~user/mysql-k8s-3": "mysql-k8s",
		"local:jammy/my-charm-0": "my-charm", "ch:postgresql-k8s": "postgresql-k8s",
	} {
		if got := charmName(in); got != want {
			t.Errorf("charmName(%q) = %q, want %q", in, got, want)
		}
	}
}
