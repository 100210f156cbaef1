package oauth

import (
	"context"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/averos/averos-auth/storage"
)

func newIntrospectEnv(t *testing.T) *testEnv {
	e := newTestEnv(t)
	e.addUser("ada", "correct horse")
	e.addClient("web", "s3cret")
	e.addClient("other", "s3cret")
	e.addClient("resource", "s3cret", func(c *storage.Client) { c.IntrospectAny = true })
	e.addClient("spa", "")
	return e
}

func TestIntrospectionActive(t *testing.T) {
	e := newIntrospectEnv(t)
	login := e.login(t, "openid profile offline_access")

	r := e.introspect("web", "s3cret", login.str("access_token"))
	wantActive(t, r)
	for _, name := range []string{"scope", "client_id", "sub", "iss", "token_type", "username", "jti"} {
		if r.str(name) == "" {
			t.Errorf("active answer lacks %s: %s", name, r.raw)
		}
	}
	for _, name := range []string{"exp", "iat", "aud"} {
		if r.body[name] == nil {
			t.Errorf("active answer lacks %s: %s", name, r.raw)
		}
	}
	if r.str("username") != "ada" || r.str("token_type") != "Bearer" {
		t.Errorf("username %q, token_type %q", r.str("username"), r.str("token_type"))
	}
	if r.header.Get("Cache-Control") != "no-store" || r.header.Get("Pragma") != "no-cache" {
		t.Errorf("introspection caching headers: %v", r.header)
	}
	wantActive(t, e.introspect("web", "s3cret", login.str("refresh_token")))
	// A resource server may introspect every client's tokens.
	wantActive(t, e.introspect("resource", "s3cret", login.str("access_token")))
}

func TestIntrospectionOfDeadTokens(t *testing.T) {
	e := newIntrospectEnv(t)
	ctx := context.Background()
	expired := e.login(t, "offline_access")
	e.clock.Advance(11 * time.Minute)
	rotated := e.login(t, "offline_access")
	next := e.refreshGrant("web", "s3cret", rotated.str("refresh_token"), nil)
	revoked := e.login(t, "offline_access")
	if err := e.p.RevokeRefreshToken(ctx, "web", revoked.str("refresh_token")); err != nil {
		t.Fatal(err)
	}
	live := e.login(t, "offline_access")

	cases := map[string]struct{ client, token string }{
		"expired access token":        {"web", expired.str("access_token")},
		"rotated-out refresh token":   {"web", rotated.str("refresh_token")},
		"revoked refresh token":       {"web", revoked.str("refresh_token")},
		"access token of revoked one": {"web", revoked.str("access_token")},
		"malformed":                   {"web", "not a token"},
		"malformed JWT":               {"web", "a.b.c"},
		"unknown refresh token":       {"web", "AAAA.BBBB"},
		"another client's access":     {"other", live.str("access_token")},
		"another client's refresh":    {"other", live.str("refresh_token")},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			wantInactive(t, e.introspect(tc.client, "s3cret", tc.token))
		})
	}
	wantActive(t, e.introspect("web", "s3cret", next.str("refresh_token")))

	e.clock.Advance(25 * time.Hour)
	wantInactive(t, e.introspect("web", "s3cret", live.str("refresh_token")))
}

func TestIntrospectionNeedsConfidentialClient(t *testing.T) {
	e := newIntrospectEnv(t)
	login := e.login(t, "")
	wantOAuthError(t, e.introspect("web", "wrong", login.str("access_token")), 401, "invalid_client")
	r := e.post("/oauth2/introspect", url.Values{"token": {login.str("access_token")}, "client_id": {"spa"}}, nil)
	wantOAuthError(t, r, 401, "invalid_client")
	r = e.post("/oauth2/introspect", url.Values{"token": {login.str("access_token")}}, nil)
	wantOAuthError(t, r, 401, "invalid_client")
	wantOAuthError(t, e.introspect("web", "s3cret", ""), 400, "invalid_request")
}

// forge returns a compact JWS with the given header and claims and signature.
func forge(header, claims map[string]any, sign func(input string) []byte) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	return input + "." + base64.RawURLEncoding.EncodeToString(sign(input))
}

