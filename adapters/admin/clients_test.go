package admin_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/averos/averos-auth/storage"
)

func (e *env) clientToken(id, secret string) response {
	e.t.Helper()
	return e.postForm("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, id, secret)
}

func TestClientLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	r := e.call(http.MethodPost, "/uapi/clients/", e.adminToken, `{
		"client_id":"reports","client_name":"Reports","grant_types":["client_credentials"],
		"scopes":["read","write"],"audiences":["https://api.example.test"],
		"access_token_lifetime":600,"cors_origins":["https://app.example.test"]}`)
	wantStatus(t, r, http.StatusCreated)
	secret := r.str("client_secret")
	if len(secret) < 43 {
		t.Fatalf("client_secret = %q, want 256 bits of secret", secret)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", r.header.Get("Cache-Control"))
	}
	if r.body["access_token_lifetime"] != float64(600) || r.str("client_name") != "Reports" {
		t.Errorf("response = %s", r.raw)
	}
	stored, err := e.store.Clients.Get(ctx, "reports")
	if err != nil {
		t.Fatal(err)
	}
	if stored.AccessTokenLifetime != 10*time.Minute || stored.SecretHash == "" || stored.SecretHash == secret {
		t.Errorf("stored lifetime %v, secret hash %q", stored.AccessTokenLifetime, stored.SecretHash)
	}
	wantStatus(t, e.clientToken("reports", secret), http.StatusOK)

	// The secret is never shown again.
	r = e.call(http.MethodGet, "/uapi/clients/reports", e.adminToken, "")
	wantStatus(t, r, http.StatusOK)
	if _, ok := r.body["client_secret"]; ok {
		t.Errorf("GET returns a secret: %s", r.raw)
	}

	// A partial update keeps what the body does not give.
	r = e.call(http.MethodPut, "/uapi/clients/reports", e.adminToken,
		`{"scopes":["read"],"refresh_token_lifetime":86400,"client_id":"renamed"}`)
	wantStatus(t, r, http.StatusOK)
	stored, _ = e.store.Clients.Get(ctx, "reports")
	if !slices.Equal(stored.Scopes, []string{"read"}) || stored.RefreshTokenLifetime != 24*time.Hour {
		t.Errorf("stored scopes %v, refresh lifetime %v", stored.Scopes, stored.RefreshTokenLifetime)
	}
	if stored.AccessTokenLifetime != 10*time.Minute || !slices.Equal(stored.CORSOrigins, []string{"https://app.example.test"}) {
		t.Errorf("update lost settings: %v %v", stored.AccessTokenLifetime, stored.CORSOrigins)
	}
	if _, err := e.store.Clients.Get(ctx, "renamed"); !errors.Is(err, storage.ErrNotFound) {
		t.Error("client_id in an update renamed the client")
	}

	// Rotation: the old secret fails at once, the new one works. The grant
	// before it puts the client in the provider's cache.
	wantStatus(t, e.clientToken("reports", secret), http.StatusOK)
	r = e.call(http.MethodPost, "/uapi/clients/reports/secret", e.adminToken, "")
	wantStatus(t, r, http.StatusOK)
	newSecret := r.str("client_secret")
	if newSecret == "" || newSecret == secret || r.str("client_id") != "reports" {
		t.Fatalf("rotation response = %s", r.raw)
	}
	if r := e.clientToken("reports", secret); r.status != http.StatusUnauthorized {
		t.Errorf("old secret: status = %d, want 401 (body %s)", r.status, r.raw)
	}
	tr := e.clientToken("reports", newSecret)
	wantStatus(t, tr, http.StatusOK)

	// Deletion revokes the client's tokens.
	if err := backdateClientRevocation(e, "reports"); err != nil {
		t.Fatal(err)
	}
	tr = e.clientToken("reports", newSecret)
	wantStatus(t, tr, http.StatusOK)
	if !e.introspectActive(tr.str("access_token")) {
		t.Fatal("the client's token is inactive before the deletion")
	}
	r = e.call(http.MethodDelete, "/uapi/clients/reports", e.adminToken, "")
	wantStatus(t, r, http.StatusOK)
	if r.str("client_id") != "reports" {
		t.Errorf("response = %s, want the deleted client", r.raw)
	}
	if _, err := e.store.Clients.Get(ctx, "reports"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("deleted client still stored: %v", err)
	}
	if e.introspectActive(tr.str("access_token")) {
		t.Error("introspection reports the deleted client's token active")
	}
	if r := e.clientToken("reports", newSecret); r.status != http.StatusUnauthorized {
		t.Errorf("token request of a deleted client: status = %d, want 401", r.status)
	}
	r = e.call(http.MethodDelete, "/uapi/clients/reports", e.adminToken, "")
	wantText(t, r, http.StatusNotFound, "client not found")
}

