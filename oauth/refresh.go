package oauth

import (
	"context"
	"errors"
	"time"

	"github.com/ory/fosite"

	"github.com/averos/averos-auth/storage"
)

// loadRefreshGrant reads the presented refresh token and its family. Unknown,
// malformed, expired, revoked tokens and tokens of other clients all get the
// same invalid_grant.
func (p *Provider) loadRefreshGrant(ctx context.Context, r fosite.AccessRequester, c *client,
	sess *session, now time.Time) error {
	raw := r.GetRequestForm().Get("refresh_token")
	if err := p.hmac.Validate(ctx, raw); err != nil {
		return errRefreshInvalid(err)
	}
	doc, err := p.tokens.getRefresh(ctx, p.hmac.Signature(raw))
	if errors.Is(err, storage.ErrNotFound) {
		return errRefreshInvalid(errors.New("unknown refresh token"))
	}
	if err != nil {
		return err
	}
	if doc.ClientID != c.GetID() {
		return errRefreshInvalid(errors.New("refresh token of another client"))
	}
	if !now.Before(doc.ExpiresAt) {
		return errRefreshInvalid(errors.New("refresh token expired"))
	}

	// The family and the user are independent reads: run them together to
	// save one round trip of latency.
	var user *storage.User
	var userErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		user, userErr = p.store.Users.Get(ctx, doc.Subject)
	}()
	grant, err := p.tokens.getGrant(ctx, doc.GrantID)
	<-done
	if errors.Is(err, storage.ErrNotFound) {
		return errRefreshInvalid(errors.New("grant family revoked"))
	}
	if err != nil {
		return err
	}
	sess.presented = doc
	sess.grant = grant
	sess.subject = grant.Subject
	switch {
	case errors.Is(userErr, storage.ErrNotFound) || (user != nil && user.ID != grant.Subject):
		sess.userGone = true
	case userErr != nil:
		return userErr
	default:
		sess.user = user
		sess.username = user.UserName
	}
	return nil
}

// spendRefreshToken rotates the presented refresh token and, when the client
// may refresh again, stores the token that replaces it in the same insert.
// The used marker's insert is atomic, so of concurrent refreshes with one
// token exactly one succeeds. Every other one, like any later replay, revokes
// the family, so two browser tabs refreshing at once also end the session.
func (p *Provider) spendRefreshToken(ctx context.Context, r fosite.AccessRequester, c *client,
	sess *session, now time.Time) error {
	var next *refreshDoc
	if p.mayRefresh(c, sess) {
		token, doc, err := p.newRefreshToken(ctx, r, sess, now)
		if err != nil {
			return err
		}
		next = doc
		sess.nextRefreshToken = token
	}
	err := p.tokens.rotate(ctx, sess.presented, next, now)
	if errors.Is(err, errAlreadyUsed) {
		sess.nextRefreshToken = ""
		p.revokeFamily(ctx, sess.grant.ID, "refresh token replayed")
		return errRefreshInvalid(err)
	}
	if err != nil {
		sess.nextRefreshToken = ""
	}
	return err
}

// refuseRefresh returns the error for a refresh that failed a later check,
// such as a scope beyond the grant. A rotated-out token must not escape replay detection through
// such an error, so its used marker is looked up first.
func (p *Provider) refuseRefresh(ctx context.Context, sess *session, cause error) error {
	used, err := p.tokens.isUsed(ctx, sess.presented.Signature)
	if err != nil {
		return err
	}
	if used {
		p.revokeFamily(ctx, sess.grant.ID, "refresh token replayed")
		return errRefreshInvalid(errAlreadyUsed)
	}
	return cause
}

// issueRefreshToken returns the refresh token of the response: the one that
// the rotation stored already, or a new one for the session's family.
func (p *Provider) issueRefreshToken(ctx context.Context, r fosite.AccessRequester, sess *session,
	now time.Time) (string, error) {
	if sess.nextRefreshToken != "" {
		return sess.nextRefreshToken, nil
	}
	token, doc, err := p.newRefreshToken(ctx, r, sess, now)
	if err != nil {
		return "", err
	}
	if err := p.tokens.createRefresh(ctx, doc); err != nil {
		return "", err
	}
	return token, nil
}

// newRefreshToken generates a refresh token for the session's family and the
// document that stores its signature.
func (p *Provider) newRefreshToken(ctx context.Context, r fosite.AccessRequester, sess *session,
	now time.Time) (string, *refreshDoc, error) {
	token, signature, err := p.hmac.Generate(ctx)
	if err != nil {
		return "", nil, err
	}
	doc := &refreshDoc{
		Signature: signature,
		GrantID:   sess.grant.ID,
		ClientID:  r.GetClient().GetID(),
		Subject:   sess.subject,
		// A new refresh token has the scopes of the one it replaces, even
		// when this refresh narrowed its access token (RFC 6749 §6).
		Scopes:    sess.grant.Scopes,
		IssuedAt:  now.Truncate(time.Millisecond),
		ExpiresAt: sess.GetExpiresAt(fosite.RefreshToken),
	}
	return token, doc, nil
}
