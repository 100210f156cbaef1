package httpserver

import (
	"net/http"
	"strings"
)

const (
	corsAllowMethods = "GET, POST, PUT, DELETE, OPTIONS"
	// inline-loading and no-http-intercept-loading are custom request headers
	// that Averos web applications send with their API calls.
	corsAllowHeaders = "Authorization, Content-Type, inline-loading, no-http-intercept-loading"
	corsMaxAge       = "600"
)

// cors sets the CORS response headers for a fixed set of origins. An origin matches only by
// exact string equality, so look-alikes such as a longer host name or
// another port get no CORS headers.
type cors struct {
	allowed map[string]struct{}
}

func newCORS(origins []string) *cors {
	allowed := make(map[string]struct{}, len(origins))
	for _, origin := range origins {
		allowed[origin] = struct{}{}
	}
	return &cors{allowed: allowed}
}

func (c *cors) isAllowed(origin string) bool {
	if origin == "" {
		return false
	}
	_, ok := c.allowed[origin]
	return ok
}

// middleware sets Vary: Origin on every response, sets the CORS response
// headers for an allowed origin and responds to every preflight request
// itself, with 204 for an allowed origin and 403 for any other.
func (c *cors) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Add("Vary", "Origin")

		origin := r.Header.Get("Origin")
		allowed := c.isAllowed(origin)
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
		}

		if !isPreflight(r) {
			next.ServeHTTP(w, r)
			return
		}
		if !allowed {
			WriteText(w, http.StatusForbidden, "origin not allowed")
			return
		}
		h.Set("Access-Control-Allow-Methods", corsAllowMethods)
		h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
		h.Set("Access-Control-Max-Age", corsMaxAge)
		w.WriteHeader(http.StatusNoContent)
	})
}

// isPreflight reports whether r is a CORS preflight request: OPTIONS with an
// Access-Control-Request-Method header.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions &&
		strings.TrimSpace(r.Header.Get("Access-Control-Request-Method")) != ""
}
