package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/averos/averos-auth/internal/httpserver"
	"github.com/averos/averos-auth/storage"
)

// ErrInvalidToken reports a bearer token that is missing its mark: malformed,
// expired, revoked or unknown. The validator passed to NewUserinfoHandler
// returns it (wrapped) for every token the client must replace.
var ErrInvalidToken = errors.New("invalid access token")

// AccessToken is the part of a validated access token that userinfo needs.
type AccessToken struct {
	Subject string
	Scopes  []string
}

// ValidateFunc verifies a bearer access token. It returns an error wrapping
// ErrInvalidToken for a token the client must replace; any other error is a
// server fault.
type ValidateFunc func(ctx context.Context, raw string) (AccessToken, error)

// UserinfoHandler serves the userinfo endpoint (OpenID Connect Core §5.3).
type UserinfoHandler struct {
	validate ValidateFunc
	users    *storage.Users
	realm    string
	log      *zap.Logger
}

// NewUserinfoHandler returns the userinfo handler. realm names the protection
// space in WWW-Authenticate challenges.
func NewUserinfoHandler(validate ValidateFunc, users *storage.Users, realm string,
	log *zap.Logger) *UserinfoHandler {
	if log == nil {
		log = zap.NewNop()
	}
	return &UserinfoHandler{validate: validate, users: users, realm: realm, log: log}
}

// ServeHTTP responds to GET and POST with the subject and the claims its scopes
// allow. The token comes from the Authorization header, or for POST from the
// access_token form parameter (RFC 6750 §2.2).
func (h *UserinfoHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := httpserver.LoggerFrom(r.Context())
	raw, status := bearerToken(r)
	switch status {
	case tokenMissing:
		h.challenge(w, http.StatusUnauthorized, "", "")
		return
	case tokenMalformed:
		h.challenge(w, http.StatusBadRequest, "invalid_request",
			"The access token must be sent once, in the Authorization header or the form body.")
		return
	case bodyTooLarge:
		h.challenge(w, http.StatusBadRequest, "invalid_request", "The request body is too large.")
		return
	}

	at, err := h.validate(r.Context(), raw)
	if errors.Is(err, ErrInvalidToken) {
		log.Debug("userinfo: invalid access token", zap.Error(err))
		h.challenge(w, http.StatusUnauthorized, "invalid_token",
			"The access token is invalid, expired or revoked.")
		return
	}
	if err != nil {
		h.serverError(w, log, err)
		return
	}
	if !slices.Contains(at.Scopes, ScopeOpenID) {
		h.challenge(w, http.StatusForbidden, "insufficient_scope",
			"The access token does not grant the openid scope.")
		return
	}

	user, err := h.users.Get(r.Context(), at.Subject)
	if errors.Is(err, storage.ErrNotFound) {
		h.challenge(w, http.StatusUnauthorized, "invalid_token",
			"The access token is invalid, expired or revoked.")
		return
	}
	if err != nil {
		h.serverError(w, log, err)
		return
	}

	claims := UserClaims(user, at.Scopes)
	claims["sub"] = user.ID
	writeJSON(w, http.StatusOK, claims)
}

type tokenStatus int

const (
	tokenFound tokenStatus = iota
	tokenMissing
	tokenMalformed
	bodyTooLarge
)

// bearerToken extracts the access token from the Authorization header or a
// form-encoded POST body. Sending it in both places is malformed.
func bearerToken(r *http.Request) (string, tokenStatus) {
	var fromHeader, fromBody string
	if len(r.Header.Values("Authorization")) > 1 {
		return "", tokenMalformed
	}
	// Credentials of another scheme count as no token: the challenge then
	// carries no error code (RFC 6750 §3.1).
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, value, _ := strings.Cut(auth, " ")
		if strings.EqualFold(scheme, "Bearer") {
			if strings.TrimSpace(value) == "" {
				return "", tokenMalformed
			}
			fromHeader = strings.TrimSpace(value)
		}
	}
	if r.Method == http.MethodPost {
		mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mediaType == "application/x-www-form-urlencoded" {
			form, err := readForm(r)
			if httpserver.IsBodyTooLarge(err) {
				return "", bodyTooLarge
			}
			if err != nil || len(form["access_token"]) > 1 {
				return "", tokenMalformed
			}
			fromBody = form.Get("access_token")
		}
	}
	switch {
	case fromHeader != "" && fromBody != "":
		return "", tokenMalformed
	case fromHeader != "":
		return fromHeader, tokenFound
	case fromBody != "":
		return fromBody, tokenFound
	default:
		return "", tokenMissing
	}
}

func readForm(r *http.Request) (url.Values, error) {
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	return r.PostForm, nil
}

// challenge writes a Bearer challenge (RFC 6750 §3). Without an error code
// (no token was sent) the challenge names only the realm.
func (h *UserinfoHandler) challenge(w http.ResponseWriter, status int, code, description string) {
	value := `Bearer realm="` + h.realm + `"`
	if code != "" {
		value += `, error="` + code + `", error_description="` + description + `"`
		if code == "insufficient_scope" {
			value += `, scope="` + ScopeOpenID + `"`
		}
	}
	w.Header().Set("WWW-Authenticate", value)
	if code == "" {
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

func (h *UserinfoHandler) serverError(w http.ResponseWriter, log *zap.Logger, err error) {
	status, code := http.StatusInternalServerError, "server_error"
	if storage.IsUnavailable(err) {
		status, code = http.StatusServiceUnavailable, "temporarily_unavailable"
	}
	log.Error("userinfo failed", zap.Error(err))
	writeJSON(w, status, map[string]string{"error": code,
		"error_description": "The server could not complete the request."})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":"server_error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
