package apiserver

import (
	"context"
	"strings"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/internal/params"
)

// Application v15 to v22 (apiserver/facades/client/application), on a
// model connection.
func init() {
	serve("Application", map[string]method{
		"Deploy":             deploy,
		"AddUnits":           addUnits,
		"DestroyApplication": destroyApplications,
		"DestroyUnit":        destroyUnits,
	})
}

// charmName reads a charm URL as Juju's clients send it ("ch:mysql",
// "ch:amd64/jammy/mysql-12", "cs:~user/mysql", "local:mysql-3", or a bare
// "mysql") and returns the charm's name. Nothing is downloaded: Herd
// records the name.
func charmName(url string) string {
	if _, rest, ok := strings.Cut(url, ":"); ok {
		url = rest
	}
	if i := strings.LastIndexByte(url, '/'); i >= 0 {
		url = url[i+1:]
	}
	// A trailing "-N" is a revision; charm names may hold hyphens.
	if i := strings.LastIndexByte(url, '-'); i > 0 && isDigits(url[i+1:]) {
		url = url[:i]
	}
	return url
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func deploy(ctx context.Context, k call) (any, error) {
	var p params.ApplicationsDeploy
	if err := k.req.Decode(&p); err != nil {
		return nil, err
	}
	out := params.ErrorResults{Results: make([]params.ErrorResult, len(p.Applications))}
	for i, a := range p.Applications {
		_, err := k.s.Deploy(ctx, k.modelRef(), charmName(a.CharmURL), controller.DeployOptions{Name: a.ApplicationName, NumUnits: a.NumUnits})
		out.Results[i].Error = perr(err)
	}
	return out, nil
}

func addUnits(ctx context.Context, k call) (any, error) {
	var p params.AddApplicationUnits
	if err := k.req.Decode(&p); err != nil {
		return nil, err
	}
	d, err := k.s.AddUnit(ctx, k.modelRef(), p.ApplicationName, controller.AddUnitOptions{NumUnits: p.NumUnits})
	if err != nil {
		return nil, err
	}
	out := params.AddApplicationUnitsResults{Units: make([]string, 0, len(d.Units))}
	for _, u := range d.Units {
		out.Units = append(out.Units, u.Name)
	}
	return out, nil
}

var errDryRun = herd.Errorf(herd.ErrInvalid, "dry-run not supported")

func destroyApplications(ctx context.Context, k call) (any, error) {
	var p params.DestroyApplicationsParams
	if err := k.req.Decode(&p); err != nil {
		return nil, err
	}
	out := params.DestroyApplicationResults{Results: make([]params.DestroyApplicationResult, len(p.Applications))}
	for i, a := range p.Applications {
		name, err := params.ParseApplicationTag(a.ApplicationTag)
		if err == nil && a.DryRun {
			err = errDryRun
		}
		if err == nil {
			err = k.s.RemoveApplication(ctx, k.modelRef(), name)
		}
		if err != nil {
			out.Results[i].Error = perr(err)
			continue
		}
		out.Results[i].Info = &params.DestroyApplicationInfo{}
	}
	return out, nil
}

func destroyUnits(ctx context.Context, k call) (any, error) {
	var p params.DestroyUnitsParams
	if err := k.req.Decode(&p); err != nil {
		return nil, err
	}
	out := params.DestroyUnitResults{Results: make([]params.DestroyUnitResult, len(p.Units))}
	for i, u := range p.Units {
		name, err := params.ParseUnitTag(u.UnitTag)
		if err == nil && u.DryRun {
			err = errDryRun
		}
		if err == nil {
			err = k.s.RemoveUnit(ctx, k.modelRef(), name)
		}
		if err != nil {
			out.Results[i].Error = perr(err)
			continue
		}
		out.Results[i].Info = &params.DestroyUnitInfo{}
	}
	return out, nil
}
