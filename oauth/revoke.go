package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ory/fosite"
	"go.uber.org/zap"

	"github.com/averos/averos-auth/internal/httpserver"
	"github.com/averos/averos-auth/storage"
)

// serveRevocation is the revocation endpoint (RFC 7009). Fosite authenticates
// the client and calls revocationHandler; the response is written here,
// because fosite returns 200 for a storage failure where RFC 7009 §2.2.1 asks
// for 503.
func (p *Provider) serveRevocation(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	log := httpserver.LoggerFrom(ctx)
	form, err := parseForm(r)
	if err == nil && form.Get("token") == "" {
		err = errMissingToken()
	}
	if err == nil {
		err = p.fosite.NewRevocationRequest(ctx, r)
	}
	if err != nil {
		writeError(w, log, "revocation failed", err)
		return
	}
	setNoStore(w)
	w.WriteHeader(http.StatusOK)
}

// revocationHandler is the fosite RevocationHandler for both token kinds.
type revocationHandler struct {
	p *Provider
}

var _ fosite.RevocationHandler = (*revocationHandler)(nil)

// RevokeToken revokes token if it belongs to c. Unknown, invalid and foreign
// tokens get a success response and are left alone (RFC 7009 §2.2). The
// token_type_hint is not needed, because the two token kinds differ in shape.
func (h *revocationHandler) RevokeToken(ctx context.Context, token string, _ fosite.TokenType,
	c fosite.Client) error {
	if looksLikeJWT(token) {
		return h.p.revokeAccessToken(ctx, c.GetID(), token)
	}
	return h.p.RevokeRefreshToken(ctx, c.GetID(), token)
}

// revokeAccessToken marks one access token of clientID revoked until it
// expires. The rest of its grant stays valid.
func (p *Provider) revokeAccessToken(ctx context.Context, clientID, token string) error {
	now := p.now()
	claims, err := p.parseAccessToken(ctx, token, now)
	if errors.Is(err, ErrInvalidToken) {
		return nil
	}
	if err != nil {
		return err
	}
	if claims.ClientID != clientID {
		httpserver.LoggerFrom(ctx).Info("revocation of another client's token ignored",
			zap.String("client_id", clientID))
		return nil
	}
	return p.tokens.revokeAccessToken(ctx, claims.JTI, clientID, now, time.Unix(claims.ExpiresAt, 0))
}

// RevokeRefreshToken revokes the family of a refresh token if it belongs to
// clientID: the refresh token and every access token of its grant. Unknown
// tokens are not an error.
func (p *Provider) RevokeRefreshToken(ctx context.Context, clientID, token string) error {
	if err := p.hmac.Validate(ctx, token); err != nil {
		return nil
	}
	doc, err := p.tokens.getRefresh(ctx, p.hmac.Signature(token))
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if doc.ClientID != clientID {
		httpserver.LoggerFrom(ctx).Info("revocation of another client's token ignored",
			zap.String("client_id", clientID))
		return nil
	}
	return p.tokens.revokeGrant(ctx, doc.GrantID)
}

// RevokeUserTokens revokes every token family of the user at once by moving
// the user's TokensValidAfter to now.
func (p *Provider) RevokeUserTokens(ctx context.Context, userID string) error {
	return p.revokeUserTokensAt(ctx, userID, p.now())
}

func (p *Provider) revokeUserTokensAt(ctx context.Context, userID string, now time.Time) error {
	at := now.UTC().Truncate(time.Millisecond)
	// A later revocation stored meanwhile stays: moving the time back would
	// revive the tokens issued in between.
	_, err := p.store.Users.Update(ctx, userID, func(u *storage.User) error {
		if at.After(u.TokensValidAfter) {
			u.TokensValidAfter = at
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("oauth: revoke tokens of user %s: %w", userID, err)
	}
	return nil
}

// RevokeClientTokens revokes every token issued to the client by moving the
// client's TokensValidAfter to now.
func (p *Provider) RevokeClientTokens(ctx context.Context, clientID string) error {
	now := p.now()
	at := now.UTC().Truncate(time.Millisecond)
	_, err := p.store.Clients.Update(ctx, clientID, func(c *storage.Client) error {
		if at.After(c.TokensValidAfter) {
			c.TokensValidAfter = at
		}
		return nil
	})
	p.clients.forget(clientID)
	if err != nil {
		return fmt.Errorf("oauth: revoke tokens of client %s: %w", clientID, err)
	}
	return nil
}
