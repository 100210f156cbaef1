package oauth

import (
	"context"
	"crypto"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/averos/averos-auth/storage"
)

// oidcVerifier returns a go-oidc verifier over the test keys for clientID.
func (e *testEnv) oidcVerifier(clientID string) *oidc.IDTokenVerifier {
	e.keys.mu.Lock()
	var pubs []crypto.PublicKey
	var algs []string
	for _, k := range e.keys.public {
		pubs = append(pubs, k.key)
		algs = append(algs, k.alg)
	}
	e.keys.mu.Unlock()
	return oidc.NewVerifier(e.p.cfg.Issuer, &oidc.StaticKeySet{PublicKeys: pubs}, &oidc.Config{
		ClientID: clientID, SupportedSigningAlgs: algs, Now: e.clock.Now,
	})
}

func (e *testEnv) oauth2Config(clientID, secret string, scopes ...string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: clientID, ClientSecret: secret, Scopes: scopes,
		Endpoint: oauth2.Endpoint{TokenURL: e.srv.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader},
	}
}

type idClaims struct {
	Subject           string   `json:"sub"`
	AuthorizedParty   string   `json:"azp"`
	AuthTime          int64    `json:"auth_time"`
	Expiry            int64    `json:"exp"`
	IssuedAt          int64    `json:"iat"`
	PreferredUsername string   `json:"preferred_username"`
	Name              string   `json:"name"`
	GivenName         string   `json:"given_name"`
	FamilyName        string   `json:"family_name"`
	Locale            string   `json:"locale"`
	Email             string   `json:"email"`
	EmailVerified     *bool    `json:"email_verified"`
	Roles             []string `json:"roles"`
}

func TestPasswordAndRefreshWithOAuth2Client(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			e := newTestEnv(t, envOptions{alg: alg})
			user := e.addUser("Ada", "correct horse")
			e.addClient("web", "s3cret")
			ctx := context.WithValue(context.Background(), oauth2.HTTPClient, http.DefaultClient)
			conf := e.oauth2Config("web", "s3cret", "openid", "profile", "email", "roles", "offline_access")
			// The user name is matched in any case.
			tok, err := conf.PasswordCredentialsToken(ctx, "ADA", "correct horse")
			if err != nil {
				t.Fatalf("password grant: %v", err)
			}
			if tok.RefreshToken == "" {
				t.Fatal("no refresh token although offline_access was granted")
			}
			if got := tok.Expiry.Sub(time.Now()); got < 9*time.Minute || got > 11*time.Minute {
				t.Errorf("expires_in gives %v, want about 10m", got)
			}

			verifier := e.oidcVerifier("web")
			rawID, _ := tok.Extra("id_token").(string)
			idt, err := verifier.Verify(ctx, rawID)
			if err != nil {
				t.Fatalf("verify ID token: %v", err)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("at_hash: %v", err)
			}
			var claims idClaims
			if err := idt.Claims(&claims); err != nil {
				t.Fatal(err)
			}
			if claims.Subject != user.ID {
				t.Errorf("sub = %q, want the user id %q", claims.Subject, user.ID)
			}
			if claims.AuthorizedParty != "web" {
				t.Errorf("azp = %q", claims.AuthorizedParty)
			}
			if got := claims.Expiry - claims.IssuedAt; got != int64((30 * time.Minute).Seconds()) {
				t.Errorf("ID token lifetime = %ds, want the ID token lifetime 1800s", got)
			}
			if claims.PreferredUsername != "Ada" || claims.Name != "Ada Lovelace" ||
				claims.GivenName != "Ada" || claims.FamilyName != "Lovelace" || claims.Locale != "en" {
				t.Errorf("profile claims = %+v", claims)
			}
			if claims.Email != "ada@example.test" || claims.EmailVerified == nil || !*claims.EmailVerified {
				t.Errorf("email claims = %q %v", claims.Email, claims.EmailVerified)
			}
			if !slices.Equal(claims.Roles, []string{"editor"}) {
				t.Errorf("roles = %v", claims.Roles)
			}
			loginTime := claims.AuthTime

			// The user changes; a refresh reflects it and keeps auth_time.
			if _, err := e.store.Users.Update(ctx, user.ID, func(u *storage.User) error {
				u.FirstName = "Augusta"
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(11 * time.Minute)
			expired := tok
			expired.Expiry = time.Now().Add(-time.Minute)
			src := conf.TokenSource(ctx, expired)
			fresh, err := src.Token()
			if err != nil {
				t.Fatalf("refresh through the token source: %v", err)
			}
			if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken {
				t.Error("the refresh did not rotate the tokens")
			}
			idt2, err := verifier.Verify(ctx, fresh.Extra("id_token").(string))
			if err != nil {
				t.Fatalf("verify refreshed ID token: %v", err)
			}
			var claims2 idClaims
			if err := idt2.Claims(&claims2); err != nil {
				t.Fatal(err)
			}
			if claims2.AuthTime != loginTime {
				t.Errorf("auth_time changed on refresh: %d, want %d", claims2.AuthTime, loginTime)
			}
			if claims2.GivenName != "Augusta" {
				t.Errorf("given_name after refresh = %q, want the current Augusta", claims2.GivenName)
			}
			if err := idt2.VerifyAccessToken(fresh.AccessToken); err != nil {
				t.Errorf("at_hash after refresh: %v", err)
			}

			// The old refresh token no longer works.
			r := e.refreshGrant("web", "s3cret", tok.RefreshToken, nil)
			wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")

			stored, err := e.store.Users.Get(ctx, user.ID)
			if err != nil {
				t.Fatal(err)
			}
			if stored.LastLoginAt == nil || stored.LastLoginIP != "127.0.0.1" {
				t.Errorf("last login = %v from %q, want a time from 127.0.0.1", stored.LastLoginAt, stored.LastLoginIP)
			}
		})
	}
}

