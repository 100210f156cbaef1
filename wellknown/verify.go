package wellknown

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Errors returned by Verifier.Verify. Every rejection wraps ErrInvalidToken;
// an expired token also wraps ErrTokenExpired, and an unknown kid also
// wraps ErrUnknownKey.
var (
	ErrInvalidToken = errors.New("invalid token")
	ErrTokenExpired = errors.New("token expired")
)

// Verifier checks JWTs signed with the keys of a KeySource.
type Verifier struct {
	keys   KeySource
	issuer string
	// Leeway is the clock skew tolerated on exp and nbf; zero by default.
	Leeway time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// NewVerifier returns a Verifier that accepts tokens signed with a published
// key of keys and issued by issuer, compared byte for byte.
func NewVerifier(keys KeySource, issuer string) *Verifier {
	return &Verifier{keys: keys, issuer: issuer}
}

// verifiedClaims are the claims Verify checks.
type verifiedClaims struct {
	Issuer    *string          `json:"iss"`
	Expiry    *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf"`
}

// Verify checks the compact JWS raw and returns its payload and protected
// header. These checks run in order:
//
//   - alg is RS256, ES256 or EdDSA, so "none" and every HMAC algorithm fail;
//   - kid names a published key, and alg equals that key's algorithm;
//   - typ equals wantTyp, ignoring case and an "application/" prefix
//     (RFC 8725 §3.11);
//   - the signature is valid;
//   - iss equals the issuer, exp has not passed and nbf, when present, has.
//
// A failure of the key source other than ErrUnknownKey is returned as it
// is, because it is no fault of the token.
func (v *Verifier) Verify(ctx context.Context, raw, wantTyp string) ([]byte, jose.Header, error) {
	if wantTyp == "" {
		return nil, jose.Header{}, errors.New("wellknown: Verify needs the expected typ")
	}
	jws, err := jose.ParseSignedCompact(raw, signingAlgorithms)
	if err != nil {
		return nil, jose.Header{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, jose.Header{}, fmt.Errorf("%w: want one signature, got %d", ErrInvalidToken, len(jws.Signatures))
	}
	header := jws.Signatures[0].Protected

	if header.KeyID == "" {
		return nil, header, fmt.Errorf("%w: the header has no kid", ErrInvalidToken)
	}
	alg, public, err := v.keys.PublicKey(ctx, header.KeyID)
	if errors.Is(err, ErrUnknownKey) {
		return nil, header, fmt.Errorf("%w: %w %q", ErrInvalidToken, ErrUnknownKey, header.KeyID)
	}
	if err != nil {
		return nil, header, fmt.Errorf("wellknown: look up key %q: %w", header.KeyID, err)
	}
	if header.Algorithm != alg {
		return nil, header, fmt.Errorf("%w: alg %s does not match key %s, which uses %s",
			ErrInvalidToken, header.Algorithm, header.KeyID, alg)
	}
	typ, _ := header.ExtraHeaders[jose.HeaderType].(string)
	if normalizeTyp(typ) != normalizeTyp(wantTyp) {
		return nil, header, fmt.Errorf("%w: typ %q, want %q", ErrInvalidToken, typ, wantTyp)
	}

	payload, err := jws.Verify(public)
	if err != nil {
		return nil, header, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if err := v.checkClaims(payload); err != nil {
		return nil, header, err
	}
	return payload, header, nil
}

func (v *Verifier) checkClaims(payload []byte) error {
	var c verifiedClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return fmt.Errorf("%w: parse claims: %w", ErrInvalidToken, err)
	}
	if c.Issuer == nil || *c.Issuer != v.issuer {
		return fmt.Errorf("%w: iss does not match the issuer %q", ErrInvalidToken, v.issuer)
	}
	if c.Expiry == nil {
		return fmt.Errorf("%w: the exp claim is missing", ErrInvalidToken)
	}

	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	t := now()
	if exp := c.Expiry.Time(); !t.Before(exp.Add(v.Leeway)) {
		return fmt.Errorf("%w: %w at %s", ErrInvalidToken, ErrTokenExpired, exp.UTC().Format(time.RFC3339))
	}
	if c.NotBefore != nil {
		if nbf := c.NotBefore.Time(); t.Add(v.Leeway).Before(nbf) {
			return fmt.Errorf("%w: not valid before %s", ErrInvalidToken, nbf.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// normalizeTyp lowers typ and removes an "application/" prefix, so
// "at+jwt" and "application/at+JWT" compare equal.
func normalizeTyp(typ string) string {
	typ = strings.ToLower(typ)
	return strings.TrimPrefix(typ, "application/")
}
