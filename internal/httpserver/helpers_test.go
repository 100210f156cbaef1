package httpserver

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// testServer is a Server running on a real loopback listener.
type testServer struct {
	url    string
	addr   string
	client *http.Client
	logs   *observer.ObservedLogs
	cancel context.CancelFunc

	// stopped is closed when Serve has returned serveErr.
	stopped  chan struct{}
	serveErr error
}

// startServer serves New(opts) with an observed logger on 127.0.0.1, after
// mount has added routes. Cleanup stops the server and fails the test if
// Serve does not return nil.
func startServer(t *testing.T, opts Options, mount func(r chi.Router)) *testServer {
	t.Helper()

	core, logs := observer.New(zapcore.DebugLevel)
	opts.Logger = zap.New(core)
	srv := New(opts)
	if mount != nil {
		mount(srv.Router())
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{
		url:     "http://" + ln.Addr().String(),
		addr:    ln.Addr().String(),
		client:  &http.Client{Transport: &http.Transport{}},
		logs:    logs,
		cancel:  cancel,
		stopped: make(chan struct{}),
	}
	go func() {
		ts.serveErr = srv.Serve(ctx, ln)
		close(ts.stopped)
	}()

	t.Cleanup(func() {
		ts.client.CloseIdleConnections()
		cancel()
		<-ts.stopped
		if ts.serveErr != nil {
			t.Errorf("Serve returned %v, want nil", ts.serveErr)
		}
	})
	return ts
}

// do sends req and returns the response with its body read.
func (ts *testServer) do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body of %s %s: %v", req.Method, req.URL, err)
	}
	return resp, string(body)
}

func (ts *testServer) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	return ts.do(t, ts.newRequest(t, http.MethodGet, path, nil))
}

func (ts *testServer) newRequest(t *testing.T, method, path string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, ts.url+path, body)
	if err != nil {
		t.Fatalf("new request %s %s: %v", method, path, err)
	}
	return req
}

// accessEntries returns the access log entries for path.
func (ts *testServer) accessEntries(path string) []observer.LoggedEntry {
	var entries []observer.LoggedEntry
	for _, e := range ts.logs.FilterMessage("http request").All() {
		if e.ContextMap()["path"] == path {
			entries = append(entries, e)
		}
	}
	return entries
}

func okHandler(w http.ResponseWriter, _ *http.Request) {
	WriteText(w, http.StatusOK, "ok")
}

func assertHeader(t *testing.T, resp *http.Response, name, want string) {
	t.Helper()
	if got := resp.Header.Get(name); got != want {
		t.Errorf("header %s = %q, want %q", name, got, want)
	}
}

func assertNoHeader(t *testing.T, resp *http.Response, name string) {
	t.Helper()
	if got, ok := resp.Header[http.CanonicalHeaderKey(name)]; ok {
		t.Errorf("header %s = %q, want absent", name, got)
	}
}

func assertStatus(t *testing.T, resp *http.Response, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Errorf("status = %d, want %d", resp.StatusCode, want)
	}
}

func assertBody(t *testing.T, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
}

func assertContains(t *testing.T, what, s, substr string) {
	t.Helper()
	if !strings.Contains(s, substr) {
		t.Errorf("%s = %q, want it to contain %q", what, s, substr)
	}
}
