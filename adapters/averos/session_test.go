package averos

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/averos/averos-auth/storage"
)

const adaPassword = "Analytical1"

func TestLoginByUserNameAndEmail(t *testing.T) {
	e := newEnv(t)
	u := e.createUser(t, "ada", "ada@example.com", adaPassword, "editor")

	for _, identifier := range []string{"ada", "ADA", "ada@example.com", "Ada@Example.com"} {
		t.Run(identifier, func(t *testing.T) {
			b := e.browser(t)
			resp := b.login(t, identifier, adaPassword)
			assertStatus(t, resp, http.StatusOK)

			tok := b.authToken
			if s, _ := tok["token"].(string); strings.Count(s, ".") != 2 {
				t.Errorf("token = %q, want a JWT", s)
			}
			want := map[string]any{
				"_id": u.ID, "userName": "ada", "email": "ada@example.com", "firstName": "Ada",
				"accountVerified": false, "isEmailVerified": false, "isAccountLocked": false,
				"profileLanguage": nil, "image": nil, "about": "", "ipAddress": "127.0.0.1",
				"lastLoginIPAddress": "127.0.0.1",
			}
			for field, value := range want {
				if got, ok := tok[field]; !ok || got != value {
					t.Errorf("auth_token.%s = %#v (present %v), want %#v", field, got, ok, value)
				}
			}
			if roles, _ := tok["roles"].([]any); len(roles) != 1 || roles[0] != "editor" {
				t.Errorf("auth_token.roles = %v, want [editor]", tok["roles"])
			}
			if _, err := time.Parse(time.RFC3339, tok["lastLoginDate"].(string)); err != nil {
				t.Errorf("auth_token.lastLoginDate = %v, want RFC 3339", tok["lastLoginDate"])
			}

			cookie := resp.setCookie(t)
			if cookie == nil || cookie.Value == "" {
				t.Fatal("login set no refresh cookie")
			}
			body := resp.text()
			for _, secret := range []string{cookie.Value, "password", "argon2", "passwordHash", "refresh"} {
				if strings.Contains(body, secret) {
					t.Errorf("login body contains %q", secret)
				}
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", resp.Header.Get("Cache-Control"))
			}
			if stored := e.user(t, u.ID); stored.LastLoginAt == nil || stored.LastLoginIP != "127.0.0.1" {
				t.Errorf("stored last login = %v from %q", stored.LastLoginAt, stored.LastLoginIP)
			}
		})
	}
}

func TestLoginCookieAttributes(t *testing.T) {
	cases := []struct {
		name         string
		sameSite     string
		secure       bool
		wantSameSite http.SameSite
	}{
		{"strict", "Strict", true, http.SameSiteStrictMode},
		{"lax", "Lax", true, http.SameSiteLaxMode},
		// SameSite=None forces Secure even when the option is off.
		{"none forces secure", "None", false, http.SameSiteNoneMode},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(o *Options) { o.CookieSameSite, o.CookieSecure = tc.sameSite, tc.secure })
			e.createUser(t, "ada", "ada@example.com", adaPassword)
			b := e.browser(t)

			resp := b.login(t, "ada", adaPassword)
			assertStatus(t, resp, http.StatusOK)
			c := resp.setCookie(t)
			if c == nil {
				t.Fatal("no refresh cookie")
			}
			if !c.HttpOnly || !c.Secure || c.Path != "/auth" || c.SameSite != tc.wantSameSite {
				t.Errorf("cookie: HttpOnly %v, Secure %v, Path %q, SameSite %v; want true, true, /auth, %v",
					c.HttpOnly, c.Secure, c.Path, c.SameSite, tc.wantSameSite)
			}
			if c.MaxAge != int(refreshLifetime/time.Second) {
				t.Errorf("Max-Age = %d, want %d", c.MaxAge, int(refreshLifetime/time.Second))
			}

			resp = b.post(t, "/auth/logout", map[string]string{"user": "ada"})
			assertStatus(t, resp, http.StatusOK)
			assertCleared(t, resp, tc.wantSameSite)
		})
	}
}

