package wellknown

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-chi/chi/v5"
	"github.com/go-jose/go-jose/v4"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// privateMembers are the JWK members that carry private or symmetric key
// material (RFC 7518 §6); none may appear in the JWKS.
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"}

func TestJWKSVerifiesEachAlgorithm(t *testing.T) {
	for _, alg := range []string{AlgorithmRS256, AlgorithmES256, AlgorithmEdDSA} {
		t.Run(alg, func(t *testing.T) {
			e := newTestEnv(t)
			m := e.manager(e.options(alg))
			srv := e.serve(m, 15*time.Minute)
			token, kid := e.signActive(m, srv.URL, time.Hour)

			set, raw := fetchJWKS(t, srv)
			checkPublicOnly(t, raw)
			if len(set.Keys) != 1 {
				t.Fatalf("JWKS has %d keys, want 1", len(set.Keys))
			}
			jwk := set.Keys[0]
			if jwk.KeyID != kid || jwk.Algorithm != alg || jwk.Use != "sig" || !jwk.IsPublic() {
				t.Errorf("JWK kid=%s alg=%s use=%s public=%v; want %s, %s, sig, true",
					jwk.KeyID, jwk.Algorithm, jwk.Use, jwk.IsPublic(), kid, alg)
			}

			jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatalf("parse token: %v", err)
			}
			if _, err := jws.Verify(&jwk); err != nil {
				t.Errorf("go-jose verification with the fetched JWK: %v", err)
			}

			remote := oidc.NewRemoteKeySet(context.Background(), srv.URL+PathJWKS)
			if _, err := remote.VerifySignature(context.Background(), token); err != nil {
				t.Errorf("go-oidc RemoteKeySet verification: %v", err)
			}

			v := NewVerifier(m, srv.URL)
			v.Now = e.clock.Now
			if _, _, err := v.Verify(context.Background(), token, "at+jwt"); err != nil {
				t.Errorf("Verifier: %v", err)
			}
		})
	}
}

// checkPublicOnly fails the test if the raw JWKS has a key member that
// carries private key material, or lacks kid, kty, alg or use.
func checkPublicOnly(t *testing.T, raw []byte) {
	t.Helper()
	var doc struct {
		Keys []map[string]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("decode raw JWKS: %v", err)
	}
	for i, k := range doc.Keys {
		for _, name := range privateMembers {
			if _, ok := k[name]; ok {
				t.Errorf("key %d has the private member %q", i, name)
			}
		}
		for _, name := range []string{"kid", "kty", "alg", "use"} {
			if _, ok := k[name]; !ok {
				t.Errorf("key %d lacks %q", i, name)
			}
		}
		if string(k["use"]) != `"sig"` {
			t.Errorf("key %d: use = %s, want \"sig\"", i, k["use"])
		}
	}
}