func TestForgedAccessTokensRejected(t *testing.T) {
	e := newIntrospectEnv(t)
	ctx := context.Background()
	login := e.login(t, "openid")
	genuine, err := e.p.parseAccessToken(ctx, login.str("access_token"), e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{
		"iss": e.p.cfg.Issuer, "sub": genuine.Subject, "aud": genuine.Audience,
		"client_id": "web", "scope": "openid", "iat": genuine.IssuedAt, "exp": genuine.ExpiresAt,
		"jti": "forged", "sid": genuine.GrantID, "auth_time": genuine.AuthTime,
	}
	active := e.keys.active
	pub := active.Signer.Public().(*rsa.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(pub))})
	hs256 := func(key []byte) func(string) []byte {
		return func(input string) []byte {
			mac := hmac.New(sha256.New, key)
			mac.Write([]byte(input))
			return mac.Sum(nil)
		}
	}
	rs256 := func(input string) []byte {
		d := sha256.Sum256([]byte(input))
		return must(rsa.SignPKCS1v15(nil, active.Signer.(*rsa.PrivateKey), 5 /* crypto.SHA256 */, d[:]))
	}
	with := func(name string, value any) map[string]any {
		c := map[string]any{}
		for k, v := range claims {
			c[k] = v
		}
		c[name] = value
		return c
	}

	cases := map[string]string{
		"alg none": forge(map[string]any{"alg": "none", "kid": active.KID, "typ": "at+jwt"}, claims,
			func(string) []byte { return nil }),
		"HS256 keyed with the public key PEM": forge(
			map[string]any{"alg": "HS256", "kid": active.KID, "typ": "at+jwt"}, claims, hs256(pubPEM)),
		"HS256 keyed with the public key DER": forge(
			map[string]any{"alg": "HS256", "kid": active.KID, "typ": "at+jwt"}, claims,
			hs256(x509.MarshalPKCS1PublicKey(pub))),
		"unknown kid":  forge(map[string]any{"alg": "RS256", "kid": "nope", "typ": "at+jwt"}, claims, rs256),
		"no kid":       forge(map[string]any{"alg": "RS256", "typ": "at+jwt"}, claims, rs256),
		"wrong issuer": forge(map[string]any{"alg": "RS256", "kid": active.KID, "typ": "at+jwt"}, with("iss", "https://evil.test"), rs256),
		"wrong typ":    forge(map[string]any{"alg": "RS256", "kid": active.KID, "typ": "JWT"}, claims, rs256),
		"expired":      forge(map[string]any{"alg": "RS256", "kid": active.KID, "typ": "at+jwt"}, with("exp", e.clock.Now().Unix()-1), rs256),
		"tampered claims": func() string {
			tok := forge(map[string]any{"alg": "RS256", "kid": active.KID, "typ": "at+jwt"}, claims, rs256)
			other := forge(map[string]any{"alg": "RS256", "kid": active.KID, "typ": "at+jwt"}, with("scope", "openid admin"), func(string) []byte { return nil })
			return other[:len(other)-1] + tok[lastDot(tok):]
		}(),
	}
	// The control: the same construction with the right header is accepted,
	// so each case fails for its own defect.
	control := forge(map[string]any{"alg": "RS256", "kid": active.KID, "typ": "at+jwt"}, claims, rs256)
	wantActive(t, e.introspect("web", "s3cret", control))

	for name, token := range cases {
		t.Run(name, func(t *testing.T) {
			wantInactive(t, e.introspect("web", "s3cret", token))
			_, err := e.p.ValidateAccessToken(ctx, token)
			if !errors.Is(err, ErrInvalidToken) {
				t.Errorf("ValidateAccessToken: %v, want ErrInvalidToken", err)
			}
		})
	}
}

func lastDot(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return i
		}
	}
	return -1
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestRevocation(t *testing.T) {
	e := newIntrospectEnv(t)
	revoke := func(client, token string) response {
		return e.post("/oauth2/revoke", url.Values{"token": {token}}, basic(client, "s3cret"))
	}

	t.Run("refresh token revokes its grant", func(t *testing.T) {
		login := e.login(t, "offline_access")
		r := revoke("web", login.str("refresh_token"))
		if r.status != http.StatusOK {
			t.Fatalf("revoke: %d %s", r.status, r.raw)
		}
		wantInactive(t, e.introspect("web", "s3cret", login.str("refresh_token")))
		wantInactive(t, e.introspect("web", "s3cret", login.str("access_token")))
	})
	t.Run("access token alone", func(t *testing.T) {
		login := e.login(t, "offline_access")
		r := revoke("web", login.str("access_token"))
		if r.status != http.StatusOK {
			t.Fatalf("revoke: %d %s", r.status, r.raw)
		}
		wantInactive(t, e.introspect("web", "s3cret", login.str("access_token")))
		wantActive(t, e.introspect("web", "s3cret", login.str("refresh_token")))
		_, err := e.p.ValidateAccessToken(context.Background(), login.str("access_token"))
		if !errors.Is(err, ErrSessionRevoked) {
			t.Errorf("ValidateAccessToken: %v, want ErrSessionRevoked", err)
		}
	})
	t.Run("another client's tokens stay", func(t *testing.T) {
		login := e.login(t, "offline_access")
		for _, token := range []string{login.str("refresh_token"), login.str("access_token")} {
			if r := revoke("other", token); r.status != http.StatusOK {
				t.Errorf("revoke by another client: %d %s, want 200", r.status, r.raw)
			}
		}
		wantActive(t, e.introspect("web", "s3cret", login.str("refresh_token")))
		wantActive(t, e.introspect("web", "s3cret", login.str("access_token")))
	})
	t.Run("unknown tokens", func(t *testing.T) {
		for _, token := range []string{"AAAA.BBBB", "a.b.c", "garbage"} {
			if r := revoke("web", token); r.status != http.StatusOK {
				t.Errorf("revoke %q: %d %s, want 200", token, r.status, r.raw)
			}
		}
	})
	t.Run("errors", func(t *testing.T) {
		wantOAuthError(t, e.post("/oauth2/revoke", url.Values{"token": {"x"}}, basic("web", "wrong")),
			401, "invalid_client")
		wantOAuthError(t, revoke("web", ""), 400, "invalid_request")
	})
	t.Run("public client revokes its own token", func(t *testing.T) {
		login := e.post("/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"ada"},
			"password": {"correct horse"}, "scope": {"offline_access"}, "client_id": {"spa"}}, nil)
		r := e.post("/oauth2/revoke", url.Values{"token": {login.str("refresh_token")}, "client_id": {"spa"}}, nil)
		if r.status != http.StatusOK {
			t.Fatalf("revoke: %d %s", r.status, r.raw)
		}
		wantOAuthError(t, e.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"},
			"refresh_token": {login.str("refresh_token")}, "client_id": {"spa"}}, nil), 400, "invalid_grant")
	})
}

func TestRevocationStorageFailure(t *testing.T) {
	e := newIntrospectEnv(t)
	login := e.login(t, "offline_access")
	// Closing the store's connection makes every storage operation fail.
	if err := e.store.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := e.post("/oauth2/revoke", url.Values{"token": {login.str("refresh_token")}}, basic("web", "s3cret"))
	wantOAuthError(t, r, http.StatusServiceUnavailable, "temporarily_unavailable")
}
