package users

import (
	"bytes"
	"encoding/asn1"
	"encoding/base64"
	"strings"

	"github.com/herd-project/herd"
)

// SecretKeyLen is the length of a registration secret, as in Juju.
const SecretKeyLen = 32

// Token is the content of a registration token, field for field Juju's
// RegistrationInfo.
type Token struct {
	User           string
	Addrs          []string
	SecretKey      []byte
	ControllerName string
	ProxyConfig    string
}

// wireOut is the ASN.1 shape written: all five fields, strings with
// encoding/asn1's defaults, as Juju writes them.
type wireOut struct {
	User           string
	Addrs          []string
	SecretKey      []byte
	ControllerName string
	ProxyConfig    string
}

// wireIn is the shape read. The last two fields are optional so that
// tokens from older Juju releases (3 or 4 fields) decode. (Marshal would
// drop empty optional fields, hence two types.)
type wireIn struct {
	User           string
	Addrs          []string
	SecretKey      []byte
	ControllerName string `asn1:"optional"`
	ProxyConfig    string `asn1:"optional"`
}

// Encode returns the token as `juju register` takes it: DER, zero-padded to
// a multiple of 3 bytes, URL-safe base64 (so never any '=').
func (t Token) Encode() (string, error) {
	if len(t.SecretKey) != SecretKeyLen {
		return "", herd.Errorf(herd.ErrInvalid, "secret key not valid: %d bytes, want %d", len(t.SecretKey), SecretKeyLen)
	}
	der, err := asn1.Marshal(wireOut{
		User: t.User, Addrs: nonNil(t.Addrs), SecretKey: t.SecretKey,
		ControllerName: t.ControllerName, ProxyConfig: t.ProxyConfig,
	})
	if err != nil {
		return "", herd.Wrap(herd.ErrInvalid, err, "cannot encode registration token")
	}
	if r := len(der) % 3; r != 0 {
		der = append(der, make([]byte, 3-r)...)
	}
	return base64.URLEncoding.EncodeToString(der), nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// DecodeToken reads a registration token. It accepts 3, 4 or 5 fields,
// with or without '=' padding, and trailing zero bytes after the DER. Every
// failure is ErrInvalid; it never panics.
func DecodeToken(s string) (Token, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Token{}, herd.Wrap(herd.ErrInvalid, err, "invalid registration token")
	}
	var w wireIn
	rest, err := asn1.Unmarshal(raw, &w)
	if err != nil {
		return Token{}, herd.Wrap(herd.ErrInvalid, err, "invalid registration token")
	}
	if len(bytes.Trim(rest, "\x00")) != 0 {
		return Token{}, herd.Errorf(herd.ErrInvalid, "invalid registration token: %d trailing bytes after the data", len(rest))
	}
	if len(w.SecretKey) != SecretKeyLen {
		return Token{}, herd.Errorf(herd.ErrInvalid, "secret key not valid")
	}
	return Token{User: w.User, Addrs: w.Addrs, SecretKey: w.SecretKey, ControllerName: w.ControllerName, ProxyConfig: w.ProxyConfig}, nil
}
