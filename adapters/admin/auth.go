package admin

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/averos/averos-auth/internal/httpserver"
	"github.com/averos/averos-auth/oauth"
	"github.com/averos/averos-auth/storage"
)

// caller is the authenticated user of a request, as stored when the request
// arrived.
type caller struct {
	token   *oauth.AccessToken
	user    *storage.User
	isAdmin bool
}

type callerKey struct{}

func callerFrom(ctx context.Context) *caller {
	c, _ := ctx.Value(callerKey{}).(*caller)
	return c
}

// authenticate admits a request with a valid bearer access token whose user
// exists, is enabled, is not locked and has a verified account. It responds
// with 401 to a missing or invalid token (the Averos client then
// refreshes), with 460 to a revoked session (the client logs out) and with
// 471 to an unverified account. The user's roles are read from storage, not from the token, so a
// role taken away works at once.
func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		raw, ok := bearerToken(r)
		if !ok {
			unauthorized(w, "")
			return
		}
		tok, err := a.tokens.ValidateAccessToken(ctx, raw)
		switch {
		case errors.Is(err, oauth.ErrSessionRevoked):
			httpserver.WriteText(w, statusSessionRevoked, "session revoked, sign in again")
			return
		case errors.Is(err, oauth.ErrInvalidToken):
			unauthorized(w, "invalid_token")
			return
		case err != nil:
			a.writeError(w, r, err, "")
			return
		}

		// Only the tokens of the configured clients are accepted, so that a
		// third-party application holding an administrator's token for its
		// own purposes cannot administer the server with it.
		if len(a.tokenClients) > 0 && !slices.Contains(a.tokenClients, tok.ClientID) {
			httpserver.WriteText(w, http.StatusForbidden,
				"the administration API does not accept tokens issued to this client")
			return
		}

		user, err := a.store.Users.Get(ctx, tok.Subject)
		if errors.Is(err, storage.ErrNotFound) && tok.Subject == tok.ClientID {
			// A client credentials token: the client is its own subject.
			httpserver.WriteText(w, http.StatusForbidden,
				"the administration API needs a user's access token, not a client's")
			return
		}
		if errors.Is(err, storage.ErrNotFound) {
			httpserver.WriteText(w, statusSessionRevoked, "session revoked, sign in again")
			return
		}
		if err != nil {
			a.writeError(w, r, err, "")
			return
		}
		if user.Disabled || user.IsLocked(a.store.Now()) {
			a.logger(ctx).Info("request with the token of a disabled or locked user",
				zap.String("user_id", user.ID))
			httpserver.WriteText(w, statusSessionRevoked, "session revoked, sign in again")
			return
		}
		if !user.AccountVerified {
			httpserver.WriteText(w, statusAccountNotVerified, "account not verified")
			return
		}

		c := &caller{token: tok, user: user, isAdmin: slices.Contains(user.Roles, a.adminRole)}
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, callerKey{}, c)))
	})
}

// bearerToken returns the token of an "Authorization: Bearer" header. A
// request with several Authorization headers has none, because proxies
// disagree on which one counts.
func bearerToken(r *http.Request) (string, bool) {
	if len(r.Header.Values("Authorization")) > 1 {
		return "", false
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// unauthorized sends 401 with the RFC 6750 challenge. errorCode is empty
// when the request carried no token.
func unauthorized(w http.ResponseWriter, errorCode string) {
	challenge := `Bearer realm="uapi"`
	if errorCode != "" {
		challenge += `, error="` + errorCode + `"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	httpserver.WriteText(w, http.StatusUnauthorized, "missing or invalid access token")
}

// requireAdmin wraps a handler that only administrators may call. Other
// callers get 403 with a plain-text message.
func (a *API) requireAdmin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !callerFrom(r.Context()).isAdmin {
			forbidden(w)
			return
		}
		next(w, r)
	}
}

func forbidden(w http.ResponseWriter) {
	httpserver.WriteText(w, http.StatusForbidden, "this operation requires the administrator role")
}
