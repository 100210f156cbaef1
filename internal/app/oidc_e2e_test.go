package app_test

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"go.uber.org/zap"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/averos/averos-auth/configs"
	"github.com/averos/averos-auth/internal/accounts"
	"github.com/averos/averos-auth/internal/app"
	"github.com/averos/averos-auth/storage"
	"github.com/averos/averos-auth/storage/storagetest"
)

// stack is the whole server on a real listener whose URL is the issuer.
type stack struct {
	issuer string
	cfg    *configs.Config
	store  *storage.Store
}

func startStack(t *testing.T) *stack {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.Issuer = "http://" + ln.Addr().String()
	// Cheap hashing keeps the test fast; the cost does not change behaviour.
	cfg.Password.Argon2.MemoryKiB, cfg.Password.Argon2.Iterations = 64, 1
	st := storagetest.New(t)
	a, err := app.New(cfg, zap.NewNop(), st)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	waitStatus(t, cfg.Issuer+"/readyz", http.StatusOK)

	hasher, err := app.PasswordHasher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	users := accounts.NewUsers(st, hasher, 8)
	if _, err := accounts.NewRoles(st).Create(ctx, accounts.NewRole{Name: "admin"}); err != nil {
		t.Fatal(err)
	}
	if _, err := users.Create(ctx, accounts.NewUser{UserName: "grace", Email: "grace@example.com",
		Password: "Hopper-1906", FirstName: "Grace", LastName: "Hopper", Roles: []string{"admin"},
		AccountVerified: true}); err != nil {
		t.Fatal(err)
	}
	return &stack{issuer: cfg.Issuer, cfg: cfg, store: st}
}

// clientSecret registers a client through the same service as the CLI and
// returns its secret ("" for a public client).
func (s *stack) clientSecret(t *testing.T, spec accounts.ClientSpec) string {
	t.Helper()
	clients, err := accounts.NewClients(s.store, s.cfg.SystemSecret, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := clients.Create(context.Background(), spec)
	if err != nil {
		t.Fatalf("create client %s: %v", spec.ID, err)
	}
	return secret
}

// An OpenID Connect relying party configures itself from discovery, gets
// tokens with golang.org/x/oauth2 and verifies them with go-oidc.
func TestOIDCClientEndToEnd(t *testing.T) {
	s := startStack(t)
	ctx := oidc.ClientContext(context.Background(), http.DefaultClient)
	secret := s.clientSecret(t, accounts.ClientSpec{ID: "rp", GrantTypes: []string{"password", "refresh_token"},
		Scopes: []string{"openid", "profile", "email", "roles", "offline_access"}})

	provider, err := oidc.NewProvider(ctx, s.issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	conf := oauth2.Config{ClientID: "rp", ClientSecret: secret, Endpoint: provider.Endpoint(),
		Scopes: []string{"openid", "profile", "email", "offline_access"}}
	tok, err := conf.PasswordCredentialsToken(ctx, "GRACE", "Hopper-1906")
	if err != nil {
		t.Fatalf("password grant: %v", err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: "rp"})
	rawID, _ := tok.Extra("id_token").(string)
	idToken, err := verifier.Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("ID token from the password grant: %v", err)
	}
	var claims struct {
		PreferredUsername string `json:"preferred_username"`
		Email             string `json:"email"`
		AuthTime          int64  `json:"auth_time"`
	}
	if err := idToken.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if idToken.Subject == "grace" || claims.PreferredUsername != "grace" || claims.Email != "grace@example.com" {
		t.Errorf("ID token subject %q, claims %+v", idToken.Subject, claims)
	}
	if err := idToken.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}

	// The access token is a JWT that verifies against the JWKS.
	keySet := oidc.NewRemoteKeySet(ctx, s.issuer+"/.well-known/jwks.json")
	payload, err := keySet.VerifySignature(ctx, tok.AccessToken)
	if err != nil {
		t.Fatalf("access token against the JWKS: %v", err)
	}
	var access map[string]any
	if err := json.Unmarshal(payload, &access); err != nil {
		t.Fatal(err)
	}
	if access["iss"] != s.issuer || access["sub"] != idToken.Subject || access["client_id"] != "rp" {
		t.Errorf("access token claims = %v", access)
	}

	// A refresh through the token source: a new ID token with the same
	// subject and auth_time.
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	refreshed, err := conf.TokenSource(ctx, &expired).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if refreshed.RefreshToken == tok.RefreshToken {
		t.Error("the refresh token was not rotated")
	}
	rawID2, _ := refreshed.Extra("id_token").(string)
	idToken2, err := verifier.Verify(ctx, rawID2)
	if err != nil {
		t.Fatalf("ID token from the refresh: %v", err)
	}
	var claims2 struct {
		AuthTime int64 `json:"auth_time"`
	}
	_ = idToken2.Claims(&claims2)
	if idToken2.Subject != idToken.Subject || claims2.AuthTime != claims.AuthTime {
		t.Errorf("refreshed ID token: subject %q auth_time %d, want %q %d",
			idToken2.Subject, claims2.AuthTime, idToken.Subject, claims.AuthTime)
	}

	// Userinfo through go-oidc.
	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(refreshed))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	if info.Subject != idToken.Subject || info.Email != "grace@example.com" {
		t.Errorf("userinfo = %+v", info)
	}
}

