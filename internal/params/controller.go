package params

// ModifyControllerAccess is one grant or revoke of a controller access
// level ("login", "superuser") to a user.
type ModifyControllerAccess struct {
	UserTag string `json:"user-tag"`
	Action  string `json:"action"`
	Access  string `json:"access"`
}

// ModifyControllerAccessRequest is the argument of
// Controller.ModifyControllerAccess.
type ModifyControllerAccessRequest struct {
	Changes []ModifyControllerAccess `json:"changes"`
}

// UserAccess is a user's access level.
type UserAccess struct {
	UserTag string `json:"user-tag"`
	Access  string `json:"access"`
}

// UserAccessResult is a UserAccess or an error.
type UserAccessResult struct {
	Result *UserAccess `json:"result,omitempty"`
	Error  *Error      `json:"error,omitempty"`
}

// UserAccessResults is the result of Controller.GetControllerAccess.
// Unlike most results lists, Juju marks it omitempty: an empty request
// yields {}.
type UserAccessResults struct {
	Results []UserAccessResult `json:"results,omitempty"`
}

// ControllerVersionResults is the result of Controller.ControllerVersion.
type ControllerVersionResults struct {
	Version   string `json:"version"`
	GitCommit string `json:"git-commit"`
}