func TestRotationKeepsIssuedTokensValid(t *testing.T) {
	e := newTestEnv(t)
	opts := e.options(AlgorithmRS256)
	m := e.manager(opts)
	srv := e.serve(m, 5*time.Minute)
	ctx := context.Background()
	oldToken, oldKID := e.signActive(m, srv.URL, opts.MaxTokenLifetime)

	// checkOld verifies the old token through the Verifier on mgr and
	// through go-oidc against the JWKS served by server.
	checkOld := func(step string, mgr *Manager, server *httptest.Server) {
		t.Helper()
		v := NewVerifier(mgr, srv.URL)
		v.Now = e.clock.Now
		if _, _, err := v.Verify(ctx, oldToken, "at+jwt"); err != nil {
			t.Errorf("%s: Verifier rejects the old token: %v", step, err)
		}
		remote := oidc.NewRemoteKeySet(ctx, server.URL+PathJWKS)
		if _, err := remote.VerifySignature(ctx, oldToken); err != nil {
			t.Errorf("%s: go-oidc rejects the old token: %v", step, err)
		}
	}

	rotated, err := m.Rotate(ctx)
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if kids := jwksKIDs(t, srv); !kids[oldKID] || !kids[rotated.ID] {
		t.Errorf("JWKS after Rotate = %v, want the old and the new kid", kids)
	}
	checkOld("after Rotate", m, srv)
	if _, kid := e.signActive(m, srv.URL, time.Minute); kid != oldKID {
		t.Errorf("during the lead time new tokens carry kid %s, want the old %s", kid, oldKID)
	}

	e.clock.Add(opts.LeadTime / 2)
	checkOld("during the lead time", m, srv)

	e.clock.Add(opts.LeadTime / 2)
	if err := m.Refresh(ctx); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	checkOld("after the switch", m, srv)
	if _, kid := e.signActive(m, srv.URL, time.Minute); kid != rotated.ID {
		t.Errorf("after the lead time new tokens carry kid %s, want the new %s", kid, rotated.ID)
	}

	restarted := e.manager(opts)
	restartedSrv := e.serve(restarted, 5*time.Minute)
	checkOld("after a restart", restarted, restartedSrv)
	if kid := activeKey(t, restarted).KID; kid != rotated.ID {
		t.Errorf("after a restart the active kid is %s, want %s", kid, rotated.ID)
	}

	// The old key retired at the new key's activation and stays published
	// for MaxTokenLifetime after it.
	e.clock.Add(opts.MaxTokenLifetime - time.Second)
	for name, s := range map[string]*httptest.Server{"running": srv, "restarted": restartedSrv} {
		if kids := jwksKIDs(t, s); !kids[oldKID] {
			t.Errorf("%s: the old key left the JWKS before MaxTokenLifetime passed", name)
		}
	}
	e.clock.Add(time.Second)
	for name, s := range map[string]*httptest.Server{"running": srv, "restarted": restartedSrv} {
		kids := jwksKIDs(t, s)
		if kids[oldKID] {
			t.Errorf("%s: the old key is still published after its expiry", name)
		}
		if !kids[rotated.ID] {
			t.Errorf("%s: the active key is missing from the JWKS", name)
		}
	}
	if _, _, err := m.PublicKey(ctx, oldKID); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("PublicKey of the expired key: %v, want ErrUnknownKey", err)
	}

	// The expiry sweep then deletes it.
	e.clock.Add(time.Millisecond)
	if _, err := e.store.Sweep(ctx); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	stored, err := e.store.Keys.List(ctx)
	if err != nil {
		t.Fatalf("list stored keys: %v", err)
	}
	if len(stored) != 1 || stored[0].ID != rotated.ID {
		t.Errorf("after the sweep %d keys remain, want only %s", len(stored), rotated.ID)
	}
}

func TestJWKSConditionalRequests(t *testing.T) {
	e := newTestEnv(t)
	m := e.manager(e.options(AlgorithmEdDSA))
	srv := e.serve(m, 15*time.Minute)
	url := srv.URL + PathJWKS

	resp, body := get(t, url, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=900" {
		t.Errorf("Cache-Control = %q, want \"public, max-age=900\"", cc)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	etag := resp.Header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 10 {
		t.Fatalf("ETag = %q, want a strong entity tag", etag)
	}
	if etag != strongETag(body) {
		t.Errorf("ETag %s is not the hash of the body", etag)
	}

	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		resp, body := get(t, url, map[string]string{"If-None-Match": inm})
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("If-None-Match %s: status %d, want 304", inm, resp.StatusCode)
		}
		if len(body) != 0 {
			t.Errorf("If-None-Match %s: 304 with a %d-byte body", inm, len(body))
		}
		if got := resp.Header.Get("ETag"); got != etag {
			t.Errorf("If-None-Match %s: ETag %q, want %q", inm, got, etag)
		}
	}
	if resp, _ := get(t, url, map[string]string{"If-None-Match": `"other"`}); resp.StatusCode != http.StatusOK {
		t.Errorf("non-matching If-None-Match: status %d, want 200", resp.StatusCode)
	}

	if _, err := m.Rotate(context.Background()); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	resp, _ = get(t, url, map[string]string{"If-None-Match": etag})
	if resp.StatusCode != http.StatusOK {
		t.Errorf("old ETag after Rotate: status %d, want 200", resp.StatusCode)
	}
	if got := resp.Header.Get("ETag"); got == etag {
		t.Errorf("ETag did not change after Rotate")
	}
}

