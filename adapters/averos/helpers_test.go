package averos

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	netmail "net/mail"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/averos/averos-auth/configs"
	"github.com/averos/averos-auth/internal/accounts"
	"github.com/averos/averos-auth/internal/httpserver"
	"github.com/averos/averos-auth/internal/mail/mailtest"
	"github.com/averos/averos-auth/internal/password"
	"github.com/averos/averos-auth/oauth"
	"github.com/averos/averos-auth/storage"
	"github.com/averos/averos-auth/storage/storagetest"
	"github.com/averos/averos-auth/wellknown"
)

func TestMain(m *testing.M) { os.Exit(storagetest.Main(m)) }

const (
	testSecret      = "test-system-secret-0123456789abcdefghij"
	allowedOrigin   = "http://localhost:4200"
	frontendURL     = "http://localhost:4200"
	testClientID    = "averos-web"
	cookieName      = "averos_rt"
	accessLifetime  = 15 * time.Minute
	refreshLifetime = 720 * time.Hour
	lockoutLimit    = 3
	mailWait        = 10 * time.Second
)

// testClock is the clock shared by the store, the provider and the adapter.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// staticKeys is a key source with one ES256 key.
type staticKeys struct{ key *ecdsa.PrivateKey }

func (k staticKeys) ActiveKey(context.Context) (wellknown.ActiveKey, error) {
	return wellknown.ActiveKey{KID: "test-key", Algorithm: "ES256", Signer: k.key}, nil
}

func (k staticKeys) PublicKey(_ context.Context, kid string) (string, crypto.PublicKey, error) {
	if kid != "test-key" {
		return "", nil, wellknown.ErrUnknownKey
	}
	return "ES256", k.key.Public(), nil
}

// env is the adapter and the real provider behind the httpserver chain, on
// a TLS listener, with a test SMTP server receiving the emails.
type env struct {
	clock    *testClock
	store    *storage.Store
	provider *oauth.Provider
	users    *accounts.Users
	adapter  *Adapter
	server   *httptest.Server
	smtp     *mailtest.Server
	logs     *observer.ObservedLogs
}

// newEnv starts an env; change adjusts the adapter options first.
func newEnv(t *testing.T, change ...func(*Options)) *env {
	t.Helper()
	return newEnvWithSMTP(t, mailtest.Options{}, change...)
}

