// Package oidc adds OpenID Connect to the OAuth 2.0 token service of package
// oauth: ID tokens on the password and refresh token grants, and the
// userinfo endpoint.
//
// Fosite v0.49.0 issues no ID token on the password grant, so TokenHandler is
// a fosite TokenEndpointHandler of its own. Package oauth runs it after the
// grant handler: by then the access token is set on the response (at_hash
// covers it) and the session carries the user as read by this request, so
// the claims reflect the user's current data on every refresh.
//
// Files: scopes.go maps granted scopes to user claims (shared by ID tokens
// and userinfo); idtoken.go builds and signs ID tokens; userinfo.go serves
// GET and POST /userinfo for a bearer access token.
package oidc
