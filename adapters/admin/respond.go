package admin

import (
	"context"
	"errors"
	"io"
	"net/http"

	"go.uber.org/zap"

	"github.com/averos/averos-auth/internal/accounts"
	"github.com/averos/averos-auth/internal/httpserver"
	"github.com/averos/averos-auth/storage"
)

// Statuses the Averos client reacts to beyond the standard ones.
const (
	// statusSessionRevoked makes the client log out without a refresh.
	statusSessionRevoked = 460
	// statusAccountNotVerified makes the client show its "account not
	// verified" dialog.
	statusAccountNotVerified = 471
)

// maxBodyBytes bounds a request body read here, below the server-wide limit.
const maxBodyBytes = 256 << 10

// logger returns the API's logger with the request id of ctx.
func (a *API) logger(ctx context.Context) *zap.Logger {
	if id := httpserver.RequestID(ctx); id != "" {
		return a.log.With(zap.String("request_id", id))
	}
	return a.log
}

// writeError sends err as a plain-text response. A client mistake gets a
// 4xx status and its message. Anything else gets 500 (503 when storage is
// unreachable), and its cause goes only to the log. notFound names the
// entity for a storage.ErrNotFound.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error, notFound string) {
	var (
		input      *inputError
		validation *accounts.ValidationError
		exists     *storage.AlreadyExistsError
		status     int
		msg        string
	)
	switch {
	case errors.As(err, &input):
		status, msg = http.StatusBadRequest, input.msg
	case errors.As(err, &validation):
		status, msg = http.StatusBadRequest, validation.Error()
	case errors.As(err, &exists):
		status, msg = http.StatusConflict, exists.Error()
	case errors.Is(err, storage.ErrNotFound):
		status, msg = http.StatusNotFound, notFound+" not found"
	case httpserver.IsBodyTooLarge(err):
		status, msg = http.StatusRequestEntityTooLarge, "request body too large"
	default:
		log := a.logger(r.Context())
		if storage.IsUnavailable(err) {
			log.Error("storage unavailable", zap.String("path", r.URL.Path), zap.Error(err))
			httpserver.WriteText(w, http.StatusServiceUnavailable, "service temporarily unavailable, retry later")
			return
		}
		httpserver.LogFailure(log, "admin request failed", err, zap.String("method", r.Method),
			zap.String("path", r.URL.Path))
		httpserver.WriteText(w, http.StatusInternalServerError, "internal server error")
		return
	}
	a.logger(r.Context()).Debug("admin request rejected", zap.Int("status", status), zap.String("reason", msg))
	httpserver.WriteText(w, status, msg)
}

// readBody returns the request body, at most maxBodyBytes of it.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxBodyBytes {
		return nil, &http.MaxBytesError{Limit: maxBodyBytes}
	}
	return body, nil
}

// readObject reads the request body as one JSON object.
func readObject(r *http.Request) ([]member, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	return decodeObject(body, "request body")
}

// listResponse is the body of every list endpoint.
type listResponse struct {
	ReturnedEntities any `json:"returnedEntities"`
}
