// Package oauth is the OAuth 2.0 token service: the token endpoint with the
// password, refresh token and client credentials grants, introspection
// (RFC 7662) and revocation (RFC 7009), built on fosite v0.49.0.
//
// Fosite parses each token request, calls the client authentication strategy
// and the token endpoint handlers, and writes the response. This package
// supplies the client authentication (client_secret_basic,
// client_secret_post, none), one grant handler that runs every grant through
// the same checks, and the token storage. It also fixes where fosite departs
// from the RFCs. Form parsing rejects repeated parameters and other media
// types. An unknown grant gets unsupported_grant_type, and a missing
// refresh_token gets invalid_request. A refresh may narrow the scope, and
// every loser of a concurrent refresh gets invalid_grant. A 401 carries
// WWW-Authenticate, and revocation answers 503 when storage fails. Package
// oidc adds the ID token handler and userinfo.
//
// Tokens. Access tokens are JWTs (RFC 9068) signed with the active key of a
// wellknown.KeySource; verification accepts only the algorithm of the key
// named by kid (package jws). Refresh tokens are fosite HMAC tokens; only
// their signature is stored.
//
// Storage (tokenstore.go) uses single-document steps only, because the
// embedded engine has no transactions and no atomic conditional update:
//
//   - A password grant stores a grant family document. Every later token of
//     that login names it (access tokens in the sid claim), and deleting it
//     revokes them all at once.
//   - A refresh token is valid while its document exists, its used marker
//     does not, its family exists, and its user and client allow it.
//   - A refresh inserts the used marker of the presented token and the new
//     refresh token in one ordered insert, marker first (the insert of a
//     taken _id fails atomically, so one concurrent caller wins). When the
//     new token is not stored, the request takes its marker back so the
//     client can retry. A crash in between leaves a spent token and no
//     successor, never a token accepted twice. A second use of a spent
//     token deletes the family.
//   - Moving a user's or client's TokensValidAfter revokes every family
//     that started before it; one access token alone is revoked by a marker
//     under its jti.
//
// Files: provider.go composes fosite and mounts the routes; form.go and
// clientauth.go parse requests and authenticate clients; handler.go is the
// grant pipeline, with password.go and refresh.go for the grant-specific
// steps; accesstoken.go issues and validates access tokens; token.go,
// introspect.go and revoke.go are the endpoints; errors.go writes RFC 6749
// §5.2 errors.
package oauth
