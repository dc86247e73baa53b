package apiserver

import (
	"context"

	"github.com/herd-project/herd/controller"
	"github.com/herd-project/herd/internal/params"
)

// HerdSession v1, Herd's own facade (internal/params/herd.go), and Pinger
// v1.
func init() {
	serve("HerdSession", map[string]method{
		"Logout":       logout,
		"SessionToken": sessionToken,
		"Explain":      explain,
		"EndSessions":  endSessions,
	})
	serve("Pinger", map[string]method{
		"Ping": ping,
		"Stop": ping,
	})
}

// ping checks the session, so that a session ended elsewhere shows on
// the next ping too. Juju's Pinger.Stop stops the agent ping timer; Herd
// has none, so Stop is Ping.
func ping(ctx context.Context, k call) (any, error) {
	return nil, k.s.Check(ctx)
}

func logout(ctx context.Context, k call) (any, error) {
	return nil, k.s.Logout(ctx)
}

// sessionToken hands out the session's credential; from then on the
// session outlives the connection (see apiConn.finish).
func sessionToken(ctx context.Context, k call) (any, error) {
	if err := k.s.Check(ctx); err != nil {
		return nil, err
	}
	k.c.shared.Store(true)
	return params.StringResult{Result: k.s.Token()}, nil
}

func explain(ctx context.Context, k call) (any, error) {
	var p params.ExplainArgs
	if err := k.req.Decode(&p); err != nil {
		return nil, err
	}
	user := ""
	if p.UserTag != "" {
		var err error
		if user, err = params.ParseUserTag(p.UserTag); err != nil {
			return nil, err
		}
	}
	uuid, err := params.ParseModelTag(p.ModelTag)
	if err != nil {
		return nil, err
	}
	e, err := k.s.Explain(ctx, user, controller.UUIDRef(uuid))
	if err != nil {
		return nil, err
	}
	return params.ExplainResult{
		User: e.User, Model: e.Model, Access: e.Access.String(), Reason: e.Reason.String(),
		Direct: e.Direct.String(), Controller: e.Controller.String(), Owner: e.Owner, Sentence: e.String(),
	}, nil
}

func endSessions(ctx context.Context, k call) (any, error) {
	var p params.Entities
	if err := k.req.Decode(&p); err != nil {
		return nil, err
	}
	out := params.EndSessionsResults{Results: make([]params.EndSessionsResult, len(p.Entities))}
	for i, e := range p.Entities {
		name, err := params.ParseUserTag(e.Tag)
		if err == nil {
			out.Results[i].Count, err = k.s.EndSessions(ctx, name)
		}
		out.Results[i].Error = perr(err)
	}
	return out, nil
}
