package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/averos/averos-auth/storage"
)

// login runs a password grant for ada through client web and fails the test
// unless it succeeds.
func (e *testEnv) login(t *testing.T, scope string) response {
	t.Helper()
	r := e.passwordGrant("web", "s3cret", "ada", "correct horse", scope)
	if r.status != http.StatusOK {
		t.Fatalf("login: %d %s", r.status, r.raw)
	}
	return r
}

func newRefreshEnv(t *testing.T) (*testEnv, *storage.User) {
	e := newTestEnv(t)
	user := e.addUser("ada", "correct horse")
	e.addClient("web", "s3cret")
	e.addClient("other", "s3cret")
	return e, user
}

func TestRefreshRotatesAndDetectsReplay(t *testing.T) {
	e, _ := newRefreshEnv(t)
	first := e.login(t, "openid offline_access")

	second := e.refreshGrant("web", "s3cret", first.str("refresh_token"), nil)
	if second.status != http.StatusOK {
		t.Fatalf("refresh: %d %s", second.status, second.raw)
	}
	third := e.refreshGrant("web", "s3cret", second.str("refresh_token"), nil)
	if third.status != http.StatusOK {
		t.Fatalf("second refresh: %d %s", third.status, third.raw)
	}
	wantActive(t, e.introspect("web", "s3cret", third.str("refresh_token")))
	wantActive(t, e.introspect("web", "s3cret", third.str("access_token")))
	wantInactive(t, e.introspect("web", "s3cret", second.str("refresh_token")))

	// Replaying a rotated-out token fails and revokes the whole family.
	replay := e.refreshGrant("web", "s3cret", first.str("refresh_token"), nil)
	wantOAuthError(t, replay, http.StatusBadRequest, "invalid_grant")
	wantInactive(t, e.introspect("web", "s3cret", third.str("refresh_token")))
	wantInactive(t, e.introspect("web", "s3cret", third.str("access_token")))
	wantInactive(t, e.introspect("web", "s3cret", first.str("access_token")))
	wantOAuthError(t, e.refreshGrant("web", "s3cret", third.str("refresh_token"), nil),
		http.StatusBadRequest, "invalid_grant")
}

func TestRefreshParallelUseOfOneToken(t *testing.T) {
	e, _ := newRefreshEnv(t)
	first := e.login(t, "openid offline_access")

	const n = 50
	results := make([]response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.refreshGrant("web", "s3cret", first.str("refresh_token"), nil)
		}()
	}
	wg.Wait()
	succeeded := 0
	for _, r := range results {
		switch {
		case r.status == http.StatusOK:
			succeeded++
		case r.status != http.StatusBadRequest || r.str("error") != "invalid_grant":
			t.Errorf("loser got %d %s, want 400 invalid_grant", r.status, r.raw)
		}
	}
	if succeeded != 1 {
		t.Errorf("%d refreshes succeeded, want exactly 1", succeeded)
	}
}

