package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/averos/averos-auth/internal/accounts"
	"github.com/averos/averos-auth/storage"
)

func TestAuthenticationFailures(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name   string
		header string
	}{
		{"no header", ""},
		{"undefined token", "Bearer undefined"},
		{"garbage token", "Bearer abc.def.ghi"},
		{"basic scheme", "Basic cm9vdDpwdw=="},
		{"empty bearer", "Bearer "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/uapi/users/", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			r := e.do(req)
			wantText(t, r, http.StatusUnauthorized, "missing or invalid access token")
			if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", got)
			}
		})
	}
}

func TestTwoAuthorizationHeaders(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/uapi/users/", nil)
	req.Header.Add("Authorization", "Bearer "+e.adminToken)
	req.Header.Add("Authorization", "Bearer abc.def.ghi")
	wantText(t, e.do(req), http.StatusUnauthorized, "missing or invalid access token")
}

func TestUnverifiedAccountGets471(t *testing.T) {
	e := newEnv(t)
	u := e.addUser(accounts.NewUser{UserName: "newbie", Email: "newbie@example.test", Password: userPassword})
	token := e.login("newbie", userPassword)

	r := e.call(http.MethodGet, "/uapi/users/"+u.ID, token, "")
	wantText(t, r, 471, "account not verified")

	// An unverified administrator is stopped too.
	if _, err := e.store.Users.Update(context.Background(), u.ID, func(u *storage.User) error {
		u.Roles = []string{"admin"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r = e.call(http.MethodGet, "/uapi/roles/", token, "")
	wantText(t, r, 471, "account not verified")
}

func TestRevokedSessionGets460(t *testing.T) {
	cases := []struct {
		name   string
		revoke func(e *env)
	}{
		{"user disabled", func(e *env) {
			r := e.call(http.MethodPut, "/uapi/users/"+e.user.ID, e.adminToken, `{"disabled":true}`)
			wantStatus(e.t, r, http.StatusOK)
		}},
		{"user locked", func(e *env) {
			r := e.call(http.MethodPut, "/uapi/users/"+e.user.ID, e.adminToken, `{"isAccountLocked":"true"}`)
			wantStatus(e.t, r, http.StatusOK)
		}},
		{"user deleted", func(e *env) {
			r := e.call(http.MethodDelete, "/uapi/users/"+e.user.ID, e.adminToken, "")
			wantStatus(e.t, r, http.StatusOK)
		}},
		{"tokens revoked", func(e *env) {
			if err := e.provider.RevokeUserTokens(context.Background(), e.user.ID); err != nil {
				e.t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			r := e.call(http.MethodGet, "/uapi/users/"+e.user.ID, e.userToken, "")
			wantStatus(t, r, http.StatusOK)

			tc.revoke(e)
			r = e.call(http.MethodGet, "/uapi/users/"+e.user.ID, e.userToken, "")
			wantText(t, r, 460, "session revoked")
		})
	}
}

func TestClientCredentialsTokenForbidden(t *testing.T) {
	e := newEnv(t)
	_, secret, err := e.clients.Create(context.Background(), accounts.ClientSpec{
		ID: "service", GrantTypes: []string{"client_credentials"},
	})
	if err != nil {
		t.Fatal(err)
	}
	// iat has whole seconds, so a client token issued in the second the
	// client was created would count as revoked.
	if _, err := e.store.Clients.Update(context.Background(), "service", func(c *storage.Client) error {
		c.TokensValidAfter = c.TokensValidAfter.Add(-time.Hour)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	tr := e.postForm("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, "service", secret)
	wantStatus(t, tr, http.StatusOK)

	r := e.call(http.MethodGet, "/uapi/users/", tr.str("access_token"), "")
	wantText(t, r, http.StatusForbidden, "needs a user's access token")
}

// TestRouteAccess calls every route as the administrator and as an
// ordinary user, in an order where each call finds what it needs.
func TestRouteAccess(t *testing.T) {
	e := newEnv(t)
	other := e.addUser(accounts.NewUser{UserName: "bob", Email: "bob@example.test",
		Password: userPassword, AccountVerified: true})
	viewer, err := e.store.Roles.GetByName(context.Background(), "viewer")
	if err != nil {
		t.Fatal(err)
	}
	ownFilter := query("filter", `{"userName":{"$eq":"ada"}}`)
	cids := query("cids", `[{"_id":"`+viewer.ID+`"}]`)

	cases := []struct {
		method, path, body string
		admin, user        int
	}{
		{"GET", "/uapi/users/", "", 200, 403},
		{"GET", "/uapi/users/" + ownFilter, "", 200, 200},
		{"GET", "/uapi/users/" + query("filter", `{"userName":{"$eq":"bob"}}`), "", 200, 403},
		{"GET", "/uapi/users/" + query("filter", `{"userName":{"$regex":"ada"}}`), "", 200, 403},
		{"GET", "/uapi/users/" + e.user.ID, "", 200, 200},
		{"GET", "/uapi/users/" + other.ID, "", 200, 403},
		{"PUT", "/uapi/users/" + e.user.ID, `{"about":"hello"}`, 200, 200},
		{"PUT", "/uapi/users/" + other.ID, `{"about":"hello"}`, 200, 403},
		{"POST", "/uapi/users/", `{"userName":"carol","email":"carol@example.test","password":"Carol1carol"}`, 201, 403},
		{"PUT", "/uapi/users/" + other.ID, `{"roles":[{"_id":"` + viewer.ID + `"}]}`, 200, 403},
		{"DELETE", "/uapi/users/" + other.ID + "/collection/roles" + cids, "", 200, 403},
		{"DELETE", "/uapi/users/" + other.ID, "", 200, 403},
		{"GET", "/uapi/roles/", "", 200, 403},
		{"GET", "/uapi/roles/" + viewer.ID, "", 200, 403},
		{"POST", "/uapi/roles/", `{"name":"auditor"}`, 201, 403},
		{"PUT", "/uapi/roles/" + viewer.ID, `{"description":"reads"}`, 200, 403},
		{"DELETE", "/uapi/roles/" + viewer.ID, "", 200, 403},
		{"GET", "/uapi/clients/", "", 200, 403},
		{"POST", "/uapi/clients/", `{"client_id":"api","grant_types":["client_credentials"]}`, 201, 403},
		{"GET", "/uapi/clients/api", "", 200, 403},
		{"PUT", "/uapi/clients/api", `{"scopes":["read"]}`, 200, 403},
		{"POST", "/uapi/clients/api/secret", "", 200, 403},
		{"DELETE", "/uapi/clients/api", "", 200, 403},
	}
	for _, tc := range cases {
		// The ordinary user goes first, so the administrator's call finds
		// the state unchanged.
		r := e.call(tc.method, tc.path, e.userToken, tc.body)
		if r.status != tc.user {
			t.Errorf("user %s %s: status = %d, want %d (body %q)", tc.method, tc.path, r.status, tc.user, r.raw)
		}
		if tc.user == http.StatusForbidden && !strings.Contains(r.raw, "administrator role") {
			t.Errorf("user %s %s: body = %q, want the administrator role named", tc.method, tc.path, r.raw)
		}
		r = e.call(tc.method, tc.path, e.adminToken, tc.body)
		if r.status != tc.admin {
			t.Errorf("admin %s %s: status = %d, want %d (body %q)", tc.method, tc.path, r.status, tc.admin, r.raw)
		}
	}

	// The user's own list request returns only their own record.
	r := e.call(http.MethodGet, "/uapi/users/"+ownFilter, e.userToken, "")
	list := r.entities(t)
	if len(list) != 1 || list[0]["_id"] != e.user.ID {
		t.Errorf("own filter returned %v, want only ada", list)
	}
}

func TestCollectionPathWithoutSlash(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/uapi/users", "/uapi/roles", "/uapi/clients"} {
		r := e.call(http.MethodGet, path, e.adminToken, "")
		if r.status != http.StatusOK {
			t.Errorf("GET %s: status = %d, want 200 (body %q)", path, r.status, r.raw)
		}
		if _, ok := r.body["returnedEntities"]; !ok {
			t.Errorf("GET %s: body %q has no returnedEntities", path, r.raw)
		}
	}
	r := e.call(http.MethodGet, "/uapi/unknown", e.adminToken, "")
	wantText(t, r, http.StatusNotFound, "not found")
}