// backdateClientRevocation moves the client's revocation time an hour back:
// iat has whole seconds, so a client token issued in the second the client
// was created would count as revoked.
func backdateClientRevocation(e *env, id string) error {
	_, err := e.store.Clients.Update(context.Background(), id, func(c *storage.Client) error {
		c.TokensValidAfter = c.TokensValidAfter.Add(-time.Hour)
		return nil
	})
	return err
}

func TestClientInputRejected(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		body   string
		status int
		want   string
	}{
		{`{"grant_types":["client_credentials"]}`, 400, "client_id is required"},
		{`{"client_id":"a b","grant_types":["password"]}`, 400, "client_id must be 1 to 128"},
		{`{"client_id":"x","grant_types":"password"}`, 400, "grant_types must be an array"},
		{`{"client_id":"x","grant_types":["implicit"]}`, 400, "grant_types[0] must be one of"},
		{`{"client_id":"x","grant_types":[{"$in":[]}]}`, 400, "grant_types[0] must be a string"},
		{`{"client_id":"x","grant_types":["password"],"access_token_lifetime":"15m"}`, 400, "access_token_lifetime must be a number of seconds"},
		{`{"client_id":"x","grant_types":["password"],"access_token_lifetime":1.5}`, 400, "whole number of seconds"},
		{`{"client_id":"x","grant_types":["password"],"refresh_token_lifetime":-1}`, 400, "whole number of seconds"},
		{`{"client_id":"x","grant_types":["password"],"access_token_lifetime":90000}`, 400, "access_token_lifetime is out of range"},
		{`{"client_id":"x","public":true,"grant_types":["client_credentials"]}`, 400, "public client cannot use client_credentials"},
		{`{"client_id":"x","grant_types":["password"],"cors_origins":["https://a.example/path"]}`, 400, "must be an origin"},
		{`{"client_id":"console","grant_types":["password"]}`, 409, "client with this client_id already exists"},
	}
	for _, tc := range cases {
		r := e.call(http.MethodPost, "/uapi/clients/", e.adminToken, tc.body)
		wantText(t, r, tc.status, tc.want)
	}
	if _, err := e.store.Clients.Get(context.Background(), "x"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a rejected client was stored: %v", err)
	}

	// A public client has no secret to rotate, and stays public.
	r := e.call(http.MethodPost, "/uapi/clients/", e.adminToken, `{"client_id":"spa","public":true,"grant_types":["password"]}`)
	wantStatus(t, r, http.StatusCreated)
	if _, ok := r.body["client_secret"]; ok {
		t.Errorf("public client got a secret: %s", r.raw)
	}
	r = e.call(http.MethodPost, "/uapi/clients/spa/secret", e.adminToken, "")
	wantText(t, r, http.StatusBadRequest, "public client has no secret")
	r = e.call(http.MethodPut, "/uapi/clients/spa", e.adminToken, `{"public":false}`)
	wantText(t, r, http.StatusBadRequest, "cannot change between public and confidential")
	r = e.call(http.MethodPut, "/uapi/clients/ghost", e.adminToken, `{"scopes":[]}`)
	wantText(t, r, http.StatusNotFound, "client not found")
}
