package oauth

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/ory/fosite"
	"go.uber.org/zap"

	"github.com/averos/averos-auth/internal/httpserver"
	"github.com/averos/averos-auth/oidc"
	"github.com/averos/averos-auth/storage"
)

// grantHandler is the fosite TokenEndpointHandler for all three grants. Every
// grant runs through the same fixed steps, so none can skip a shared check:
//
//  1. the client may use the grant type;
//  2. the grant's own step: verify the password, load the refresh token and
//     its family, or check that the client is confidential;
//  3. the grant is still live: the user exists, is enabled and not locked,
//     and neither the user nor the client revoked its tokens after the login;
//  4. the scopes and audiences are allowed to the client (and, on refresh,
//     within the original grant);
//  5. on refresh, the presented token is spent and the next one stored (one
//     ordered insert whose first document is atomic).
//
// PopulateTokenEndpointResponse then stores the new family and its first
// refresh token (password grant) and signs the access token.
type grantHandler struct {
	p *Provider
}

var _ fosite.TokenEndpointHandler = (*grantHandler)(nil)

func (h *grantHandler) CanHandleTokenEndpointRequest(_ context.Context, r fosite.AccessRequester) bool {
	gt := r.GetGrantTypes()
	return gt.ExactOne(grantPassword) || gt.ExactOne(grantRefreshToken) || gt.ExactOne(grantClientCredentials)
}

func (h *grantHandler) CanSkipClientAuth(context.Context, fosite.AccessRequester) bool { return false }

func (h *grantHandler) HandleTokenEndpointRequest(ctx context.Context, r fosite.AccessRequester) error {
	if !h.CanHandleTokenEndpointRequest(ctx, r) {
		return fosite.ErrUnknownRequest
	}
	p := h.p
	sess, c, err := requestParts(r)
	if err != nil {
		return err
	}
	grantType := r.GetGrantTypes()[0]
	if !slices.Contains(c.c.GrantTypes, grantType) {
		return fosite.ErrUnauthorizedClient.WithHintf(
			"The client is not allowed to use the %s grant.", grantType)
	}

	now := p.now()
	switch grantType {
	case grantPassword:
		err = p.authenticateUser(ctx, r, c, sess, now)
	case grantRefreshToken:
		err = p.loadRefreshGrant(ctx, r, c, sess, now)
	case grantClientCredentials:
		err = p.startClientGrant(c, sess)
	}
	if err != nil {
		return err
	}

	if err := p.checkGrantLive(ctx, c, sess, now); err != nil {
		return p.refuseGrant(ctx, grantType, sess, err)
	}
	if err := p.grantScopes(r, c, sess); err != nil {
		if grantType == grantRefreshToken {
			return p.refuseRefresh(ctx, sess, err)
		}
		return err
	}
	p.setExpiries(r, c, sess, now)
	if grantType == grantRefreshToken {
		if err := p.spendRefreshToken(ctx, r, c, sess, now); err != nil {
			return err
		}
	}
	return nil
}

func (h *grantHandler) PopulateTokenEndpointResponse(ctx context.Context, r fosite.AccessRequester,
	resp fosite.AccessResponder) error {
	if !h.CanHandleTokenEndpointRequest(ctx, r) {
		return fosite.ErrUnknownRequest
	}
	p := h.p
	sess, c, err := requestParts(r)
	if err != nil {
		return err
	}
	now := p.now()
	if r.GetGrantTypes().ExactOne(grantPassword) {
		// The family is stored before any token that names it.
		if err := p.tokens.createGrant(ctx, sess.grant); err != nil {
			return err
		}
		p.recordLogin(ctx, sess, now)
	}

	accessToken, err := p.issueAccessToken(ctx, r, sess, now)
	if err != nil {
		return err
	}
	resp.SetAccessToken(accessToken)
	resp.SetTokenType("bearer")
	resp.SetExpiresIn(sess.GetExpiresAt(fosite.AccessToken).Sub(now))
	// RFC 6749 §3.3 allows no empty scope, so a grant without scopes omits it.
	if scopes := r.GetGrantedScopes(); len(scopes) > 0 {
		resp.SetScopes(scopes)
	}

	if p.mayRefresh(c, sess) {
		refreshToken, err := p.issueRefreshToken(ctx, r, sess, now)
		if err != nil {
			return err
		}
		resp.SetExtra("refresh_token", refreshToken)
	}
	return nil
}

func requestParts(r fosite.AccessRequester) (*session, *client, error) {
	sess, ok := r.GetSession().(*session)
	if !ok {
		return nil, nil, errors.New("oauth: the token request carries a foreign session type")
	}
	c, ok := r.GetClient().(*client)
	if !ok {
		return nil, nil, errors.New("oauth: the token request carries a foreign client type")
	}
	return sess, c, nil
}

