package app_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/averos/averos-auth/configs"
	"github.com/averos/averos-auth/internal/app"
	"github.com/averos/averos-auth/storage"
	"github.com/averos/averos-auth/storage/storagetest"
	"github.com/averos/averos-auth/wellknown"
)

func TestMain(m *testing.M) { os.Exit(storagetest.Main(m)) }

func testConfig(t *testing.T) *configs.Config {
	t.Helper()
	cfg := configs.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.Issuer = "http://localhost:8080"
	cfg.DataDir = t.TempDir()
	cfg.SystemSecret = "app-test-system-secret-0123456789abcdef"
	cfg.HTTP.ShutdownTimeout = 10 * time.Second
	return &cfg
}

// serve runs the app on a loopback listener and returns its base URL and a
// function that stops it and returns Serve's error.
func serve(t *testing.T, a *app.App) (string, func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	stop := func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			t.Fatal("Serve did not return after cancel")
			return nil
		}
	}
	return "http://" + ln.Addr().String(), stop
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// waitStatus polls url until it returns status want, failing after a generous limit.
func waitStatus(t *testing.T, url string, want int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, _ := get(t, url)
		if code == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s = %d, want %d", url, code, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestServeHealthAndGracefulStop(t *testing.T) {
	st := storagetest.New(t)
	a, err := app.New(testConfig(t), zap.NewNop(), st)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	entered := make(chan struct{})
	a.Router().Get("/test/slow", func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "finished")
	})
	base, stop := serve(t, a)

	if code, body := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("healthz = %d %s", code, body)
	}
	waitStatus(t, base+"/readyz", http.StatusOK)

	type result struct {
		code int
		body string
		err  error
	}
	slow := make(chan result, 1)
	go func() {
		resp, err := http.Get(base + "/test/slow")
		if err != nil {
			slow <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		slow <- result{code: resp.StatusCode, body: string(b)}
	}()
	<-entered

	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	// New connections are refused once shutdown has begun.
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", base[len("http://"):], time.Second)
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepts connections after shutdown began")
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(release)

	r := <-slow
	if r.err != nil || r.code != http.StatusOK || r.body != "finished" {
		t.Errorf("in-flight request = %d %q %v, want 200 finished", r.code, r.body, r.err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Serve returned %v, want nil", err)
	}
}

// Readiness follows the storage server: 503 while it is down, 200 again once
// it is back, without a restart.
func TestReadinessFollowsStorage(t *testing.T) {
	dir, err := os.MkdirTemp("", "aa-ready-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	engine, err := storage.StartEmbedded(context.Background(), filepath.Join(dir, "d"), nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := storage.Open(storage.Options{URI: engine.URI(), Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })

	a, err := app.New(testConfig(t), zap.NewNop(), st)
	if err != nil {
		t.Fatal(err)
	}
	base, stop := serve(t, a)
	t.Cleanup(func() { _ = stop() })
	waitStatus(t, base+"/readyz", http.StatusOK)

	if err := engine.Close(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, base+"/readyz", http.StatusServiceUnavailable)
	if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("healthz while storage is down = %d, want 200", code)
	}

	engine, err = storage.StartEmbedded(context.Background(), filepath.Join(dir, "d"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = engine.Close() })
	waitStatus(t, base+"/readyz", http.StatusOK)
}

// With a MongoDB URI that does not respond, the app starts, reports not
// ready, and keeps serving liveness.
func TestUnreachableStorageNotReady(t *testing.T) {
	st, err := storage.Open(storage.Options{URI: "mongodb://127.0.0.1:1/?connectTimeoutMS=200", Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	a, err := app.New(testConfig(t), zap.NewNop(), st)
	if err != nil {
		t.Fatal(err)
	}
	base, stop := serve(t, a)
	t.Cleanup(func() { _ = stop() })
	if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("healthz = %d, want 200", code)
	}
	for i := 0; i < 3; i++ {
		if code, _ := get(t, base+"/readyz"); code != http.StatusServiceUnavailable {
			t.Errorf("readyz = %d, want 503", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// While storage does not respond, the signing keys are not loaded, and the
// JWKS and discovery endpoints respond 503 with Retry-After without logging
// an error.
func TestWellKnownUnavailableWithoutStorage(t *testing.T) {
	st, err := storage.Open(storage.Options{URI: "mongodb://127.0.0.1:1/?connectTimeoutMS=200", Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	core, logs := observer.New(zap.DebugLevel)
	a, err := app.New(testConfig(t), zap.New(core), st)
	if err != nil {
		t.Fatal(err)
	}
	base, stop := serve(t, a)
	t.Cleanup(func() { _ = stop() })

	for _, path := range []string{wellknown.PathJWKS, wellknown.PathOpenIDConfiguration} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("GET %s: status %d, want 503", path, resp.StatusCode)
		}
		if resp.Header.Get("Retry-After") == "" {
			t.Errorf("GET %s: no Retry-After header", path)
		}
	}
	if errs := logs.FilterLevelExact(zap.ErrorLevel).All(); len(errs) != 0 {
		t.Errorf("%d Error log entries, want none; first: %s %v", len(errs), errs[0].Message, errs[0].Context)
	}
}

// A system secret that does not decrypt the stored signing keys cannot be
// fixed by retrying, so Serve stops and returns the mismatch.
func TestServeStopsOnSystemSecretMismatch(t *testing.T) {
	st := storagetest.New(t)
	first, err := app.New(testConfig(t), zap.NewNop(), st)
	if err != nil {
		t.Fatal(err)
	}
	base, stop := serve(t, first)
	waitStatus(t, base+"/readyz", http.StatusOK)
	if err := stop(); err != nil {
		t.Fatalf("first Serve returned %v", err)
	}

	cfg := testConfig(t)
	cfg.SystemSecret = "another-system-secret-0123456789abcdef"
	second, err := app.New(cfg, zap.NewNop(), st)
	if err != nil {
		t.Fatal(err)
	}
	err = serveUntilStopped(t, second)
	if !errors.Is(err, wellknown.ErrSystemSecretMismatch) {
		t.Errorf("Serve returned %v, want %v", err, wellknown.ErrSystemSecretMismatch)
	}
	// The error names the secret to start with and where it can come from.
	for _, want := range []string{
		"Start the server with the secret this data was created with",
		"AVEROS_AUTH_SYSTEM_SECRET",
		"system-secret in the configuration file",
		filepath.Join(cfg.DataDir, "system-secret"),
		"The secret in use came from the system-secret option",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Serve error %q does not contain %q", err, want)
		}
	}
}

// serveUntilStopped runs a.Serve on a new loopback listener and returns the
// error it stops with, failing the test when it still runs after 60 s.
func serveUntilStopped(t *testing.T, a *app.App) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	select {
	case err := <-done:
		return err
	case <-time.After(60 * time.Second):
		t.Fatal("Serve kept running, want a start-up failure")
		return nil
	}
}

func TestServeStopsOnSecretOfAnotherSetup(t *testing.T) {
	st := storagetest.New(t)
	// A CLI bootstrap with another secret bound the store; no key exists yet.
	if err := wellknown.CheckSystemSecret(context.Background(), st, "another-system-secret-0123456789abcdef"); err != nil {
		t.Fatal(err)
	}
	a, err := app.New(testConfig(t), zap.NewNop(), st)
	if err != nil {
		t.Fatal(err)
	}
	if err := serveUntilStopped(t, a); !errors.Is(err, wellknown.ErrSystemSecretMismatch) {
		t.Errorf("Serve returned %v, want %v", err, wellknown.ErrSystemSecretMismatch)
	}
	keys, err := st.Keys.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Errorf("%d signing keys stored by the refused server, want 0", len(keys))
	}
}
