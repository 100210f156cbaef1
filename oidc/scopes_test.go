package oidc

import (
	"slices"
	"testing"

	"github.com/averos/averos-auth/storage"
)

func TestUserClaimsFollowScopes(t *testing.T) {
	u := &storage.User{ID: "u1", UserName: "ada", Email: "ada@example.test", FirstName: "Ada",
		LastName: "Lovelace", ProfileLanguage: "fr", AccountVerified: true, Roles: []string{"admin"}}

	none := UserClaims(u, []string{"openid"})
	if len(none) != 0 {
		t.Errorf("openid alone gave claims %v", none)
	}
	profile := UserClaims(u, []string{"openid", "profile"})
	want := map[string]any{"preferred_username": "ada", "name": "Ada Lovelace", "given_name": "Ada",
		"family_name": "Lovelace", "locale": "fr"}
	if len(profile) != len(want) {
		t.Errorf("profile claims = %v, want %v", profile, want)
	}
	for k, v := range want {
		if profile[k] != v {
			t.Errorf("%s = %v, want %v", k, profile[k], v)
		}
	}
	email := UserClaims(u, []string{"email"})
	if email["email"] != "ada@example.test" || email["email_verified"] != true || len(email) != 2 {
		t.Errorf("email claims = %v", email)
	}
	roles := UserClaims(&storage.User{}, []string{"roles"})
	if r, ok := roles["roles"].([]string); !ok || len(r) != 0 {
		t.Errorf("roles of a user without roles = %#v, want an empty array", roles["roles"])
	}
	if r := UserClaims(u, []string{"roles"})["roles"].([]string); !slices.Equal(r, []string{"admin"}) {
		t.Errorf("roles = %v", r)
	}
	// Empty values are left out.
	sparse := UserClaims(&storage.User{UserName: "bob"}, []string{"profile", "email"})
	if len(sparse) != 1 || sparse["preferred_username"] != "bob" {
		t.Errorf("claims of a sparse user = %v", sparse)
	}
}