// startClientGrant prepares a client credentials grant: the client acts on its
// own behalf, so it is the subject, and it must be able to keep a secret.
func (p *Provider) startClientGrant(c *client, sess *session) error {
	if c.IsPublic() {
		return fosite.ErrUnauthorizedClient.WithHint(
			"A public client cannot use the client_credentials grant.")
	}
	sess.subject = c.GetID()
	return nil
}

// errGrantNotLive reports a user grant whose user or client no longer allows
// it. The reason goes to the log only.
type errGrantNotLive struct{ reason string }

func (e *errGrantNotLive) Error() string { return "grant is no longer valid: " + e.reason }

// checkGrantLive loads the user of a user grant (when the grant step did not)
// and checks that the grant may still be used.
func (p *Provider) checkGrantLive(ctx context.Context, c *client, sess *session, now time.Time) error {
	if sess.grant == nil {
		return nil
	}
	if sess.userGone {
		return &errGrantNotLive{reason: "user deleted"}
	}
	// TODO: the lock check reads the user's display copy (LockedUntil) and
	// not store.Lockout, which has no read-only lock query. Locking through
	// failed passwords sets that copy and also moves TokensValidAfter, so
	// only a crash between the lockout slot and those writes is missed.
	if sess.user == nil {
		user, err := p.store.Users.Get(ctx, sess.grant.Subject)
		if errors.Is(err, storage.ErrNotFound) {
			return &errGrantNotLive{reason: "user deleted"}
		}
		if err != nil {
			return err
		}
		sess.user = user
		sess.username = user.UserName
	}
	if reason := grantBlocked(sess.user, c.c, sess.grant.AuthTime, now); reason != "" {
		return &errGrantNotLive{reason: reason}
	}
	return nil
}

// grantBlocked returns why tokens of a grant that started at authTime must no
// longer be accepted, or "" when they may.
func grantBlocked(u *storage.User, c *storage.Client, authTime, now time.Time) string {
	switch {
	case u.Disabled:
		return "user disabled"
	case u.IsLocked(now):
		return "user locked"
	case authTime.Before(u.TokensValidAfter):
		return "user tokens revoked"
	case authTime.Before(c.TokensValidAfter):
		return "client tokens revoked"
	}
	return ""
}

// refuseGrant turns a failed liveness check into the grant's error. A refresh
// grant whose user or client is no longer valid also loses its family.
func (p *Provider) refuseGrant(ctx context.Context, grantType string, sess *session, err error) error {
	var notLive *errGrantNotLive
	if !errors.As(err, &notLive) {
		return err
	}
	switch grantType {
	case grantPassword:
		p.logLoginFailure(ctx, sess.user, notLive.reason)
		return errBadCredentials(err)
	case grantRefreshToken:
		p.revokeFamily(ctx, sess.grant.ID, notLive.reason)
		return errRefreshInvalid(err)
	}
	return err
}

// revokeFamily deletes a grant family after a replay or a revoked user. The
// request fails with invalid_grant either way, so a storage failure here is
// logged and not returned: the family then dies with its expiry.
func (p *Provider) revokeFamily(ctx context.Context, grantID, reason string) {
	log := httpserver.LoggerFrom(ctx)
	ctx, cancel := detached(ctx)
	defer cancel()
	if err := p.tokens.revokeGrant(ctx, grantID); err != nil {
		log.Error("revoke grant family failed", zap.String("grant_id", grantID),
			zap.String("reason", reason), zap.Error(err))
		return
	}
	log.Info("grant family revoked", zap.String("grant_id", grantID), zap.String("reason", reason))
}

// detachedTimeout bounds a write that outlives its request (see detached).
const detachedTimeout = 10 * time.Second

// detached returns a context for a write that must finish even when the
// client closes the connection, such as revoking a family after a replay or
// recording a failed password. It keeps the request's values (logger,
// request id) but not its cancellation, and ends after detachedTimeout.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), detachedTimeout)
}

func errRefreshInvalid(cause error) error {
	err := fosite.ErrInvalidGrant.WithHint("The refresh token is invalid, expired or revoked.")
	if cause != nil {
		err = err.WithWrap(cause)
	}
	return err
}

