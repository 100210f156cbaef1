package httpserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestHealthzReturnsOK(t *testing.T) {
	ts := startServer(t, Options{}, nil)

	resp, body := ts.get(t, "/healthz")

	assertStatus(t, resp, http.StatusOK)
	assertBody(t, body, `{"status":"ok"}`+"\n")
	assertHeader(t, resp, "Content-Type", "application/json")
}

func TestReadyzFollowsReadyFunc(t *testing.T) {
	var readyErr atomic.Pointer[error]
	ready := func(ctx context.Context) error {
		if _, ok := ctx.Deadline(); !ok {
			return errors.New("readiness check called without a deadline")
		}
		if p := readyErr.Load(); p != nil {
			return *p
		}
		return nil
	}
	ts := startServer(t, Options{Ready: ready}, nil)

	resp, body := ts.get(t, "/readyz")
	assertStatus(t, resp, http.StatusOK)
	assertBody(t, body, `{"status":"ready"}`+"\n")

	cause := errors.New("mongodb at db.internal:27017 unreachable")
	readyErr.Store(&cause)
	resp, body = ts.get(t, "/readyz")
	assertStatus(t, resp, http.StatusServiceUnavailable)
	assertBody(t, body, `{"status":"not ready"}`+"\n")

	warnings := ts.logs.FilterMessage("readiness check failed").All()
	if len(warnings) != 1 {
		t.Fatalf("got %d readiness warnings, want 1", len(warnings))
	}
	if warnings[0].Level != zapcore.WarnLevel {
		t.Errorf("readiness failure logged at %v, want warn", warnings[0].Level)
	}
	if got := warnings[0].ContextMap()["error"]; got != cause.Error() {
		t.Errorf("logged error = %v, want %q", got, cause.Error())
	}

	readyErr.Store(nil)
	resp, body = ts.get(t, "/readyz")
	assertStatus(t, resp, http.StatusOK)
	assertBody(t, body, `{"status":"ready"}`+"\n")
}

func TestReadyzNilReadyIsReady(t *testing.T) {
	ts := startServer(t, Options{}, nil)

	resp, _ := ts.get(t, "/readyz")

	assertStatus(t, resp, http.StatusOK)
}

func TestReadinessLogRateLimited(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	logger := zap.New(core)
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	rd := newReadiness(nil)
	rd.now = func() time.Time { return now }
	cause := errors.New("database unreachable")

	for range 5 {
		rd.record(logger, cause)
	}
	if got := logs.FilterMessage("readiness check failed").Len(); got != 1 {
		t.Fatalf("after 5 failures within the interval: %d warnings, want 1", got)
	}

	now = now.Add(notReadyLogInterval)
	rd.record(logger, cause)
	warnings := logs.FilterMessage("readiness check failed").All()
	if len(warnings) != 2 {
		t.Fatalf("after the interval: %d warnings, want 2", len(warnings))
	}
	if got := warnings[1].ContextMap()["failures_not_logged"]; got != int64(4) {
		t.Errorf("failures_not_logged = %v, want 4", got)
	}

	rd.record(logger, nil)
	if got := logs.FilterMessage("readiness check passed again").Len(); got != 1 {
		t.Errorf("recovery entries = %d, want 1", got)
	}
	rd.record(logger, cause)
	if got := logs.FilterMessage("readiness check failed").Len(); got != 3 {
		t.Errorf("failure after recovery: %d warnings, want 3", got)
	}
}

func TestUnknownRouteAndMethodPlainText(t *testing.T) {
	ts := startServer(t, Options{}, nil)

	resp, body := ts.get(t, "/no/such/route")
	assertStatus(t, resp, http.StatusNotFound)
	assertBody(t, body, "not found")
	assertHeader(t, resp, "Content-Type", "text/plain; charset=utf-8")

	resp, body = ts.do(t, ts.newRequest(t, http.MethodPost, "/healthz", nil))
	assertStatus(t, resp, http.StatusMethodNotAllowed)
	assertBody(t, body, "method not allowed")
	assertHeader(t, resp, "Content-Type", "text/plain; charset=utf-8")
}

func TestMethodNotAllowedListsAllow(t *testing.T) {
	ts := startServer(t, Options{}, func(r chi.Router) {
		r.Post("/things/{id}", func(http.ResponseWriter, *http.Request) {})
		r.Delete("/things/{id}", func(http.ResponseWriter, *http.Request) {})
		r.Route("/sub", func(r chi.Router) {
			r.Put("/item", func(http.ResponseWriter, *http.Request) {})
		})
	})

	resp, _ := ts.get(t, "/things/7")
	assertStatus(t, resp, http.StatusMethodNotAllowed)
	assertHeader(t, resp, "Allow", "POST, DELETE")

	resp, _ = ts.get(t, "/sub/item")
	assertStatus(t, resp, http.StatusMethodNotAllowed)
	assertHeader(t, resp, "Allow", "PUT")

	resp, _ = ts.do(t, ts.newRequest(t, http.MethodPost, "/healthz", nil))
	assertStatus(t, resp, http.StatusMethodNotAllowed)
	assertHeader(t, resp, "Allow", "GET")
}

