package averos

import (
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/averos/averos-auth/internal/httpserver"
	"github.com/averos/averos-auth/oauth"
	"github.com/averos/averos-auth/storage"
)

// StatusSessionRevoked is the status on which the Averos client logs out
// locally without a refresh attempt: the bearer's session was revoked because
// the user was disabled, locked or deleted, or reset the password.
const StatusSessionRevoked = 460

// loggedUserRolesResponse is the body of GET /auth/luroles.
type loggedUserRolesResponse struct {
	ActiveUserRoles []string `json:"active_user_roles"`
}

// loggedUserRoles returns the role names of the bearer's user as stored now,
// so a role granted or removed after the token was issued counts at once.
func (a *Adapter) loggedUserRoles(w http.ResponseWriter, r *http.Request) {
	user, ok := a.bearerUser(w, r)
	if !ok {
		return
	}
	roles := user.Roles
	if roles == nil {
		roles = []string{}
	}
	httpserver.WriteJSON(w, http.StatusOK, loggedUserRolesResponse{ActiveUserRoles: roles})
}

// bearerUser validates the access token of the request and returns its
// user. It responds 401 for a missing, invalid or expired token, which makes
// the client refresh, and 460 for a revoked session, which makes it log out.
// Tokens of other clients are rejected, because these endpoints belong to
// the first-party session.
func (a *Adapter) bearerUser(w http.ResponseWriter, r *http.Request) (*storage.User, bool) {
	log := a.requestLog(r)
	raw := bearerToken(r)
	if raw == "" {
		unauthorized(w, "", "missing access token")
		return nil, false
	}
	token, err := a.tokens.ValidateAccessToken(r.Context(), raw)
	switch {
	case errors.Is(err, oauth.ErrSessionRevoked):
		log.Info("access token of a revoked session", zap.Error(err))
		httpserver.WriteText(w, StatusSessionRevoked, "session revoked, sign in again")
		return nil, false
	case errors.Is(err, oauth.ErrInvalidToken):
		log.Debug("invalid access token", zap.Error(err))
		unauthorized(w, "invalid_token", "invalid or expired access token")
		return nil, false
	case err != nil:
		httpserver.LogFailure(log, "validate access token", err)
		writeServerError(w, "token validation")
		return nil, false
	}
	if token.ClientID != a.opts.ClientID {
		log.Info("access token of another client", zap.String("client_id", token.ClientID))
		unauthorized(w, "invalid_token", "invalid or expired access token")
		return nil, false
	}

	user, err := a.store.Users.Get(r.Context(), token.Subject)
	if errors.Is(err, storage.ErrNotFound) || err == nil && user.Disabled {
		httpserver.WriteText(w, StatusSessionRevoked, "session revoked, sign in again")
		return nil, false
	}
	if err != nil {
		httpserver.LogFailure(log, "read user of access token", err, zap.String("user_id", token.Subject))
		writeServerError(w, "user lookup")
		return nil, false
	}
	return user, true
}

// unauthorized responds 401 with the RFC 6750 challenge, which carries no
// error code when the request had no token.
func unauthorized(w http.ResponseWriter, code, msg string) {
	challenge := "Bearer"
	if code != "" {
		challenge += ` error="` + code + `"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	httpserver.WriteText(w, http.StatusUnauthorized, msg)
}
