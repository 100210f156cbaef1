package admin_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/averos/averos-auth/adapters/admin"
	"github.com/averos/averos-auth/internal/accounts"
	"github.com/averos/averos-auth/internal/httpserver"
	"github.com/averos/averos-auth/internal/password"
	"github.com/averos/averos-auth/oauth"
	"github.com/averos/averos-auth/storage"
	"github.com/averos/averos-auth/storage/storagetest"
	"github.com/averos/averos-auth/wellknown"
)

func TestMain(m *testing.M) { os.Exit(storagetest.Main(m)) }

const (
	testSystemSecret = "admin-test-system-secret-0123456789abcdef"
	// consoleID is the confidential client the tests sign in with; it may
	// introspect every token.
	consoleID     = "console"
	adminPassword = "Administrator1"
	userPassword  = "Ordinary1user"
)

// staticKeys is a KeySource with one ES256 key.
type staticKeys struct {
	key *ecdsa.PrivateKey
}

func (k staticKeys) ActiveKey(context.Context) (wellknown.ActiveKey, error) {
	return wellknown.ActiveKey{KID: "test-key", Algorithm: "ES256", Signer: k.key}, nil
}

func (k staticKeys) PublicKey(_ context.Context, kid string) (string, crypto.PublicKey, error) {
	if kid != "test-key" {
		return "", nil, wellknown.ErrUnknownKey
	}
	return "ES256", k.key.Public(), nil
}

// offsetClock is the provider's clock: the wall clock plus an offset that a
// test moves forward instead of sleeping.
type offsetClock struct {
	offset atomic.Int64
}

