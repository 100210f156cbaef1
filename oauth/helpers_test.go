package oauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/averos/averos-auth/internal/httpserver"
	"github.com/averos/averos-auth/internal/password"
	"github.com/averos/averos-auth/internal/secrets"
	"github.com/averos/averos-auth/storage"
	"github.com/averos/averos-auth/storage/storagetest"
	"github.com/averos/averos-auth/wellknown"
)

func TestMain(m *testing.M) { os.Exit(storagetest.Main(m)) }

const testSystemSecret = "a test system secret of more than 32 characters"

// testClock is a clock that tests move by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// testKeys is an in-memory KeySource with one active key and every key it
// ever had still published.
type testKeys struct {
	mu     sync.Mutex
	active wellknown.ActiveKey
	public map[string]testPublicKey
	n      int
}

type testPublicKey struct {
	alg string
	key crypto.PublicKey
}

func newTestKeys(t testing.TB, alg string) *testKeys {
	k := &testKeys{public: map[string]testPublicKey{}}
	k.rotate(t, alg)
	return k
}

var (
	rsaKeyOnce sync.Once
	rsaKey     *rsa.PrivateKey
)

// rotate makes a new key of alg the active one; RSA keys are generated once
// per test binary because generation is slow.
func (k *testKeys) rotate(t testing.TB, alg string) wellknown.ActiveKey {
	var signer crypto.Signer
	var err error
	switch alg {
	case "RS256":
		rsaKeyOnce.Do(func() { rsaKey, err = rsa.GenerateKey(rand.Reader, 2048) })
		signer = rsaKey
		if k.n > 0 {
			signer, err = rsa.GenerateKey(rand.Reader, 2048)
		}
	case "ES256":
		signer, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, signer, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		t.Fatalf("generate %s key: %v", alg, err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.n++
	kid := fmt.Sprintf("key-%d", k.n)
	k.active = wellknown.ActiveKey{KID: kid, Algorithm: alg, Signer: signer}
	k.public[kid] = testPublicKey{alg: alg, key: signer.Public()}
	return k.active
}

func (k *testKeys) ActiveKey(context.Context) (wellknown.ActiveKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.active, nil
}

func (k *testKeys) PublicKey(_ context.Context, kid string) (string, crypto.PublicKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	pk, ok := k.public[kid]
	if !ok {
		return "", nil, wellknown.ErrUnknownKey
	}
	return pk.alg, pk.key, nil
}

// unpublish removes kid from the published keys, as the key manager does
// after the key's last token expired.
func (k *testKeys) unpublish(kid string) {
	k.mu.Lock()
	delete(k.public, kid)
	k.mu.Unlock()
}

// testEnv is a provider on a real store, served over a real listener.
type testEnv struct {
	t      testing.TB
	clock  *testClock
	store  *storage.Store
	keys   *testKeys
	p      *Provider
	srv    *httptest.Server
	hasher *password.Hasher
}

type envOptions struct {
	alg    string
	config func(*Config)
	// hash sets the argon2id parameters; the default is cheap.
	hash *password.Params
}

func newTestEnv(t testing.TB, opts ...envOptions) *testEnv {
	t.Helper()
	var o envOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.alg == "" {
		o.alg = "RS256"
	}
	clock := newTestClock()
	store := storagetest.New(t, storagetest.Options{Now: clock.Now})
	keys := newTestKeys(t, o.alg)
	// Cheap argon2id parameters keep the tests fast; the cost parameters do
	// not change any behaviour under test.
	params := password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}
	if o.hash != nil {
		params = *o.hash
	}
	hasher, err := password.NewHasher(params)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Issuer:               "http://issuer.test",
		AccessTokenLifetime:  10 * time.Minute,
		RefreshTokenLifetime: 24 * time.Hour,
		IDTokenLifetime:      30 * time.Minute,
		LockoutMaxFailures:   5,
		LockoutDuration:      15 * time.Minute,
		SystemSecret:         testSystemSecret,
		Now:                  clock.Now,
	}
	if o.config != nil {
		o.config(&cfg)
	}
	p, err := New(cfg, store, keys, hasher, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	storagetest.Prepare(t, store)
	server := httpserver.New(httpserver.Options{})
	p.Mount(server.Router())
	srv := httptest.NewServer(server.Handler())
	t.Cleanup(srv.Close)
	return &testEnv{t: t, clock: clock, store: store, keys: keys, p: p, srv: srv, hasher: hasher}
}

func (e *testEnv) ctx() context.Context { return context.Background() }

// addUser stores a user with password pw.
func (e *testEnv) addUser(name, pw string, change ...func(*storage.User)) *storage.User {
	e.t.Helper()
	hash, err := e.hasher.Hash(pw)
	if err != nil {
		e.t.Fatal(err)
	}
	u := &storage.User{
		UserName: name, Email: strings.ToLower(name) + "@example.test", PasswordHash: hash,
		FirstName: "Ada", LastName: "Lovelace", ProfileLanguage: "en", AccountVerified: true,
		Roles: []string{"editor"},
	}
	for _, f := range change {
		f(u)
	}
	if err := e.store.Users.Create(e.ctx(), u); err != nil {
		e.t.Fatalf("create user: %v", err)
	}
	return u
}

// addClient stores a client; a non-empty secret makes it confidential.
func (e *testEnv) addClient(id, secret string, change ...func(*storage.Client)) *storage.Client {
	e.t.Helper()
	c := &storage.Client{
		ID:         id,
		Public:     secret == "",
		GrantTypes: []string{"password", "refresh_token", "client_credentials"},
		Scopes:     []string{"openid", "profile", "email", "roles", "offline_access", "api"},
	}
	if secret != "" {
		h, err := secrets.NewHasher(testSystemSecret, secrets.PurposeClientSecrets)
		if err != nil {
			e.t.Fatal(err)
		}
		c.SecretHash = h.Hash(secret)
	} else {
		c.GrantTypes = []string{"password", "refresh_token"}
	}
	for _, f := range change {
		f(c)
	}
	if err := e.store.Clients.Create(e.ctx(), c); err != nil {
		e.t.Fatalf("create client: %v", err)
	}
	return c
}

// response is a decoded HTTP response.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r response) str(name string) string {
	s, _ := r.body[name].(string)
	return s
}