func TestLoginInsecureCookieWarns(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.CookieSecure, o.CookieSameSite = false, "Lax" })
	if len(e.logs.FilterMessageSnippet("without the Secure attribute").All()) != 1 {
		t.Error("no warning about the cookie without Secure")
	}
}

func TestLoginRejected(t *testing.T) {
	e := newEnv(t)
	e.createUser(t, "ada", "ada@example.com", adaPassword)
	disabled := e.createUser(t, "bob", "bob@example.com", "Builder123")
	if _, err := e.store.Users.Update(context.Background(), disabled.ID, func(u *storage.User) error {
		u.Disabled = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	cases := []struct{ name, identifier, password string }{
		{"wrong password", "ada", "Analytical2"},
		{"unknown user", "nobody", adaPassword},
		{"unknown email", "nobody@example.com", adaPassword},
		{"disabled user", "bob", "Builder123"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := e.browser(t)
			resp := b.login(t, tc.identifier, tc.password)
			assertStatus(t, resp, http.StatusBadRequest)
			assertText(t, resp, loginFailedMessage)
			if resp.text() != loginFailedMessage {
				t.Errorf("body = %q, want exactly the generic message", resp.text())
			}
			if resp.setCookie(t) != nil {
				t.Error("a rejected login set a cookie")
			}
		})
	}
}

func TestLoginLockedAccountSameAnswer(t *testing.T) {
	e := newEnv(t)
	u := e.createUser(t, "ada", "ada@example.com", adaPassword)
	b := e.browser(t)
	for i := 0; i < lockoutLimit; i++ {
		assertStatus(t, b.login(t, "ada", "Wrong12345"), http.StatusBadRequest)
	}

	resp := b.login(t, "ada", adaPassword)
	assertStatus(t, resp, http.StatusBadRequest)
	if resp.text() != loginFailedMessage {
		t.Errorf("locked account body = %q, want the generic message", resp.text())
	}
	if !e.user(t, u.ID).IsLocked(e.clock.Now()) {
		t.Error("stored user is not locked")
	}

	e.clock.Advance(16 * time.Minute)
	assertStatus(t, b.login(t, "ada", adaPassword), http.StatusOK)
}

func TestLoginMalformedRequests(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name string
		body any
		want string
	}{
		{"not JSON", "{userName: ada", "not valid JSON"},
		{"array", "[]", "must be a JSON object"},
		{"empty body", "", "must be a JSON object"},
		{"two objects", `{"userName":"a","password":"b"} {}`, "one JSON object"},
		{"missing identifier", map[string]string{"password": "x"}, "userName or email is required"},
		{"missing password", map[string]string{"userName": "ada"}, "password is required"},
		{"number user name", map[string]any{"userName": 5, "password": "x"}, "userName must be a string"},
		{"object email", map[string]any{"email": map[string]string{}, "password": "x"}, "email must be a string"},
		{"boolean password", map[string]any{"userName": "ada", "password": true}, "password must be a string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.browser(t).post(t, "/auth/login", tc.body)
			assertStatus(t, resp, http.StatusBadRequest)
			assertText(t, resp, tc.want)
		})
	}
}

func TestRefreshWithExpiredAccessToken(t *testing.T) {
	e := newEnv(t)
	u := e.createUser(t, "ada", "ada@example.com", adaPassword, "editor")
	b := e.browser(t)
	assertStatus(t, b.login(t, "ada", adaPassword), http.StatusOK)
	firstToken, firstCookie := b.token(), b.cookieValue(t)

	e.clock.Advance(accessLifetime + time.Minute)
	resp := b.get(t, "/auth/luroles", "inline-loading", "true")
	assertStatus(t, resp, http.StatusUnauthorized)

	resp = b.refresh(t)
	assertStatus(t, resp, http.StatusOK)
	if b.token() == firstToken {
		t.Error("refresh returned the expired access token")
	}
	want := map[string]any{"userName": "ada", "_id": u.ID, "accountVerified": false, "email": "ada@example.com"}
	for field, want := range want {
		if b.authToken[field] != want {
			t.Errorf("refreshed auth_token.%s = %v, want %v", field, b.authToken[field], want)
		}
	}
	if c := resp.setCookie(t); c == nil || c.Value == firstCookie || c.Value != b.cookieValue(t) {
		t.Error("refresh did not rotate the cookie")
	}
	resp = b.get(t, "/auth/luroles")
	assertStatus(t, resp, http.StatusOK)
}