func TestClientCredentialsWithOAuth2Client(t *testing.T) {
	e := newTestEnv(t)
	e.addClient("service", "s3cret", func(c *storage.Client) {
		c.Audiences = []string{"https://api.example.test"}
	})
	ctx := context.Background()
	conf := clientcredentials.Config{
		ClientID: "service", ClientSecret: "s3cret", TokenURL: e.srv.URL + "/oauth2/token",
		Scopes: []string{"api"}, AuthStyle: oauth2.AuthStyleInParams,
	}
	tok, err := conf.Token(ctx)
	if err != nil {
		t.Fatalf("client credentials: %v", err)
	}
	if tok.RefreshToken != "" {
		t.Error("client credentials returned a refresh token")
	}
	if tok.Extra("id_token") != nil {
		t.Error("client credentials returned an ID token")
	}
	at, err := e.p.ValidateAccessToken(ctx, tok.AccessToken)
	if err != nil {
		t.Fatalf("ValidateAccessToken: %v", err)
	}
	if at.Subject != "service" || at.ClientID != "service" {
		t.Errorf("sub, client_id = %q, %q, want the client id", at.Subject, at.ClientID)
	}
	if !slices.Equal(at.Scopes, []string{"api"}) || !slices.Equal(at.Audience, []string{"https://api.example.test"}) {
		t.Errorf("scopes %v, audience %v", at.Scopes, at.Audience)
	}

	// A grant without scopes has no scope member: RFC 6749 §3.3 allows no
	// empty scope.
	bare := e.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basic("service", "s3cret"))
	if _, present := bare.body["scope"]; bare.status != http.StatusOK || present {
		t.Errorf("grant without scopes: %d %s", bare.status, bare.raw)
	}

	// Public clients cannot use the grant.
	e.addClient("spa", "", func(c *storage.Client) { c.GrantTypes = []string{"client_credentials"} })
	r := e.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"spa"}}, nil)
	wantOAuthError(t, r, http.StatusBadRequest, "unauthorized_client")
}

func TestExpiresInIsTheLifetime(t *testing.T) {
	e := newTestEnv(t)
	e.addClient("service", "s3cret")
	// A request in the middle of a second must not lose that fraction.
	e.clock.Advance(400 * time.Millisecond)
	r := e.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basic("service", "s3cret"))
	if r.status != http.StatusOK {
		t.Fatalf("token: %d %s", r.status, r.raw)
	}
	if got := r.body["expires_in"]; got != float64(600) {
		t.Errorf("expires_in = %v, want 600 for a 10-minute lifetime", got)
	}
}
