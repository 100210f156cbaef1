package oauth

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/ory/fosite"
	"go.uber.org/zap"

	"github.com/averos/averos-auth/internal/httpserver"
	"github.com/averos/averos-auth/storage"
)

// introspection is an active introspection response (RFC 7662 §2.2).
type introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id"`
	Subject   string   `json:"sub"`
	ExpiresAt int64    `json:"exp"`
	IssuedAt  int64    `json:"iat"`
	Issuer    string   `json:"iss"`
	Audience  []string `json:"aud,omitempty"`
	TokenType string   `json:"token_type"`
	Username  string   `json:"username,omitempty"`
	JTI       string   `json:"jti,omitempty"`
}

// inactive is the whole response for every token that is not active.
var inactive = map[string]bool{"active": false}

// serveIntrospection is the introspection endpoint (RFC 7662). The caller must
// be a confidential client; it learns about its own tokens only, unless the
// client has IntrospectAny (a resource server).
func (p *Provider) serveIntrospection(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	log := httpserver.LoggerFrom(ctx)
	form, err := parseForm(r)
	if err != nil {
		writeError(w, log, "introspection request rejected", err)
		return
	}
	caller, err := p.authenticateClient(ctx, r, form)
	if err == nil && caller.IsPublic() {
		err = errInvalidClient("A public client cannot use introspection.", nil)
	}
	if err != nil {
		writeError(w, log, "introspection client authentication failed", err)
		return
	}
	token := form.Get("token")
	if token == "" {
		writeError(w, log, "introspection request rejected", errMissingToken())
		return
	}

	result, err := p.introspect(ctx, token)
	if err != nil {
		writeError(w, log, "introspection failed", err, zap.String("client_id", caller.GetID()))
		return
	}
	if result == nil || (result.ClientID != caller.GetID() && !caller.c.IntrospectAny) {
		writeJSON(w, http.StatusOK, inactive)
		return
	}
	writeJSON(w, http.StatusOK, result)
}

// introspect returns the introspection of an active token, nil for a token
// that is not active, or a storage error.
func (p *Provider) introspect(ctx context.Context, token string) (*introspection, error) {
	if looksLikeJWT(token) {
		return p.introspectAccessToken(ctx, token)
	}
	return p.introspectRefreshToken(ctx, token)
}

// looksLikeJWT distinguishes a compact JWS (three parts) from a refresh token (two).
func looksLikeJWT(token string) bool { return strings.Count(token, ".") == 2 }

func (p *Provider) introspectAccessToken(ctx context.Context, token string) (*introspection, error) {
	now := p.now()
	claims, err := p.parseAccessToken(ctx, token, now)
	if errors.Is(err, ErrInvalidToken) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	live, err := p.checkAccessTokenLive(ctx, claims, now)
	if errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrSessionRevoked) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	result := &introspection{
		Active: true, Scope: claims.Scope, ClientID: claims.ClientID, Subject: claims.Subject,
		ExpiresAt: claims.ExpiresAt, IssuedAt: claims.IssuedAt, Issuer: claims.Issuer,
		Audience: claims.Audience, TokenType: "Bearer", JTI: claims.JTI,
	}
	if live.user != nil {
		result.Username = live.user.UserName
	}
	return result, nil
}

func (p *Provider) introspectRefreshToken(ctx context.Context, token string) (*introspection, error) {
	now := p.now()
	if err := p.hmac.Validate(ctx, token); err != nil {
		return nil, nil
	}
	doc, err := p.tokens.getRefresh(ctx, p.hmac.Signature(token))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !now.Before(doc.ExpiresAt) {
		return nil, nil
	}
	used, err := p.tokens.isUsed(ctx, doc.Signature)
	if err != nil || used {
		return nil, err
	}
	grant, err := p.tokens.getGrant(ctx, doc.GrantID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c, err := p.clients.get(ctx, doc.ClientID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	user, err := p.store.Users.Get(ctx, grant.Subject)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if grantBlocked(user, c, grant.AuthTime, now) != "" {
		return nil, nil
	}
	return &introspection{
		Active: true, Scope: strings.Join(doc.Scopes, " "), ClientID: doc.ClientID,
		Subject: doc.Subject, ExpiresAt: doc.ExpiresAt.Unix(), IssuedAt: doc.IssuedAt.Unix(),
		Issuer: p.cfg.Issuer, Audience: grant.Audience, TokenType: "refresh_token",
		Username: user.UserName,
	}, nil
}

func errMissingToken() error {
	return fosite.ErrInvalidRequest.WithHint("The token parameter is missing.")
}
