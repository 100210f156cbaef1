package oauth

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ory/fosite"

	"github.com/averos/averos-auth/oauth/jws"
	"github.com/averos/averos-auth/storage"
)

// accessTokenType is the typ header of access tokens (RFC 9068 §2.1).
const accessTokenType = "at+jwt"

// accessTokenClaims is the payload of an access token (RFC 9068 §2.2). For a
// user grant it also names the grant family (sid) and the login (auth_time),
// which introspection and revocation check.
type accessTokenClaims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  []string `json:"aud"`
	ClientID  string   `json:"client_id"`
	Scope     string   `json:"scope,omitempty"`
	IssuedAt  int64    `json:"iat"`
	ExpiresAt int64    `json:"exp"`
	JTI       string   `json:"jti"`
	Roles     []string `json:"roles,omitempty"`
	GrantID   string   `json:"sid,omitempty"`
	AuthTime  int64    `json:"auth_time,omitempty"`
}

// AccessToken is a verified access token that is still live.
type AccessToken struct {
	Subject, ClientID, JTI  string
	Scopes, Roles, Audience []string
	IssuedAt, ExpiresAt     time.Time
}

// issueAccessToken signs the access token of a token response.
func (p *Provider) issueAccessToken(ctx context.Context, r fosite.AccessRequester, sess *session,
	now time.Time) (string, error) {
	claims := accessTokenClaims{
		Issuer:    p.cfg.Issuer,
		Subject:   sess.subject,
		Audience:  r.GetGrantedAudience(),
		ClientID:  r.GetClient().GetID(),
		Scope:     strings.Join(r.GetGrantedScopes(), " "),
		IssuedAt:  now.Unix(),
		ExpiresAt: sess.GetExpiresAt(fosite.AccessToken).Unix(),
		JTI:       newRandomID(),
	}
	if sess.grant != nil {
		claims.Roles = sess.user.Roles
		claims.GrantID = sess.grant.ID
		claims.AuthTime = sess.grant.AuthTime.Unix()
	}
	token, err := p.signer.Sign(ctx, accessTokenType, claims)
	if err != nil {
		return "", fmt.Errorf("oauth: sign access token: %w", err)
	}
	return token, nil
}

// parseAccessToken verifies the signature (with the algorithm pinned to the
// key's), the typ header, the issuer and the expiry of raw. It returns an
// error wrapping ErrInvalidToken for a token that fails any of these.
func (p *Provider) parseAccessToken(ctx context.Context, raw string, now time.Time) (*accessTokenClaims, error) {
	header, payload, err := p.verifier.Verify(ctx, raw)
	if errors.Is(err, jws.ErrInvalid) {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if err != nil {
		return nil, err
	}
	if !isAccessTokenType(header.Type) {
		return nil, fmt.Errorf("%w: typ %q is not %s", ErrInvalidToken, header.Type, accessTokenType)
	}
	var claims accessTokenClaims
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&claims); err != nil {
		return nil, fmt.Errorf("%w: malformed claims", ErrInvalidToken)
	}
	switch {
	case claims.Issuer != p.cfg.Issuer:
		return nil, fmt.Errorf("%w: issuer %q", ErrInvalidToken, claims.Issuer)
	case claims.Subject == "" || claims.ClientID == "" || claims.JTI == "":
		return nil, fmt.Errorf("%w: missing sub, client_id or jti", ErrInvalidToken)
	case now.Unix() >= claims.ExpiresAt:
		return nil, fmt.Errorf("%w: expired", ErrInvalidToken)
	}
	return &claims, nil
}

// isAccessTokenType accepts "at+jwt" and its full media type, case-insensitive
// (RFC 9068 §4).
func isAccessTokenType(typ string) bool {
	return strings.EqualFold(typ, accessTokenType) || strings.EqualFold(typ, "application/"+accessTokenType)
}

// liveAccessToken is a verified access token with the user the live check read.
type liveAccessToken struct {
	claims *accessTokenClaims
	user   *storage.User // nil for client credentials
}

