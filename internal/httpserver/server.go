package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Defaults applied by New to zero or negative Options fields.
const (
	DefaultMaxBodyBytes      int64 = 1 << 20
	DefaultReadHeaderTimeout       = 10 * time.Second
	DefaultReadTimeout             = 30 * time.Second
	DefaultShutdownTimeout         = 15 * time.Second
)

const (
	idleTimeout    = 120 * time.Second
	maxHeaderBytes = 64 << 10
)

// Options configures a Server.
type Options struct {
	// Logger receives the access log and server errors. Nil discards them.
	Logger *zap.Logger

	// MaxBodyBytes is the maximum request body size in bytes. Zero or less
	// means DefaultMaxBodyBytes.
	MaxBodyBytes int64

	// AllowedOrigins lists the exact origins ("https://app.example.com")
	// that receive CORS headers.
	AllowedOrigins []string

	// ReadHeaderTimeout bounds the time to read request headers. Zero or less
	// means DefaultReadHeaderTimeout.
	ReadHeaderTimeout time.Duration

	// ReadTimeout bounds the time to read a whole request, body included, so
	// a client cannot hold a connection by sending its body slowly. Zero or
	// less means DefaultReadTimeout; one not above ReadHeaderTimeout becomes
	// ReadHeaderTimeout plus DefaultReadTimeout.
	ReadTimeout time.Duration

	// ShutdownTimeout bounds how long Serve waits for in-flight requests after
	// its context is canceled. Zero or less means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration

	// Ready reports whether the server can take traffic, and a nil error
	// means ready. A nil Ready function always reports ready.
	Ready func(ctx context.Context) error

	// MetricsEnabled adds the metrics middleware and the GET /metrics route.
	MetricsEnabled bool

	// Registry receives the HTTP metrics and is served on /metrics. Nil means
	// a new registry with the Go runtime and process collectors. A registry
	// passed in gets only the HTTP metrics, so the caller registers any other
	// collectors it wants.
	Registry *prometheus.Registry
}

// Server is the HTTP server with its router and middleware chain.
type Server struct {
	logger            *zap.Logger
	router            *chi.Mux
	readHeaderTimeout time.Duration
	readTimeout       time.Duration
	shutdownTimeout   time.Duration
}

// New builds a Server with the middleware chain and the operational routes
// installed. It panics if the HTTP metrics cannot be registered in
// opts.Registry, which happens only when another collector already uses
// their names with different labels.
func New(opts Options) *Server {
	logger := opts.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	maxBodyBytes := opts.MaxBodyBytes
	if maxBodyBytes <= 0 {
		maxBodyBytes = DefaultMaxBodyBytes
	}
	readHeaderTimeout := opts.ReadHeaderTimeout
	if readHeaderTimeout <= 0 {
		readHeaderTimeout = DefaultReadHeaderTimeout
	}
	readTimeout := opts.ReadTimeout
	if readTimeout <= 0 {
		readTimeout = DefaultReadTimeout
	}
	// The read timeout covers the headers too, so it leaves time for the
	// body after the slowest headers allowed.
	if readTimeout <= readHeaderTimeout {
		readTimeout = readHeaderTimeout + DefaultReadTimeout
	}
	shutdownTimeout := opts.ShutdownTimeout
	if shutdownTimeout <= 0 {
		shutdownTimeout = DefaultShutdownTimeout
	}

	s := &Server{
		logger:            logger,
		router:            chi.NewRouter(),
		readHeaderTimeout: readHeaderTimeout,
		readTimeout:       readTimeout,
		shutdownTimeout:   shutdownTimeout,
	}

	var metrics *httpMetrics
	if opts.MetricsEnabled {
		registry := opts.Registry
		if registry == nil {
			registry = newDefaultRegistry()
		}
		metrics = newHTTPMetrics(registry)
	}

	r := s.router
	r.Use(recoverPanics(logger))
	r.Use(assignRequestID(logger))
	r.Use(logAccess)
	if metrics != nil {
		r.Use(metrics.middleware)
	}
	r.Use(setSecurityHeaders)
	r.Use(newCORS(opts.AllowedOrigins).middleware)
	r.Use(limitBody(maxBodyBytes))

	r.NotFound(func(w http.ResponseWriter, _ *http.Request) {
		WriteText(w, http.StatusNotFound, "not found")
	})
	r.MethodNotAllowed(s.methodNotAllowed)

	r.Get("/healthz", serveHealth)
	r.Get("/readyz", newReadiness(opts.Ready).ServeHTTP)
	if metrics != nil {
		r.Method(http.MethodGet, "/metrics", metrics.handler)
	}
	return s
}