// grantScopes grants the requested scopes and audiences after checking them
// against the client and, on refresh, against the original grant. A refresh
// without a scope parameter keeps the original scopes (RFC 6749 §6).
func (p *Provider) grantScopes(r fosite.AccessRequester, c *client, sess *session) error {
	requested := r.GetRequestedScopes()
	if sess.presented != nil {
		// A client that lost the refresh scope may not refresh, even with a
		// narrower scope that leaves it out.
		if !slices.Contains(c.c.Scopes, p.cfg.RefreshScope) {
			return fosite.ErrInvalidScope.WithHintf("The client is no longer allowed the scope %q.",
				p.cfg.RefreshScope)
		}
		if _, sent := r.GetRequestForm()["scope"]; !sent || len(requested) == 0 {
			requested = sess.grant.Scopes
		}
		for _, scope := range requested {
			if !slices.Contains(sess.grant.Scopes, scope) {
				return fosite.ErrInvalidScope.WithHintf(
					"The scope %q was not granted originally.", scope)
			}
		}
	}
	for _, scope := range requested {
		if !slices.Contains(c.c.Scopes, scope) {
			return fosite.ErrInvalidScope.WithHintf("The client is not allowed the scope %q.", scope)
		}
	}
	for _, scope := range requested {
		r.GrantScope(scope)
	}

	audience, err := p.audience(r, c, sess, requested)
	if err != nil {
		return err
	}
	for _, aud := range audience {
		r.GrantAudience(aud)
	}
	if sess.grant != nil && sess.presented == nil {
		sess.grant.Scopes = append([]string(nil), requested...)
		sess.grant.Audience = audience
	}
	return nil
}

// audience returns the audiences of the tokens. A refresh keeps the original
// ones. Otherwise they are the requested ones (each allowed to the client),
// or the client's configured audiences when none is requested, or else the
// issuer. The issuer is the resource server of userinfo, so a token that
// grants openid always names it.
func (p *Provider) audience(r fosite.AccessRequester, c *client, sess *session, scopes []string) ([]string, error) {
	var audience []string
	if sess.presented != nil {
		// Families from before the issuer rule get it on their next refresh.
		audience = slices.Clone(sess.grant.Audience)
	} else {
		requested := r.GetRequestedAudience()
		for _, aud := range requested {
			if !slices.Contains(c.c.Audiences, aud) {
				return nil, fosite.ErrInvalidRequest.WithHintf("The client is not allowed the audience %q.", aud)
			}
		}
		switch {
		case len(requested) > 0:
			audience = slices.Clone(requested)
		case len(c.c.Audiences) > 0:
			audience = slices.Clone(c.c.Audiences)
		}
	}
	if len(audience) == 0 || (slices.Contains(scopes, oidc.ScopeOpenID) && !slices.Contains(audience, p.cfg.Issuer)) {
		audience = append(audience, p.cfg.Issuer)
	}
	return audience, nil
}

// mayRefresh reports whether the response gets a refresh token: for a user
// grant, when the client may use the refresh token grant and the family was
// granted the refresh scope. A refresh that narrows the scope of its access
// token still rotates, because the family keeps its scopes (RFC 6749 §6).
func (p *Provider) mayRefresh(c *client, sess *session) bool {
	return sess.grant != nil && slices.Contains(c.c.GrantTypes, grantRefreshToken) &&
		slices.Contains(sess.grant.Scopes, p.cfg.RefreshScope)
}

// setExpiries sets the access and refresh token expiry. A family lives at
// most the refresh token lifetime from its login: refreshes do not extend it,
// so every token of the family expires by then.
func (p *Provider) setExpiries(r fosite.AccessRequester, c *client, sess *session, now time.Time) {
	// exp is whole seconds; rounding up keeps expires_in at the configured
	// lifetime instead of one second short.
	accessExp := ceilSecond(now.Add(c.accessTokenLifetime(p.cfg.AccessTokenLifetime)))
	if sess.grant == nil {
		sess.SetExpiresAt(fosite.AccessToken, accessExp)
		return
	}
	if sess.presented == nil {
		// A new family: it lasts as long as its longest-lived token.
		sess.grant.ExpiresAt = accessExp
		if p.mayRefresh(c, sess) {
			sess.grant.ExpiresAt = now.Add(c.refreshTokenLifetime(p.cfg.RefreshTokenLifetime)).
				Truncate(time.Millisecond)
		}
	}
	familyExp := sess.grant.ExpiresAt
	sess.SetExpiresAt(fosite.AccessToken, earliest(accessExp, familyExp))
	sess.SetExpiresAt(fosite.RefreshToken, familyExp)
}

// ceilSecond rounds t up to a whole second.
func ceilSecond(t time.Time) time.Time {
	if down := t.Truncate(time.Second); !down.Equal(t) {
		return down.Add(time.Second)
	}
	return t
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