// Before Init has loaded the keys, as while storage does not respond, the
// well-known endpoints respond 503 with Retry-After and log below Warn.
func TestEndpointsUnavailableBeforeInit(t *testing.T) {
	e := newTestEnv(t)
	core, logs := observer.New(zap.DebugLevel)
	opts := e.options(AlgorithmES256)
	opts.Logger = zap.New(core)
	m, err := NewManager(e.store, opts)
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	srv := e.serve(m, 15*time.Minute)

	for _, path := range []string{PathJWKS, PathOpenIDConfiguration, PathAuthorizationServerMetadata} {
		resp, _ := get(t, srv.URL+path, nil)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("GET %s: status %d, want 503", path, resp.StatusCode)
		}
		if got := resp.Header.Get("Retry-After"); got != retryAfterNotLoaded {
			t.Errorf("GET %s: Retry-After = %q, want %q", path, got, retryAfterNotLoaded)
		}
		if got := resp.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("GET %s: Cache-Control = %q, want no-store", path, got)
		}
	}
	if n := logs.Filter(func(entry observer.LoggedEntry) bool { return entry.Level >= zap.WarnLevel }).Len(); n != 0 {
		t.Errorf("%d log entries at Warn or above, want none: %v", n, logs.All())
	}

	if err := m.Init(context.Background()); err != nil {
		t.Fatalf("Init: %v", err)
	}
	if resp, _ := get(t, srv.URL+PathJWKS, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("GET JWKS after Init: status %d, want 200", resp.StatusCode)
	}
}

func TestJWKSBytesPreparedOnce(t *testing.T) {
	e := newTestEnv(t)
	m := e.manager(e.options(AlgorithmES256))

	first, err := m.publishedAt(e.clock.Now())
	if err != nil {
		t.Fatalf("publishedAt: %v", err)
	}
	e.clock.Add(time.Hour)
	second, err := m.publishedAt(e.clock.Now())
	if err != nil {
		t.Fatalf("publishedAt: %v", err)
	}
	if first != second {
		t.Errorf("the JWKS was prepared again without a key change")
	}

	if err := m.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	third, err := m.publishedAt(e.clock.Now())
	if err != nil {
		t.Fatalf("publishedAt: %v", err)
	}
	if &third.jwks[0] != &first.jwks[0] {
		t.Errorf("the JWKS was encoded again after a reload that changed nothing")
	}
}

// metadataDoc is the part of the discovery document the tests read.
type metadataDoc struct {
	Issuer                 string   `json:"issuer"`
	TokenEndpoint          string   `json:"token_endpoint"`
	UserinfoEndpoint       string   `json:"userinfo_endpoint"`
	JWKSURI                string   `json:"jwks_uri"`
	IntrospectionEndpoint  string   `json:"introspection_endpoint"`
	RevocationEndpoint     string   `json:"revocation_endpoint"`
	AuthorizationEndpoint  *string  `json:"authorization_endpoint"`
	GrantTypes             []string `json:"grant_types_supported"`
	ResponseTypes          []string `json:"response_types_supported"`
	Scopes                 []string `json:"scopes_supported"`
	Claims                 []string `json:"claims_supported"`
	SubjectTypes           []string `json:"subject_types_supported"`
	TokenAuthMethods       []string `json:"token_endpoint_auth_methods_supported"`
	IntrospectAuthMethods  []string `json:"introspection_endpoint_auth_methods_supported"`
	RevocationAuthMethods  []string `json:"revocation_endpoint_auth_methods_supported"`
	IDTokenSigningAlgs     []string `json:"id_token_signing_alg_values_supported"`
	AccessTokenSigningAlgs []string `json:"access_token_signing_alg_values_supported"`
}

func fetchMetadata(t *testing.T, url string) (metadataDoc, []byte, *http.Response) {
	t.Helper()
	resp, body := get(t, url, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", url, resp.StatusCode)
	}
	var doc metadataDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("decode %s: %v", url, err)
	}
	return doc, body, resp
}

