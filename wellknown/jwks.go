package wellknown

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// publishedSet is the JWKS of one loaded key set, encoded once and served
// until the loaded set or the published keys change.
type publishedSet struct {
	set *keySet
	// until is when the published keys may next change; zero for never.
	until time.Time
	kids  string
	jwks  []byte
	etag  string
	// algorithms lists the published keys' algorithms, sorted, without
	// duplicates.
	algorithms []string
}

func (p *publishedSet) validFor(set *keySet, now time.Time) bool {
	return p.set == set && (p.until.IsZero() || now.Before(p.until))
}

// publishedAt returns the JWKS at now. The fast path is two atomic loads and
// a time comparison; the JSON is encoded again only when the published kids
// change.
func (m *Manager) publishedAt(now time.Time) (*publishedSet, error) {
	set := m.set.Load()
	if set == nil {
		return nil, ErrNotInitialized
	}
	if p := m.published.Load(); p != nil && p.validFor(set, now) {
		return p, nil
	}

	m.publishMu.Lock()
	defer m.publishMu.Unlock()
	prev := m.published.Load()
	if prev != nil && prev.validFor(set, now) {
		return prev, nil
	}
	keys, until := set.published(now)
	next := &publishedSet{set: set, until: until, kids: kidList(keys)}
	if prev != nil && prev.kids == next.kids {
		next.jwks, next.etag, next.algorithms = prev.jwks, prev.etag, prev.algorithms
	} else {
		if err := next.encode(keys); err != nil {
			return nil, err
		}
	}
	m.published.Store(next)
	return next, nil
}

// encode fills in the JWKS bytes, its ETag and the algorithm list.
func (p *publishedSet) encode(keys []*key) error {
	jwks := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, len(keys))}
	for i, k := range keys {
		jwks.Keys[i] = k.jwk
		if !slices.Contains(p.algorithms, k.stored.Algorithm) {
			p.algorithms = append(p.algorithms, k.stored.Algorithm)
		}
	}
	slices.Sort(p.algorithms)

	body, err := json.Marshal(jwks)
	if err != nil {
		return fmt.Errorf("wellknown: encode JWKS: %w", err)
	}
	p.jwks = append(body, '\n')
	p.etag = strongETag(p.jwks)
	return nil
}

// strongETag returns a strong entity tag: the first 128 bits of the SHA-256
// of body, base64url-encoded and quoted.
func strongETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
}

// etagMatches reports whether an If-None-Match header value matches etag.
// RFC 9110 §13.1.2 compares weakly here, so a W/ prefix is ignored.
func etagMatches(header, etag string) bool {
	for header != "" {
		var candidate string
		candidate, header, _ = strings.Cut(header, ",")
		candidate = strings.TrimSpace(candidate)
		if candidate == "*" || strings.TrimPrefix(candidate, "W/") == etag {
			return true
		}
	}
	return false
}
