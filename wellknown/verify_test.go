package wellknown

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

const testIssuer = "https://login.example.com"

// unsignedToken builds a compact JWS with the given header and an empty
// signature, as an attacker would for "alg": "none".
func unsignedToken(t *testing.T, header, claims map[string]any) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatalf("encode header: %v", err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatalf("encode claims: %v", err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(h) + "." + enc.EncodeToString(c) + "."
}

func TestVerifierRejections(t *testing.T) {
	e := newTestEnv(t)
	m := e.manager(e.options(AlgorithmRS256))
	k := activeKey(t, m)
	now := e.clock.Now()
	valid := map[string]any{"iss": testIssuer, "sub": "alice", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	with := func(key string, value any) map[string]any {
		c := map[string]any{}
		for k, v := range valid {
			c[k] = v
		}
		if value == nil {
			delete(c, key)
		} else {
			c[key] = value
		}
		return c
	}

	// The RSA public key in the two encodings an HMAC confusion attack
	// would use as the secret.
	der, err := x509.MarshalPKIXPublicKey(k.Signer.Public())
	if err != nil {
		t.Fatalf("encode public key: %v", err)
	}
	publicPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})

	strangerRSA, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("generate RSA key: %v", err)
	}
	strangerEC, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate EC key: %v", err)
	}

	tests := []struct {
		name        string
		token       string
		wantExpired bool
		wantUnknown bool
	}{
		{name: "alg none", token: unsignedToken(t,
			map[string]any{"alg": "none", "kid": k.KID, "typ": "at+jwt"}, valid)},
		{name: "HS256 keyed with the public key PEM",
			token: signToken(t, jose.HS256, publicPEM, k.KID, "at+jwt", valid)},
		{name: "HS256 keyed with the public key DER",
			token: signToken(t, jose.HS256, der, k.KID, "at+jwt", valid)},
		{name: "algorithm differs from the key's",
			token: signToken(t, jose.ES256, strangerEC, k.KID, "at+jwt", valid)},
		{name: "unknown kid", wantUnknown: true,
			token: signToken(t, jose.RS256, strangerRSA, "not-a-published-kid", "at+jwt", valid)},
		{name: "missing kid", token: signToken(t, jose.RS256, k.Signer, "", "at+jwt", valid)},
		{name: "bad signature", token: signToken(t, jose.RS256, strangerRSA, k.KID, "at+jwt", valid)},
		{name: "wrong typ", token: signToken(t, jose.RS256, k.Signer, k.KID, "JWT", valid)},
		{name: "missing typ", token: signToken(t, jose.RS256, k.Signer, k.KID, "", valid)},
		{name: "wrong iss", token: signToken(t, jose.RS256, k.Signer, k.KID, "at+jwt",
			with("iss", testIssuer+"/"))},
		{name: "missing iss", token: signToken(t, jose.RS256, k.Signer, k.KID, "at+jwt", with("iss", nil))},
		{name: "missing exp", token: signToken(t, jose.RS256, k.Signer, k.KID, "at+jwt", with("exp", nil))},
		{name: "expired at now", wantExpired: true,
			token: signToken(t, jose.RS256, k.Signer, k.KID, "at+jwt", with("exp", now.Unix()))},
		{name: "expired a second ago", wantExpired: true,
			token: signToken(t, jose.RS256, k.Signer, k.KID, "at+jwt", with("exp", now.Unix()-1))},
		{name: "not yet valid", token: signToken(t, jose.RS256, k.Signer, k.KID, "at+jwt",
			with("nbf", now.Unix()+1))},
	}

	v := NewVerifier(m, testIssuer)
	v.Now = e.clock.Now
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload, _, err := v.Verify(context.Background(), tt.token, "at+jwt")
			if err == nil {
				t.Fatalf("Verify accepted the token; payload %s", payload)
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Errorf("error %v does not wrap ErrInvalidToken", err)
			}
			if got := errors.Is(err, ErrTokenExpired); got != tt.wantExpired {
				t.Errorf("errors.Is(err, ErrTokenExpired) = %v, want %v (error: %v)", got, tt.wantExpired, err)
			}
			if got := errors.Is(err, ErrUnknownKey); got != tt.wantUnknown {
				t.Errorf("errors.Is(err, ErrUnknownKey) = %v, want %v (error: %v)", got, tt.wantUnknown, err)
			}
		})
	}
}

func TestVerifierAccepts(t *testing.T) {
	e := newTestEnv(t)
	m := e.manager(e.options(AlgorithmES256))
	k := activeKey(t, m)
	now := e.clock.Now()
	v := NewVerifier(m, testIssuer)
	v.Now = e.clock.Now

	tests := []struct {
		name    string
		typ     string
		claims  map[string]any
		leeway  time.Duration
		wantTyp string
	}{
		{name: "valid for one more second", typ: "at+jwt", wantTyp: "at+jwt",
			claims: map[string]any{"iss": testIssuer, "exp": now.Unix() + 1}},
		{name: "media type form of typ", typ: "application/AT+JWT", wantTyp: "at+jwt",
			claims: map[string]any{"iss": testIssuer, "exp": now.Unix() + 60}},
		{name: "expired within the leeway", typ: "JWT", wantTyp: "JWT", leeway: 5 * time.Second,
			claims: map[string]any{"iss": testIssuer, "exp": now.Unix() - 4}},
		{name: "nbf reached", typ: "at+jwt", wantTyp: "at+jwt",
			claims: map[string]any{"iss": testIssuer, "exp": now.Unix() + 60, "nbf": now.Unix()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v.Leeway = tt.leeway
			token := signToken(t, jose.ES256, k.Signer, k.KID, tt.typ, tt.claims)
			payload, header, err := v.Verify(context.Background(), token, tt.wantTyp)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if header.KeyID != k.KID {
				t.Errorf("header kid = %s, want %s", header.KeyID, k.KID)
			}
			if !bytes.Contains(payload, []byte(testIssuer)) {
				t.Errorf("payload %s lacks the issuer", payload)
			}
		})
	}
}

func TestVerifierNeedsExpectedTyp(t *testing.T) {
	e := newTestEnv(t)
	m := e.manager(e.options(AlgorithmEdDSA))
	k := activeKey(t, m)
	token := signToken(t, jose.EdDSA, k.Signer, k.KID, "", map[string]any{
		"iss": testIssuer, "exp": e.clock.Now().Add(time.Minute).Unix()})
	_, _, err := NewVerifier(m, testIssuer).Verify(context.Background(), token, "")
	if err == nil || !strings.Contains(err.Error(), "expected typ") {
		t.Errorf("Verify with an empty wantTyp: %v, want an error naming the expected typ", err)
	}
}
