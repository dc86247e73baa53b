package register

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"strings"

	"golang.org/x/crypto/nacl/secretbox"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/users"
)

// The one answer to every refused registration, Juju's answer to a box
// that does not open (apiserver/registration.go returns
// errors.NotValidf("secret key"); sendError maps code "not valid" to 500).
const (
	FailureStatus  = 500 // http.StatusInternalServerError
	FailureCode    = "not valid"
	FailureMessage = "secret key not valid"
)

// ErrRegistration is the error a controller reports for every refused
// registration, whatever the cause; its message is FailureMessage.
var ErrRegistration error = &herd.Error{Kind: herd.ErrUnauthenticated, Msg: FailureMessage}

// FailureBody returns the JSON body sent with FailureStatus, Juju's
// params.ErrorResult: {"error":{"message":"secret key not valid","code":"not valid"}}.
func FailureBody() []byte {
	return []byte(`{"error":{"message":"` + FailureMessage + `","code":"` + FailureCode + `"}}`)
}

// ParseRequest checks a `POST /register` body of at most maxBytes
// (MaxRequestBytes when maxBytes <= 0 or larger) and returns the user's
// canonical name, the nonce and the box. Every failure wraps
// herd.ErrInvalid.
func ParseRequest(body []byte, maxBytes int) (user string, nonce [NonceLen]byte, box []byte, err error) {
	if maxBytes <= 0 || maxBytes > MaxRequestBytes {
		maxBytes = MaxRequestBytes
	}
	if len(body) > maxBytes {
		return "", nonce, nil, herd.Errorf(herd.ErrInvalid, "registration request too large: %d bytes, at most %d allowed", len(body), maxBytes)
	}
	if !isObject(body) {
		return "", nonce, nil, herd.Errorf(herd.ErrInvalid, "registration request not valid: want a JSON object")
	}
	var req request
	if err := json.Unmarshal(body, &req); err != nil {
		return "", nonce, nil, herd.Wrap(herd.ErrInvalid, err, "registration request not valid")
	}
	name, ok := strings.CutPrefix(req.User, userTagPrefix)
	if !ok {
		return "", nonce, nil, herd.Errorf(herd.ErrInvalid, "%q is not a valid user tag", req.User)
	}
	if user, err = users.Canonical(name); err != nil {
		return "", nonce, nil, err
	}
	if len(req.Nonce) != NonceLen {
		return "", nonce, nil, herd.Errorf(herd.ErrInvalid, "nonce not valid")
	}
	if n := len(req.CipherText); n < MinBoxBytes || n > MaxBoxBytes {
		return "", nonce, nil, herd.Errorf(herd.ErrInvalid, "cipher-text not valid: %d bytes, want %d to %d", n, MinBoxBytes, MaxBoxBytes)
	}
	copy(nonce[:], req.Nonce)
	return user, nonce, req.CipherText, nil
}

// OpenPassword opens the box of a request with the key the controller
// holds for the user and returns the new password. A box that does not
// open is ErrUnauthenticated (report ErrRegistration); a box that opens
// but holds no valid {"password": ...} is ErrInvalid, and a password
// users.ValidatePassword refuses is its error. The password is never in
// an error message.
func OpenPassword(key [KeyLen]byte, nonce [NonceLen]byte, box []byte) (string, error) {
	plain, ok := secretbox.Open(nil, box, &nonce, &key)
	if !ok {
		return "", ErrRegistration
	}
	if !isObject(plain) {
		return "", herd.Errorf(herd.ErrInvalid, "cannot unmarshal payload: want a JSON object")
	}
	var p requestPayload
	if err := json.Unmarshal(plain, &p); err != nil {
		// json's errors name types and offsets, never the values.
		return "", herd.Wrap(herd.ErrInvalid, err, "cannot unmarshal payload")
	}
	if p.Password == nil {
		return "", herd.Errorf(herd.ErrInvalid, "cannot unmarshal payload: no password")
	}
	if err := users.ValidatePassword(*p.Password); err != nil {
		return "", err
	}
	return *p.Password, nil
}

// Decoy spends the time OpenPassword would on a box, under a random key,
// and returns ErrRegistration: for a user that is unknown, has no pending
// key or whose key expired, so that the answer and its timing do not say
// which.
func Decoy(nonce [NonceLen]byte, box []byte) error {
	var key [KeyLen]byte
	_, _ = rand.Read(key[:]) // never fails (crypto/rand); any key will do
	secretbox.Open(nil, box, &nonce, &key)
	return ErrRegistration
}

// SealResponse returns the reply to a successful registration: p sealed
// under the user's key with a fresh nonce from rand. requestNonce is the
// nonce of the request being answered: a nonce equal to it (or all zero),
// which only a broken random source gives, is refused rather than reused.
func SealResponse(key [KeyLen]byte, requestNonce [NonceLen]byte, p Payload, rand io.Reader) ([]byte, error) {
	if p.CACert == "" || p.ControllerUUID == "" {
		return nil, herd.Errorf(herd.ErrInvalid, "registration response needs a CA certificate and a controller UUID")
	}
	var nonce [NonceLen]byte
	if _, err := io.ReadFull(rand, nonce[:]); err != nil {
		return nil, herd.Wrap(herd.ErrFailedPrecondition, err, "cannot read random nonce")
	}
	if nonce == requestNonce || nonce == [NonceLen]byte{} {
		return nil, herd.Errorf(herd.ErrFailedPrecondition, "random source broken: refusing to reuse a nonce")
	}
	plain, err := json.Marshal(p)
	if err != nil {
		return nil, herd.Wrap(herd.ErrInvalid, err, "cannot encode registration response")
	}
	return json.Marshal(response{Nonce: nonce[:], CipherText: secretbox.Seal(nil, plain, &nonce, &key)})
}
