package oauth

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/averos/averos-auth/storage"
	"github.com/averos/averos-auth/wellknown"
)

func TestTokenEndpointErrors(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("ada", "correct horse")
	e.addClient("web", "s3cret")
	e.addClient("spa", "")
	e.addClient("narrow", "s3cret", func(c *storage.Client) {
		c.GrantTypes = []string{"client_credentials"}
		c.Scopes = []string{"api"}
		c.Audiences = []string{"https://api.test"}
	})
	form := "application/x-www-form-urlencoded"
	password := url.Values{"grant_type": {"password"}, "username": {"ada"}, "password": {"correct horse"}}

	cases := []struct {
		name        string
		contentType string
		body        string
		auth        func(*http.Request)
		status      int
		code        string
		challenge   bool
	}{
		{name: "wrong secret via Basic", contentType: form, body: password.Encode(),
			auth: basic("web", "wrong"), status: 401, code: "invalid_client", challenge: true},
		{name: "wrong secret via post", contentType: form,
			body:   password.Encode() + "&client_id=web&client_secret=wrong",
			status: 401, code: "invalid_client", challenge: true},
		{name: "unknown client", contentType: form, body: password.Encode(),
			auth: basic("nobody", "s3cret"), status: 401, code: "invalid_client", challenge: true},
		{name: "no client authentication", contentType: form, body: password.Encode(),
			status: 401, code: "invalid_client", challenge: true},
		{name: "malformed Basic header", contentType: form, body: password.Encode(),
			auth:   func(r *http.Request) { r.Header.Set("Authorization", "Basic !!notbase64") },
			status: 401, code: "invalid_client", challenge: true},
		{name: "Basic without colon", contentType: form, body: password.Encode(),
			auth: func(r *http.Request) {
				r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("web")))
			},
			status: 401, code: "invalid_client", challenge: true},
		{name: "two Authorization headers", contentType: form, body: password.Encode(),
			auth: func(r *http.Request) {
				r.SetBasicAuth("web", "s3cret")
				r.Header.Add("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("web:wrong")))
			},
			status: 400, code: "invalid_request"},
		{name: "two authentication methods", contentType: form,
			body: password.Encode() + "&client_secret=s3cret", auth: basic("web", "s3cret"),
			status: 400, code: "invalid_request"},
		{name: "public client sends a secret", contentType: form,
			body: password.Encode() + "&client_id=spa&client_secret=x", status: 401, code: "invalid_client",
			challenge: true},
		{name: "unknown grant type", contentType: form, body: "grant_type=authorization_code&code=x",
			auth: basic("web", "s3cret"), status: 400, code: "unsupported_grant_type"},
		{name: "missing grant type", contentType: form, body: "username=ada",
			auth: basic("web", "s3cret"), status: 400, code: "invalid_request"},
		{name: "missing refresh token", contentType: form, body: "grant_type=refresh_token",
			auth: basic("web", "s3cret"), status: 400, code: "invalid_request"},
		{name: "missing password", contentType: form, body: "grant_type=password&username=ada",
			auth: basic("web", "s3cret"), status: 400, code: "invalid_request"},
		{name: "missing username", contentType: form, body: "grant_type=password&password=x",
			auth: basic("web", "s3cret"), status: 400, code: "invalid_request"},
		{name: "JSON body", contentType: "application/json", body: `{"grant_type":"password"}`,
			auth: basic("web", "s3cret"), status: 400, code: "invalid_request"},
		{name: "no content type", body: password.Encode(), auth: basic("web", "s3cret"),
			status: 400, code: "invalid_request"},
		{name: "repeated parameter", contentType: form,
			body: password.Encode() + "&username=eve", auth: basic("web", "s3cret"),
			status: 400, code: "invalid_request"},
		{name: "repeated grant type", contentType: form,
			body: password.Encode() + "&grant_type=password", auth: basic("web", "s3cret"),
			status: 400, code: "invalid_request"},
		{name: "grant type not allowed to the client", contentType: form, body: password.Encode(),
			auth: basic("narrow", "s3cret"), status: 400, code: "unauthorized_client"},
		{name: "scope not allowed to the client", contentType: form,
			body: "grant_type=client_credentials&scope=openid", auth: basic("narrow", "s3cret"),
			status: 400, code: "invalid_scope"},
		{name: "audience not allowed to the client", contentType: form,
			body: "grant_type=client_credentials&audience=https://other.test", auth: basic("narrow", "s3cret"),
			status: 400, code: "invalid_request"},
		{name: "scope in another case", contentType: form,
			body: "grant_type=client_credentials&scope=API", auth: basic("narrow", "s3cret"),
			status: 400, code: "invalid_scope"},
		{name: "audience in another case", contentType: form,
			body: "grant_type=client_credentials&audience=https://API.test", auth: basic("narrow", "s3cret"),
			status: 400, code: "invalid_request"},
		{name: "grant type in another case", contentType: form,
			body: "grant_type=CLIENT_CREDENTIALS", auth: basic("narrow", "s3cret"),
			status: 400, code: "unsupported_grant_type"},
		{name: "body over the server's limit", contentType: form,
			body: "grant_type=client_credentials&x=" + strings.Repeat("a", 1<<20), auth: basic("narrow", "s3cret"),
			status: 400, code: "invalid_request"},
		{name: "malformed refresh token", contentType: form,
			body: "grant_type=refresh_token&refresh_token=abc", auth: basic("web", "s3cret"),
			status: 400, code: "invalid_grant"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.request("/oauth2/token", tc.contentType, tc.body, tc.auth)
			wantOAuthError(t, r, tc.status, tc.code)
			if r.str("error_description") == "" {
				t.Error("error_description is empty")
			}
			challenge := r.header.Get("WWW-Authenticate")
			if tc.challenge && challenge != `Basic realm="averos-auth"` {
				t.Errorf("WWW-Authenticate = %q, want the Basic challenge", challenge)
			}
			if !tc.challenge && challenge != "" {
				t.Errorf("WWW-Authenticate = %q on a %d", challenge, r.status)
			}
		})
	}
}