func TestRefreshWithoutBearer(t *testing.T) {
	e := newEnv(t)
	e.createUser(t, "ada", "ada@example.com", adaPassword)
	b := e.browser(t)
	assertStatus(t, b.login(t, "ada", adaPassword), http.StatusOK)

	// After a page reload the client may have lost its token.
	resp := b.post(t, "/auth/rt/", map[string]any{"user": nil}, "Authorization", "Bearer undefined")
	assertStatus(t, resp, http.StatusOK)
	if authTokenOf(t, resp)["userName"] != "ada" {
		t.Errorf("auth_token = %v, want ada's", authTokenOf(t, resp))
	}

	req, _ := http.NewRequest(http.MethodPost, e.server.URL+"/auth/rt", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	r, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusOK {
		t.Errorf("refresh without Authorization: status %d, want 200", r.StatusCode)
	}
}

// A POST that is not JSON, as a cross-site form or no-cors fetch sends it
// without a CORS preflight, changes nothing: the session survives.
func TestNonJSONPostRejected(t *testing.T) {
	e := newEnv(t)
	e.createUser(t, "ada", "ada@example.com", adaPassword)
	b := e.browser(t)
	assertStatus(t, b.login(t, "ada", adaPassword), http.StatusOK)
	cookie := b.cookieValue(t)

	for _, path := range []string{"/auth/logout", "/auth/rt/", "/auth/login"} {
		for _, contentType := range []string{"text/plain", "application/x-www-form-urlencoded", ""} {
			req, _ := http.NewRequest(http.MethodPost, e.server.URL+path, strings.NewReader(`{"user":"ada"}`))
			if contentType != "" {
				req.Header.Set("Content-Type", contentType)
			}
			r, err := b.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			r.Body.Close()
			if r.StatusCode != http.StatusUnsupportedMediaType {
				t.Errorf("%s with Content-Type %q: status %d, want 415", path, contentType, r.StatusCode)
			}
		}
	}
	if b.cookieValue(t) != cookie {
		t.Error("a rejected request changed the refresh cookie")
	}
	assertStatus(t, b.refresh(t), http.StatusOK)
}

func TestRefreshReplayRevokesFamily(t *testing.T) {
	e := newEnv(t)
	e.createUser(t, "ada", "ada@example.com", adaPassword)
	b := e.browser(t)
	assertStatus(t, b.login(t, "ada", adaPassword), http.StatusOK)
	stolen := b.cookieValue(t)
	assertStatus(t, b.refresh(t), http.StatusOK)
	current := b.cookieValue(t)

	attacker := e.browser(t)
	attacker.setCookieValue(t, stolen)
	resp := attacker.refresh(t)
	assertStatus(t, resp, http.StatusUnauthorized)
	assertCleared(t, resp, http.SameSiteStrictMode)
	if attacker.cookieValue(t) != "" {
		t.Error("the replayed cookie is still in the jar")
	}

	if b.cookieValue(t) != current {
		t.Fatal("the legitimate browser's cookie changed")
	}
	resp = b.refresh(t)
	assertStatus(t, resp, http.StatusUnauthorized)
	assertCleared(t, resp, http.SameSiteStrictMode)
}

func TestRefreshConcurrentSameCookie(t *testing.T) {
	e := newEnv(t)
	e.createUser(t, "ada", "ada@example.com", adaPassword)
	b := e.browser(t)
	assertStatus(t, b.login(t, "ada", adaPassword), http.StatusOK)
	cookie := b.cookieValue(t)

	const n = 10
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tab := e.browser(t)
			tab.setCookieValue(t, cookie)
			statuses <- tab.post(t, "/auth/rt/", map[string]any{}).StatusCode
		}()
	}
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	if counts[http.StatusOK] > 1 || counts[http.StatusOK]+counts[http.StatusUnauthorized] != n {
		t.Errorf("statuses = %v, want at most one 200 and 401 for the rest", counts)
	}
}

