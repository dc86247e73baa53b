package params

// HerdSession (version 1) is Herd's own facade, for what Juju lacks. It is
// served on controller and model connections, after login:
//
//	Logout()                      → {}             ends the connection's session on the server
//	SessionToken()                → StringResult   the session's credential, for a client that must outlive its process
//	Explain(ExplainArgs)          → ExplainResult  why a user has the access to a model they have
//	EndSessions(Entities)         → EndSessionsResults  a superuser ends every session of users
//
// A session credential travels back in Admin.Login's "token" field
// (LoginRequest.Token) with "auth-tag" naming its user and no
// "credentials": the server resumes that session instead of checking a
// password. A Juju client logging in with a password never sets "token"
// for Herd, so it is not affected.

// ExplainArgs names a user and a model (a "model-UUID" tag).
type ExplainArgs struct {
	UserTag  string `json:"user-tag"`
	ModelTag string `json:"model-tag"`
}

// ExplainResult is controller.Explanation on the wire.
type ExplainResult struct {
	User       string `json:"user"`
	Model      string `json:"model"` // owner/name
	Access     string `json:"access"`
	Reason     string `json:"reason"`
	Direct     string `json:"direct"`
	Controller string `json:"controller"`
	Owner      bool   `json:"owner"`
	Sentence   string `json:"sentence"`
}

// EndSessionsResult is how many sessions of one user were ended.
type EndSessionsResult struct {
	Count int    `json:"count"`
	Error *Error `json:"error,omitempty"`
}

// EndSessionsResults holds one result per entity.
type EndSessionsResults struct {
	Results []EndSessionsResult `json:"results"`
}
