// Package averos serves the /auth/* endpoints exactly as the Averos client
// library (@wiforge/averos 1.4.1) calls them, so an Averos application works
// against this server unchanged.
//
// Session: POST /auth/login runs the OAuth password grant for the
// first-party client through the provider (TokenService) and responds with
// the auth_token object, the user plus the access token. The refresh token
// travels only in an HttpOnly cookie on path /auth, which POST /auth/rt/
// rotates with the refresh grant and POST /auth/logout revokes and clears.
// GET /auth/luroles returns the bearer's role names; a revoked session gets
// status 460, on which the client logs out.
//
// Accounts: POST /auth/register creates an unverified user and emails a
// verification link; GET /auth/users/{userName} and
// /auth/users/email/{email} report whether a value is taken, rate-limited
// per client address; POST /auth/vaccount, /auth/rrp and /auth/rp verify an
// account, request a password reset link and reset the password, responding
// with {"code": 1} or {"code": -1} as the client's pages expect. The links carry
// one-time tokens that are stored only as keyed hashes and consumed with
// one atomic delete.
//
// Errors are text/plain, because the client shows a string body in an alert
// and ignores a JSON object. A rejected login is a 400, never a 401: the
// client reacts to a 401 with a refresh and a silent logout.
//
// Files: adapter.go holds the options, construction and routes; session.go
// login, refresh and logout; cookie.go the refresh cookie; authtoken.go the
// auth_token object; roles.go the bearer check and luroles; register.go
// registration; availability.go and ratelimit.go the availability checks;
// account.go the account flows; onetime.go the one-time tokens; emails.go
// and templates/ the emails; request.go request parsing; tokens.go the
// provider interface and its error classes.
package averos
