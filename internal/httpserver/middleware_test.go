package httpserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestPanicAnswers500AndLogsError(t *testing.T) {
	ts := startServer(t, Options{}, func(r chi.Router) {
		r.Get("/panic", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			panic("database handle is nil")
		})
	})

	resp, body := ts.get(t, "/panic")

	assertStatus(t, resp, http.StatusInternalServerError)
	assertBody(t, body, "internal server error")
	assertHeader(t, resp, "Content-Type", "text/plain; charset=utf-8")

	entries := ts.logs.FilterMessage("panic while serving request").All()
	if len(entries) != 1 {
		t.Fatalf("got %d panic entries, want 1", len(entries))
	}
	entry := entries[0]
	if entry.Level != zapcore.ErrorLevel {
		t.Errorf("panic logged at %v, want error", entry.Level)
	}
	fields := entry.ContextMap()
	if got := fields["panic"]; got != "database handle is nil" {
		t.Errorf("panic field = %v, want the panic value", got)
	}
	if got := fields["request_id"]; got != resp.Header.Get(RequestIDHeader) {
		t.Errorf("request_id field = %v, want %q", got, resp.Header.Get(RequestIDHeader))
	}
	stack, _ := fields["stack"].(string)
	assertContains(t, "stack field", stack, "TestPanicAnswers500AndLogsError")

	access := ts.accessEntries("/panic")
	if len(access) != 1 {
		t.Fatalf("got %d access entries for /panic, want 1", len(access))
	}
	if got := access[0].ContextMap()["status"]; got != int64(500) {
		t.Errorf("access log status = %v, want 500", got)
	}
}

func TestPanicAfterWriteKeepsStatus(t *testing.T) {
	ts := startServer(t, Options{}, func(r chi.Router) {
		r.Get("/partial", func(w http.ResponseWriter, _ *http.Request) {
			WriteText(w, http.StatusAccepted, "partial")
			panic("failed after writing")
		})
	})

	resp, body := ts.get(t, "/partial")

	assertStatus(t, resp, http.StatusAccepted)
	assertBody(t, body, "partial")
	if got := ts.logs.FilterMessage("panic while serving request").Len(); got != 1 {
		t.Errorf("got %d panic entries, want 1", got)
	}
}

func TestErrAbortHandlerNotRecovered(t *testing.T) {
	ts := startServer(t, Options{}, func(r chi.Router) {
		r.Get("/abort", func(http.ResponseWriter, *http.Request) {
			panic(http.ErrAbortHandler)
		})
	})

	resp, err := ts.client.Get(ts.url + "/abort")

	if err == nil {
		resp.Body.Close()
		t.Fatalf("GET /abort returned status %d, want the connection aborted", resp.StatusCode)
	}
	if got := ts.logs.FilterMessage("panic while serving request").Len(); got != 0 {
		t.Errorf("got %d panic entries for http.ErrAbortHandler, want 0", got)
	}
}

func TestRequestIDGenerated(t *testing.T) {
	var seen []string
	ts := startServer(t, Options{}, func(r chi.Router) {
		r.Get("/id", func(w http.ResponseWriter, r *http.Request) {
			seen = append(seen, RequestID(r.Context()))
			LoggerFrom(r.Context()).Info("handler ran")
			okHandler(w, r)
		})
	})

	first, _ := ts.get(t, "/id")
	second, _ := ts.get(t, "/id")

	firstID := first.Header.Get(RequestIDHeader)
	secondID := second.Header.Get(RequestIDHeader)
	if !isValidRequestID(firstID) {
		t.Errorf("generated request id %q is not valid", firstID)
	}
	if firstID == secondID {
		t.Errorf("two requests got the same id %q", firstID)
	}
	if len(seen) != 2 || seen[0] != firstID || seen[1] != secondID {
		t.Errorf("RequestID in handlers = %q, want [%q %q]", seen, firstID, secondID)
	}

	entries := ts.logs.FilterMessage("handler ran").All()
	if len(entries) != 2 {
		t.Fatalf("got %d handler entries, want 2", len(entries))
	}
	if got := entries[0].ContextMap()["request_id"]; got != firstID {
		t.Errorf("LoggerFrom request_id = %v, want %q", got, firstID)
	}
	access := ts.accessEntries("/id")
	if len(access) != 2 {
		t.Fatalf("got %d access entries, want 2", len(access))
	}
	if got := access[1].ContextMap()["request_id"]; got != secondID {
		t.Errorf("access log request_id = %v, want %q", got, secondID)
	}
}