func TestRefreshMissingOrExpiredCookie(t *testing.T) {
	e := newEnv(t)
	e.createUser(t, "ada", "ada@example.com", adaPassword)

	resp := e.browser(t).refresh(t)
	assertStatus(t, resp, http.StatusUnauthorized)
	assertCleared(t, resp, http.SameSiteStrictMode)

	b := e.browser(t)
	assertStatus(t, b.login(t, "ada", adaPassword), http.StatusOK)
	e.clock.Advance(refreshLifetime + time.Hour)
	// The jar would drop the cookie by its Max-Age, so send it by hand.
	value := b.cookieValue(t)
	stale := e.browser(t)
	stale.setCookieValue(t, value)
	resp = stale.refresh(t)
	assertStatus(t, resp, http.StatusUnauthorized)
	assertCleared(t, resp, http.SameSiteStrictMode)
}

func TestLogoutThenRefresh(t *testing.T) {
	e := newEnv(t)
	e.createUser(t, "ada", "ada@example.com", adaPassword)
	b := e.browser(t)
	assertStatus(t, b.login(t, "ada", adaPassword), http.StatusOK)
	saved := b.cookieValue(t)

	resp := b.post(t, "/auth/logout", map[string]string{"user": "ada"})
	assertStatus(t, resp, http.StatusOK)
	assertCleared(t, resp, http.SameSiteStrictMode)
	if b.cookieValue(t) != "" {
		t.Error("cookie still in the jar after logout")
	}

	// The revoked token fails even when a copy is sent.
	b.setCookieValue(t, saved)
	resp = b.refresh(t)
	assertStatus(t, resp, http.StatusUnauthorized)

	resp = e.browser(t).post(t, "/auth/logout/", map[string]string{"user": "ada"})
	assertStatus(t, resp, http.StatusOK)
}

func TestLoggedUserRoles(t *testing.T) {
	e := newEnv(t)
	u := e.createUser(t, "ada", "ada@example.com", adaPassword, "editor", "Admin")
	b := e.browser(t)
	assertStatus(t, b.login(t, "ada", adaPassword), http.StatusOK)

	resp := b.get(t, "/auth/luroles")
	assertStatus(t, resp, http.StatusOK)
	roles, _ := resp.json(t)["active_user_roles"].([]any)
	if len(roles) != 2 || roles[0] != "editor" || roles[1] != "Admin" {
		t.Errorf("active_user_roles = %v, want [editor Admin]", roles)
	}

	// A role removed after login no longer counts.
	if err := e.store.Users.RemoveRoles(context.Background(), u.ID, []string{"Admin"}); err != nil {
		t.Fatal(err)
	}
	roles, _ = b.get(t, "/auth/luroles/").json(t)["active_user_roles"].([]any)
	if len(roles) != 1 || roles[0] != "editor" {
		t.Errorf("active_user_roles after removal = %v, want [editor]", roles)
	}
}