func newEnvWithSMTP(t *testing.T, smtpOpts mailtest.Options, change ...func(*Options)) *env {
	t.Helper()
	clock := &testClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	store := storagetest.New(t, storagetest.Options{Now: clock.Now})
	core, logs := observer.New(zapcore.DebugLevel)
	log := zap.New(core)

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := password.NewHasher(password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	provider, err := oauth.New(oauth.Config{
		Issuer:               "https://auth.test",
		AccessTokenLifetime:  accessLifetime,
		RefreshTokenLifetime: refreshLifetime,
		LockoutMaxFailures:   lockoutLimit,
		LockoutDuration:      15 * time.Minute,
		SystemSecret:         testSecret,
		Now:                  clock.Now,
	}, store, staticKeys{key}, hasher, log)
	if err != nil {
		t.Fatal(err)
	}
	users := accounts.NewUsers(store, hasher, 8)

	smtp := mailtest.Start(t, smtpOpts)
	opts := Options{
		ClientID:             testClientID,
		CookieName:           cookieName,
		CookieSecure:         true,
		CookieSameSite:       "Strict",
		RefreshTokenLifetime: refreshLifetime,
		FrontendURL:          frontendURL,
		LockoutMaxFailures:   lockoutLimit,
		SystemSecret:         testSecret,
		DataDir:              t.TempDir(),
		SMTP: configs.SMTPConfig{
			Host: smtp.Host(), Port: smtp.Port(), TLS: "none", From: "auth@example.com",
		},
		MailRetryBackoff: time.Millisecond,
	}
	for _, c := range change {
		c(&opts)
	}
	adapter, err := New(opts, store, provider, users, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(adapter.Close)
	ctx := context.Background()
	if err := store.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	if err := adapter.EnsureClient(ctx); err != nil {
		t.Fatal(err)
	}

	srv := httpserver.New(httpserver.Options{Logger: log, AllowedOrigins: []string{allowedOrigin}})
	adapter.Mount(srv.Router())
	ts := httptest.NewTLSServer(srv.Handler())
	t.Cleanup(ts.Close)

	return &env{
		clock: clock, store: store, provider: provider, users: users,
		adapter: adapter, server: ts, smtp: smtp, logs: logs,
	}
}

// createUser stores a user with a valid password.
func (e *env) createUser(t *testing.T, name, email, pw string, roles ...string) *storage.User {
	t.Helper()
	for _, role := range roles {
		if _, err := e.store.Roles.GetByName(context.Background(), role); err == nil {
			continue
		}
		_, err := accounts.NewRoles(e.store).Create(context.Background(), accounts.NewRole{Name: role})
		if err != nil {
			t.Fatal(err)
		}
	}
	u, err := e.users.Create(context.Background(), accounts.NewUser{
		UserName: name, Email: email, Password: pw, FirstName: "Ada", Roles: roles,
	})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (e *env) user(t *testing.T, id string) *storage.User {
	t.Helper()
	u, err := e.store.Users.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// browser replays the calls of the Averos client: every request carries
// the Origin of the application, withCredentials (a cookie jar) and
// "Authorization: Bearer <auth_token.token>", which is "Bearer undefined"
// without a session.
type browser struct {
	e         *env
	client    *http.Client
	authToken map[string]any
}

func (e *env) browser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := *e.server.Client()
	client.Jar = jar
	return &browser{e: e, client: &client}
}

// token returns the stored access token, or "undefined" as the client
// writes it without a session.
func (b *browser) token() string {
	if tok, ok := b.authToken["token"].(string); ok {
		return tok
	}
	return "undefined"
}

type response struct {
	*http.Response
	body []byte
}

func (r response) text() string { return string(r.body) }

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return v
}

// setCookie returns the Set-Cookie of the refresh cookie, or nil.
func (r response) setCookie(t *testing.T) *http.Cookie {
	t.Helper()
	var found *http.Cookie
	for _, line := range r.Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("invalid Set-Cookie %q: %v", line, err)
		}
		if c.Name == cookieName {
			if found != nil {
				t.Fatalf("two Set-Cookie headers for %s", cookieName)
			}
			found = c
		}
	}
	return found
}

// send makes one request as the Averos client would; body is encoded as
// JSON unless it is a string, which is sent as is.
func (b *browser) send(t *testing.T, method, path string, body any, headers ...string) response {
	t.Helper()
	var reader io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		reader = strings.NewReader(v)
	default:
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, b.e.server.URL+path, reader)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", allowedOrigin)
	req.Header.Set("Authorization", "Bearer "+b.token())
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{Response: resp, body: data}
}

func (b *browser) post(t *testing.T, path string, body any, headers ...string) response {
	t.Helper()
	return b.send(t, http.MethodPost, path, body, headers...)
}

func (b *browser) get(t *testing.T, path string, headers ...string) response {
	t.Helper()
	return b.send(t, http.MethodGet, path, nil, headers...)
}

// login posts the login form with the key the client uses ("userName", or
// "email" when the input contains '@') and keeps the auth_token.
func (b *browser) login(t *testing.T, identifier, pw string) response {
	t.Helper()
	key := "userName"
	if strings.Contains(identifier, "@") {
		key = "email"
	}
	resp := b.post(t, "/auth/login", map[string]string{key: identifier, "password": pw})
	if resp.StatusCode == http.StatusOK {
		b.authToken = authTokenOf(t, resp)
	}
	return resp
}

// refresh posts /auth/rt/ as the error interceptor does and keeps the new
// auth_token on success.
func (b *browser) refresh(t *testing.T) response {
	t.Helper()
	resp := b.post(t, "/auth/rt/", map[string]any{"user": b.authToken})
	if resp.StatusCode == http.StatusOK {
		b.authToken = authTokenOf(t, resp)
	}
	return resp
}

func authTokenOf(t *testing.T, resp response) map[string]any {
	t.Helper()
	obj, ok := resp.json(t)["auth_token"].(map[string]any)
	if !ok {
		t.Fatalf("body %q has no auth_token object", resp.body)
	}
	return obj
}