func TestDiscoveryDocuments(t *testing.T) {
	e := newTestEnv(t)
	m := e.manager(e.options(AlgorithmRS256))
	srv := e.serve(m, 10*time.Minute)
	issuer := srv.URL

	doc, body, resp := fetchMetadata(t, issuer+PathOpenIDConfiguration)
	_, other, _ := fetchMetadata(t, issuer+PathAuthorizationServerMetadata)
	if !bytes.Equal(body, other) {
		t.Errorf("the OpenID and RFC 8414 documents differ:\n%s\n%s", body, other)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=600" {
		t.Errorf("Cache-Control = %q, want \"public, max-age=600\"", cc)
	}

	if doc.Issuer != issuer {
		t.Errorf("issuer = %q, want %q", doc.Issuer, issuer)
	}
	endpoints := map[string]string{
		"token_endpoint":         doc.TokenEndpoint,
		"userinfo_endpoint":      doc.UserinfoEndpoint,
		"jwks_uri":               doc.JWKSURI,
		"introspection_endpoint": doc.IntrospectionEndpoint,
		"revocation_endpoint":    doc.RevocationEndpoint,
	}
	wantPaths := map[string]string{
		"token_endpoint":         "/oauth2/token",
		"userinfo_endpoint":      "/userinfo",
		"jwks_uri":               "/.well-known/jwks.json",
		"introspection_endpoint": "/oauth2/introspect",
		"revocation_endpoint":    "/oauth2/revoke",
	}
	for name, got := range endpoints {
		if want := issuer + wantPaths[name]; got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if doc.AuthorizationEndpoint != nil {
		t.Errorf("authorization_endpoint is listed, but the server has none")
	}

	lists := []struct {
		name      string
		got, want []string
	}{
		{"grant_types_supported", doc.GrantTypes, []string{"password", "refresh_token", "client_credentials"}},
		{"response_types_supported", doc.ResponseTypes, []string{}},
		{"scopes_supported", doc.Scopes, []string{"openid", "profile", "email", "roles", "offline_access"}},
		{"claims_supported", doc.Claims, []string{"sub", "iss", "aud", "azp", "exp", "iat", "auth_time",
			"at_hash", "preferred_username", "name", "given_name", "family_name", "email",
			"email_verified", "locale", "roles"}},
		{"subject_types_supported", doc.SubjectTypes, []string{"public"}},
		{"token_endpoint_auth_methods_supported", doc.TokenAuthMethods,
			[]string{"client_secret_basic", "client_secret_post", "none"}},
		{"introspection_endpoint_auth_methods_supported", doc.IntrospectAuthMethods,
			[]string{"client_secret_basic", "client_secret_post"}},
		{"revocation_endpoint_auth_methods_supported", doc.RevocationAuthMethods,
			[]string{"client_secret_basic", "client_secret_post", "none"}},
		{"id_token_signing_alg_values_supported", doc.IDTokenSigningAlgs, []string{"RS256"}},
		{"access_token_signing_alg_values_supported", doc.AccessTokenSigningAlgs, []string{"RS256"}},
	}
	for _, l := range lists {
		if l.got == nil || !slices.Equal(l.got, l.want) {
			t.Errorf("%s = %v, want %v", l.name, l.got, l.want)
		}
	}
	if !bytes.Contains(body, []byte(`"response_types_supported":[]`)) {
		t.Errorf("response_types_supported is not an empty array in %s", body)
	}

	provider, err := oidc.NewProvider(context.Background(), issuer)
	if err != nil {
		t.Fatalf("go-oidc NewProvider: %v", err)
	}
	if got := provider.Endpoint().TokenURL; got != issuer+PathToken {
		t.Errorf("go-oidc token URL = %q, want %q", got, issuer+PathToken)
	}
	if got := provider.UserInfoEndpoint(); got != issuer+PathUserinfo {
		t.Errorf("go-oidc userinfo URL = %q, want %q", got, issuer+PathUserinfo)
	}

	// go-oidc verifies an ID token end to end with the discovered JWKS.
	k := activeKey(t, m)
	now := e.clock.Now()
	idToken := signToken(t, jose.RS256, k.Signer, k.KID, "JWT", map[string]any{
		"iss": issuer, "sub": "alice", "aud": "client-1", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	})
	verifier := provider.Verifier(&oidc.Config{ClientID: "client-1", Now: e.clock.Now})
	if _, err := verifier.Verify(context.Background(), idToken); err != nil {
		t.Errorf("go-oidc ID token verification: %v", err)
	}
}

func TestDiscoveryListsPublishedAlgorithms(t *testing.T) {
	e := newTestEnv(t)
	rsa := e.manager(e.options(AlgorithmRS256))
	if _, err := rsa.Rotate(context.Background()); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	// An instance configured for EdDSA loads the RS256 keys and creates its
	// next key with EdDSA.
	ed := e.manager(e.options(AlgorithmEdDSA))
	srv := e.serve(ed, time.Minute)
	before, _, _ := fetchMetadata(t, srv.URL+PathOpenIDConfiguration)
	if !slices.Equal(before.IDTokenSigningAlgs, []string{"RS256"}) {
		t.Errorf("algorithms before the EdDSA rotation = %v, want [RS256]", before.IDTokenSigningAlgs)
	}

	if _, err := ed.Rotate(context.Background()); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	after, _, _ := fetchMetadata(t, srv.URL+PathOpenIDConfiguration)
	if !slices.Equal(after.IDTokenSigningAlgs, []string{"EdDSA", "RS256"}) {
		t.Errorf("id_token algorithms after the EdDSA rotation = %v, want [EdDSA RS256]", after.IDTokenSigningAlgs)
	}
	if !slices.Equal(after.AccessTokenSigningAlgs, after.IDTokenSigningAlgs) {
		t.Errorf("access token algorithms %v differ from ID token algorithms %v",
			after.AccessTokenSigningAlgs, after.IDTokenSigningAlgs)
	}
}

func TestDiscoveryIssuerWithPath(t *testing.T) {
	e := newTestEnv(t)
	m := e.manager(e.options(AlgorithmES256))
	r := chi.NewRouter()
	issuer := "https://login.example.com/tenant-a"
	if err := m.Mount(r, Discovery{Issuer: issuer, MaxAge: time.Minute}); err != nil {
		t.Fatalf("Mount: %v", err)
	}
	srv := httptest.NewServer(r)
	defer srv.Close()

	for _, path := range []string{PathOpenIDConfiguration, PathAuthorizationServerMetadata,
		PathAuthorizationServerMetadata + "/tenant-a"} {
		doc, _, _ := fetchMetadata(t, srv.URL+path)
		if doc.Issuer != issuer {
			t.Errorf("%s: issuer = %q, want %q", path, doc.Issuer, issuer)
		}
		if doc.TokenEndpoint != issuer+PathToken {
			t.Errorf("%s: token_endpoint = %q, want %q", path, doc.TokenEndpoint, issuer+PathToken)
		}
	}
}

func TestMountRejectsInvalidIssuer(t *testing.T) {
	e := newTestEnv(t)
	m := e.manager(e.options(AlgorithmES256))
	for _, issuer := range []string{"", "login.example.com", "ftp://login.example.com",
		"https://login.example.com?tenant=a", "https://login.example.com#a", "https://"} {
		if err := m.Mount(chi.NewRouter(), Discovery{Issuer: issuer}); err == nil {
			t.Errorf("Mount accepted the issuer %q", issuer)
		}
	}
}

func TestRetiredKeyExpiresWithoutReload(t *testing.T) {
	e := newTestEnv(t)
	opts := e.options(AlgorithmES256)
	m := e.manager(opts)
	srv := e.serve(m, time.Minute)
	old := activeKey(t, m).KID
	rotated, err := m.Rotate(context.Background())
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}

	// No Refresh runs: the published set follows the clock alone.
	steps := []struct {
		name    string
		advance time.Duration
		wantOld bool
	}{
		{"during the lead time", opts.LeadTime / 2, true},
		{"at the switch", opts.LeadTime / 2, true},
		{"just before expiry", opts.MaxTokenLifetime - time.Millisecond, true},
		{"at expiry", time.Millisecond, false},
	}
	for _, s := range steps {
		e.clock.Add(s.advance)
		kids := jwksKIDs(t, srv)
		if kids[old] != s.wantOld {
			t.Errorf("%s: old key published = %v, want %v", s.name, kids[old], s.wantOld)
		}
		if !kids[rotated.ID] {
			t.Errorf("%s: the new key is not published", s.name)
		}
	}
}
