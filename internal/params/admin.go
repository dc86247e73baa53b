package params

import (
	"encoding/json"
	"time"
)

// LoginRequest is the argument of Admin.Login (v3).
//
// A client logging in with a password sends auth-tag ("user-NAME") and
// credentials. jujulib always sends every key, empty when unused, and
// "macaroons": [] (or [null] when it has no stored macaroon); Herd reads
// macaroons as opaque JSON and never verifies them.
type LoginRequest struct {
	AuthTag       string              `json:"auth-tag"`
	Credentials   string              `json:"credentials"`
	Nonce         string              `json:"nonce"`
	Macaroons     [][]json.RawMessage `json:"macaroons"`
	BakeryVersion int                 `json:"bakery-version,omitempty"`
	Token         string              `json:"token,omitempty"`
	CLIArgs       string              `json:"cli-args,omitempty"`
	UserData      string              `json:"user-data"`
	ClientVersion string              `json:"client-version,omitempty"`
}

// AuthUserInfo describes the user a Login authenticated. Identity is the
// user's tag; ControllerAccess and ModelAccess are access levels
// ("superuser", "login", "admin", "write", "read"), ModelAccess empty on a
// controller connection. Juju's Login leaves DisplayName empty.
type AuthUserInfo struct {
	DisplayName      string     `json:"display-name"`
	Identity         string     `json:"identity"`
	LastConnection   *time.Time `json:"last-connection,omitempty"`
	Credentials      *string    `json:"credentials,omitempty"`
	ControllerAccess string     `json:"controller-access"`
	ModelAccess      string     `json:"model-access"`
}

// FacadeVersions is one facade and the versions served.
type FacadeVersions struct {
	Name     string `json:"name"`
	Versions []int  `json:"versions"`
}

// LoginResult is the result of Admin.Login. The discharge-required
// fields of Juju's LoginResult are left out: Herd never asks for a
// macaroon discharge. Every field is omitempty, as in Juju; a successful
// login fills all but ModelTag (model connections only) and
// PublicDNSName.
type LoginResult struct {
	Servers       [][]HostPort     `json:"servers,omitempty"`
	PublicDNSName string           `json:"public-dns-name,omitempty"`
	ModelTag      string           `json:"model-tag,omitempty"`
	ControllerTag string           `json:"controller-tag,omitempty"`
	UserInfo      *AuthUserInfo    `json:"user-info,omitempty"`
	Facades       []FacadeVersions `json:"facades,omitempty"`
	ServerVersion string           `json:"server-version,omitempty"`
}

// RedirectInfoResult is the result of Admin.RedirectInfo. Juju itself
// never redirects and always answers RedirectInfo with the error
// "not redirected"; Herd does the same. The type is here for clients.
type RedirectInfoResult struct {
	Servers [][]HostPort `json:"servers"`
	CACert  string       `json:"ca-cert"`
}
