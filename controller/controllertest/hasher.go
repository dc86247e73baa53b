package controllertest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"

	"github.com/herd-project/herd"
	"github.com/herd-project/herd/users"
)

// TestHasher is a password hasher FOR TESTS ONLY: one unsalted SHA-256, no
// work factor, so a fixture user costs microseconds instead of bcrypt's
// milliseconds. Never use it in a program: anyone with the store could
// brute-force its hashes. Its hashes start with "test-only-sha256$" so
// they cannot be mistaken for real ones. It refuses to hash the passwords
// Herd refuses (empty, over 72 bytes), and compares as bcrypt does: only
// the first 72 bytes count, so a test meets the same trap a program would.
type TestHasher struct{}

const testPrefix = "test-only-sha256$"

var _ users.Hasher = TestHasher{}

// Hash returns the test-only hash of pw.
func (TestHasher) Hash(pw string) (string, error) {
	if err := users.ValidatePassword(pw); err != nil {
		return "", err
	}
	h := sha256.Sum256([]byte(pw))
	return testPrefix + hex.EncodeToString(h[:]), nil
}

// Compare checks pw against a test-only hash in constant time.
func (t TestHasher) Compare(hash, pw string) error {
	if len(pw) > users.MaxPasswordLen {
		pw = pw[:users.MaxPasswordLen] // as bcrypt reads it
	}
	want, _ := t.Hash(pw)
	if !strings.HasPrefix(hash, testPrefix) || subtle.ConstantTimeCompare([]byte(hash), []byte(want)) != 1 {
		return herd.Errorf(herd.ErrUnauthenticated, "invalid entity name or password")
	}
	return nil
}
