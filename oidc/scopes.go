package oidc

import (
	"slices"
	"strings"

	"github.com/averos/averos-auth/storage"
)

// Scopes with a meaning in OpenID Connect, plus the roles scope of this
// server. The refresh scope (offline_access by default) is configured in
// package oauth.
const (
	ScopeOpenID  = "openid"
	ScopeProfile = "profile"
	ScopeEmail   = "email"
	ScopeRoles   = "roles"
)

// SupportedScopes returns the scopes this package gives a meaning to, with
// refreshScope (the scope that yields a refresh token) appended.
func SupportedScopes(refreshScope string) []string {
	return []string{ScopeOpenID, ScopeProfile, ScopeEmail, ScopeRoles, refreshScope}
}

// UserClaims returns the claims about u that the granted scopes allow:
//
//	profile: preferred_username, name, given_name, family_name, locale
//	email:   email, email_verified
//	roles:   roles
//
// Empty string values are left out; roles is always present with the roles
// scope, as an empty array when the user has none. The subject is not
// included.
func UserClaims(u *storage.User, scopes []string) map[string]any {
	claims := make(map[string]any, 8)
	if slices.Contains(scopes, ScopeProfile) {
		putString(claims, "preferred_username", u.UserName)
		putString(claims, "name", strings.TrimSpace(u.FirstName+" "+u.LastName))
		putString(claims, "given_name", u.FirstName)
		putString(claims, "family_name", u.LastName)
		putString(claims, "locale", u.ProfileLanguage)
	}
	if slices.Contains(scopes, ScopeEmail) && u.Email != "" {
		claims["email"] = u.Email
		claims["email_verified"] = u.AccountVerified
	}
	if slices.Contains(scopes, ScopeRoles) {
		roles := u.Roles
		if roles == nil {
			roles = []string{}
		}
		claims["roles"] = roles
	}
	return claims
}

func putString(claims map[string]any, name, value string) {
	if value != "" {
		claims[name] = value
	}
}