func TestServeDrainsInFlightRequest(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	var releaseOnce sync.Once
	releaseHandler := func() { releaseOnce.Do(func() { close(release) }) }
	ts := startServer(t, Options{}, func(r chi.Router) {
		r.Get("/slow", func(w http.ResponseWriter, _ *http.Request) {
			close(started)
			<-release
			WriteText(w, http.StatusOK, "done")
		})
	})
	// Cleanups run last-in first-out, so a failed test releases the handler
	// before the server stops.
	t.Cleanup(releaseHandler)

	type result struct {
		status int
		body   string
		err    error
	}
	results := make(chan result, 1)
	go func() {
		resp, err := ts.client.Get(ts.url + "/slow")
		if err != nil {
			results <- result{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		results <- result{status: resp.StatusCode, body: string(body), err: err}
	}()
	<-started

	ts.cancel()
	waitUntilListenerClosed(t, ts.addr)
	select {
	case <-ts.stopped:
		t.Fatalf("Serve returned %v while a request was in flight", ts.serveErr)
	default:
	}
	releaseHandler()

	res := <-results
	if res.err != nil {
		t.Fatalf("in-flight request failed: %v", res.err)
	}
	if res.status != http.StatusOK {
		t.Errorf("in-flight request status = %d, want 200", res.status)
	}
	if res.body != "done" {
		t.Errorf("in-flight request body = %q, want %q", res.body, "done")
	}
	<-ts.stopped
	if ts.serveErr != nil {
		t.Errorf("Serve returned %v, want nil", ts.serveErr)
	}
}

// waitUntilListenerClosed polls addr until a connection is refused, which
// shows that shutdown has started.
func waitUntilListenerClosed(t *testing.T, addr string) {
	t.Helper()
	for {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		conn.Close()
		time.Sleep(5 * time.Millisecond)
	}
}

func TestServeShutdownTimeoutClosesConnections(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	defer close(release)
	srv := New(Options{ShutdownTimeout: 10 * time.Millisecond})
	srv.Router().Get("/stuck", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()

	client := &http.Client{Transport: &http.Transport{}}
	requestErr := make(chan error, 1)
	go func() {
		resp, err := client.Get("http://" + ln.Addr().String() + "/stuck")
		if err == nil {
			resp.Body.Close()
		}
		requestErr <- err
	}()
	<-started
	cancel()

	err = <-served
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Serve returned %v, want an error wrapping context.DeadlineExceeded", err)
	}
	if err := <-requestErr; err == nil {
		t.Errorf("request on a closed connection succeeded, want an error")
	}
}

func TestServeReturnsListenerError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ln.Close()

	err = New(Options{}).Serve(context.Background(), ln)

	if !errors.Is(err, net.ErrClosed) {
		t.Errorf("Serve on a closed listener returned %v, want net.ErrClosed", err)
	}
}

func TestServeTLSSetsHSTS(t *testing.T) {
	cert, pool := newSelfSignedCert(t)
	core, logs := observer.New(zapcore.DebugLevel)
	srv := New(Options{Logger: zap.New(core)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	tlsLn := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, tlsLn) }()
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(func() {
		transport.CloseIdleConnections()
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve returned %v, want nil", err)
		}
	})

	resp, err := (&http.Client{Transport: transport}).Get("https://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz over TLS: %v", err)
	}
	resp.Body.Close()

	assertStatus(t, resp, http.StatusOK)
	assertHeader(t, resp, "Strict-Transport-Security", "max-age=31536000")

	// A client that is not speaking TLS makes the handshake fail. The server
	// logs the failure before it closes the connection, so reading to EOF
	// orders the check after the log entry.
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte{0, 0, 0, 0, 0, 0, 0, 0}); err != nil {
		t.Fatalf("write: %v", err)
	}
	_, _ = io.Copy(io.Discard, conn)

	handshakeErrors := logs.FilterMessageSnippet("TLS handshake error").All()
	if len(handshakeErrors) != 1 {
		t.Fatalf("got %d TLS handshake error entries, want 1", len(handshakeErrors))
	}
	if handshakeErrors[0].Level != zapcore.DebugLevel {
		t.Errorf("TLS handshake error logged at %v, want debug", handshakeErrors[0].Level)
	}
}

// newSelfSignedCert returns a certificate for 127.0.0.1 and a pool that
// trusts it.
func newSelfSignedCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("create certificate: %v", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parse certificate: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestServeReadTimeoutEndsSlowBody(t *testing.T) {
	srv := New(Options{ReadHeaderTimeout: 100 * time.Millisecond, ReadTimeout: 300 * time.Millisecond})
	readErr := make(chan error, 1)
	srv.Router().Post("/upload", func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		readErr <- err
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = srv.Serve(ctx, ln) }()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	// The body promises 100 bytes and delivers one.
	if _, err := io.WriteString(conn, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\na"); err != nil {
		t.Fatalf("write: %v", err)
	}
	select {
	case err := <-readErr:
		if err == nil {
			t.Error("reading the incomplete body succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler was still reading the body after 5 s")
	}
}

func TestReadTimeoutOutlastsHeaderTimeout(t *testing.T) {
	srv := New(Options{ReadHeaderTimeout: time.Minute})
	if srv.readTimeout <= time.Minute {
		t.Errorf("read timeout %s does not exceed the header timeout of 1m", srv.readTimeout)
	}
}
