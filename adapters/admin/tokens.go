package admin

import (
	"context"

	"github.com/averos/averos-auth/oauth"
)

// TokenService validates the bearer access tokens of /uapi requests and
// revokes every token of a user. *oauth.Provider implements it.
type TokenService interface {
	// ValidateAccessToken returns oauth.ErrInvalidToken for a missing,
	// malformed or expired token and oauth.ErrSessionRevoked when the
	// user's session was revoked.
	ValidateAccessToken(ctx context.Context, raw string) (*oauth.AccessToken, error)
	// RevokeUserTokens revokes every token family of the user at once.
	RevokeUserTokens(ctx context.Context, userID string) error
}

var _ TokenService = (*oauth.Provider)(nil)