func TestRequestIDIncomingKept(t *testing.T) {
	var seen string
	ts := startServer(t, Options{}, func(r chi.Router) {
		r.Get("/id", func(w http.ResponseWriter, r *http.Request) {
			seen = RequestID(r.Context())
			okHandler(w, r)
		})
	})
	incoming := "Trace_1.2-" + strings.Repeat("a", 54)
	req := ts.newRequest(t, http.MethodGet, "/id", nil)
	req.Header.Set(RequestIDHeader, incoming)

	resp, _ := ts.do(t, req)

	assertHeader(t, resp, RequestIDHeader, incoming)
	if seen != incoming {
		t.Errorf("RequestID in handler = %q, want %q", seen, incoming)
	}
}

func TestRequestIDInvalidReplaced(t *testing.T) {
	ts := startServer(t, Options{}, func(r chi.Router) {
		r.Get("/id", okHandler)
	})
	cases := map[string]string{
		"too long":  strings.Repeat("a", maxRequestIDLength+1),
		"space":     "abc def",
		"slash":     "abc/def",
		"markup":    "<script>",
		"quote":     `abc"def`,
		"non-ascii": "abcé",
		"percent":   "abc%0Adef",
	}
	for name, incoming := range cases {
		t.Run(name, func(t *testing.T) {
			req := ts.newRequest(t, http.MethodGet, "/id", nil)
			req.Header.Set(RequestIDHeader, incoming)

			resp, _ := ts.do(t, req)

			got := resp.Header.Get(RequestIDHeader)
			if got == incoming {
				t.Errorf("invalid request id %q was kept", incoming)
			}
			if !isValidRequestID(got) {
				t.Errorf("replacement request id %q is not valid", got)
			}
		})
	}
}

func TestAccessLogOmitsSecrets(t *testing.T) {
	ts := startServer(t, Options{}, func(r chi.Router) {
		r.Get("/clients/{id}", okHandler)
	})
	req := ts.newRequest(t, http.MethodGet, "/clients/42?token=SECRET&code=SECRET", nil)
	req.Header.Set("Authorization", "Bearer SECRET")
	req.Header.Set("X-Api-Key", "SECRET")
	req.AddCookie(&http.Cookie{Name: "session", Value: "SECRET"})

	resp, _ := ts.do(t, req)
	assertStatus(t, resp, http.StatusOK)

	for _, entry := range ts.logs.All() {
		text := fmt.Sprintf("%s %v", entry.Message, entry.ContextMap())
		if strings.Contains(text, "SECRET") {
			t.Errorf("log entry contains a secret: %s", text)
		}
	}

	access := ts.accessEntries("/clients/42")
	if len(access) != 1 {
		t.Fatalf("got %d access entries for /clients/42, want 1", len(access))
	}
	entry := access[0]
	if entry.Level != zapcore.InfoLevel {
		t.Errorf("access log level = %v, want info", entry.Level)
	}
	fields := entry.ContextMap()
	want := map[string]any{
		"method": "GET",
		"route":  "/clients/{id}",
		"status": int64(200),
		"bytes":  int64(2),
	}
	for key, value := range want {
		if fields[key] != value {
			t.Errorf("access log %s = %v, want %v", key, fields[key], value)
		}
	}
	for _, key := range []string{"duration", "remote_addr", "request_id"} {
		if _, ok := fields[key]; !ok {
			t.Errorf("access log has no %s field", key)
		}
	}
}

