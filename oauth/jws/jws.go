// Package jws signs and verifies the JSON Web Tokens this server issues
// (access tokens and ID tokens) with the keys of a wellknown.KeySource.
//
// Tokens use the JWS compact serialization with RS256, ES256 or EdDSA.
// Signing uses the active key and puts its kid in the header. Verification
// looks the kid up among the published keys and accepts only the algorithm
// that key is registered with, so "alg": "none", an HMAC algorithm keyed
// with a public key, or a kid that is not published are all rejected.
package jws

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/averos/averos-auth/wellknown"
)

// Supported JWS algorithms.
const (
	RS256 = "RS256"
	ES256 = "ES256"
	EdDSA = "EdDSA"
)

// ErrInvalid reports a token that is malformed, signed with an unknown or
// unpublished key, signed with another algorithm than its key's, or whose
// signature does not verify.
var ErrInvalid = errors.New("invalid token")

// Header is the JOSE header of a token.
type Header struct {
	Algorithm string `json:"alg"`
	KeyID     string `json:"kid,omitempty"`
	Type      string `json:"typ,omitempty"`
	// Critical lists extensions the recipient must understand; this
	// server understands none, so a token that sets it is rejected.
	Critical []string `json:"crit,omitempty"`
}

// Signer signs tokens with the active key of a KeySource.
type Signer struct {
	keys wellknown.KeySource
}

// NewSigner returns a Signer over keys.
func NewSigner(keys wellknown.KeySource) *Signer { return &Signer{keys: keys} }

// Sign serializes claims as JSON and signs them with the active key. The
// header carries typ and the key's kid and algorithm.
func (s *Signer) Sign(ctx context.Context, typ string, claims any) (string, error) {
	return s.SignFor(ctx, typ, func(string) any { return claims })
}

// SignFor signs the claims that build returns for the active key's
// algorithm, for claims that depend on it (the ID token's at_hash).
func (s *Signer) SignFor(ctx context.Context, typ string, build func(alg string) any) (string, error) {
	key, err := s.keys.ActiveKey(ctx)
	if err != nil {
		return "", fmt.Errorf("jws: read the active signing key: %w", err)
	}
	header, err := json.Marshal(Header{Algorithm: key.Algorithm, KeyID: key.KID, Type: typ})
	if err != nil {
		return "", fmt.Errorf("jws: encode header: %w", err)
	}
	payload, err := json.Marshal(build(key.Algorithm))
	if err != nil {
		return "", fmt.Errorf("jws: encode claims: %w", err)
	}

	enc := base64.RawURLEncoding
	var b strings.Builder
	b.Grow(enc.EncodedLen(len(header)) + enc.EncodedLen(len(payload)) + 400)
	b.WriteString(enc.EncodeToString(header))
	b.WriteByte('.')
	b.WriteString(enc.EncodeToString(payload))
	sig, err := sign(key, []byte(b.String()))
	if err != nil {
		return "", err
	}
	b.WriteByte('.')
	b.WriteString(enc.EncodeToString(sig))
	return b.String(), nil
}

func sign(key wellknown.ActiveKey, input []byte) ([]byte, error) {
	switch key.Algorithm {
	case RS256:
		if _, ok := key.Signer.Public().(*rsa.PublicKey); !ok {
			return nil, fmt.Errorf("jws: key %s is registered as RS256 but is a %T", key.KID, key.Signer)
		}
		digest := sha256.Sum256(input)
		sig, err := key.Signer.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("jws: sign with key %s: %w", key.KID, err)
		}
		return sig, nil
	case ES256:
		pub, ok := key.Signer.Public().(*ecdsa.PublicKey)
		if !ok || pub.Curve.Params().BitSize != 256 {
			return nil, fmt.Errorf("jws: key %s is registered as ES256 but is not a P-256 key", key.KID)
		}
		digest := sha256.Sum256(input)
		der, err := key.Signer.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("jws: sign with key %s: %w", key.KID, err)
		}
		return ecdsaRawSignature(der)
	case EdDSA:
		if _, ok := key.Signer.Public().(ed25519.PublicKey); !ok {
			return nil, fmt.Errorf("jws: key %s is registered as EdDSA but is a %T", key.KID, key.Signer)
		}
		sig, err := key.Signer.Sign(rand.Reader, input, crypto.Hash(0))
		if err != nil {
			return nil, fmt.Errorf("jws: sign with key %s: %w", key.KID, err)
		}
		return sig, nil
	default:
		return nil, fmt.Errorf("jws: key %s has unsupported algorithm %q", key.KID, key.Algorithm)
	}
}

// ecdsaRawSignature converts an ASN.1 ECDSA signature, as crypto.Signer
// returns it, to the fixed-width r||s form that JWS uses (RFC 7518 §3.4).
func ecdsaRawSignature(der []byte) ([]byte, error) {
	r, s, ok := parseECDSADER(der)
	if !ok {
		return nil, errors.New("jws: the signer returned a malformed ECDSA signature")
	}
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return out, nil
}