func TestClientAuthenticationMethods(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("ada", "correct horse")
	// Characters that form-urlencoding changes must survive the Basic header.
	e.addClient("web app:1", "s3cret+/=:%")
	e.addClient("spa", "")
	pw := url.Values{"grant_type": {"password"}, "username": {"ada"}, "password": {"correct horse"}}

	t.Run("client_secret_basic", func(t *testing.T) {
		r := e.post("/oauth2/token", pw, basic("web app:1", "s3cret+/=:%"))
		if r.status != http.StatusOK {
			t.Fatalf("status %d %s", r.status, r.raw)
		}
	})
	t.Run("client_secret_post", func(t *testing.T) {
		form := url.Values{"client_id": {"web app:1"}, "client_secret": {"s3cret+/=:%"}}
		for k, v := range pw {
			form[k] = v
		}
		r := e.post("/oauth2/token", form, nil)
		if r.status != http.StatusOK {
			t.Fatalf("status %d %s", r.status, r.raw)
		}
	})
	t.Run("none for a public client", func(t *testing.T) {
		form := url.Values{"client_id": {"spa"}}
		for k, v := range pw {
			form[k] = v
		}
		r := e.post("/oauth2/token", form, nil)
		if r.status != http.StatusOK {
			t.Fatalf("status %d %s", r.status, r.raw)
		}
	})
	t.Run("Basic with a matching client_id", func(t *testing.T) {
		form := url.Values{"client_id": {"web app:1"}}
		for k, v := range pw {
			form[k] = v
		}
		r := e.post("/oauth2/token", form, basic("web app:1", "s3cret+/=:%"))
		if r.status != http.StatusOK {
			t.Fatalf("status %d %s", r.status, r.raw)
		}
	})
	t.Run("Basic with another client_id", func(t *testing.T) {
		form := url.Values{"client_id": {"spa"}}
		for k, v := range pw {
			form[k] = v
		}
		r := e.post("/oauth2/token", form, basic("web app:1", "s3cret+/=:%"))
		wantOAuthError(t, r, http.StatusBadRequest, "invalid_request")
	})
	t.Run("confidential client without secret", func(t *testing.T) {
		form := url.Values{"client_id": {"web app:1"}}
		for k, v := range pw {
			form[k] = v
		}
		r := e.post("/oauth2/token", form, nil)
		wantOAuthError(t, r, http.StatusUnauthorized, "invalid_client")
	})
}

// A request whose context ends while storage is read is logged at Info, not
// as a server fault: the client closed the connection.
func TestCanceledRequestLoggedAtInfo(t *testing.T) {
	e := newTestEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.store.Users.Get(ctx, "someone")
	if err == nil {
		t.Fatal("read with a canceled context succeeded")
	}

	core, logs := observer.New(zap.DebugLevel)
	rec := httptest.NewRecorder()
	writeError(rec, zap.New(core), "token request failed", err)
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want 503", rec.Code)
	}
	entries := logs.All()
	if len(entries) != 1 {
		t.Fatalf("%d log entries, want 1", len(entries))
	}
	if entries[0].Level != zap.InfoLevel {
		t.Errorf("logged at %v, want info: %s (%v)", entries[0].Level, entries[0].Message, err)
	}
}

func TestSentClientID(t *testing.T) {
	cases := []struct {
		name  string
		basic string
		form  url.Values
		want  string
	}{
		{"Basic, percent-encoded", "my%3Aapp", nil, "my:app"},
		{"client_id parameter", "", url.Values{"client_id": {"spa"}}, "spa"},
		{"nothing sent", "", nil, ""},
		{"long id cut", "", url.Values{"client_id": {strings.Repeat("x", 300)}}, strings.Repeat("x", maxLoggedClientID)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/oauth2/token", nil)
			if tc.basic != "" {
				r.SetBasicAuth(tc.basic, "secret")
			}
			if got := sentClientID(r, tc.form); got != tc.want {
				t.Errorf("sentClientID = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestKeysNotLoadedIsUnavailable(t *testing.T) {
	err := fmt.Errorf("jws: read the active signing key: %w", wellknown.ErrNotInitialized)
	if got := classify(err); got.status != http.StatusServiceUnavailable || got.code != "temporarily_unavailable" {
		t.Errorf("classify = %d %s, want 503 temporarily_unavailable", got.status, got.code)
	}
}
