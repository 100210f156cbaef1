package wellknown

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/averos/averos-auth/internal/secrets"
	"github.com/averos/averos-auth/storage"
)

// JWS algorithms a signing key may use.
const (
	AlgorithmRS256 = "RS256"
	AlgorithmES256 = "ES256"
	AlgorithmEdDSA = "EdDSA"
)

// MinRSABits is the smallest RSA modulus accepted for RS256 keys.
const MinRSABits = 2048

// ErrSystemSecretMismatch reports a signing key that does not decrypt under
// the configured system secret.
var ErrSystemSecretMismatch = errors.New(
	"the system secret differs from the one the key was encrypted with")

// sealVersion is the first byte of PrivateSealed: AES-256-GCM, a 12-byte
// nonce, then the ciphertext with its tag.
const sealVersion byte = 1

// signingAlgorithms lists the algorithms the verifier accepts at all; the
// key named by kid then pins the one algorithm it is used with.
var signingAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA}

// key is a stored signing key with its parsed key material.
type key struct {
	stored storage.SigningKey
	signer crypto.Signer
	public crypto.PublicKey
	// jwk is the public JWK as published: kid, kty, alg, use and the public
	// parameters only.
	jwk jose.JSONWebKey
}

// checkAlgorithm returns an error unless alg names a supported algorithm.
func checkAlgorithm(alg string) error {
	switch alg {
	case AlgorithmRS256, AlgorithmES256, AlgorithmEdDSA:
		return nil
	}
	return fmt.Errorf("unsupported signing algorithm %q: use RS256, ES256 or EdDSA", alg)
}

// generateSigner creates a private key for alg: RSA with rsaBits bits for
// RS256, P-256 for ES256, Ed25519 for EdDSA.
func generateSigner(alg string, rsaBits int) (crypto.Signer, error) {
	switch alg {
	case AlgorithmRS256:
		if rsaBits < MinRSABits {
			return nil, fmt.Errorf("RSA key size %d is below the minimum of %d bits", rsaBits, MinRSABits)
		}
		return rsa.GenerateKey(rand.Reader, rsaBits)
	case AlgorithmES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case AlgorithmEdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	}
	return nil, checkAlgorithm(alg)
}

// newStoredKey builds the stored form of signer: the kid is the RFC 7638
// thumbprint (SHA-256, base64url) of the public key, and the private JWK is
// sealed under sealKey with the kid as additional data.
func newStoredKey(signer crypto.Signer, alg string, sealKey []byte, createdAt, activatesAt time.Time) (storage.SigningKey, error) {
	public := jose.JSONWebKey{Key: signer.Public(), Algorithm: alg, Use: "sig"}
	thumbprint, err := public.Thumbprint(crypto.SHA256)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("compute key thumbprint: %w", err)
	}
	kid := base64.RawURLEncoding.EncodeToString(thumbprint)
	public.KeyID = kid

	publicJSON, err := public.MarshalJSON()
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("encode public key %s: %w", kid, err)
	}
	private := jose.JSONWebKey{Key: signer, KeyID: kid, Algorithm: alg, Use: "sig"}
	privateJSON, err := private.MarshalJSON()
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("encode private key %s: %w", kid, err)
	}
	sealed, err := seal(sealKey, kid, privateJSON)
	clear(privateJSON)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("encrypt private key %s: %w", kid, err)
	}

	return storage.SigningKey{
		ID:            kid,
		Algorithm:     alg,
		PublicJWK:     publicJSON,
		PrivateSealed: sealed,
		ActivatesAt:   activatesAt.UTC().Truncate(time.Millisecond),
		CreatedAt:     createdAt.UTC().Truncate(time.Millisecond),
	}, nil
}

// openStoredKey decrypts and parses a stored key. It checks that the private
// key has the stored algorithm's type and matches the stored public JWK.
func openStoredKey(sk storage.SigningKey, sealKey []byte) (*key, error) {
	if err := checkAlgorithm(sk.Algorithm); err != nil {
		return nil, fmt.Errorf("signing key %s: %w", sk.ID, err)
	}
	privateJSON, err := unseal(sealKey, sk.ID, sk.PrivateSealed)
	if err != nil {
		return nil, fmt.Errorf("cannot decrypt signing key %s: %w", sk.ID, err)
	}
	var private jose.JSONWebKey
	err = private.UnmarshalJSON(privateJSON)
	clear(privateJSON)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: parse private JWK: %w", sk.ID, err)
	}
	signer, err := signerFor(sk.Algorithm, private.Key)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", sk.ID, err)
	}

	var stored jose.JSONWebKey
	if err := stored.UnmarshalJSON(sk.PublicJWK); err != nil {
		return nil, fmt.Errorf("signing key %s: parse public JWK: %w", sk.ID, err)
	}
	public := signer.Public()
	equal, ok := public.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !equal.Equal(stored.Key) {
		return nil, fmt.Errorf("signing key %s: the stored public key does not match the private key", sk.ID)
	}

	return &key{
		stored: sk,
		signer: signer,
		public: public,
		jwk:    jose.JSONWebKey{Key: public, KeyID: sk.ID, Algorithm: sk.Algorithm, Use: "sig"},
	}, nil
}

