package oauth

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ory/fosite"

	"github.com/averos/averos-auth/storage"
)

// clientCacheTTL is how long a client document read from the store is reused.
// A change made on another instance takes effect there within this time;
// RevokeClientTokens on this instance drops the entry at once.
const clientCacheTTL = 5 * time.Second

// client adapts a stored client to fosite.Client.
type client struct {
	c *storage.Client
}

var _ fosite.Client = (*client)(nil)

func (c *client) GetID() string                      { return c.c.ID }
func (c *client) GetHashedSecret() []byte            { return []byte(c.c.SecretHash) }
func (c *client) GetRedirectURIs() []string          { return nil }
func (c *client) GetGrantTypes() fosite.Arguments    { return c.c.GrantTypes }
func (c *client) GetResponseTypes() fosite.Arguments { return nil }
func (c *client) GetScopes() fosite.Arguments        { return c.c.Scopes }
func (c *client) IsPublic() bool                     { return c.c.Public }
func (c *client) GetAudience() fosite.Arguments      { return c.c.Audiences }

// IDTokenLifetime returns the client's own ID token lifetime (zero: the default).
func (c *client) IDTokenLifetime() time.Duration { return c.c.IDTokenLifetime }

func (c *client) accessTokenLifetime(def time.Duration) time.Duration {
	if c.c.AccessTokenLifetime > 0 {
		return c.c.AccessTokenLifetime
	}
	return def
}

func (c *client) refreshTokenLifetime(def time.Duration) time.Duration {
	if c.c.RefreshTokenLifetime > 0 {
		return c.c.RefreshTokenLifetime
	}
	return def
}

// clientCache keeps client documents for a few seconds: every token request
// reads its client, and client documents rarely change.
type clientCache struct {
	repo *storage.Clients
	ttl  time.Duration
	now  func() time.Time

	mu      sync.Mutex
	entries map[string]cachedClient
}

type cachedClient struct {
	client  *storage.Client
	fetched time.Time
}

func newClientCache(repo *storage.Clients, ttl time.Duration, now func() time.Time) *clientCache {
	return &clientCache{repo: repo, ttl: ttl, now: now, entries: make(map[string]cachedClient)}
}

// get returns the client with id, or storage.ErrNotFound. Unknown ids are not
// cached, so a client created meanwhile is found at once.
func (cc *clientCache) get(ctx context.Context, id string) (*storage.Client, error) {
	now := cc.now()
	cc.mu.Lock()
	e, ok := cc.entries[id]
	cc.mu.Unlock()
	if ok && now.Sub(e.fetched) < cc.ttl && !now.Before(e.fetched) {
		return e.client, nil
	}

	c, err := cc.repo.Get(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		cc.forget(id)
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	cc.mu.Lock()
	if len(cc.entries) > 10000 {
		clear(cc.entries)
	}
	cc.entries[id] = cachedClient{client: c, fetched: now}
	cc.mu.Unlock()
	return c, nil
}

func (cc *clientCache) forget(id string) {
	cc.mu.Lock()
	delete(cc.entries, id)
	cc.mu.Unlock()
}

// clientStore is the fosite.Storage that fosite's own code paths reach. Client
// authentication is replaced by Provider.authenticateClientForFosite, and
// JWT client assertions are not supported.
type clientStore struct {
	p *Provider
}

func (s clientStore) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	c, err := s.p.clients.get(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fosite.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return &client{c: c}, nil
}

func (s clientStore) ClientAssertionJWTValid(context.Context, string) error {
	return fosite.ErrJTIKnown
}

func (s clientStore) SetClientAssertionJWT(context.Context, string, time.Time) error {
	return fosite.ErrServerError.WithHint("JWT client assertions are not supported.")
}

// ForgetClient drops the cached copy of a client, so that a changed secret
// or setting takes effect at once in this process. Other server instances
// still use their copy for up to clientCacheTTL.
func (p *Provider) ForgetClient(clientID string) { p.clients.forget(clientID) }
