package users

import (
	"errors"

	"golang.org/x/crypto/bcrypt"

	"github.com/herd-project/herd"
)

// MaxPasswordLen is bcrypt's limit. Herd refuses longer passwords rather
// than cutting them.
const MaxPasswordLen = 72

// ValidatePassword returns ErrInvalid for an empty or over-long password.
func ValidatePassword(pw string) error {
	if pw == "" {
		return herd.Errorf(herd.ErrInvalid, "password must not be empty")
	}
	if len(pw) > MaxPasswordLen {
		return herd.Errorf(herd.ErrInvalid, "password is %d bytes long: at most %d allowed", len(pw), MaxPasswordLen)
	}
	return nil
}

// Hasher turns passwords into hashes and checks them. Implementations must
// compare in constant time. Compare returns ErrUnauthenticated (wrapped) on
// a mismatch.
type Hasher interface {
	Hash(password string) (string, error)
	Compare(hash, password string) error
}

// Bcrypt is the production Hasher. The zero value uses bcrypt.DefaultCost.
type Bcrypt struct {
	Cost int
}

// Hash validates and hashes a password.
func (b Bcrypt) Hash(pw string) (string, error) {
	if err := ValidatePassword(pw); err != nil {
		return "", err
	}
	cost := b.Cost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return "", herd.Errorf(herd.ErrInvalid, "bcrypt cost %d not valid: want %d to %d", cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), cost)
	if err != nil {
		return "", herd.Wrap(herd.ErrInvalid, err, "cannot hash password")
	}
	return string(h), nil
}

// Compare checks pw against a bcrypt hash, in constant time. A password
// over MaxPasswordLen never matches: bcrypt would read only its first 72
// bytes and accept it when they are right.
func (Bcrypt) Compare(hash, pw string) error {
	long := len(pw) > MaxPasswordLen
	if long {
		pw = pw[:MaxPasswordLen] // the same work as a password that fits
	}
	err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw))
	switch {
	case long:
		return herd.Errorf(herd.ErrUnauthenticated, "invalid entity name or password")
	case err == nil:
		return nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return herd.Errorf(herd.ErrUnauthenticated, "invalid entity name or password")
	default:
		return herd.Wrap(herd.ErrUnauthenticated, err, "invalid entity name or password")
	}
}
