package params

import "time"

// AddUser is one user to add. Password is optional: without one, Juju
// (and Herd) return a secret key for `juju register`.
type AddUser struct {
	Username    string `json:"username"`
	DisplayName string `json:"display-name"`
	Password    string `json:"password,omitempty"`
}

// AddUsers is the argument of UserManager.AddUser.
type AddUsers struct {
	Users []AddUser `json:"users"`
}

// AddUserResult is the result of one AddUser, and of one ResetPassword.
// SecretKey is the registration key; as a []byte, encoding/json writes it
// as standard base64, which is what Juju's clients expect.
type AddUserResult struct {
	Tag       string `json:"tag,omitempty"`
	SecretKey []byte `json:"secret-key,omitempty"`
	Error     *Error `json:"error,omitempty"`
}

// AddUserResults is the result of UserManager.AddUser and
// UserManager.ResetPassword.
type AddUserResults struct {
	Results []AddUserResult `json:"results"`
}

// UserInfoRequest is the argument of UserManager.UserInfo. No entities
// means every user (the disabled ones only if IncludeDisabled).
type UserInfoRequest struct {
	Entities        []Entity `json:"entities"`
	IncludeDisabled bool     `json:"include-disabled"`
}

// UserInfo describes one user. Username is the name without the tag
// prefix ("tom"); CreatedBy is a name too ("admin"); Access is the user's
// controller access ("login", "superuser", or "" for none).
// LastConnection is omitted when the user never connected.
type UserInfo struct {
	Username       string     `json:"username"`
	DisplayName    string     `json:"display-name"`
	Access         string     `json:"access"`
	CreatedBy      string     `json:"created-by"`
	DateCreated    time.Time  `json:"date-created"`
	LastConnection *time.Time `json:"last-connection,omitempty"`
	Disabled       bool       `json:"disabled"`
}

// UserInfoResult is a UserInfo or an error, wrapped in "result".
type UserInfoResult struct {
	Result *UserInfo `json:"result,omitempty"`
	Error  *Error    `json:"error,omitempty"`
}

// UserInfoResults is the result of UserManager.UserInfo.
type UserInfoResults struct {
	Results []UserInfoResult `json:"results"`
}
