package params

import "time"

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

// DestroyControllerArgs is the argument of Controller.DestroyController
// (Juju 3.6's rpc/params). DestroyModels must be true when the controller
// has models: Herd has no controller model, so every model is a hosted
// one. Herd destroys models at once, so DestroyStorage, Force, MaxWait and
// ModelTimeout are accepted and have no effect.
type DestroyControllerArgs struct {
	DestroyModels  bool           `json:"destroy-models"`
	DestroyStorage *bool          `json:"destroy-storage,omitempty"`
	Force          *bool          `json:"force,omitempty"`
	MaxWait        *time.Duration `json:"max-wait,omitempty"`
	ModelTimeout   *time.Duration `json:"model-timeout,omitempty"`
}
