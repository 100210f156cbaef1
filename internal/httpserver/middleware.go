package httpserver

import (
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"
)

// unmatchedRoute is the route label of a request that matched no route
// pattern: a 404, a 405, or a request that a middleware responds to before
// routing, such as a CORS preflight or a 413 by Content-Length.
const unmatchedRoute = "unmatched"

// recoverPanics turns a panic in a later handler into a 500 response and an
// Error log entry. It re-panics http.ErrAbortHandler, which net/http uses to
// abort a response without logging.
func recoverPanics(logger *zap.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := recorderFor(w)
			defer func() {
				p := recover()
				if p == nil {
					return
				}
				if err, ok := p.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(p)
				}

				// assignRequestID runs inside this middleware, so the id is
				// only visible in the response header.
				logger.Error("panic while serving request",
					zap.Any("panic", p),
					zap.Stack("stack"),
					zap.String("request_id", rec.Header().Get(RequestIDHeader)),
					zap.String("method", r.Method),
					zap.String("path", r.URL.Path))

				if rec.wroteHeader {
					// The status line is already sent, so the client keeps
					// it and net/http ends the response when the handler
					// returns.
					return
				}
				rec.Header().Del("Content-Length")
				WriteText(rec, http.StatusInternalServerError, "internal server error")
			}()
			next.ServeHTTP(rec, r)
		})
	}
}

// logAccess writes one Info entry per request. It logs the route pattern and
// the path but never the query string, headers, cookies or bodies, because
// tokens and codes travel in them. remote_addr is the TCP peer, which is the
// proxy when one runs in front of this server.
func logAccess(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := recorderFor(w)
		completed := false
		defer func() {
			LoggerFrom(r.Context()).Info("http request",
				zap.String("method", r.Method),
				zap.String("route", routePattern(r)),
				zap.String("path", r.URL.Path),
				zap.Int("status", rec.finalStatus(completed)),
				zap.Int64("bytes", rec.bytes),
				zap.Duration("duration", time.Since(start)),
				zap.String("remote_addr", r.RemoteAddr))
		}()
		next.ServeHTTP(rec, r)
		completed = true
	})
}

// routePattern returns the chi route pattern that matched r, or
// unmatchedRoute. It must run before the chi router returns, because the
// router recycles its routing context afterwards.
func routePattern(r *http.Request) string {
	if pattern := chi.RouteContext(r.Context()).RoutePattern(); pattern != "" {
		return pattern
	}
	return unmatchedRoute
}

// setSecurityHeaders adds the response headers for a server that serves
// JSON and redirects only. Handlers may overwrite them, for example a page
// that needs its own Content-Security-Policy.
func setSecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		// Browsers ignore Strict-Transport-Security over plain HTTP, and a
		// TLS-terminating proxy in front of this server sets its own.
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// limitBody caps the body of every request at maxBytes, so a handler's read
// fails with *http.MaxBytesError (see IsBodyTooLarge) once it passes the cap.
// The handler writes the error response, because each API has its own
// format: 400 invalid_request in JSON on the OAuth endpoints (RFC 6749 §5.2),
// 413 on the others. A declared Content-Length over the cap fails the first
// read.
func limitBody(maxBytes int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > maxBytes {
				r.Body = tooLargeBody{limit: maxBytes}
				// The body stays unread, so the connection cannot be reused.
				w.Header().Set("Connection", "close")
			} else {
				r.Body = http.MaxBytesReader(w, r.Body, maxBytes)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// tooLargeBody replaces a body whose declared length exceeds the cap: every
// read fails as a read past the cap would.
type tooLargeBody struct{ limit int64 }

func (b tooLargeBody) Read([]byte) (int, error) { return 0, &http.MaxBytesError{Limit: b.limit} }
func (b tooLargeBody) Close() error             { return nil }
