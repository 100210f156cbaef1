package wellknown

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-jose/go-jose/v4"

	"github.com/averos/averos-auth/storage"
	"github.com/averos/averos-auth/storage/storagetest"
)

func TestMain(m *testing.M) { os.Exit(storagetest.Main(m)) }

const testSecret = "test-system-secret-0123456789abcdefghij"

// testClock is a clock that tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testEnv is a store on the embedded engine with a clock shared by the store
// and the managers of a test.
type testEnv struct {
	t     *testing.T
	store *storage.Store
	clock *testClock
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	clock := newTestClock()
	return &testEnv{t: t, store: storagetest.New(t, storagetest.Options{Now: clock.Now}), clock: clock}
}

func (e *testEnv) options(alg string) ManagerOptions {
	return ManagerOptions{
		SystemSecret:     testSecret,
		Algorithm:        alg,
		RSABits:          2048,
		LeadTime:         10 * time.Minute,
		MaxTokenLifetime: time.Hour,
		Now:              e.clock.Now,
	}
}

// manager returns a Manager over the test store that has run Init.
func (e *testEnv) manager(opts ManagerOptions) *Manager {
	e.t.Helper()
	m, err := NewManager(e.store, opts)
	if err != nil {
		e.t.Fatalf("NewManager: %v", err)
	}
	if err := m.Init(context.Background()); err != nil {
		e.t.Fatalf("Init: %v", err)
	}
	return m
}

// serve starts a real listener whose URL is the issuer and mounts m's
// well-known routes on it.
func (e *testEnv) serve(m *Manager, maxAge time.Duration) *httptest.Server {
	e.t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	r := chi.NewRouter()
	err := m.Mount(r, Discovery{Issuer: issuer, RefreshScope: "offline_access", MaxAge: maxAge})
	if err != nil {
		e.t.Fatalf("Mount: %v", err)
	}
	srv.Config.Handler = r
	srv.Start()
	e.t.Cleanup(srv.Close)
	if srv.URL != issuer {
		e.t.Fatalf("server URL %q differs from the issuer %q", srv.URL, issuer)
	}
	return srv
}

// activeKey returns m's active key or fails the test.
func activeKey(t *testing.T, m *Manager) ActiveKey {
	t.Helper()
	k, err := m.ActiveKey(context.Background())
	if err != nil {
		t.Fatalf("ActiveKey: %v", err)
	}
	return k
}

// signToken signs claims with key k under kid, with header typ.
func signToken(t *testing.T, alg jose.SignatureAlgorithm, k any, kid, typ string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ))
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: k, KeyID: kid}}, opts)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatalf("encode claims: %v", err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	raw, err := obj.CompactSerialize()
	if err != nil {
		t.Fatalf("CompactSerialize: %v", err)
	}
	return raw
}

// signActive signs an access token with m's active key, issued at the test
// clock's time and valid for lifetime.
func (e *testEnv) signActive(m *Manager, issuer string, lifetime time.Duration) (token, kid string) {
	e.t.Helper()
	k := activeKey(e.t, m)
	now := e.clock.Now()
	claims := map[string]any{"iss": issuer, "sub": "alice", "iat": now.Unix(), "exp": now.Add(lifetime).Unix()}
	return signToken(e.t, jose.SignatureAlgorithm(k.Algorithm), k.Signer, k.KID, "at+jwt", claims), k.KID
}

// get sends a GET to url with the given headers and returns the response
// and its body.
func get(t *testing.T, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body of %s: %v", url, err)
	}
	return resp, body
}

// fetchJWKS returns the JWKS served by srv.
func fetchJWKS(t *testing.T, srv *httptest.Server) (jose.JSONWebKeySet, []byte) {
	t.Helper()
	resp, body := get(t, srv.URL+PathJWKS, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET JWKS: status %d", resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("decode JWKS: %v", err)
	}
	return set, body
}

// jwksKIDs returns the kids of the JWKS served by srv.
func jwksKIDs(t *testing.T, srv *httptest.Server) map[string]bool {
	t.Helper()
	set, _ := fetchJWKS(t, srv)
	kids := map[string]bool{}
	for _, k := range set.Keys {
		kids[k.KeyID] = true
	}
	return kids
}
