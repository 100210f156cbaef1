package httpserver

import (
	"context"
	"crypto/rand"
	"net/http"

	"go.uber.org/zap"
)

// RequestIDHeader is the request and response header that carries the
// request id.
const RequestIDHeader = "X-Request-Id"

const maxRequestIDLength = 64

type contextKey int

const (
	requestIDKey contextKey = iota
	loggerKey
)

// RequestID returns the id of the request that ctx belongs to, or "" when
// ctx did not come from a request served by this package.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// LoggerFrom returns the request-scoped logger, which adds the request_id
// field to every entry. Outside a request it returns zap.L().
func LoggerFrom(ctx context.Context) *zap.Logger {
	if logger, ok := ctx.Value(loggerKey).(*zap.Logger); ok {
		return logger
	}
	return zap.L()
}

// assignRequestID stores a request id and a logger that carries it in the
// request context and sends the id in the response header. It keeps an
// incoming X-Request-Id only if it is valid, so a client cannot inject
// arbitrary text into logs.
func assignRequestID(logger *zap.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.Header.Get(RequestIDHeader)
			if !isValidRequestID(id) {
				id = newRequestID()
			}
			w.Header().Set(RequestIDHeader, id)

			ctx := context.WithValue(r.Context(), requestIDKey, id)
			ctx = context.WithValue(ctx, loggerKey, logger.With(zap.String("request_id", id)))
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// isValidRequestID reports whether id is 1 to 64 characters of
// [A-Za-z0-9._-].
func isValidRequestID(id string) bool {
	if len(id) == 0 || len(id) > maxRequestIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// newRequestID returns 128 random bits as 26 base32 characters
// (crypto/rand.Text), which isValidRequestID accepts.
func newRequestID() string {
	return rand.Text()
}
