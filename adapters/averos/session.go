package averos

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"go.uber.org/zap"

	"github.com/averos/averos-auth/internal/httpserver"
	"github.com/averos/averos-auth/oauth"
	"github.com/averos/averos-auth/storage"
)

// loginFailedMessage is the response body of every rejected login: unknown
// user, wrong password, locked or disabled account. It must not match the
// Averos client's "user ... not registered" pattern, which the client would
// replace with a registration hint.
const loginFailedMessage = "Invalid user name, email or password."

// sessionExpiredMessage is the body of a failed refresh; the client logs out
// on the 401 without showing it.
const sessionExpiredMessage = "session expired: log in again"

// login runs the password grant for the first-party client and responds with
// the auth_token object. The refresh token goes only into the HttpOnly cookie.
// A rejected login is a 400, never a 401, because the client reacts to a 401
// with a refresh and then logs out without a message.
func (a *Adapter) login(w http.ResponseWriter, r *http.Request) {
	obj, ok := readObject(w, r)
	if !ok {
		return
	}
	fields := fieldReader{obj: obj}
	identifier := fields.optional("userName")
	if identifier == "" {
		identifier = fields.optional("email")
	}
	password := fields.optional("password")
	switch {
	case fields.err != nil:
		httpserver.WriteText(w, http.StatusBadRequest, fields.err.Error())
		return
	case identifier == "":
		httpserver.WriteText(w, http.StatusBadRequest, "userName or email is required")
		return
	case password == "":
		httpserver.WriteText(w, http.StatusBadRequest, "password is required")
		return
	}

	log := a.requestLog(r)
	ip := clientIP(r)
	form := url.Values{
		"grant_type": {"password"},
		"username":   {identifier},
		"password":   {password},
		"scope":      {strings.Join(loginScopes, " ")},
	}
	result, err := a.tokens.InternalToken(r.Context(), a.opts.ClientID, form, ip)
	if err != nil {
		if classifyGrantError(err) == grantServerFault {
			httpserver.LogFailure(log, "login failed", err)
			writeServerError(w, "login")
			return
		}
		log.Info("login rejected", zap.Error(err))
		httpserver.WriteText(w, http.StatusBadRequest, loginFailedMessage)
		return
	}
	a.writeSession(w, r, result, log, http.StatusBadRequest, loginFailedMessage)
}

// writeSession sets the refresh cookie and writes the auth_token object for
// the user of a successful grant. It returns that user, or nil when it wrote
// an error response: goneStatus with goneMessage when the user was deleted
// since the grant, or 500 when the user cannot be read. The new cookie is set
// even then, because the grant has already rotated the previous one.
func (a *Adapter) writeSession(w http.ResponseWriter, r *http.Request, result *oauth.TokenResult,
	log *zap.Logger, goneStatus int, goneMessage string) *storage.User {
	user, err := a.store.Users.Get(r.Context(), result.Subject)
	if errors.Is(err, storage.ErrNotFound) {
		a.revokeQuietly(r, result.RefreshToken, log)
		a.cookie.clear(w)
		httpserver.WriteText(w, goneStatus, goneMessage)
		return nil
	}
	now := a.now()
	if result.RefreshToken != "" {
		a.cookie.set(w, result.RefreshToken, now)
	}
	if err != nil {
		httpserver.LogFailure(log, "read user after grant", err, zap.String("user_id", result.Subject))
		writeServerError(w, "session creation")
		return nil
	}
	body := newAuthTokenResponse(user, result.AccessToken, clientIP(r), now)
	httpserver.WriteJSON(w, http.StatusOK, body)
	return user
}

// revokeQuietly revokes a refresh token that will not reach the browser.
func (a *Adapter) revokeQuietly(r *http.Request, token string, log *zap.Logger) {
	if token == "" {
		return
	}
	if err := a.tokens.RevokeRefreshToken(r.Context(), a.opts.ClientID, token); err != nil {
		log.Warn("revoke unused refresh token", zap.Error(err))
	}
}

// refresh runs the refresh grant with the token from the cookie and
// responds with the full auth_token object with the new access token. The Authorization
// header is ignored: it carries the expired token or "Bearer undefined".
func (a *Adapter) refresh(w http.ResponseWriter, r *http.Request) {
	log := a.requestLog(r)
	token := a.cookie.read(r)
	if token == "" {
		a.cookie.clear(w)
		httpserver.WriteText(w, http.StatusUnauthorized, "no refresh token: log in again")
		return
	}

	claimed := claimedUserName(r)
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}}
	result, err := a.tokens.InternalToken(r.Context(), a.opts.ClientID, form, clientIP(r))
	if err != nil {
		switch classifyGrantError(err) {
		case grantRejected:
			// Expired, revoked or replayed: the cookie is useless from now on.
			log.Info("refresh rejected", zap.Error(err))
			a.cookie.clear(w)
		case grantMalformed:
			// The cookie may still be good, so it stays.
			log.Warn("refresh request rejected as malformed", zap.Error(err))
		default:
			httpserver.LogFailure(log, "refresh failed", err)
			writeServerError(w, "session refresh")
			return
		}
		httpserver.WriteText(w, http.StatusUnauthorized, sessionExpiredMessage)
		return
	}
	user := a.writeSession(w, r, result, log, http.StatusUnauthorized, sessionExpiredMessage)
	// The cookie decides who is refreshed, because the browser shares it
	// between tabs, and a tab may still hold the object of an earlier login.
	if user != nil && claimed != "" &&
		storage.NormalizeUserName(claimed) != storage.NormalizeUserName(user.UserName) {
		log.Info("refresh request names another user than its cookie", zap.String("user_id", user.ID))
	}
}

// claimedUserName returns the userName of the auth_token object that the
// client sends with a refresh, or "" when the body has none.
func claimedUserName(r *http.Request) string {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return ""
	}
	obj, err := decodeObject(body)
	if err != nil {
		return ""
	}
	user, err := decodeObject(obj["user"])
	if err != nil {
		return ""
	}
	fields := fieldReader{obj: user}
	return fields.optional("userName")
}

// logout revokes the refresh token family of the cookie and clears the
// cookie. It responds 200 also when there was nothing to revoke; only a server
// failure keeps the cookie, so the user can try again.
func (a *Adapter) logout(w http.ResponseWriter, r *http.Request) {
	log := a.requestLog(r)
	if token := a.cookie.read(r); token != "" {
		err := a.tokens.RevokeRefreshToken(r.Context(), a.opts.ClientID, token)
		if err != nil && classifyGrantError(err) == grantServerFault {
			httpserver.LogFailure(log, "logout failed", err)
			writeServerError(w, "logout")
			return
		}
		if err != nil {
			log.Debug("logout with an unusable refresh token", zap.Error(err))
		}
	}
	a.cookie.clear(w)
	httpserver.WriteJSON(w, http.StatusOK, struct{}{})
}