// routeMethods are the methods that methodNotAllowed tries on a path.
var routeMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions,
}

// methodNotAllowed writes a 405 response with the Allow header that
// RFC 9110 §15.5.6 requires. A custom chi handler does not receive the
// methods chi found, so the path is matched again for each method.
func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	path := r.URL.RawPath
	if path == "" {
		path = r.URL.Path
	}
	var allowed []string
	for _, m := range routeMethods {
		if s.router.Match(chi.NewRouteContext(), m, path) {
			allowed = append(allowed, m)
		}
	}
	// A path that a middleware rewrites before routing matches no method
	// here. The header is then left out, because an empty Allow would claim
	// that the resource allows no method.
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
	}
	WriteText(w, http.StatusMethodNotAllowed, "method not allowed")
}

// Router returns the router on which other packages mount their routes, for
// example r.Post("/oauth2/token", h). The middleware chain is already
// installed, so calling Use on it panics.
func (s *Server) Router() chi.Router {
	return s.router
}

// Handler returns the router with the full middleware chain.
func (s *Server) Handler() http.Handler {
	return s.router
}

// Serve serves HTTP on ln until ctx is done, then shuts down gracefully: it
// stops accepting connections and waits up to the shutdown timeout for
// in-flight requests before closing the connections that remain. It returns
// nil after a clean stop, an error wrapping context.DeadlineExceeded when
// requests were still running at the timeout, and the accept error if the
// listener fails first. Serve closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.router,
		ReadHeaderTimeout: s.readHeaderTimeout,
		ReadTimeout:       s.readTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		// Connection-level errors such as failed TLS handshakes come from
		// clients and scanners, so they go to Debug.
		ErrorLog: newDebugStdLog(s.logger),
	}

	addr := ln.Addr().String()
	serveErr := make(chan error, 1)
	go func() {
		serveErr <- srv.Serve(ln)
	}()
	s.logger.Info("http server started", zap.String("addr", addr))

	select {
	case err := <-serveErr:
		s.logger.Error("http server failed", zap.String("addr", addr), zap.Error(err))
		return fmt.Errorf("serve http on %s: %w", addr, err)
	case <-ctx.Done():
	}

	s.logger.Info("http server shutting down", zap.String("addr", addr),
		zap.Duration("shutdown_timeout", s.shutdownTimeout))
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.shutdownTimeout)
	defer cancel()

	err := srv.Shutdown(shutdownCtx)
	if err != nil {
		s.logger.Warn("graceful shutdown timed out, closing remaining connections",
			zap.String("addr", addr), zap.Error(err))
		if closeErr := srv.Close(); closeErr != nil {
			err = errors.Join(err, closeErr)
		}
	}
	// srv.Serve returns http.ErrServerClosed as soon as Shutdown or Close
	// starts, so this receive does not block.
	<-serveErr

	if err != nil {
		return fmt.Errorf("shut down http server on %s after %s: %w", addr, s.shutdownTimeout, err)
	}
	s.logger.Info("http server stopped", zap.String("addr", addr))
	return nil
}

// newDebugStdLog returns a standard library logger that writes to logger at
// Debug level.
func newDebugStdLog(logger *zap.Logger) *log.Logger {
	stdLog, err := zap.NewStdLogAt(logger.Named("net/http"), zap.DebugLevel)
	if err != nil {
		// NewStdLogAt fails only for an invalid level constant.
		panic(err)
	}
	return stdLog
}
