package controller

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
)

func (c *Controller) random(n int) ([]byte, error) {
	b := make([]byte, n)
	var err error
	if c.opts.Rand != nil {
		_, err = io.ReadFull(c.opts.Rand, b)
	} else {
		_, err = rand.Read(b)
	}
	return b, err
}

// newToken returns a fresh 256-bit opaque token and the hex SHA-256 hash
// that is all the store keeps of it.
func (c *Controller) newToken() (token, hash string, err error) {
	b, err := c.random(32)
	if err != nil {
		return "", "", err
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashString(token), nil
}

func (c *Controller) newUUID() (string, error) {
	b, err := c.random(16)
	if err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

func hashString(s string) string { return hashBytes([]byte(s)) }

func hashBytes(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// equalSecret compares two hashes in constant time.
func equalSecret(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func encodeSecret(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// randReader is the source of randomness: Options.Rand or crypto/rand.
func (c *Controller) randReader() io.Reader {
	if c.opts.Rand != nil {
		return c.opts.Rand
	}
	return rand.Reader
}
