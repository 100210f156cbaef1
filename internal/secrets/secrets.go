// Package secrets derives purpose-bound keys from the system secret, and
// generates, hashes and compares client secrets and one-time tokens.
//
// Client secrets and one-time tokens carry 256 bits of entropy, so a keyed
// hash (HMAC-SHA256) is enough to store them: nobody can guess the input,
// and the key keeps a stolen database from being checked offline.
package secrets

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
)

// Purposes of derived keys; each yields an independent key.
const (
	PurposeClientSecrets = "averos-auth client secret hashing v1"
	PurposeKeyEncryption = "averos-auth signing key encryption v1"
	PurposeTokenHMAC     = "averos-auth opaque token hmac v1"
	PurposeOneTimeTokens = "averos-auth one-time token hashing v1"
	PurposeSecretCheck   = "averos-auth system secret check v1"
)

// DeriveKey returns a 32-byte key for purpose, derived from the system
// secret with HKDF-SHA256.
func DeriveKey(systemSecret, purpose string) ([]byte, error) {
	if len(systemSecret) < 32 {
		return nil, fmt.Errorf("secrets: the system secret must be at least 32 characters, got %d", len(systemSecret))
	}
	return hkdf.Key(sha256.New, []byte(systemSecret), nil, purpose, 32)
}

// Generate returns a random token of 32 bytes (256 bits) in unpadded
// base64url: 43 characters.
func Generate() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("secrets: read random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Hasher computes keyed hashes of high-entropy secrets.
type Hasher struct {
	key []byte
}

// NewHasher returns a Hasher keyed for purpose.
func NewHasher(systemSecret, purpose string) (*Hasher, error) {
	key, err := DeriveKey(systemSecret, purpose)
	if err != nil {
		return nil, err
	}
	return &Hasher{key: key}, nil
}

// Hash returns the HMAC-SHA256 of secret in unpadded base64url.
func (h *Hasher) Hash(secret string) string {
	mac := hmac.New(sha256.New, h.key)
	mac.Write([]byte(secret))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// Equal reports in constant time whether secret hashes to hash.
func (h *Hasher) Equal(hash, secret string) bool {
	return subtle.ConstantTimeCompare([]byte(h.Hash(secret)), []byte(hash)) == 1
}
