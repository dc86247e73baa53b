package register

import (
	"bytes"
	"encoding/json"
	"io"

	"golang.org/x/crypto/nacl/secretbox"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/internal/pki"
	"github.com/herd-project/herd/users"
)

// Key returns the token's secret key as a secretbox key.
func Key(t users.Token) ([KeyLen]byte, error) {
	var key [KeyLen]byte
	if len(t.SecretKey) != KeyLen {
		return key, herd.Errorf(herd.ErrInvalid, "secret key not valid")
	}
	copy(key[:], t.SecretKey)
	return key, nil
}

// Request returns the body of a `POST /register` that registers t.User
// with the new password, sealed under the token's key with a random nonce
// from rand, as Juju's client builds it.
func Request(t users.Token, password string, rand io.Reader) ([]byte, error) {
	key, err := Key(t)
	if err != nil {
		return nil, err
	}
	name, err := users.Canonical(t.User)
	if err != nil {
		return nil, err
	}
	if err := users.ValidatePassword(password); err != nil {
		return nil, err
	}
	var nonce [NonceLen]byte
	if _, err := io.ReadFull(rand, nonce[:]); err != nil {
		return nil, herd.Wrap(herd.ErrFailedPrecondition, err, "cannot read random nonce")
	}
	plain, err := json.Marshal(requestPayload{Password: &password})
	if err != nil {
		return nil, herd.Wrap(herd.ErrInvalid, err, "cannot encode registration payload")
	}
	return json.Marshal(request{
		User:       userTagPrefix + name,
		Nonce:      nonce[:],
		CipherText: secretbox.Seal(nil, plain, &nonce, &key),
	})
}

// OpenResponse opens the controller's reply to a registration request
// under the token's key. A reply that does not open means the server does
// not hold the key (ErrUnauthenticated); anything malformed is ErrInvalid.
// The payload's CA certificate is checked to be one (pki.ParseCACert).
func OpenResponse(key [KeyLen]byte, body []byte) (Payload, error) {
	if len(body) > MaxResponseBytes {
		return Payload{}, herd.Errorf(herd.ErrInvalid, "registration response too large: %d bytes, at most %d allowed", len(body), MaxResponseBytes)
	}
	var resp response
	if err := json.Unmarshal(body, &resp); err != nil {
		return Payload{}, herd.Wrap(herd.ErrInvalid, err, "cannot decode registration response")
	}
	if len(resp.Nonce) != NonceLen {
		return Payload{}, herd.Errorf(herd.ErrInvalid, "response nonce not valid")
	}
	var nonce [NonceLen]byte
	copy(nonce[:], resp.Nonce)
	plain, ok := secretbox.Open(nil, resp.CipherText, &nonce, &key)
	if !ok {
		return Payload{}, herd.Errorf(herd.ErrUnauthenticated, "response payload not valid")
	}
	var p Payload
	if err := json.Unmarshal(plain, &p); err != nil {
		return Payload{}, herd.Wrap(herd.ErrInvalid, err, "cannot unmarshal response payload")
	}
	if p.ControllerUUID == "" {
		return Payload{}, herd.Errorf(herd.ErrInvalid, "registration response has no controller UUID")
	}
	if _, err := pki.ParseCACert([]byte(p.CACert)); err != nil {
		return Payload{}, err
	}
	return p, nil
}

// isObject reports whether data is a JSON object, so that "null" and
// other values do not pass as an empty request.
func isObject(data []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("{"))
}