// Every endpoint named in discovery responds, and every client
// authentication method listed for the token endpoint works.
func TestDiscoveryEndpointsAndAuthMethods(t *testing.T) {
	s := startStack(t)
	var meta map[string]any
	getJSON(t, s.issuer+"/.well-known/openid-configuration", &meta)
	if meta["issuer"] != s.issuer {
		t.Errorf("issuer = %v, want %s", meta["issuer"], s.issuer)
	}
	for _, key := range []string{"token_endpoint", "userinfo_endpoint", "jwks_uri", "introspection_endpoint", "revocation_endpoint"} {
		endpoint, _ := meta[key].(string)
		if !strings.HasPrefix(endpoint, s.issuer+"/") {
			t.Errorf("%s = %q, not under the issuer", key, endpoint)
			continue
		}
		resp, err := http.Post(endpoint, "application/x-www-form-urlencoded", strings.NewReader(""))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode >= 500 {
			t.Errorf("%s %s returned %d", key, endpoint, resp.StatusCode)
		}
	}

	secret := s.clientSecret(t, accounts.ClientSpec{ID: "svc", GrantTypes: []string{"client_credentials"}})
	methods, _ := meta["token_endpoint_auth_methods_supported"].([]any)
	if len(methods) == 0 {
		t.Fatal("no token_endpoint_auth_methods_supported")
	}
	for _, m := range methods {
		switch m {
		case "client_secret_basic":
			cc := clientcredentials.Config{ClientID: "svc", ClientSecret: secret, TokenURL: s.issuer + "/oauth2/token",
				AuthStyle: oauth2.AuthStyleInHeader}
			if _, err := cc.Token(context.Background()); err != nil {
				t.Errorf("client_secret_basic: %v", err)
			}
		case "client_secret_post":
			cc := clientcredentials.Config{ClientID: "svc", ClientSecret: secret, TokenURL: s.issuer + "/oauth2/token",
				AuthStyle: oauth2.AuthStyleInParams}
			if _, err := cc.Token(context.Background()); err != nil {
				t.Errorf("client_secret_post: %v", err)
			}
		case "none":
			s.clientSecret(t, accounts.ClientSpec{ID: "spa", Public: true, GrantTypes: []string{"password"},
				Scopes: []string{"openid"}})
			form := url.Values{"grant_type": {"password"}, "client_id": {"spa"}, "username": {"grace"},
				"password": {"Hopper-1906"}, "scope": {"openid"}}
			resp, err := http.PostForm(s.issuer+"/oauth2/token", form)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("none: status %d", resp.StatusCode)
			}
		default:
			t.Errorf("discovery lists an unknown method %v", m)
		}
	}
}

// Forged tokens are rejected by every endpoint that accepts access tokens.
func TestForgedTokensRejectedEverywhere(t *testing.T) {
	s := startStack(t)
	secret := s.clientSecret(t, accounts.ClientSpec{ID: "rs", GrantTypes: []string{"client_credentials"}, IntrospectAny: true})

	var jwks jose.JSONWebKeySet
	getJSON(t, s.issuer+"/.well-known/jwks.json", &jwks)
	if len(jwks.Keys) == 0 {
		t.Fatal("empty JWKS")
	}
	pub, ok := jwks.Keys[0].Key.(*rsa.PublicKey)
	if !ok {
		t.Fatalf("key type %T, want RSA", jwks.Keys[0].Key)
	}
	claims := map[string]any{"iss": s.issuer, "sub": "x", "aud": s.issuer, "client_id": s.cfg.Averos.ClientID,
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(), "jti": "forged", "scope": "openid"}
	body, _ := json.Marshal(claims)
	segment := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	payload := base64.RawURLEncoding.EncodeToString(body)

	none := segment(map[string]string{"alg": "none", "typ": "at+jwt", "kid": jwks.Keys[0].KeyID}) + "." + payload + "."
	hsSigner, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: pub.N.Bytes()},
		(&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", jwks.Keys[0].KeyID))
	if err != nil {
		t.Fatal(err)
	}
	hsObj, err := hsSigner.Sign(body)
	if err != nil {
		t.Fatal(err)
	}
	hs256, _ := hsObj.CompactSerialize()
	unknownKid := segment(map[string]string{"alg": "RS256", "typ": "at+jwt", "kid": "not-a-key"}) + "." + payload + "." +
		base64.RawURLEncoding.EncodeToString(make([]byte, 256))

	for name, forged := range map[string]string{"alg none": none, "HS256 with the public key": hs256, "unknown kid": unknownKid} {
		for _, target := range []struct {
			method, path string
		}{
			{http.MethodGet, "/userinfo"},
			{http.MethodGet, "/uapi/users/"},
			{http.MethodGet, "/auth/luroles"},
		} {
			req, _ := http.NewRequest(target.method, s.issuer+target.path, nil)
			req.Header.Set("Authorization", "Bearer "+forged)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s at %s: status %d, want 401", name, target.path, resp.StatusCode)
			}
		}
		req, _ := http.NewRequest(http.MethodPost, s.issuer+"/oauth2/introspect",
			strings.NewReader(url.Values{"token": {forged}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("rs", secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(raw)) != `{"active":false}` {
			t.Errorf("%s at introspection: %d %s, want 200 {\"active\":false}", name, resp.StatusCode, raw)
		}
	}
}

func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
