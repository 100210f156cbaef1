package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/averos/averos-auth/oauth/jws"
	"github.com/averos/averos-auth/storage"
)

func TestValidateAccessToken(t *testing.T) {
	e := newIntrospectEnv(t)
	ctx := context.Background()
	login := e.login(t, "openid roles offline_access")

	at, err := e.p.ValidateAccessToken(ctx, login.str("access_token"))
	if err != nil {
		t.Fatalf("ValidateAccessToken: %v", err)
	}
	user, err := e.store.Users.GetByUserName(ctx, "ada")
	if err != nil {
		t.Fatal(err)
	}
	if at.Subject != user.ID || at.ClientID != "web" || at.JTI == "" {
		t.Errorf("token = %+v", at)
	}
	if !slices.Equal(at.Roles, []string{"editor"}) || !slices.Contains(at.Scopes, "roles") {
		t.Errorf("roles %v, scopes %v", at.Roles, at.Scopes)
	}
	if got := at.ExpiresAt.Sub(at.IssuedAt); got != 10*time.Minute {
		t.Errorf("lifetime = %v, want 10m", got)
	}

	// A key rotation keeps earlier tokens valid while their key is published.
	old := e.keys.active.KID
	e.keys.rotate(t, "ES256")
	if _, err := e.p.ValidateAccessToken(ctx, login.str("access_token")); err != nil {
		t.Errorf("token signed before the rotation: %v", err)
	}
	fresh := e.login(t, "openid")
	if _, err := e.p.ValidateAccessToken(ctx, fresh.str("access_token")); err != nil {
		t.Errorf("token signed after the rotation: %v", err)
	}
	e.keys.unpublish(old)
	if _, err := e.p.ValidateAccessToken(ctx, login.str("access_token")); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("token of an unpublished key: %v, want ErrInvalidToken", err)
	}
	// An ID token is not an access token.
	if _, err := e.p.ValidateAccessToken(ctx, fresh.str("id_token")); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("ID token as access token: %v, want ErrInvalidToken", err)
	}
	if _, err := e.p.ValidateAccessToken(ctx, "junk"); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("junk: %v, want ErrInvalidToken", err)
	}
	e.clock.Advance(10 * time.Minute)
	if _, err := e.p.ValidateAccessToken(ctx, fresh.str("access_token")); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("expired token: %v, want ErrInvalidToken", err)
	}
}

