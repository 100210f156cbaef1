package httpserver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"go.uber.org/zap"
)

// WriteText writes msg as a text/plain response with the given status.
func WriteText(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg))
}

// WriteJSON writes v encoded as JSON with the given status. If v cannot be
// encoded, it writes a plain-text 500 instead, because nothing is sent
// before encoding succeeds.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		WriteText(w, http.StatusInternalServerError, "internal server error")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// IsBodyTooLarge reports whether err comes from reading a request body past
// the limit that the body limit middleware sets, or one that declared a
// longer Content-Length. A handler responds to it in its API's error format.
func IsBodyTooLarge(err error) bool {
	var maxBytesErr *http.MaxBytesError
	return errors.As(err, &maxBytesErr)
}

// LogFailure logs a failed request at Error with err, or at Info when err
// comes from the request's context being canceled: the client closed the
// connection, or the server is shutting down, and no fault needs attention.
func LogFailure(log *zap.Logger, msg string, err error, fields ...zap.Field) {
	fields = append(fields, zap.Error(err))
	if errors.Is(err, context.Canceled) {
		log.Info(msg+": request canceled", fields...)
		return
	}
	log.Error(msg, fields...)
}
