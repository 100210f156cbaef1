package httpserver

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// httpMetrics holds the request metrics and the handler that serves their
// registry.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	handler  http.Handler
}

func newDefaultRegistry() *prometheus.Registry {
	registry := prometheus.NewRegistry()
	registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return registry
}

// newHTTPMetrics registers the request metrics in registry. When a Server
// built earlier registered them in the same registry, it reuses those.
func newHTTPMetrics(registry *prometheus.Registry) *httpMetrics {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_requests_total",
		Help: "HTTP requests served, by method, route pattern and status code.",
	}, []string{"method", "route", "status"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "http_request_duration_seconds",
		Help:    "Time to serve an HTTP request in seconds, by method and route pattern.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method", "route"})

	return &httpMetrics{
		requests: registerOrReuse(registry, requests),
		duration: registerOrReuse(registry, duration),
		handler:  promhttp.HandlerFor(registry, promhttp.HandlerOpts{}),
	}
}

// registerOrReuse registers c in registry, or returns the collector already
// registered under the same description. It panics on any other error.
func registerOrReuse[C prometheus.Collector](registry *prometheus.Registry, c C) C {
	err := registry.Register(c)
	if err == nil {
		return c
	}
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic(err)
}

// middleware counts each request and observes its duration once the handler
// returns or panics.
func (m *httpMetrics) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := recorderFor(w)
		completed := false
		defer func() {
			method := methodLabel(r.Method)
			route := routePattern(r)
			status := strconv.Itoa(rec.finalStatus(completed))
			m.requests.WithLabelValues(method, route, status).Inc()
			m.duration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(rec, r)
		completed = true
	})
}

// methodLabel maps the method to itself when it is one of the standard
// methods and to "other" otherwise, so clients cannot create label values.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	default:
		return "other"
	}
}
