package wellknown

import (
	"context"
	"crypto"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/averos/averos-auth/storage/storagetest"
)

// benchClaims is an access token payload of typical size.
func benchClaims(issuer string) []byte {
	now := time.Now()
	payload, _ := json.Marshal(map[string]any{
		"iss": issuer, "sub": "0b7c1f9e-5d1a-4f39-a3c2-1e8f0d6b2a47", "aud": "api://orders",
		"client_id": "averos-web", "scope": "openid profile email roles",
		"roles": []string{"user", "editor"}, "jti": "6f2c7d1e-8a4b-4c0e-9f3d-2b1a5e7c9d08",
		"iat": now.Unix(), "exp": now.Add(15 * time.Minute).Unix(),
	})
	return payload
}

var benchAlgorithms = []struct {
	name string
	alg  string
}{
	{"RS256-2048", AlgorithmRS256},
	{"ES256", AlgorithmES256},
	{"EdDSA", AlgorithmEdDSA},
}

func benchSigner(b *testing.B, alg string) (crypto.Signer, jose.Signer) {
	b.Helper()
	key, err := generateSigner(alg, 2048)
	if err != nil {
		b.Fatalf("generate %s key: %v", alg, err)
	}
	opts := (&jose.SignerOptions{}).WithType("at+jwt")
	signer, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.SignatureAlgorithm(alg),
		Key:       jose.JSONWebKey{Key: key, KeyID: "bench"},
	}, opts)
	if err != nil {
		b.Fatalf("NewSigner: %v", err)
	}
	return key, signer
}

// BenchmarkSign measures signing one access token and serializing it.
func BenchmarkSign(b *testing.B) {
	payload := benchClaims(testIssuer)
	for _, a := range benchAlgorithms {
		b.Run(a.name, func(b *testing.B) {
			_, signer := benchSigner(b, a.alg)
			b.ReportAllocs()
			for b.Loop() {
				obj, err := signer.Sign(payload)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := obj.CompactSerialize(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// staticKeySource is a KeySource with one key, so BenchmarkVerify measures
// the Verifier and not a store.
type staticKeySource struct {
	kid, alg string
	key      crypto.Signer
}

func (s staticKeySource) ActiveKey(context.Context) (ActiveKey, error) {
	return ActiveKey{KID: s.kid, Algorithm: s.alg, Signer: s.key}, nil
}

func (s staticKeySource) PublicKey(_ context.Context, kid string) (string, crypto.PublicKey, error) {
	if kid != s.kid {
		return "", nil, ErrUnknownKey
	}
	return s.alg, s.key.Public(), nil
}

// BenchmarkVerify measures Verifier.Verify on one access token.
func BenchmarkVerify(b *testing.B) {
	payload := benchClaims(testIssuer)
	for _, a := range benchAlgorithms {
		b.Run(a.name, func(b *testing.B) {
			key, signer := benchSigner(b, a.alg)
			obj, err := signer.Sign(payload)
			if err != nil {
				b.Fatal(err)
			}
			token, err := obj.CompactSerialize()
			if err != nil {
				b.Fatal(err)
			}
			v := NewVerifier(staticKeySource{kid: "bench", alg: a.alg, key: key}, testIssuer)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := v.Verify(context.Background(), token, "at+jwt"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// discardWriter is a ResponseWriter that keeps nothing, so the handler
// benchmarks measure the handlers alone.
type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }

// BenchmarkHandlers measures the JWKS and discovery handlers on a key set
// of two RS256 keys (an active one and one pending), with and without a
// matching If-None-Match.
func BenchmarkHandlers(b *testing.B) {
	store := storagetest.New(b)
	m, err := NewManager(store, ManagerOptions{
		SystemSecret: testSecret, Algorithm: AlgorithmRS256, RSABits: 2048,
		LeadTime: 10 * time.Minute, MaxTokenLifetime: time.Hour,
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := m.Init(context.Background()); err != nil {
		b.Fatal(err)
	}
	if _, err := m.Rotate(context.Background()); err != nil {
		b.Fatal(err)
	}
	h, err := NewHandler(m, Discovery{Issuer: testIssuer, RefreshScope: "offline_access", MaxAge: 15 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}

	cases := []struct {
		name       string
		path       string
		serve      http.HandlerFunc
		cached     bool
		wantStatus int
	}{
		{"JWKS", PathJWKS, h.ServeJWKS, false, http.StatusOK},
		{"JWKS-304", PathJWKS, h.ServeJWKS, true, http.StatusNotModified},
		{"Discovery", PathOpenIDConfiguration, h.ServeMetadata, false, http.StatusOK},
		{"Discovery-304", PathOpenIDConfiguration, h.ServeMetadata, true, http.StatusNotModified},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, c.path, nil)
			if c.cached {
				rec := httptest.NewRecorder()
				c.serve(rec, req)
				req.Header.Set("If-None-Match", rec.Header().Get("ETag"))
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				w := &discardWriter{header: http.Header{}}
				for pb.Next() {
					clear(w.header)
					c.serve(w, req)
					if w.status != c.wantStatus {
						b.Errorf("status %d, want %d", w.status, c.wantStatus)
						return
					}
				}
			})
		})
	}
}