// checkAccessTokenLive checks the state behind a verified access token: it was
// not revoked by itself, its client exists, and for a user grant its family
// exists and its user may still use it. A revoked token gives an error
// wrapping ErrSessionRevoked.
func (p *Provider) checkAccessTokenLive(ctx context.Context, claims *accessTokenClaims,
	now time.Time) (*liveAccessToken, error) {
	// The reads are independent, so they run together: one round trip of
	// latency instead of three.
	var (
		revoked    bool
		revokedErr error
		grant      *grantDoc
		grantErr   error
		user       *storage.User
		userErr    error
		wg         sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		revoked, revokedErr = p.tokens.isAccessTokenRevoked(ctx, claims.JTI)
	}()
	if claims.GrantID != "" {
		wg.Add(2)
		go func() {
			defer wg.Done()
			grant, grantErr = p.tokens.getGrant(ctx, claims.GrantID)
		}()
		go func() {
			defer wg.Done()
			user, userErr = p.store.Users.Get(ctx, claims.Subject)
		}()
	}
	c, err := p.clients.get(ctx, claims.ClientID)
	wg.Wait()

	switch {
	case revokedErr != nil:
		return nil, revokedErr
	case revoked:
		return nil, fmt.Errorf("%w: access token revoked", ErrSessionRevoked)
	case errors.Is(err, storage.ErrNotFound):
		return nil, fmt.Errorf("%w: client deleted", ErrSessionRevoked)
	case err != nil:
		return nil, err
	}

	if claims.GrantID == "" {
		// A client credentials token: the client revokes it by moving its
		// TokensValidAfter. iat has whole seconds, so a token issued in the
		// same second as the revocation counts as revoked.
		if claims.IssuedAt <= c.TokensValidAfter.Unix() {
			return nil, fmt.Errorf("%w: client tokens revoked", ErrSessionRevoked)
		}
		return &liveAccessToken{claims: claims}, nil
	}

	switch {
	case errors.Is(grantErr, storage.ErrNotFound):
		return nil, fmt.Errorf("%w: grant family revoked", ErrSessionRevoked)
	case grantErr != nil:
		return nil, grantErr
	case errors.Is(userErr, storage.ErrNotFound):
		return nil, fmt.Errorf("%w: user deleted", ErrSessionRevoked)
	case userErr != nil:
		return nil, userErr
	case grant.Subject != claims.Subject || grant.ClientID != claims.ClientID:
		return nil, fmt.Errorf("%w: token does not match its grant", ErrInvalidToken)
	}
	if reason := grantBlocked(user, c, grant.AuthTime, now); reason != "" {
		return nil, fmt.Errorf("%w: %s", ErrSessionRevoked, reason)
	}
	return &liveAccessToken{claims: claims, user: user}, nil
}

// ValidateAccessToken verifies a bearer access token (signature with the
// algorithm pinned, iss, typ, exp) and its live state. A malformed, badly
// signed, expired or unknown token gives an error wrapping ErrInvalidToken.
// A token that was valid but whose family, user or client was revoked, or
// whose user is disabled, locked or deleted, gives one wrapping
// ErrSessionRevoked. Any other error is a storage failure.
func (p *Provider) ValidateAccessToken(ctx context.Context, raw string) (*AccessToken, error) {
	now := p.now()
	claims, err := p.parseAccessToken(ctx, raw, now)
	if err != nil {
		return nil, err
	}
	live, err := p.checkAccessTokenLive(ctx, claims, now)
	if err != nil {
		return nil, err
	}
	return live.accessToken(), nil
}

func (l *liveAccessToken) accessToken() *AccessToken {
	c := l.claims
	return &AccessToken{
		Subject:   c.Subject,
		ClientID:  c.ClientID,
		JTI:       c.JTI,
		Scopes:    strings.Fields(c.Scope),
		Roles:     c.Roles,
		Audience:  c.Audience,
		IssuedAt:  time.Unix(c.IssuedAt, 0),
		ExpiresAt: time.Unix(c.ExpiresAt, 0),
	}
}

// newRandomID returns 128 random bits in unpadded base64url.
func newRandomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newGrantID returns the id of a new grant family.
func newGrantID() string { return newRandomID() }