// request sends a POST with a raw body and content type; auth, when set,
// changes the request before it is sent.
func (e *testEnv) request(path, contentType, body string, auth func(*http.Request)) response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if auth != nil {
		auth(req)
	}
	return e.do(req)
}

func (e *testEnv) do(req *http.Request) response {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	out := response{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			e.t.Fatalf("decode %q: %v", raw, err)
		}
	}
	return out
}

// post sends form to path, form-encoded.
func (e *testEnv) post(path string, form url.Values, auth func(*http.Request)) response {
	e.t.Helper()
	return e.request(path, "application/x-www-form-urlencoded", form.Encode(), auth)
}

// basic authenticates with client_secret_basic.
func basic(id, secret string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret)) }
}

func (e *testEnv) passwordGrant(clientID, secret, user, pw, scope string) response {
	e.t.Helper()
	return e.post("/oauth2/token", url.Values{
		"grant_type": {"password"}, "username": {user}, "password": {pw}, "scope": {scope},
	}, basic(clientID, secret))
}

func (e *testEnv) refreshGrant(clientID, secret, token string, extra url.Values) response {
	e.t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}}
	for k, v := range extra {
		form[k] = v
	}
	return e.post("/oauth2/token", form, basic(clientID, secret))
}

func (e *testEnv) introspect(clientID, secret, token string) response {
	e.t.Helper()
	return e.post("/oauth2/introspect", url.Values{"token": {token}}, basic(clientID, secret))
}

// wantOAuthError checks an RFC 6749 §5.2 error response.
func wantOAuthError(t testing.TB, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status = %d, want %d (body %s)", r.status, status, r.raw)
	}
	if got := r.str("error"); got != code {
		t.Errorf("error = %q, want %q (body %s)", got, code, r.raw)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json;charset=UTF-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	if pragma := r.header.Get("Pragma"); pragma != "no-cache" {
		t.Errorf("Pragma = %q, want no-cache", pragma)
	}
}

// wantInactive checks that an introspection response is exactly {"active":false}.
func wantInactive(t testing.TB, r response) {
	t.Helper()
	if r.status != http.StatusOK || strings.TrimSpace(r.raw) != `{"active":false}` {
		t.Errorf("introspection = %d %s, want 200 {\"active\":false}", r.status, r.raw)
	}
}

func wantActive(t testing.TB, r response) {
	t.Helper()
	if r.status != http.StatusOK || r.body["active"] != true {
		t.Errorf("introspection = %d %s, want active", r.status, r.raw)
	}
}
