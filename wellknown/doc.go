// Package wellknown manages the token signing keys and serves what clients
// need to trust them: the JWKS and the discovery documents. It also verifies
// tokens signed with those keys.
//
// # Keys
//
// Manager keeps the keys in MongoDB (storage.SigningKeys). Each key is RS256
// (RSA, at least 2048 bits), ES256 (P-256) or EdDSA (Ed25519). Its kid is the
// RFC 7638 SHA-256 thumbprint of the public key. The private JWK is sealed
// with AES-256-GCM under a key derived from the system secret
// (secrets.PurposeKeyEncryption), with the kid as additional data. A key that
// does not decrypt stops Init with "cannot decrypt signing key KID: the
// system secret differs from the one the key was encrypted with", and Init
// then creates nothing. CheckSystemSecret decrypts one stored key the same
// way, so that a command can reject a wrong secret before it writes.
//
// A key's life, with LeadTime and MaxTokenLifetime from ManagerOptions:
//
//  1. Rotate stores a key with ActivatesAt = now + LeadTime. It is in the
//     JWKS at once and signs nothing yet.
//  2. At ActivatesAt it becomes the active key: the newest key whose
//     ActivatesAt has passed, ties broken by the larger kid. Every instance
//     computes this from the stored list and its clock, so no instance
//     writes an "active" flag and none needs a transaction.
//  3. The key it replaced is retired at that same moment and stays in the
//     JWKS until retirement + MaxTokenLifetime, when the last token it
//     signed has expired. Refresh stores both times with
//     storage.SigningKeys.Retire; until then they are computed the same way.
//  4. From its expiry the key is neither published nor used to verify, and
//     storage.Store.Sweep deletes it.
//
// Init loads the keys, or creates the first one, active at once, on an empty
// store. Of several instances starting together on an empty store, the one
// that inserts the claim document "first-key" (claims.go) stores the key and
// the others wait for it. Run calls Refresh every ReloadInterval: it reloads
// the keys, stores retirements, rotates when RotationInterval is due (again
// behind a claim, so one instance rotates) and deletes expired claims.
//
// # Endpoints
//
// Manager.Mount, or NewHandler and Handler.Mount, register GET and HEAD for
//
//   - /.well-known/jwks.json: the published public keys, newest first,
//     each with kid, kty, alg and use "sig";
//   - /.well-known/openid-configuration (OpenID Connect Discovery 1.0 §3) and
//     /.well-known/oauth-authorization-server (RFC 8414): one document, the
//     same bytes at both paths.
//
// Responses carry Cache-Control "public, max-age=N" with N from
// Discovery.MaxAge, a strong ETag (SHA-256 of the body) and answer a
// matching If-None-Match with 304. Their bytes are encoded once per change
// of the published keys and reused for every request. Until Init has loaded
// the keys, for example while storage does not respond, both endpoints
// respond 503 with Retry-After.
//
// The issuer member is Discovery.Issuer byte for byte, and every endpoint URL
// is the issuer followed by its path (/oauth2/token, /userinfo,
// /.well-known/jwks.json, /oauth2/introspect, /oauth2/revoke). The
// configuration removes one trailing slash from the issuer and nothing else,
// so "https://id.example.com/" is published as "https://id.example.com", and
// the issuer clients compare with the iss claim is that same string.
//
// The document lists only what the server supports. It has no
// authorization_endpoint, because the server has none, and its
// response_types_supported is an empty array: both specifications require
// the member, and no response type is supported. The signing algorithm
// lists (id_token_signing_alg_values_supported and the unregistered but
// common access_token_signing_alg_values_supported) are the algorithms of
// the published keys, so they change when a rotation changes the algorithm.
// OpenID Connect Discovery 1.0 asks for RS256 in the ID token list; it is
// there unless the keys were configured for ES256 or EdDSA.
//
// # Verification
//
// Verifier checks a compact JWS against a KeySource: the alg must be the
// algorithm of the key named by kid (so "none" and HMAC algorithms always
// fail), the typ must be the expected one, then the signature, iss and exp.
//
// # Files
//
// keysource.go defines KeySource; keys.go generates, seals and opens keys;
// keyset.go computes states and publication from a loaded list; manager.go
// loads, creates, rotates and retires keys; claims.go holds the exclusive
// claims; jwks.go and discovery.go encode the documents; handler.go serves
// them; verify.go is the Verifier; cli.go prints keys for the command line.
package wellknown