// CheckSystemSecret checks secret against the store before anything that
// depends on it is written: it must decrypt a stored signing key, and it must
// match the secret check value that the first checked secret stored. A store
// without that value gets the value of secret, so from then on a process with
// another secret is refused even while the store has no signing keys. A
// mismatch is an error that wraps ErrSystemSecretMismatch.
func CheckSystemSecret(ctx context.Context, store *storage.Store, secret string) error {
	sealKey, err := secrets.DeriveKey(secret, secrets.PurposeKeyEncryption)
	if err != nil {
		return fmt.Errorf("wellknown: %w", err)
	}
	stored, err := store.Keys.List(ctx)
	if err != nil {
		return fmt.Errorf("wellknown: load signing keys: %w", err)
	}
	if len(stored) > 0 {
		if _, err := openStoredKey(stored[0], sealKey); err != nil {
			return err
		}
	}

	want, err := secretCheckValue(secret)
	if err != nil {
		return err
	}
	got, err := store.EnsureSecretCheck(ctx, want)
	if err != nil {
		return fmt.Errorf("wellknown: check the system secret: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return fmt.Errorf("the store was set up with another system secret: %w", ErrSystemSecretMismatch)
	}
	return nil
}

// secretCheckLabel is the message that the secret check value authenticates.
const secretCheckLabel = "averos-auth store"

// secretCheckValue derives the value that identifies secret in the store: an
// HMAC under a key derived for this purpose only, so it reveals nothing that
// the other derived keys protect.
func secretCheckValue(secret string) (string, error) {
	key, err := secrets.DeriveKey(secret, secrets.PurposeSecretCheck)
	if err != nil {
		return "", fmt.Errorf("wellknown: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(secretCheckLabel))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), nil
}

// signerFor returns k as a crypto.Signer after checking that its type fits alg.
func signerFor(alg string, k any) (crypto.Signer, error) {
	switch alg {
	case AlgorithmRS256:
		if priv, ok := k.(*rsa.PrivateKey); ok {
			if priv.N.BitLen() < MinRSABits {
				return nil, fmt.Errorf("RSA key has %d bits, below the minimum of %d", priv.N.BitLen(), MinRSABits)
			}
			if err := priv.Validate(); err != nil {
				return nil, fmt.Errorf("invalid RSA key: %w", err)
			}
			priv.Precompute()
			return priv, nil
		}
	case AlgorithmES256:
		if priv, ok := k.(*ecdsa.PrivateKey); ok && priv.Curve == elliptic.P256() {
			return priv, nil
		}
	case AlgorithmEdDSA:
		if priv, ok := k.(ed25519.PrivateKey); ok {
			return priv, nil
		}
	}
	return nil, fmt.Errorf("the private key (%T) does not fit algorithm %s", k, alg)
}

// seal encrypts plaintext with AES-256-GCM under key, binding kid as
// additional data so a sealed key cannot be moved to another kid.
func seal(key []byte, kid string, plaintext []byte) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("read random nonce: %w", err)
	}
	return aead.Seal(out, out[1:], plaintext, []byte(kid)), nil
}

// unseal reverses seal. A failed authentication is ErrSystemSecretMismatch,
// because a wrong key is its usual cause.
func unseal(key []byte, kid string, sealed []byte) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < 1+aead.NonceSize()+aead.Overhead() || sealed[0] != sealVersion {
		return nil, errors.New("the encrypted private key has an unknown format")
	}
	nonce := sealed[1 : 1+aead.NonceSize()]
	plaintext, err := aead.Open(nil, nonce, sealed[1+aead.NonceSize():], []byte(kid))
	if err != nil {
		return nil, ErrSystemSecretMismatch
	}
	return plaintext, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("create AES cipher: %w", err)
	}
	return cipher.NewGCM(block)
}
