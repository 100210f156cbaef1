package httpserver

import (
	"net/http"
	"slices"
	"testing"

	"github.com/go-chi/chi/v5"
)

const allowedOrigin = "https://app.example.com"

func startCORSServer(t *testing.T) *testServer {
	t.Helper()
	return startServer(t, Options{AllowedOrigins: []string{allowedOrigin}}, func(r chi.Router) {
		r.Post("/oauth2/token", okHandler)
	})
}

func assertVaryOrigin(t *testing.T, resp *http.Response) {
	t.Helper()
	if !slices.Contains(resp.Header.Values("Vary"), "Origin") {
		t.Errorf("Vary = %q, want it to contain Origin", resp.Header.Values("Vary"))
	}
}

func TestCORSAllowedOrigin(t *testing.T) {
	ts := startCORSServer(t)
	req := ts.newRequest(t, http.MethodPost, "/oauth2/token", nil)
	req.Header.Set("Origin", allowedOrigin)

	resp, body := ts.do(t, req)

	assertStatus(t, resp, http.StatusOK)
	assertBody(t, body, "ok")
	assertHeader(t, resp, "Access-Control-Allow-Origin", allowedOrigin)
	assertHeader(t, resp, "Access-Control-Allow-Credentials", "true")
	assertVaryOrigin(t, resp)
}

func TestCORSOtherOriginsGetNoHeaders(t *testing.T) {
	ts := startCORSServer(t)
	origins := map[string]string{
		"longer host":   "https://app.example.com.evil.test",
		"other port":    "https://app.example.com:444",
		"default port":  "https://app.example.com:443",
		"other scheme":  "http://app.example.com",
		"upper case":    "https://APP.example.com",
		"trailing dot":  "https://app.example.com.",
		"trailing path": "https://app.example.com/",
		"subdomain":     "https://evil.app.example.com",
		"null":          "null",
		"wildcard":      "*",
		"none":          "",
	}
	for name, origin := range origins {
		t.Run(name, func(t *testing.T) {
			req := ts.newRequest(t, http.MethodPost, "/oauth2/token", nil)
			if origin != "" {
				req.Header.Set("Origin", origin)
			}

			resp, _ := ts.do(t, req)

			assertStatus(t, resp, http.StatusOK)
			assertNoHeader(t, resp, "Access-Control-Allow-Origin")
			assertNoHeader(t, resp, "Access-Control-Allow-Credentials")
			assertVaryOrigin(t, resp)
		})
	}
}

func TestCORSPreflightAllowedOrigin(t *testing.T) {
	ts := startCORSServer(t)
	req := ts.newRequest(t, http.MethodOptions, "/oauth2/token", nil)
	req.Header.Set("Origin", allowedOrigin)
	req.Header.Set("Access-Control-Request-Method", http.MethodPost)
	req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")

	resp, body := ts.do(t, req)

	assertStatus(t, resp, http.StatusNoContent)
	assertBody(t, body, "")
	assertHeader(t, resp, "Access-Control-Allow-Origin", allowedOrigin)
	assertHeader(t, resp, "Access-Control-Allow-Credentials", "true")
	assertHeader(t, resp, "Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
	assertHeader(t, resp, "Access-Control-Allow-Headers",
		"Authorization, Content-Type, inline-loading, no-http-intercept-loading")
	assertHeader(t, resp, "Access-Control-Max-Age", "600")
	assertVaryOrigin(t, resp)
}

func TestCORSPreflightOtherOrigin(t *testing.T) {
	ts := startCORSServer(t)
	origins := map[string]string{
		"look-alike": "https://app.example.com.evil.test",
		"other port": "https://app.example.com:444",
		"none":       "",
	}
	for name, origin := range origins {
		t.Run(name, func(t *testing.T) {
			req := ts.newRequest(t, http.MethodOptions, "/oauth2/token", nil)
			if origin != "" {
				req.Header.Set("Origin", origin)
			}
			req.Header.Set("Access-Control-Request-Method", http.MethodPost)

			resp, body := ts.do(t, req)

			assertStatus(t, resp, http.StatusForbidden)
			assertBody(t, body, "origin not allowed")
			assertHeader(t, resp, "Content-Type", "text/plain; charset=utf-8")
			for _, name := range []string{
				"Access-Control-Allow-Origin",
				"Access-Control-Allow-Credentials",
				"Access-Control-Allow-Methods",
				"Access-Control-Allow-Headers",
				"Access-Control-Max-Age",
			} {
				assertNoHeader(t, resp, name)
			}
			assertVaryOrigin(t, resp)
		})
	}
}

func TestCORSPlainOptionsReachesRouter(t *testing.T) {
	ts := startCORSServer(t)
	req := ts.newRequest(t, http.MethodOptions, "/oauth2/token", nil)
	req.Header.Set("Origin", allowedOrigin)

	resp, body := ts.do(t, req)

	assertStatus(t, resp, http.StatusMethodNotAllowed)
	assertBody(t, body, "method not allowed")
	assertHeader(t, resp, "Access-Control-Allow-Origin", allowedOrigin)
}
