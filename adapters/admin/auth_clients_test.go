package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/averos/averos-auth/adapters/admin"
	"github.com/averos/averos-auth/internal/accounts"
)

// With Clients set, an administrator's token issued to another client is
// refused, and a token of a listed client still works.
func TestTokenOfUnlistedClientRejected(t *testing.T) {
	e := newEnv(t)
	restricted := e.serveWith(admin.Options{Clients: []string{consoleID}})

	_, otherSecret, err := e.clients.Create(context.Background(), accounts.ClientSpec{
		ID: "third-party", GrantTypes: []string{"password"},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := restricted.postForm("/oauth2/token", url.Values{
		"grant_type": {"password"}, "username": {"root"}, "password": {adminPassword},
	}, "third-party", otherSecret)
	if r.status != http.StatusOK {
		t.Fatalf("password grant for the third party: %d %s", r.status, r.raw)
	}
	foreign := r.str("access_token")

	got := restricted.call(http.MethodGet, "/uapi/users/", foreign, "")
	if got.status != http.StatusForbidden {
		t.Errorf("third-party token: status %d, want 403 (%s)", got.status, got.raw)
	}
	if got.raw != "the administration API does not accept tokens issued to this client" {
		t.Errorf("third-party token: body %q", got.raw)
	}
	if ok := restricted.call(http.MethodGet, "/uapi/users/", e.adminToken, ""); ok.status != http.StatusOK {
		t.Errorf("listed client's token: status %d, want 200 (%s)", ok.status, ok.raw)
	}
}

// A protected client cannot be changed or deleted, and stays as it was.
func TestProtectedClientUnchanged(t *testing.T) {
	e := newEnv(t)
	protected := e.serveWith(admin.Options{ProtectedClients: []string{consoleID}})
	before, err := e.store.Clients.Get(context.Background(), consoleID)
	if err != nil {
		t.Fatal(err)
	}

	r := protected.call(http.MethodPut, "/uapi/clients/"+consoleID, e.adminToken,
		`{"grant_types":["client_credentials"],"scopes":[]}`)
	if r.status != http.StatusConflict {
		t.Errorf("PUT: status %d, want 409 (%s)", r.status, r.raw)
	}
	r = protected.call(http.MethodDelete, "/uapi/clients/"+consoleID, e.adminToken, "")
	if r.status != http.StatusConflict {
		t.Errorf("DELETE: status %d, want 409 (%s)", r.status, r.raw)
	}
	after, err := e.store.Clients.Get(context.Background(), consoleID)
	if err != nil {
		t.Fatalf("protected client gone: %v", err)
	}
	if !after.UpdatedAt.Equal(before.UpdatedAt) || len(after.GrantTypes) != len(before.GrantTypes) {
		t.Errorf("protected client changed: %+v", after)
	}
	if !e.introspectActive(e.adminToken) {
		t.Error("the refused deletion revoked tokens")
	}
}