func TestRefreshScope(t *testing.T) {
	e, _ := newRefreshEnv(t)

	t.Run("narrowing", func(t *testing.T) {
		first := e.login(t, "openid profile email offline_access")
		r := e.refreshGrant("web", "s3cret", first.str("refresh_token"),
			url.Values{"scope": {"openid offline_access"}})
		if r.status != http.StatusOK || r.str("scope") != "openid offline_access" {
			t.Fatalf("narrowed refresh: %d %s", r.status, r.raw)
		}
		at, err := e.p.ValidateAccessToken(context.Background(), r.str("access_token"))
		if err != nil {
			t.Fatal(err)
		}
		if len(at.Scopes) != 2 {
			t.Errorf("access token scopes = %v", at.Scopes)
		}
		// Omitting scope restores the original grant (RFC 6749 §6).
		again := e.refreshGrant("web", "s3cret", r.str("refresh_token"), nil)
		if again.str("scope") != "openid profile email offline_access" {
			t.Errorf("refresh without scope: %d %s", again.status, again.raw)
		}
	})
	t.Run("narrowing below the refresh scope", func(t *testing.T) {
		first := e.login(t, "openid profile offline_access")
		r := e.refreshGrant("web", "s3cret", first.str("refresh_token"), url.Values{"scope": {"openid"}})
		if r.status != http.StatusOK || r.str("scope") != "openid" {
			t.Fatalf("narrowed refresh: %d %s", r.status, r.raw)
		}
		// The presented token is spent, so the response must replace it,
		// with the scopes of the family rather than the narrowed ones.
		next := r.str("refresh_token")
		if next == "" {
			t.Fatal("no refresh token replaces the spent one")
		}
		if got := e.introspect("web", "s3cret", next).str("scope"); got != "openid profile offline_access" {
			t.Errorf("scope of the new refresh token = %q, want the family's", got)
		}
		again := e.refreshGrant("web", "s3cret", next, nil)
		if again.status != http.StatusOK || again.str("scope") != "openid profile offline_access" {
			t.Errorf("refresh with the new token: %d %s", again.status, again.raw)
		}
	})
	t.Run("client lost the refresh scope", func(t *testing.T) {
		e.addClient("shrinking", "s3cret")
		first := e.post("/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"ada"},
			"password": {"correct horse"}, "scope": {"openid offline_access"}}, basic("shrinking", "s3cret"))
		if first.status != http.StatusOK {
			t.Fatalf("login: %d %s", first.status, first.raw)
		}
		if _, err := e.store.Clients.Update(context.Background(), "shrinking", func(c *storage.Client) error {
			c.Scopes = slices.DeleteFunc(c.Scopes, func(s string) bool { return s == "offline_access" })
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		e.p.ForgetClient("shrinking")
		r := e.refreshGrant("shrinking", "s3cret", first.str("refresh_token"), url.Values{"scope": {"openid"}})
		wantOAuthError(t, r, http.StatusBadRequest, "invalid_scope")
	})
	t.Run("family from before the issuer rule", func(t *testing.T) {
		first := e.login(t, "openid offline_access")
		// Families stored by older builds may name only another audience.
		_, err := e.p.tokens.grants.UpdateOne(context.Background(),
			byID(e.grantOf(t, first.str("access_token"))),
			bson.D{{Key: "$set", Value: bson.D{{Key: "audience", Value: []string{"https://api.example.test"}}}}})
		if err != nil {
			t.Fatal(err)
		}
		r := e.refreshGrant("web", "s3cret", first.str("refresh_token"), nil)
		at, err := e.p.ValidateAccessToken(context.Background(), r.str("access_token"))
		if err != nil {
			t.Fatalf("refresh: %d %s: %v", r.status, r.raw, err)
		}
		if !slices.Equal(at.Audience, []string{"https://api.example.test", "http://issuer.test"}) {
			t.Errorf("audience after refresh = %v, want the stored one and the issuer", at.Audience)
		}
	})
	t.Run("scope in another case", func(t *testing.T) {
		first := e.login(t, "openid offline_access")
		r := e.refreshGrant("web", "s3cret", first.str("refresh_token"),
			url.Values{"scope": {"OPENID offline_access"}})
		wantOAuthError(t, r, http.StatusBadRequest, "invalid_scope")
	})
	t.Run("widening", func(t *testing.T) {
		first := e.login(t, "openid offline_access")
		r := e.refreshGrant("web", "s3cret", first.str("refresh_token"),
			url.Values{"scope": {"openid email offline_access"}})
		wantOAuthError(t, r, http.StatusBadRequest, "invalid_scope")
		// The refused request did not spend the token.
		if ok := e.refreshGrant("web", "s3cret", first.str("refresh_token"), nil); ok.status != 200 {
			t.Errorf("refresh after invalid_scope: %d %s", ok.status, ok.raw)
		}
	})
	t.Run("without the refresh scope", func(t *testing.T) {
		first := e.login(t, "openid")
		if first.str("refresh_token") != "" {
			t.Error("a refresh token was issued without offline_access")
		}
	})
}

func TestRefreshRefusedForRevokedUsers(t *testing.T) {
	cases := []struct {
		name   string
		change func(e *testEnv, u *storage.User)
	}{
		{"disabled", func(e *testEnv, u *storage.User) {
			e.updateUser(u.ID, func(u *storage.User) { u.Disabled = true })
		}},
		{"locked", func(e *testEnv, u *storage.User) {
			until := e.clock.Now().Add(time.Hour)
			e.updateUser(u.ID, func(u *storage.User) { u.LockedUntil = &until })
		}},
		{"deleted", func(e *testEnv, u *storage.User) {
			if _, err := e.store.Users.Delete(context.Background(), u.ID); err != nil {
				e.t.Fatal(err)
			}
		}},
		{"tokens revoked", func(e *testEnv, u *storage.User) {
			if err := e.p.RevokeUserTokens(context.Background(), u.ID); err != nil {
				e.t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, user := newRefreshEnv(t)
			first := e.login(t, "openid offline_access")
			e.clock.Advance(time.Second)
			tc.change(e, user)
			r := e.refreshGrant("web", "s3cret", first.str("refresh_token"), nil)
			wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
			wantInactive(t, e.introspect("web", "s3cret", first.str("access_token")))

			grantID := e.grantOf(t, first.str("access_token"))
			if _, err := e.p.tokens.getGrant(context.Background(), grantID); err != storage.ErrNotFound {
				t.Errorf("grant family after the refused refresh: %v, want it deleted", err)
			}
		})
	}
}

func TestRefreshExpiry(t *testing.T) {
	e, _ := newRefreshEnv(t)
	first := e.login(t, "offline_access")
	e.clock.Advance(24*time.Hour + time.Second)
	wantOAuthError(t, e.refreshGrant("web", "s3cret", first.str("refresh_token"), nil),
		http.StatusBadRequest, "invalid_grant")

	// The sweep removes the expired documents.
	n, err := e.store.Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n < 2 {
		t.Errorf("sweep removed %d documents, want the grant and its refresh token", n)
	}
}

func TestRefreshByAnotherClient(t *testing.T) {
	e, _ := newRefreshEnv(t)
	first := e.login(t, "offline_access")
	wantOAuthError(t, e.refreshGrant("other", "s3cret", first.str("refresh_token"), nil),
		http.StatusBadRequest, "invalid_grant")
	if r := e.refreshGrant("web", "s3cret", first.str("refresh_token"), nil); r.status != 200 {
		t.Errorf("the owner's refresh after another client's attempt: %d %s", r.status, r.raw)
	}
}

func (e *testEnv) updateUser(id string, change func(*storage.User)) {
	e.t.Helper()
	if _, err := e.store.Users.Update(context.Background(), id, func(u *storage.User) error {
		change(u)
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
}

// grantOf returns the grant family id (sid) of an access token.
func (e *testEnv) grantOf(t *testing.T, accessToken string) string {
	t.Helper()
	claims, err := e.p.parseAccessToken(context.Background(), accessToken, e.clock.Now())
	if err != nil {
		t.Fatalf("parse access token: %v", err)
	}
	return claims.GrantID
}

// A replay detected while the client closes its connection still revokes
// the family: the revocation does not depend on the request's context.
func TestRevokeFamilyAfterClientLeft(t *testing.T) {
	e := newTestEnv(t)
	if err := e.p.tokens.createGrant(context.Background(), &grantDoc{ID: "family", ClientID: "web",
		Subject: "u1", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	closed, cancel := context.WithCancel(context.Background())
	cancel()
	e.p.revokeFamily(closed, "family", "test")
	if _, err := e.p.tokens.getGrant(context.Background(), "family"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("grant after revocation: err = %v, want ErrNotFound", err)
	}
}
