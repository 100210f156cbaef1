package averos

import (
	"context"
	"errors"
	"net/url"

	"github.com/ory/fosite"

	"github.com/averos/averos-auth/oauth"
)

// TokenService is the part of the OAuth provider that the adapter uses;
// *oauth.Provider implements it.
type TokenService interface {
	// InternalToken runs a password or refresh_token grant for the
	// first-party client through the token endpoint's pipeline.
	InternalToken(ctx context.Context, clientID string, form url.Values,
		remoteIP string) (*oauth.TokenResult, error)
	// ValidateAccessToken fails with oauth.ErrInvalidToken or
	// oauth.ErrSessionRevoked (wrapped) for a token that must not be used.
	ValidateAccessToken(ctx context.Context, raw string) (*oauth.AccessToken, error)
	// RevokeRefreshToken revokes the token's whole family.
	RevokeRefreshToken(ctx context.Context, clientID, token string) error
	// RevokeUserTokens revokes every token family of the user.
	RevokeUserTokens(ctx context.Context, userID string) error
}

var _ TokenService = (*oauth.Provider)(nil)

// grantErrorKind sorts a token endpoint failure by who caused it.
type grantErrorKind int

const (
	// grantRejected is a credential or refresh token that the provider
	// rejects (invalid_grant, or access_denied from a fosite policy).
	grantRejected grantErrorKind = iota
	// grantMalformed is a request the provider finds malformed
	// (invalid_request). It proves nothing about the refresh token.
	grantMalformed
	// grantServerFault is a storage failure or a misconfigured client:
	// any other error, unauthorized_client and invalid_scope included.
	grantServerFault
)

// classifyGrantError sorts an InternalToken error.
func classifyGrantError(err error) grantErrorKind {
	var oauthErr *fosite.RFC6749Error
	if !errors.As(err, &oauthErr) {
		return grantServerFault
	}
	switch oauthErr.ErrorField {
	case fosite.ErrInvalidGrant.ErrorField, fosite.ErrAccessDenied.ErrorField:
		return grantRejected
	case fosite.ErrInvalidRequest.ErrorField:
		return grantMalformed
	default:
		return grantServerFault
	}
}
