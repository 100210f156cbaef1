package wellknown

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Discovery configures the discovery documents and the caching of the
// well-known responses. The server wiring fills it from the configuration.
type Discovery struct {
	// Issuer is the configured issuer, used byte for byte as the issuer
	// member and as the prefix of every endpoint URL.
	Issuer string
	// RefreshScope is the scope that grants a refresh token
	// (tokens.refresh-scope); empty leaves it out of scopes_supported.
	RefreshScope string
	// MaxAge is the Cache-Control max-age of the JWKS and of both metadata
	// documents (keys.jwks-max-age). It must be shorter than the rotation
	// lead time, so no cache hides a new key past its activation.
	MaxAge time.Duration
}

// Endpoint paths, relative to the issuer.
const (
	PathJWKS                        = "/.well-known/jwks.json"
	PathOpenIDConfiguration         = "/.well-known/openid-configuration"
	PathAuthorizationServerMetadata = "/.well-known/oauth-authorization-server"
	PathToken                       = "/oauth2/token"
	PathIntrospection               = "/oauth2/introspect"
	PathRevocation                  = "/oauth2/revoke"
	PathUserinfo                    = "/userinfo"
)

// metadata is the discovery document: OpenID Connect Discovery 1.0 §3
// provider metadata, which RFC 8414 §2 also allows as authorization server
// metadata. Only what the server supports is listed.
type metadata struct {
	Issuer                string `json:"issuer"`
	TokenEndpoint         string `json:"token_endpoint"`
	UserinfoEndpoint      string `json:"userinfo_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
	RevocationEndpoint    string `json:"revocation_endpoint"`

	GrantTypesSupported    []string `json:"grant_types_supported"`
	ResponseTypesSupported []string `json:"response_types_supported"`
	ScopesSupported        []string `json:"scopes_supported"`
	ClaimsSupported        []string `json:"claims_supported"`
	SubjectTypesSupported  []string `json:"subject_types_supported"`

	TokenEndpointAuthMethods         []string `json:"token_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethods []string `json:"introspection_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethods    []string `json:"revocation_endpoint_auth_methods_supported"`

	IDTokenSigningAlgs []string `json:"id_token_signing_alg_values_supported"`
	// AccessTokenSigningAlgs is not registered by an RFC; several servers
	// (OpenIddict, Janssen) publish it for JWT access tokens (RFC 9068).
	AccessTokenSigningAlgs []string `json:"access_token_signing_alg_values_supported"`
}

// checkIssuer returns an error unless issuer is an absolute http or https URL
// without query or fragment, as OpenID Connect Discovery 1.0 §3 requires.
func checkIssuer(issuer string) error {
	if issuer == "" {
		return errors.New("wellknown: the issuer is empty")
	}
	u, err := url.Parse(issuer)
	if err != nil {
		return fmt.Errorf("wellknown: invalid issuer %q: %w", issuer, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("wellknown: invalid issuer %q: want an absolute http or https URL", issuer)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(issuer, "#") {
		return fmt.Errorf("wellknown: invalid issuer %q: it must have no query or fragment", issuer)
	}
	return nil
}

// buildMetadata returns the discovery document for the published algorithms.
func buildMetadata(d Discovery, algorithms []string) ([]byte, error) {
	scopes := []string{"openid", "profile", "email", "roles"}
	if d.RefreshScope != "" {
		scopes = append(scopes, d.RefreshScope)
	}
	doc := metadata{
		Issuer:                d.Issuer,
		TokenEndpoint:         d.Issuer + PathToken,
		UserinfoEndpoint:      d.Issuer + PathUserinfo,
		JWKSURI:               d.Issuer + PathJWKS,
		IntrospectionEndpoint: d.Issuer + PathIntrospection,
		RevocationEndpoint:    d.Issuer + PathRevocation,

		GrantTypesSupported: []string{"password", "refresh_token", "client_credentials"},
		// NOTE: the server has no authorization endpoint, so no response type
		// is supported. Both specifications require this member, so it is
		// present and empty rather than absent or filled with a false value.
		ResponseTypesSupported: []string{},
		ScopesSupported:        scopes,
		ClaimsSupported: []string{
			"sub", "iss", "aud", "azp", "exp", "iat", "auth_time", "at_hash",
			"preferred_username", "name", "given_name", "family_name",
			"email", "email_verified", "locale", "roles",
		},
		SubjectTypesSupported: []string{"public"},

		TokenEndpointAuthMethods:         []string{"client_secret_basic", "client_secret_post", "none"},
		IntrospectionEndpointAuthMethods: []string{"client_secret_basic", "client_secret_post"},
		RevocationEndpointAuthMethods:    []string{"client_secret_basic", "client_secret_post", "none"},

		IDTokenSigningAlgs:     algorithms,
		AccessTokenSigningAlgs: algorithms,
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// The issuer and URLs stay as configured: no \u0026 for "&".
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("wellknown: encode discovery document: %w", err)
	}
	return buf.Bytes(), nil
}
