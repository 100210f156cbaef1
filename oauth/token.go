package oauth

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/ory/fosite"
	"go.uber.org/zap"

	"github.com/averos/averos-auth/internal/httpserver"
)

// TokenResult is the outcome of a successful InternalToken call.
type TokenResult struct {
	AccessToken, RefreshToken, IDToken string
	ExpiresIn                          time.Duration
	Scopes                             []string
	Subject                            string
}

// serveToken is the token endpoint (RFC 6749 §3.2): parse and check the
// form, run fosite with the grant handlers, write the response or the error.
func (p *Provider) serveToken(w http.ResponseWriter, r *http.Request) {
	log := httpserver.LoggerFrom(r.Context())
	form, err := parseForm(r)
	if err == nil {
		err = checkGrantType(form)
	}
	if err != nil {
		writeError(w, log, "token request rejected", err)
		return
	}

	ctx := r.Context()
	sess := &session{remoteIP: remoteIP(r)}
	ar, resp, err := p.runTokenRequest(ctx, r, sess)
	if err != nil {
		clientID := sentClientID(r, form)
		if ar != nil && ar.GetClient() != nil && ar.GetClient().GetID() != "" {
			clientID = ar.GetClient().GetID()
		}
		fields := []zap.Field{zap.String("grant_type", form.Get("grant_type")), zap.String("client_id", clientID)}
		writeError(w, log, "token request failed", err, fields...)
		return
	}
	p.fosite.WriteAccessResponse(ctx, w, ar, resp)
}

// runTokenRequest runs one token request through fosite: the request
// handlers (client authentication, then the grant handler's checks) and the
// response handlers (the grant handler's tokens, then the ID token).
func (p *Provider) runTokenRequest(ctx context.Context, r *http.Request,
	sess *session) (fosite.AccessRequester, fosite.AccessResponder, error) {
	ar, err := p.fosite.NewAccessRequest(ctx, r, sess)
	if err != nil {
		return ar, nil, err
	}
	resp, err := p.fosite.NewAccessResponse(ctx, ar)
	if err != nil {
		return ar, nil, err
	}
	return ar, resp, nil
}

// maxLoggedClientID bounds the client id that a failed request sent, as it is
// logged before the client is known to exist.
const maxLoggedClientID = 128

// sentClientID returns the client id that the request named, from Basic
// credentials or the client_id parameter, for the log of a failed request.
func sentClientID(r *http.Request, form url.Values) string {
	id := form.Get("client_id")
	if user, _, ok := r.BasicAuth(); ok {
		if unescaped, err := url.QueryUnescape(user); err == nil {
			id = unescaped
		}
	}
	if len(id) > maxLoggedClientID {
		id = id[:maxLoggedClientID]
	}
	return id
}

// remoteIP returns the host part of the request's remote address.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// InternalToken runs one token request (form: grant_type plus its
// parameters, e.g. username, password, scope, refresh_token) for the trusted
// first-party client clientID without client authentication, through the
// same fosite pipeline and policies as POST /oauth2/token. remoteIP is
// recorded as the last-login address. Failures are *fosite.RFC6749Error
// (errors.As) with the same error codes as the endpoint; storage failures
// are wrapped storage errors.
func (p *Provider) InternalToken(ctx context.Context, clientID string, form url.Values,
	remoteIP string) (*TokenResult, error) {
	values := make(url.Values, len(form))
	for name, v := range form {
		values[name] = append([]string(nil), v...)
	}
	if name, repeated := repeatedParameter(values); repeated {
		return nil, fosite.ErrInvalidRequest.WithHintf("The parameter %q is sent more than once.", name)
	}
	// The first-party client never authenticates itself here.
	delete(values, "client_secret")
	values.Del("client_id")
	if err := checkGrantType(values); err != nil {
		return nil, err
	}

	ctx = context.WithValue(ctx, internalClientKey, clientID)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/oauth2/token", http.NoBody)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.PostForm = values
	req.Form = values

	sess := &session{remoteIP: remoteIP}
	ar, resp, err := p.runTokenRequest(ctx, req, sess)
	if err != nil {
		return nil, err
	}
	result := &TokenResult{
		AccessToken: resp.GetAccessToken(),
		ExpiresIn:   sess.GetExpiresAt(fosite.AccessToken).Sub(p.now()),
		Scopes:      ar.GetGrantedScopes(),
		Subject:     sess.subject,
	}
	result.RefreshToken, _ = resp.GetExtra("refresh_token").(string)
	result.IDToken, _ = resp.GetExtra("id_token").(string)
	return result, nil
}