func TestLoggedUserRolesRejections(t *testing.T) {
	e := newEnv(t)
	u := e.createUser(t, "ada", "ada@example.com", adaPassword)

	resp := e.browser(t).get(t, "/auth/luroles")
	assertStatus(t, resp, http.StatusUnauthorized)
	if resp.Header.Get("WWW-Authenticate") != "Bearer" {
		t.Errorf("WWW-Authenticate = %q, want Bearer", resp.Header.Get("WWW-Authenticate"))
	}

	b := e.browser(t)
	assertStatus(t, b.login(t, "ada", adaPassword), http.StatusOK)
	resp = b.get(t, "/auth/luroles", "Authorization", "Bearer not.a.jwt")
	assertStatus(t, resp, http.StatusUnauthorized)

	e.clock.Advance(accessLifetime + time.Second)
	resp = b.get(t, "/auth/luroles")
	assertStatus(t, resp, http.StatusUnauthorized)
	assertText(t, resp, "invalid or expired")

	assertStatus(t, b.refresh(t), http.StatusOK)
	if err := e.provider.RevokeUserTokens(context.Background(), u.ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Millisecond)
	resp = b.get(t, "/auth/luroles")
	assertStatus(t, resp, StatusSessionRevoked)
}

func TestLoggedUserRolesDisabledUser(t *testing.T) {
	e := newEnv(t)
	u := e.createUser(t, "ada", "ada@example.com", adaPassword)
	b := e.browser(t)
	assertStatus(t, b.login(t, "ada", adaPassword), http.StatusOK)

	if _, err := e.store.Users.Update(context.Background(), u.ID, func(u *storage.User) error {
		u.Disabled = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	assertStatus(t, b.get(t, "/auth/luroles"), StatusSessionRevoked)
	assertStatus(t, b.refresh(t), http.StatusUnauthorized)
}

func TestCORSPreflight(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		origin     string
		wantStatus int
		wantAllow  string
	}{
		{allowedOrigin, http.StatusNoContent, allowedOrigin},
		{"http://localhost:4200.evil.test", http.StatusForbidden, ""},
		{"http://localhost:42000", http.StatusForbidden, ""},
	}
	for _, tc := range cases {
		t.Run(tc.origin, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodOptions, e.server.URL+"/auth/login", nil)
			req.Header.Set("Origin", tc.origin)
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,inline-loading")
			resp, err := e.server.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tc.wantAllow {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tc.wantAllow)
			}
			if tc.wantAllow == "" {
				return
			}
			if resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
				t.Error("credentials not allowed")
			}
			allowed := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
			for _, h := range []string{"authorization", "content-type", "inline-loading"} {
				if !strings.Contains(allowed, h) {
					t.Errorf("Access-Control-Allow-Headers = %q, want %s", allowed, h)
				}
			}
		})
	}

	e.createUser(t, "ada", "ada@example.com", adaPassword)
	resp := e.browser(t).login(t, "ada", adaPassword)
	if resp.Header.Get("Access-Control-Allow-Origin") != allowedOrigin ||
		resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("login response CORS headers: %v", resp.Header)
	}
}

func TestEnsureClient(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, err := e.store.Clients.Get(ctx, testClientID)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Public || len(c.GrantTypes) != 2 || len(c.Scopes) != len(loginScopes) {
		t.Errorf("client = %+v, want public with password, refresh_token and the login scopes", c)
	}
	if err := e.adapter.EnsureClient(ctx); err != nil {
		t.Errorf("second EnsureClient: %v", err)
	}

	// A client stripped of what login needs is repaired, keeping the rest.
	if _, err := e.store.Clients.Update(ctx, testClientID, func(c *storage.Client) error {
		c.GrantTypes = []string{"password"}
		c.Scopes = []string{"openid", "extra"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.adapter.EnsureClient(ctx); err != nil {
		t.Fatalf("EnsureClient with missing scopes: %v", err)
	}
	c, err = e.store.Clients.Get(ctx, testClientID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(c.GrantTypes, "refresh_token") {
		t.Errorf("grant types after repair = %v, want refresh_token back", c.GrantTypes)
	}
	for _, scope := range append([]string{"extra"}, loginScopes...) {
		if !slices.Contains(c.Scopes, scope) {
			t.Errorf("scopes after repair = %v, want %s", c.Scopes, scope)
		}
	}
}