func TestAccessLogUnmatchedRoute(t *testing.T) {
	ts := startServer(t, Options{}, nil)

	ts.get(t, "/missing")

	access := ts.accessEntries("/missing")
	if len(access) != 1 {
		t.Fatalf("got %d access entries for /missing, want 1", len(access))
	}
	fields := access[0].ContextMap()
	if fields["route"] != unmatchedRoute {
		t.Errorf("access log route = %v, want %q", fields["route"], unmatchedRoute)
	}
	if fields["status"] != int64(404) {
		t.Errorf("access log status = %v, want 404", fields["status"])
	}
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	ts := startServer(t, Options{}, func(r chi.Router) {
		r.Get("/panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	})
	requests := map[string]*http.Request{
		"healthz":            ts.newRequest(t, http.MethodGet, "/healthz", nil),
		"not found":          ts.newRequest(t, http.MethodGet, "/missing", nil),
		"method not allowed": ts.newRequest(t, http.MethodDelete, "/healthz", nil),
		"panic":              ts.newRequest(t, http.MethodGet, "/panic", nil),
	}
	for name, req := range requests {
		t.Run(name, func(t *testing.T) {
			resp, _ := ts.do(t, req)

			assertHeader(t, resp, "X-Content-Type-Options", "nosniff")
			assertHeader(t, resp, "X-Frame-Options", "DENY")
			assertHeader(t, resp, "Referrer-Policy", "no-referrer")
			assertHeader(t, resp, "Content-Security-Policy",
				"default-src 'none'; frame-ancestors 'none'")
			assertNoHeader(t, resp, "Strict-Transport-Security")
		})
	}
}

func TestBodyLimitByContentLength(t *testing.T) {
	var readErr error
	var read int
	ts := startServer(t, Options{MaxBodyBytes: 1024}, func(r chi.Router) {
		r.Post("/upload", func(w http.ResponseWriter, r *http.Request) {
			var data []byte
			data, readErr = io.ReadAll(r.Body)
			read = len(data)
			WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		})
	})
	req := ts.newRequest(t, http.MethodPost, "/upload", strings.NewReader(strings.Repeat("x", 1025)))

	resp, _ := ts.do(t, req)

	// The handler's own error format reaches the client.
	assertStatus(t, resp, http.StatusBadRequest)
	assertHeader(t, resp, "Content-Type", "application/json")
	if !IsBodyTooLarge(readErr) {
		t.Errorf("read error = %v, want one IsBodyTooLarge accepts", readErr)
	}
	if read != 0 {
		t.Errorf("the handler read %d bytes of a body declared too large", read)
	}
}

func TestBodyLimitWhileStreaming(t *testing.T) {
	var readErr error
	var transferEncoding []string
	ts := startServer(t, Options{MaxBodyBytes: 1024}, func(r chi.Router) {
		r.Post("/upload", func(w http.ResponseWriter, r *http.Request) {
			transferEncoding = r.TransferEncoding
			body, err := io.ReadAll(r.Body)
			readErr = err
			if IsBodyTooLarge(err) {
				WriteText(w, http.StatusRequestEntityTooLarge, "request body too large")
				return
			}
			WriteText(w, http.StatusOK, fmt.Sprint(len(body)))
		})
	})

	// io.MultiReader hides the length, so the client sends the body chunked
	// without a Content-Length.
	small := ts.newRequest(t, http.MethodPost, "/upload",
		io.MultiReader(strings.NewReader(strings.Repeat("x", 1024))))
	resp, body := ts.do(t, small)
	if len(transferEncoding) != 1 || transferEncoding[0] != "chunked" {
		t.Fatalf("request Transfer-Encoding = %q, want chunked", transferEncoding)
	}
	assertStatus(t, resp, http.StatusOK)
	assertBody(t, body, "1024")
	if readErr != nil {
		t.Errorf("reading a body at the limit: %v", readErr)
	}

	large := ts.newRequest(t, http.MethodPost, "/upload",
		io.MultiReader(strings.NewReader(strings.Repeat("x", 4096))))
	resp, body = ts.do(t, large)
	assertStatus(t, resp, http.StatusRequestEntityTooLarge)
	assertBody(t, body, "request body too large")
	if !IsBodyTooLarge(readErr) {
		t.Errorf("read error = %v, want *http.MaxBytesError", readErr)
	}
}

func TestIsBodyTooLarge(t *testing.T) {
	wrapped := fmt.Errorf("decode token request: %w", &http.MaxBytesError{Limit: 10})
	if !IsBodyTooLarge(wrapped) {
		t.Errorf("IsBodyTooLarge(%v) = false, want true", wrapped)
	}
	other := errors.New("unexpected EOF")
	if IsBodyTooLarge(other) {
		t.Errorf("IsBodyTooLarge(%v) = true, want false", other)
	}
}

func TestWriteJSONUnencodableValue(t *testing.T) {
	ts := startServer(t, Options{}, func(r chi.Router) {
		r.Get("/bad", func(w http.ResponseWriter, _ *http.Request) {
			WriteJSON(w, http.StatusOK, map[string]any{"channel": make(chan int)})
		})
	})

	resp, body := ts.get(t, "/bad")

	assertStatus(t, resp, http.StatusInternalServerError)
	assertBody(t, body, "internal server error")
}

// A failure caused by the client leaving is logged at Info; any other at
// Error.
func TestLogFailureLevels(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	log := zap.New(core)
	LogFailure(log, "refresh failed", fmt.Errorf("storage: read: %w", context.Canceled))
	LogFailure(log, "refresh failed", errors.New("storage: disk full"))
	entries := logs.All()
	if len(entries) != 2 {
		t.Fatalf("%d entries, want 2", len(entries))
	}
	if entries[0].Level != zap.InfoLevel || entries[0].Message != "refresh failed: request canceled" {
		t.Errorf("canceled: %v %q, want info", entries[0].Level, entries[0].Message)
	}
	if entries[1].Level != zap.ErrorLevel || entries[1].Message != "refresh failed" {
		t.Errorf("other failure: %v %q, want error", entries[1].Level, entries[1].Message)
	}
}
