package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/averos/averos-auth/internal/httpserver"
	"github.com/averos/averos-auth/internal/password"
	"github.com/averos/averos-auth/internal/secrets"
	"github.com/averos/averos-auth/oauth"
	"github.com/averos/averos-auth/storage"
	"github.com/averos/averos-auth/storage/storagetest"
	"github.com/averos/averos-auth/wellknown"
)

func TestMain(m *testing.M) { os.Exit(storagetest.Main(m)) }

const systemSecret = "a test system secret of more than 32 characters"

// startServer serves the token service on a real store and the key manager.
func startServer(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	store := storagetest.New(t)
	keys, err := wellknown.NewManager(store, wellknown.ManagerOptions{
		SystemSecret: systemSecret, Algorithm: "ES256", LeadTime: time.Hour,
		MaxTokenLifetime: 24 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Init(ctx); err != nil {
		t.Fatal(err)
	}
	hasher, err := password.NewHasher(password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	p, err := oauth.New(oauth.Config{Issuer: "http://issuer.test", SystemSecret: systemSecret},
		store, keys, hasher, nil)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := hasher.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"load1", "load2"} {
		if err := store.Users.Create(ctx, &storage.User{UserName: name, PasswordHash: hash}); err != nil {
			t.Fatal(err)
		}
	}
	secretHasher, err := secrets.NewHasher(systemSecret, secrets.PurposeClientSecrets)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Clients.Create(ctx, &storage.Client{
		ID: "bench", SecretHash: secretHasher.Hash("s3cret"),
		GrantTypes: []string{"password", "refresh_token", "client_credentials"},
		Scopes:     []string{"openid", "profile", "offline_access"},
	}); err != nil {
		t.Fatal(err)
	}
	server := httpserver.New(httpserver.Options{})
	p.Mount(server.Router())
	srv := httptest.NewServer(server.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestRunPrintsEveryWorkload(t *testing.T) {
	base := startServer(t)
	opts, err := parseFlags([]string{"-url", base, "-client", "bench", "-secret", "s3cret",
		"-users", "load1,load2", "-password", "correct horse", "-duration", "300ms", "-warmup", "100ms", "-concurrency", "1,2",
		"-argon2-memory-kib", "64", "-argon2-iterations", "1"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(opts, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 10 {
		t.Fatalf("got %d lines, want a header, 8 rows and the hash ceiling:\n%s", len(lines), out.String())
	}
	ceiling := lines[9]
	if !strings.HasPrefix(ceiling, "password hash ceiling (argon2id m=64,t=1,p=1 on ") ||
		!strings.Contains(ceiling, "% of it") || strings.Contains(ceiling, "Inf") {
		t.Errorf("ceiling line = %q", ceiling)
	}
	for _, line := range lines[1:9] {
		fields := strings.Fields(line)
		if len(fields) != 7 {
			t.Errorf("row %q has %d fields, want 7", line, len(fields))
			continue
		}
		if fields[2] == "0" {
			t.Errorf("row %q measured no request", line)
		}
		if fields[3] != "0" {
			t.Errorf("row %q has errors:\n%s", line, out.String())
		}
	}
}

func TestParseFlagsRejectsOutOfRangeArgon2(t *testing.T) {
	_, err := parseFlags([]string{"-client", "c", "-secret", "s", "-workloads", "client_credentials",
		"-argon2-parallelism", "256"})
	if err == nil {
		t.Error("-argon2-parallelism 256 accepted")
	}
}

func TestParseFlagsRejectsRemoteHosts(t *testing.T) {
	for _, u := range []string{"http://example.com", "http://10.0.0.1:8080", "ftp://127.0.0.1"} {
		_, err := parseFlags([]string{"-url", u, "-client", "c", "-secret", "s",
			"-workloads", "client_credentials"})
		if err == nil {
			t.Errorf("-url %s accepted", u)
		}
	}
	if _, err := parseFlags([]string{"-url", "http://[::1]:8080", "-client", "c", "-secret", "s",
		"-workloads", "client_credentials"}); err != nil {
		t.Errorf("loopback IPv6 rejected: %v", err)
	}
}
