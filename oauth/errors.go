package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/ory/fosite"
	"go.uber.org/zap"

	"github.com/averos/averos-auth/internal/httpserver"
	"github.com/averos/averos-auth/storage"
	"github.com/averos/averos-auth/wellknown"
)

// ErrInvalidToken reports an access token that is malformed, badly signed,
// expired or unknown.
var ErrInvalidToken = errors.New("invalid access token")

// ErrSessionRevoked reports an access token that verifies but whose grant
// family, user or client was revoked since, or whose user is now disabled,
// locked or deleted.
var ErrSessionRevoked = errors.New("session revoked")

// oauthError is an error as the token, introspection and revocation
// endpoints send it (RFC 6749 §5.2).
type oauthError struct {
	status      int
	code        string
	description string
	// serverFault is true for server_error and temporarily_unavailable.
	serverFault bool
}

// classify turns err into the response to send. A fosite error keeps its code,
// with the hint as description; any other error is a server fault, reported
// as temporarily_unavailable when storage is unreachable.
func classify(err error) oauthError {
	var rfc *fosite.RFC6749Error
	if errors.As(err, &rfc) && rfc.ErrorField != fosite.ErrServerError.ErrorField &&
		rfc.ErrorField != fosite.ErrTemporarilyUnavailable.ErrorField && rfc.CodeField < 500 {
		description := rfc.HintField
		if description == "" {
			description = rfc.DescriptionField
		}
		return oauthError{status: rfc.CodeField, code: rfc.ErrorField, description: description}
	}
	// Until start-up has loaded the signing keys, no token can be signed:
	// the client may retry, as the well-known endpoints tell it too.
	if errors.Is(err, context.Canceled) || storage.IsUnavailable(err) ||
		errors.Is(err, wellknown.ErrNotInitialized) {
		return oauthError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable",
			description: "The server is temporarily unable to handle the request.", serverFault: true}
	}
	return oauthError{status: http.StatusInternalServerError, code: "server_error",
		description: "The server could not complete the request.", serverFault: true}
}

// writeError sends err as a JSON error response and logs it once: server
// faults at Error with their cause, canceled requests at Info, client
// mistakes at Debug.
func writeError(w http.ResponseWriter, log *zap.Logger, msg string, err error, fields ...zap.Field) {
	e := classify(err)
	if e.serverFault {
		// A canceled request is logged at Info: the client closed the
		// connection, or the server is shutting down.
		httpserver.LogFailure(log, msg, err, fields...)
	} else {
		log.Debug(msg, append(fields, zap.String("error_code", e.code), zap.Error(err))...)
	}
	if e.status == http.StatusUnauthorized {
		// RFC 6749 §5.2 requires the challenge after a failed Authorization
		// header, and RFC 9110 §15.5.2 requires it on every 401.
		w.Header().Set("WWW-Authenticate", `Basic realm="`+realm+`"`)
	}
	writeJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.description})
}

// writeJSON sends v with the headers every token, introspection and error
// response carries.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":"server_error"}`)
	}
	setNoStore(w)
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func setNoStore(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}
