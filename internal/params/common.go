package params

// Entity names one thing by its tag ("user-tom", "model-UUID", ...).
type Entity struct {
	Tag string `json:"tag"`
}

// Entities is the argument of every bulk call that names things and
// nothing else (UserManager.DisableUser, ModelManager.ModelInfo, ...).
type Entities struct {
	Entities []Entity `json:"entities"`
}

// EntityPassword is one password change.
type EntityPassword struct {
	Tag      string `json:"tag"`
	Password string `json:"password"`
}

// EntityPasswords is the argument of UserManager.SetPassword.
type EntityPasswords struct {
	Changes []EntityPassword `json:"changes"`
}

// Error is an error inside a result, or the body of an RPC error reply:
// the shape rpc/params.Error marshals to. Code is one of the Code*
// constants, or "" for an error Juju has no code for (Juju still sends
// the key, empty). Info is omitted when empty.
type Error struct {
	Message string         `json:"message"`
	Code    string         `json:"code"`
	Info    map[string]any `json:"info,omitempty"`
}

// Error returns the message alone, as Juju's params.Error does.
func (e *Error) Error() string { return e.Message }

// ErrorResult is the result of one item of a bulk call that returns no
// data. A nil Error marshals as {} (the key is omitted).
type ErrorResult struct {
	Error *Error `json:"error,omitempty"`
}

// ErrorResults is the result of a bulk call that returns no data: one
// ErrorResult per item of the request, in the request's order.
type ErrorResults struct {
	Results []ErrorResult `json:"results"`
}

// StringResult is a string or an error. Juju always sends "result", even
// when Error is set.
type StringResult struct {
	Error  *Error `json:"error,omitempty"`
	Result string `json:"result"`
}

// Base is an operating system and its channel ("ubuntu", "22.04/stable").
type Base struct {
	Name    string `json:"name"`
	Channel string `json:"channel"`
}

// Address is one API address of the controller. Type is "ipv4", "ipv6"
// or "hostname"; Scope is "public", "local-cloud", "local-machine",
// "link-local" or "" (unknown).
type Address struct {
	Value           string `json:"value"`
	CIDR            string `json:"cidr,omitempty"`
	Type            string `json:"type"`
	Scope           string `json:"scope"`
	SpaceName       string `json:"space-name,omitempty"`
	ProviderSpaceID string `json:"space-id,omitempty"`
	ConfigType      string `json:"config-type,omitempty"`
	IsSecondary     bool   `json:"is-secondary,omitempty"`
}

// HostPort is an address with a port. Juju embeds Address, so its fields
// are flattened into the same JSON object as "port".
type HostPort struct {
	Address
	Port int `json:"port"`
}
