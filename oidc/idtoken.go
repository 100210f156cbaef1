package oidc

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ory/fosite"

	"github.com/averos/averos-auth/oauth/jws"
	"github.com/averos/averos-auth/storage"
)

// Grant is what the ID token handler reads from the session of a token
// request: who the user is, when they logged in, and their current record.
type Grant struct {
	// Subject is the stable user id.
	Subject string
	// AuthTime is the original login; refreshes keep it.
	AuthTime time.Time
	// User is the user as read by this token request.
	User *storage.User
}

// GrantSession is a fosite session that carries a user grant. Sessions of
// grants without a user (client credentials) report false.
type GrantSession interface {
	OIDCGrant() (Grant, bool)
}

// IDTokenLifetimer is a fosite client with its own ID token lifetime; zero
// means the server default.
type IDTokenLifetimer interface {
	IDTokenLifetime() time.Duration
}

// TokenHandlerConfig configures a TokenHandler.
type TokenHandlerConfig struct {
	Issuer string
	// Lifetime is the default ID token lifetime.
	Lifetime time.Duration
	Signer   *jws.Signer
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// TokenHandler is a fosite TokenEndpointHandler that adds an ID token to the
// responses of the password and refresh token grants when the openid scope
// is granted. It must run after the grant's handler, which sets the access
// token and the session.
type TokenHandler struct {
	cfg TokenHandlerConfig
}

var _ fosite.TokenEndpointHandler = (*TokenHandler)(nil)

// NewTokenHandler returns a TokenHandler.
func NewTokenHandler(cfg TokenHandlerConfig) *TokenHandler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &TokenHandler{cfg: cfg}
}

// CanHandleTokenEndpointRequest reports whether the request is a password or
// refresh token grant.
func (h *TokenHandler) CanHandleTokenEndpointRequest(_ context.Context, r fosite.AccessRequester) bool {
	return r.GetGrantTypes().ExactOne("password") || r.GetGrantTypes().ExactOne("refresh_token")
}

// CanSkipClientAuth returns false: the grant handlers decide on client
// authentication, and this handler never relaxes it.
func (h *TokenHandler) CanSkipClientAuth(context.Context, fosite.AccessRequester) bool {
	return false
}

// HandleTokenEndpointRequest does nothing: the grant handler validates the
// request, and the ID token depends only on what it granted.
func (h *TokenHandler) HandleTokenEndpointRequest(context.Context, fosite.AccessRequester) error {
	return fosite.ErrUnknownRequest
}

// PopulateTokenEndpointResponse signs an ID token and sets it as the id_token
// response parameter when openid was granted.
func (h *TokenHandler) PopulateTokenEndpointResponse(ctx context.Context, r fosite.AccessRequester,
	resp fosite.AccessResponder) error {
	if !h.CanHandleTokenEndpointRequest(ctx, r) || !slices.Contains(r.GetGrantedScopes(), ScopeOpenID) {
		return fosite.ErrUnknownRequest
	}
	sess, ok := r.GetSession().(GrantSession)
	if !ok {
		return fosite.ErrUnknownRequest
	}
	grant, ok := sess.OIDCGrant()
	if !ok {
		return fosite.ErrUnknownRequest
	}

	lifetime := h.cfg.Lifetime
	if c, ok := r.GetClient().(IDTokenLifetimer); ok && c.IDTokenLifetime() > 0 {
		lifetime = c.IDTokenLifetime()
	}
	token, err := h.sign(ctx, r.GetClient().GetID(), grant, r.GetGrantedScopes(),
		resp.GetAccessToken(), lifetime)
	if err != nil {
		return err
	}
	resp.SetExtra("id_token", token)
	return nil
}

// sign builds the ID token claims (OpenID Connect Core §2) and signs them.
func (h *TokenHandler) sign(ctx context.Context, clientID string, grant Grant, scopes []string,
	accessToken string, lifetime time.Duration) (string, error) {
	now := h.cfg.Now()
	claims := UserClaims(grant.User, scopes)
	claims["iss"] = h.cfg.Issuer
	claims["sub"] = grant.Subject
	claims["aud"] = clientID
	claims["azp"] = clientID
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(lifetime).Unix()
	claims["auth_time"] = grant.AuthTime.Unix()

	token, err := h.cfg.Signer.SignFor(ctx, "JWT", func(alg string) any {
		if accessToken != "" {
			claims["at_hash"] = jws.TokenHash(alg, accessToken)
		}
		return claims
	})
	if err != nil {
		return "", fmt.Errorf("oidc: sign ID token: %w", err)
	}
	return token, nil
}
