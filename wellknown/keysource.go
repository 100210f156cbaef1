package wellknown

import (
	"context"
	"crypto"
	"errors"
)

// ErrUnknownKey reports a kid that is not in the published key set.
var ErrUnknownKey = errors.New("unknown signing key")

// ActiveKey is the key that signs new tokens.
type ActiveKey struct {
	KID string
	// Algorithm is the JWS algorithm: "RS256", "ES256" or "EdDSA".
	Algorithm string
	// Signer is the private key: *rsa.PrivateKey, *ecdsa.PrivateKey or
	// ed25519.PrivateKey.
	Signer crypto.Signer
}

// KeySource gives the token issuers the key to sign with and the token
// verifiers every published public key.
type KeySource interface {
	// ActiveKey returns the key that signs tokens now.
	ActiveKey(ctx context.Context) (ActiveKey, error)
	// PublicKey returns the algorithm and public key for kid while the key
	// is published in the JWKS, or ErrUnknownKey.
	PublicKey(ctx context.Context, kid string) (algorithm string, key crypto.PublicKey, err error)
}