// cookieValue returns the refresh cookie the jar would send to /auth.
func (b *browser) cookieValue(t *testing.T) string {
	t.Helper()
	u, _ := url.Parse(b.e.server.URL + "/auth/rt/")
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == cookieName {
			return c.Value
		}
	}
	return ""
}

// setCookieValue puts a refresh cookie into the jar, as a replaying
// attacker would.
func (b *browser) setCookieValue(t *testing.T, value string) {
	t.Helper()
	u, _ := url.Parse(b.e.server.URL + "/auth")
	cookie := &http.Cookie{Name: cookieName, Value: value, Path: "/auth", Secure: true}
	b.client.Jar.SetCookies(u, []*http.Cookie{cookie})
}

func assertStatus(t *testing.T, resp response, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status = %d, want %d (body %q)", resp.Request.Method, resp.Request.URL.Path,
			resp.StatusCode, want, resp.body)
	}
}

func assertText(t *testing.T, resp response, want string) {
	t.Helper()
	if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, "text/plain") {
		t.Errorf("Content-Type = %q, want text/plain", got)
	}
	if !strings.Contains(resp.text(), want) {
		t.Errorf("body = %q, want it to contain %q", resp.text(), want)
	}
}

func assertCode(t *testing.T, resp response, want int) {
	t.Helper()
	assertStatus(t, resp, http.StatusOK)
	if got := resp.json(t)["code"]; got != float64(want) {
		t.Errorf("code = %v, want %d", got, want)
	}
}

// assertCleared checks that resp deletes the refresh cookie with the
// attributes it was set with.
func assertCleared(t *testing.T, resp response, sameSite http.SameSite) {
	t.Helper()
	c := resp.setCookie(t)
	if c == nil {
		t.Fatal("no Set-Cookie clearing the refresh cookie")
	}
	if c.MaxAge >= 0 || c.Value != "" {
		t.Errorf("clearing cookie: Max-Age %d, value %q, want Max-Age=0 and empty", c.MaxAge, c.Value)
	}
	if !strings.Contains(strings.Join(resp.Header.Values("Set-Cookie"), "\n"), "Max-Age=0") {
		t.Errorf("Set-Cookie %q lacks Max-Age=0", resp.Header.Values("Set-Cookie"))
	}
	if c.Path != "/auth" || !c.HttpOnly || !c.Secure || c.SameSite != sameSite {
		t.Errorf("clearing cookie attributes: path %q, HttpOnly %v, Secure %v, SameSite %v",
			c.Path, c.HttpOnly, c.Secure, c.SameSite)
	}
}

var linkPattern = regexp.MustCompile(`http://localhost:4200/account/(vaccount\?vt|rp\?rpt)=([A-Za-z0-9_%-]+)`)

// email is a received message with its decoded parts.
type email struct {
	to, subject, text, html string
}

// nextEmail waits for the next message at the test SMTP server and decodes it.
func (e *env) nextEmail(t *testing.T) email {
	t.Helper()
	m := e.smtp.Next(t, mailWait)
	msg, err := netmail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatalf("parse message: %v", err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	got := email{to: m.To[0], subject: subject}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(p)
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			got.html = string(body)
		} else {
			got.text = string(body)
		}
	}
	return got
}

// linkToken returns the token of the front-end link in the email's text
// part, after checking that the HTML part carries the same link.
func (m email) linkToken(t *testing.T, param string) string {
	t.Helper()
	match := linkPattern.FindStringSubmatch(m.text)
	if match == nil {
		t.Fatalf("text part has no front-end link: %q", m.text)
	}
	if !strings.HasSuffix(match[1], param) {
		t.Fatalf("link %q, want parameter %s", match[0], param)
	}
	if !strings.Contains(m.html, match[0]) {
		t.Errorf("HTML part lacks the link %q", match[0])
	}
	token, err := url.QueryUnescape(match[2])
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// noEmail checks that no message arrived.
func (e *env) noEmail(t *testing.T) {
	t.Helper()
	select {
	case m := <-e.smtp.Messages:
		t.Errorf("unexpected email to %v", m.To)
	default:
	}
}

// waitBackground waits for the adapter's background tasks, such as the
// lookup behind /auth/rrp.
func (e *env) waitBackground() { e.adapter.wg.Wait() }
