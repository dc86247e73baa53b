package register

import "golang.org/x/crypto/nacl/secretbox"

// Sizes and limits of the exchange.
const (
	KeyLen   = 32 // secretbox key: the token's secret key
	NonceLen = 24 // secretbox nonce

	// MaxRequestBytes is the largest request body ParseRequest reads.
	MaxRequestBytes = 4 << 10
	// MaxBoxBytes bounds the request's cipher-text: the JSON of a 72-byte
	// password escaped as \uXXXX throughout, and room to spare.
	MaxBoxBytes = 1 << 10
	// MinBoxBytes is the smallest box that can hold a JSON object.
	MinBoxBytes = secretbox.Overhead + len("{}")
	// MaxResponseBytes is the largest reply OpenResponse reads.
	MaxResponseBytes = 256 << 10
)

// request is params.SecretKeyLoginRequest.
type request struct {
	User       string `json:"user"`
	Nonce      []byte `json:"nonce"`
	CipherText []byte `json:"cipher-text"`
}

// requestPayload is params.SecretKeyLoginRequestPayload, the sealed part
// of a request.
type requestPayload struct {
	Password *string `json:"password"`
}

// response is params.SecretKeyLoginResponse.
type response struct {
	Nonce      []byte `json:"nonce"`
	CipherText []byte `json:"cipher-text"`
}

// Payload is what the controller tells a registered client, sealed:
// params.SecretKeyLoginResponsePayload.
type Payload struct {
	// CACert is the controller's CA certificate (PEM), to pin.
	CACert string `json:"ca-cert"`
	// ControllerUUID is the controller's UUID.
	ControllerUUID string `json:"controller-uuid"`
	// ProxyConfig says how to reach the controller through a proxy; nil
	// (JSON null, as Juju writes it) when there is none.
	ProxyConfig *Proxy `json:"proxy-config"`
}

// Proxy is params.Proxy: a proxier type (Juju knows "k8s-port-forward")
// and its configuration.
type Proxy struct {
	Config map[string]any `json:"config"`
	Type   string         `json:"type"`
}

// userTagPrefix starts a user tag, Juju's names.UserTagKind + "-".
const userTagPrefix = "user-"