func (c *offsetClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *offsetClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// env is the admin API and the OAuth provider on a real store, served over
// a real listener, with an administrator "root" and a user "ada".
type env struct {
	t             *testing.T
	store         *storage.Store
	provider      *oauth.Provider
	clock         *offsetClock
	users         *accounts.Users
	roles         *accounts.Roles
	clients       *accounts.Clients
	srv           *httptest.Server
	consoleSecret string
	admin         *storage.User
	user          *storage.User
	adminToken    string
	userToken     string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	store := storagetest.New(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// Cheap argon2id parameters keep the tests fast without changing any
	// behaviour under test.
	hasher, err := password.NewHasher(password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	clock := &offsetClock{}
	provider, err := oauth.New(oauth.Config{
		Issuer: "http://issuer.test", SystemSecret: testSystemSecret, Now: clock.Now,
	}, store, staticKeys{key: key}, hasher, nil)
	if err != nil {
		t.Fatal(err)
	}
	users := accounts.NewUsers(store, hasher, 8)
	roles := accounts.NewRoles(store)
	clients, err := accounts.NewClients(store, testSystemSecret, provider)
	if err != nil {
		t.Fatal(err)
	}

	e := &env{t: t, store: store, provider: provider, clock: clock, users: users, roles: roles, clients: clients}
	e.srv = e.serveWith(admin.Options{}).srv
	ctx := context.Background()
	_, e.consoleSecret, err = clients.Create(ctx, accounts.ClientSpec{
		ID: consoleID, GrantTypes: []string{"password"}, IntrospectAny: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"admin", "editor", "viewer"} {
		if _, err := roles.Create(ctx, accounts.NewRole{Name: name, Description: name + " role"}); err != nil {
			t.Fatal(err)
		}
	}
	e.admin = e.addUser(accounts.NewUser{UserName: "root", Email: "root@example.test",
		Password: adminPassword, Roles: []string{"admin"}, AccountVerified: true})
	e.user = e.addUser(accounts.NewUser{UserName: "ada", Email: "ada@example.test", Password: userPassword,
		FirstName: "Ada", LastName: "Lovelace", City: "London", Roles: []string{"editor"}, AccountVerified: true})
	e.adminToken = e.login("root", adminPassword)
	e.userToken = e.login("ada", userPassword)
	return e
}

// serveWith returns a copy of e whose server runs the provider and an admin
// API with opts, on the same store.
func (e *env) serveWith(opts admin.Options) *env {
	e.t.Helper()
	server := httpserver.New(httpserver.Options{})
	e.provider.Mount(server.Router())
	admin.New(opts, e.store, e.provider, e.users, e.roles, e.clients, nil).Mount(server.Router())
	srv := httptest.NewServer(server.Handler())
	e.t.Cleanup(srv.Close)
	copied := *e
	copied.srv = srv
	return &copied
}

func (e *env) addUser(in accounts.NewUser) *storage.User {
	e.t.Helper()
	u, err := e.users.Create(context.Background(), in)
	if err != nil {
		e.t.Fatalf("create user %s: %v", in.UserName, err)
	}
	return u
}

// login runs the password grant at /oauth2/token and returns the access token.
func (e *env) login(userName, pw string) string {
	e.t.Helper()
	r := e.passwordGrant(userName, pw)
	if r.status != http.StatusOK {
		e.t.Fatalf("password grant for %s: %d %s", userName, r.status, r.raw)
	}
	return r.str("access_token")
}

func (e *env) passwordGrant(userName, pw string) response {
	e.t.Helper()
	return e.postForm("/oauth2/token", url.Values{
		"grant_type": {"password"}, "username": {userName}, "password": {pw},
	}, consoleID, e.consoleSecret)
}

// introspectActive reports whether introspection finds token active.
func (e *env) introspectActive(token string) bool {
	e.t.Helper()
	r := e.postForm("/oauth2/introspect", url.Values{"token": {token}}, consoleID, e.consoleSecret)
	if r.status != http.StatusOK {
		e.t.Fatalf("introspection: %d %s", r.status, r.raw)
	}
	active, _ := r.body["active"].(bool)
	return active
}

func (e *env) stored(id string) *storage.User {
	e.t.Helper()
	u, err := e.store.Users.Get(context.Background(), id)
	if err != nil {
		e.t.Fatalf("read user %s: %v", id, err)
	}
	return u
}

// response is a received HTTP response; body is decoded when it is JSON.
type response struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

func (r response) str(name string) string {
	s, _ := r.body[name].(string)
	return s
}

// entities returns the returnedEntities of a list response.
func (r response) entities(t *testing.T) []map[string]any {
	t.Helper()
	list, ok := r.body["returnedEntities"].([]any)
	if !ok {
		t.Fatalf("no returnedEntities in %s", r.raw)
	}
	out := make([]map[string]any, len(list))
	for i, item := range list {
		out[i], _ = item.(map[string]any)
	}
	return out
}

// call sends method path with an optional bearer token and JSON body. path
// may carry a raw query string, sent as written.
func (e *env) call(method, path, token, body string) response {
	e.t.Helper()
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, reader)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.do(req)
}

func (e *env) postForm(path string, form url.Values, clientID, secret string) response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	return e.do(req)
}

func (e *env) do(req *http.Request) response {
	e.t.Helper()
	client := &http.Client{Timeout: 60 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	out := response{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			e.t.Fatalf("decode %q: %v", raw, err)
		}
	}
	return out
}

// wantStatus fails the test unless r has status want.
func wantStatus(t *testing.T, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status = %d, want %d (body %q)", r.status, want, r.raw)
	}
}

// wantText checks a plain-text error response.
func wantText(t *testing.T, r response, status int, contains string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status = %d, want %d (body %q)", r.status, status, r.raw)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q, want text/plain", ct)
	}
	if !strings.Contains(r.raw, contains) {
		t.Errorf("body = %q, want it to contain %q", r.raw, contains)
	}
}

// query returns a query string the way the Averos client's HttpParams
// encodes it: percent-encoding except for $ : , ; = ? / @ and +.
func query(pairs ...string) string {
	var parts []string
	for i := 0; i+1 < len(pairs); i += 2 {
		parts = append(parts, pairs[i]+"="+averosEncode(pairs[i+1]))
	}
	return "?" + strings.Join(parts, "&")
}

func averosEncode(s string) string {
	encoded := url.QueryEscape(s)
	encoded = strings.ReplaceAll(encoded, "+", "%20")
	for _, keep := range []string{"$", ":", ",", ";", "=", "?", "/", "@", "+"} {
		encoded = strings.ReplaceAll(encoded, url.QueryEscape(keep), keep)
	}
	return encoded
}