// parseECDSADER reads SEQUENCE { INTEGER r, INTEGER s } with short lengths,
// which is all a P-256 signature needs.
func parseECDSADER(der []byte) (r, s *big.Int, ok bool) {
	if len(der) < 8 || der[0] != 0x30 || int(der[1]) != len(der)-2 {
		return nil, nil, false
	}
	rest := der[2:]
	readInt := func() *big.Int {
		if len(rest) < 2 || rest[0] != 0x02 || int(rest[1]) > len(rest)-2 || rest[1] == 0 || rest[1] > 33 {
			return nil
		}
		n := int(rest[1])
		v := new(big.Int).SetBytes(rest[2 : 2+n])
		rest = rest[2+n:]
		return v
	}
	r = readInt()
	s = readInt()
	if r == nil || s == nil || len(rest) != 0 {
		return nil, nil, false
	}
	return r, s, true
}

// Verifier checks token signatures against the published keys of a KeySource.
type Verifier struct {
	keys wellknown.KeySource
}

// NewVerifier returns a Verifier over keys.
func NewVerifier(keys wellknown.KeySource) *Verifier { return &Verifier{keys: keys} }

// Verify checks the signature of a compact JWS and returns its header and
// payload. A malformed token, an unknown kid, an algorithm other than the
// key's, or a bad signature give an error wrapping ErrInvalid; a failure to
// read the keys is returned as is.
func (v *Verifier) Verify(ctx context.Context, raw string) (Header, []byte, error) {
	var h Header
	first := strings.IndexByte(raw, '.')
	last := strings.LastIndexByte(raw, '.')
	if first <= 0 || last == first || last == len(raw)-1 || strings.Count(raw, ".") != 2 {
		return h, nil, fmt.Errorf("%w: not a compact JWS", ErrInvalid)
	}
	enc := base64.RawURLEncoding
	headerJSON, err := enc.DecodeString(raw[:first])
	if err != nil {
		return h, nil, fmt.Errorf("%w: header is not base64url", ErrInvalid)
	}
	if err := json.Unmarshal(headerJSON, &h); err != nil {
		return h, nil, fmt.Errorf("%w: header is not a JSON object", ErrInvalid)
	}
	if h.KeyID == "" {
		return h, nil, fmt.Errorf("%w: header has no kid", ErrInvalid)
	}
	if len(h.Critical) > 0 {
		return h, nil, fmt.Errorf("%w: critical header parameters are not supported", ErrInvalid)
	}

	alg, key, err := v.keys.PublicKey(ctx, h.KeyID)
	if errors.Is(err, wellknown.ErrUnknownKey) {
		return h, nil, fmt.Errorf("%w: unknown kid", ErrInvalid)
	}
	if err != nil {
		return h, nil, fmt.Errorf("jws: read public key: %w", err)
	}
	if h.Algorithm != alg {
		return h, nil, fmt.Errorf("%w: algorithm %q does not match the key's %q", ErrInvalid, h.Algorithm, alg)
	}
	sig, err := enc.DecodeString(raw[last+1:])
	if err != nil {
		return h, nil, fmt.Errorf("%w: signature is not base64url", ErrInvalid)
	}
	if !verifySignature(alg, key, []byte(raw[:last]), sig) {
		return h, nil, fmt.Errorf("%w: bad signature", ErrInvalid)
	}
	payload, err := enc.DecodeString(raw[first+1 : last])
	if err != nil {
		return h, nil, fmt.Errorf("%w: payload is not base64url", ErrInvalid)
	}
	return h, payload, nil
}

func verifySignature(alg string, key crypto.PublicKey, input, sig []byte) bool {
	switch alg {
	case RS256:
		pub, ok := key.(*rsa.PublicKey)
		if !ok {
			return false
		}
		digest := sha256.Sum256(input)
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) == nil
	case ES256:
		pub, ok := key.(*ecdsa.PublicKey)
		if !ok || len(sig) != 64 || pub.Curve.Params().BitSize != 256 {
			return false
		}
		digest := sha256.Sum256(input)
		r := new(big.Int).SetBytes(sig[:32])
		s := new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(pub, digest[:], r, s)
	case EdDSA:
		pub, ok := key.(ed25519.PublicKey)
		if !ok || len(pub) != ed25519.PublicKeySize {
			return false
		}
		return ed25519.Verify(pub, input, sig)
	default:
		return false
	}
}

// TokenHash returns the left half of the hash of token that the ID token
// claim at_hash carries (OpenID Connect Core §3.1.3.6): SHA-256 for RS256
// and ES256, SHA-512 for EdDSA (as go-oidc v3 checks it).
func TokenHash(alg, token string) string {
	var sum []byte
	switch alg {
	case EdDSA:
		s := sha512.Sum512([]byte(token))
		sum = s[:32]
	default:
		s := sha256.Sum256([]byte(token))
		sum = s[:16]
	}
	return base64.RawURLEncoding.EncodeToString(sum)
}
