package jws

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/averos/averos-auth/wellknown"
)

// keySource publishes exactly one key.
type keySource struct {
	key wellknown.ActiveKey
}

func (k keySource) ActiveKey(context.Context) (wellknown.ActiveKey, error) { return k.key, nil }

func (k keySource) PublicKey(_ context.Context, kid string) (string, crypto.PublicKey, error) {
	if kid != k.key.KID {
		return "", nil, wellknown.ErrUnknownKey
	}
	return k.key.Algorithm, k.key.Signer.Public(), nil
}

func newKey(t *testing.T, alg string) wellknown.ActiveKey {
	t.Helper()
	var signer crypto.Signer
	var err error
	switch alg {
	case RS256:
		signer, err = rsa.GenerateKey(rand.Reader, 2048)
	case ES256:
		signer, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, signer, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	return wellknown.ActiveKey{KID: "k-" + alg, Algorithm: alg, Signer: signer}
}

func TestSignVerifyEachAlgorithm(t *testing.T) {
	ctx := context.Background()
	for _, alg := range []string{RS256, ES256, EdDSA} {
		t.Run(alg, func(t *testing.T) {
			keys := keySource{key: newKey(t, alg)}
			token, err := NewSigner(keys).Sign(ctx, "at+jwt", map[string]string{"sub": "u1"})
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			header, payload, err := NewVerifier(keys).Verify(ctx, token)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if header.Algorithm != alg || header.KeyID != "k-"+alg || header.Type != "at+jwt" {
				t.Errorf("header = %+v", header)
			}
			var claims map[string]string
			if err := json.Unmarshal(payload, &claims); err != nil || claims["sub"] != "u1" {
				t.Errorf("payload %s, %v", payload, err)
			}

			// Flipping one signature character breaks the signature.
			last := token[len(token)-2]
			flipped := byte('A')
			if last == 'A' {
				flipped = 'B'
			}
			tampered := token[:len(token)-2] + string(flipped) + token[len(token)-1:]
			if _, _, err := NewVerifier(keys).Verify(ctx, tampered); !errors.Is(err, ErrInvalid) {
				t.Errorf("tampered token: %v, want ErrInvalid", err)
			}
		})
	}
}

func TestVerifyRejectsMalformedTokens(t *testing.T) {
	ctx := context.Background()
	keys := keySource{key: newKey(t, ES256)}
	good, err := NewSigner(keys).Sign(ctx, "JWT", map[string]int{"n": 1})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	for name, token := range map[string]string{
		"empty":           "",
		"two parts":       parts[0] + "." + parts[1],
		"four parts":      good + ".x",
		"bad header":      "!!." + parts[1] + "." + parts[2],
		"header not JSON": "bm90IGpzb24." + parts[1] + "." + parts[2],
		"empty signature": parts[0] + "." + parts[1] + ".",
		"bad payload":     parts[0] + ".!!." + parts[2],
	} {
		if _, _, err := NewVerifier(keys).Verify(ctx, token); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func TestSignRejectsMismatchedKey(t *testing.T) {
	key := newKey(t, EdDSA)
	key.Algorithm = RS256
	_, err := NewSigner(keySource{key: key}).Sign(context.Background(), "JWT", map[string]int{})
	if err == nil {
		t.Error("an Ed25519 key registered as RS256 signed a token")
	}
}