func TestValidateAccessTokenRevokedSessions(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		revoke func(e *testEnv, user *storage.User, login response)
	}{
		{"user tokens revoked", func(e *testEnv, u *storage.User, _ response) {
			if err := e.p.RevokeUserTokens(ctx, u.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"client tokens revoked", func(e *testEnv, _ *storage.User, _ response) {
			if err := e.p.RevokeClientTokens(ctx, "web"); err != nil {
				t.Fatal(err)
			}
		}},
		{"user disabled", func(e *testEnv, u *storage.User, _ response) {
			e.updateUser(u.ID, func(u *storage.User) { u.Disabled = true })
		}},
		{"user deleted", func(e *testEnv, u *storage.User, _ response) {
			if _, err := e.store.Users.Delete(ctx, u.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"family revoked", func(e *testEnv, _ *storage.User, login response) {
			if err := e.p.RevokeRefreshToken(ctx, "web", login.str("refresh_token")); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newIntrospectEnv(t)
			user, err := e.store.Users.GetByUserName(ctx, "ada")
			if err != nil {
				t.Fatal(err)
			}
			login := e.login(t, "openid offline_access")
			e.clock.Advance(time.Second)
			tc.revoke(e, user, login)
			_, err = e.p.ValidateAccessToken(ctx, login.str("access_token"))
			if !errors.Is(err, ErrSessionRevoked) {
				t.Errorf("ValidateAccessToken: %v, want ErrSessionRevoked", err)
			}
		})
	}

	t.Run("client credentials token of a revoked client", func(t *testing.T) {
		e := newIntrospectEnv(t)
		r := e.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basic("other", "s3cret"))
		if r.status != http.StatusOK {
			t.Fatalf("client credentials: %d %s", r.status, r.raw)
		}
		e.clock.Advance(time.Second)
		if err := e.p.RevokeClientTokens(ctx, "other"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.p.ValidateAccessToken(ctx, r.str("access_token")); !errors.Is(err, ErrSessionRevoked) {
			t.Errorf("ValidateAccessToken: %v, want ErrSessionRevoked", err)
		}
		e.clock.Advance(time.Second)
		again := e.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basic("other", "s3cret"))
		if _, err := e.p.ValidateAccessToken(ctx, again.str("access_token")); err != nil {
			t.Errorf("token issued after the revocation: %v", err)
		}
	})
}

func TestInternalToken(t *testing.T) {
	e := newIntrospectEnv(t)
	ctx := context.Background()
	res, err := e.p.InternalToken(ctx, "spa", url.Values{
		"grant_type": {"password"}, "username": {"ada"}, "password": {"correct horse"},
		"scope": {"openid profile offline_access"},
	}, "203.0.113.9")
	if err != nil {
		t.Fatalf("InternalToken: %v", err)
	}
	if res.AccessToken == "" || res.RefreshToken == "" || res.IDToken == "" {
		t.Fatalf("result lacks a token: %+v", res)
	}
	if res.ExpiresIn != 10*time.Minute || !slices.Contains(res.Scopes, "openid") {
		t.Errorf("expires in %v, scopes %v", res.ExpiresIn, res.Scopes)
	}
	user, err := e.store.Users.Get(ctx, res.Subject)
	if err != nil {
		t.Fatalf("subject %q is not the user: %v", res.Subject, err)
	}
	if user.LastLoginIP != "203.0.113.9" {
		t.Errorf("last login IP = %q", user.LastLoginIP)
	}

	next, err := e.p.InternalToken(ctx, "spa", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {res.RefreshToken},
	}, "203.0.113.9")
	if err != nil {
		t.Fatalf("InternalToken refresh: %v", err)
	}
	if next.RefreshToken == res.RefreshToken {
		t.Error("refresh did not rotate")
	}

	_, err = e.p.InternalToken(ctx, "spa", url.Values{
		"grant_type": {"password"}, "username": {"ada"}, "password": {"wrong"},
	}, "203.0.113.9")
	var rfc *fosite.RFC6749Error
	if !errors.As(err, &rfc) || rfc.ErrorField != "invalid_grant" {
		t.Errorf("wrong password: %v, want invalid_grant", err)
	}
	_, err = e.p.InternalToken(ctx, "spa", url.Values{"grant_type": {"device_code"}}, "")
	if !errors.As(err, &rfc) || rfc.ErrorField != "unsupported_grant_type" {
		t.Errorf("unknown grant type: %v, want unsupported_grant_type", err)
	}
	_, err = e.p.InternalToken(ctx, "nobody", url.Values{"grant_type": {"password"},
		"username": {"ada"}, "password": {"correct horse"}}, "")
	if !errors.As(err, &rfc) || rfc.ErrorField != "invalid_client" {
		t.Errorf("unknown client: %v, want invalid_client", err)
	}
}

func TestUserinfo(t *testing.T) {
	e := newIntrospectEnv(t)
	login := e.login(t, "openid profile email offline_access")
	noOpenID := e.login(t, "profile")
	get := func(auth string) response {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/userinfo", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		return e.do(req)
	}

	r := get("Bearer " + login.str("access_token"))
	if r.status != http.StatusOK {
		t.Fatalf("userinfo: %d %s", r.status, r.raw)
	}
	user, _ := e.store.Users.GetByUserName(context.Background(), "ada")
	if r.str("sub") != user.ID || r.str("preferred_username") != "ada" || r.str("email") != "ada@example.test" {
		t.Errorf("userinfo = %s", r.raw)
	}
	if _, ok := r.body["roles"]; ok {
		t.Errorf("roles sent without the roles scope: %s", r.raw)
	}

	post := e.request("/userinfo", "application/x-www-form-urlencoded",
		url.Values{"access_token": {login.str("access_token")}}.Encode(), nil)
	if post.status != http.StatusOK || post.str("sub") != user.ID {
		t.Errorf("POST userinfo: %d %s", post.status, post.raw)
	}

	none := get("")
	if none.status != http.StatusUnauthorized || none.header.Get("WWW-Authenticate") != `Bearer realm="averos-auth"` {
		t.Errorf("no token: %d %q", none.status, none.header.Get("WWW-Authenticate"))
	}
	wantChallenge := func(r response, code string) {
		t.Helper()
		if r.status != http.StatusUnauthorized ||
			!strings.Contains(r.header.Get("WWW-Authenticate"), `error="`+code+`"`) {
			t.Errorf("got %d %q, want 401 with error=%q", r.status, r.header.Get("WWW-Authenticate"), code)
		}
	}
	wantChallenge(get("Bearer junk"), "invalid_token")
	if r := get("Bearer " + noOpenID.str("access_token")); r.status != http.StatusForbidden {
		t.Errorf("token without openid: %d %s", r.status, r.raw)
	}

	if err := e.p.RevokeRefreshToken(context.Background(), "web", login.str("refresh_token")); err != nil {
		t.Fatal(err)
	}
	wantChallenge(get("Bearer "+login.str("access_token")), "invalid_token")
	fresh := e.login(t, "openid")
	e.clock.Advance(11 * time.Minute)
	wantChallenge(get("Bearer "+fresh.str("access_token")), "invalid_token")
}

func TestUserinfoAudience(t *testing.T) {
	e := newIntrospectEnv(t)
	ctx := context.Background()
	e.addClient("api-app", "s3cret", func(c *storage.Client) { c.Audiences = []string{"https://api.example.test"} })
	login := e.post("/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"ada"},
		"password": {"correct horse"}, "scope": {"openid profile"}}, basic("api-app", "s3cret"))
	if login.status != http.StatusOK {
		t.Fatalf("login: %d %s", login.status, login.raw)
	}
	get := func(token string) response {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return e.do(req)
	}

	// A token that grants openid also names the issuer, so userinfo takes it.
	at, err := e.p.ValidateAccessToken(ctx, login.str("access_token"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(at.Audience, []string{"https://api.example.test", "http://issuer.test"}) {
		t.Errorf("audience = %v, want the API and the issuer", at.Audience)
	}
	if r := get(login.str("access_token")); r.status != http.StatusOK {
		t.Errorf("userinfo with the API token: %d %s", r.status, r.raw)
	}

	// The same claims signed for the API alone are refused.
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(login.str("access_token"), ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	claims["aud"] = []string{"https://api.example.test"}
	apiOnly, err := jws.NewSigner(e.keys).Sign(ctx, "at+jwt", claims)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.ValidateAccessToken(ctx, apiOnly); err != nil {
		t.Fatalf("the re-signed token is not otherwise valid: %v", err)
	}
	r := get(apiOnly)
	if r.status != http.StatusUnauthorized || !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("token for another audience: %d %q", r.status, r.header.Get("WWW-Authenticate"))
	}
}

func TestUserinfoOtherScheme(t *testing.T) {
	e := newIntrospectEnv(t)
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/userinfo", nil)
	req.SetBasicAuth("web", "s3cret")
	r := e.do(req)
	// RFC 6750 §3.1: no error code for an unsupported authentication method.
	if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") != `Bearer realm="averos-auth"` {
		t.Errorf("Basic credentials: %d %q", r.status, r.header.Get("WWW-Authenticate"))
	}

	login := e.login(t, "openid")
	req, _ = http.NewRequest(http.MethodGet, e.srv.URL+"/userinfo", nil)
	req.Header.Add("Authorization", "Bearer "+login.str("access_token"))
	req.Header.Add("Authorization", "Bearer junk")
	if r := e.do(req); r.status != http.StatusBadRequest {
		t.Errorf("two Authorization headers: %d %s", r.status, r.raw)
	}
}
