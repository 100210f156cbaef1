package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/ory/fosite"
	"github.com/ory/fosite/token/hmac"
	"go.uber.org/zap"

	"github.com/averos/averos-auth/internal/password"
	"github.com/averos/averos-auth/internal/secrets"
	"github.com/averos/averos-auth/oauth/jws"
	"github.com/averos/averos-auth/oidc"
	"github.com/averos/averos-auth/storage"
	"github.com/averos/averos-auth/wellknown"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultAccessTokenLifetime  = 15 * time.Minute
	DefaultRefreshTokenLifetime = 720 * time.Hour
	DefaultIDTokenLifetime      = time.Hour
	DefaultRefreshScope         = "offline_access"
	DefaultLockoutMaxFailures   = 5
	DefaultLockoutDuration      = 15 * time.Minute
)

// realm is the protection space named in WWW-Authenticate challenges.
const realm = "averos-auth"

// Config configures a Provider.
type Config struct {
	// Issuer is the iss claim of every token: the server's base URL.
	Issuer string
	// Token lifetimes; a client's own lifetime, when set, wins.
	AccessTokenLifetime, RefreshTokenLifetime, IDTokenLifetime time.Duration
	// RefreshScope is the scope that a grant needs to receive a refresh token.
	RefreshScope string
	// LockoutMaxFailures consecutive failed passwords lock the user for
	// LockoutDuration.
	LockoutMaxFailures int
	LockoutDuration    time.Duration
	// SystemSecret keys the client secret hashes and the refresh token HMAC.
	SystemSecret string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Provider is the OAuth 2.0 token service: it owns the fosite instance, the
// token collections and the HTTP handlers.
type Provider struct {
	cfg       Config
	store     *storage.Store
	tokens    *tokenStore
	clients   *clientCache
	secrets   *secrets.Hasher
	passwords *password.Hasher
	signer    *jws.Signer
	verifier  *jws.Verifier
	hmac      *hmac.HMACStrategy
	fosite    *fosite.Fosite
	log       *zap.Logger
	now       func() time.Time
	// dummySecretHash is compared for unknown client ids, so that they cost
	// the same time as a wrong secret.
	dummySecretHash string
}

// New builds the Provider. It registers the token collections for the
// store's expiry sweep, so call it before store.EnsureIndexes.
func New(cfg Config, store *storage.Store, keys wellknown.KeySource, hasher *password.Hasher,
	log *zap.Logger) (*Provider, error) {
	if err := cfg.applyDefaults(); err != nil {
		return nil, err
	}
	if store == nil || keys == nil || hasher == nil {
		return nil, errors.New("oauth: the store, key source and password hasher are required")
	}
	if log == nil {
		log = zap.NewNop()
	}
	secretHasher, err := secrets.NewHasher(cfg.SystemSecret, secrets.PurposeClientSecrets)
	if err != nil {
		return nil, fmt.Errorf("oauth: %w", err)
	}
	hmacKey, err := secrets.DeriveKey(cfg.SystemSecret, secrets.PurposeTokenHMAC)
	if err != nil {
		return nil, fmt.Errorf("oauth: %w", err)
	}

	p := &Provider{
		cfg:             cfg,
		store:           store,
		tokens:          newTokenStore(store),
		secrets:         secretHasher,
		passwords:       hasher,
		signer:          jws.NewSigner(keys),
		verifier:        jws.NewVerifier(keys),
		log:             log,
		now:             cfg.Now,
		dummySecretHash: secretHasher.Hash("unknown client"),
	}
	p.clients = newClientCache(store.Clients, clientCacheTTL, cfg.Now)

	fositeConfig := &fosite.Config{
		GlobalSecret:                 hmacKey,
		TokenEntropy:                 32,
		ClientAuthenticationStrategy: p.authenticateClientForFosite,
		ScopeStrategy:                fosite.ExactScopeStrategy,
		AudienceMatchingStrategy:     fosite.ExactAudienceMatchingStrategy,
		AccessTokenIssuer:            cfg.Issuer,
		IDTokenIssuer:                cfg.Issuer,
		AccessTokenLifespan:          cfg.AccessTokenLifetime,
		RefreshTokenLifespan:         cfg.RefreshTokenLifetime,
		IDTokenLifespan:              cfg.IDTokenLifetime,
		RefreshTokenScopes:           []string{cfg.RefreshScope},
	}
	p.hmac = &hmac.HMACStrategy{Config: fositeConfig}
	idTokens := oidc.NewTokenHandler(oidc.TokenHandlerConfig{
		Issuer: cfg.Issuer, Lifetime: cfg.IDTokenLifetime, Signer: p.signer, Now: cfg.Now,
	})
	// The grant handler runs first: it sets the access token and the
	// session that the ID token handler reads.
	fositeConfig.TokenEndpointHandlers = fosite.TokenEndpointHandlers{&grantHandler{p: p}, idTokens}
	fositeConfig.RevocationHandlers = fosite.RevocationHandlers{&revocationHandler{p: p}}
	p.fosite = &fosite.Fosite{Store: clientStore{p: p}, Config: fositeConfig}
	return p, nil
}

func (c *Config) applyDefaults() error {
	if c.Issuer == "" {
		return errors.New("oauth: the issuer is required")
	}
	if c.AccessTokenLifetime <= 0 {
		c.AccessTokenLifetime = DefaultAccessTokenLifetime
	}
	if c.RefreshTokenLifetime <= 0 {
		c.RefreshTokenLifetime = DefaultRefreshTokenLifetime
	}
	if c.IDTokenLifetime <= 0 {
		c.IDTokenLifetime = DefaultIDTokenLifetime
	}
	if c.RefreshScope == "" {
		c.RefreshScope = DefaultRefreshScope
	}
	if c.LockoutMaxFailures <= 0 {
		c.LockoutMaxFailures = DefaultLockoutMaxFailures
	}
	if c.LockoutDuration <= 0 {
		c.LockoutDuration = DefaultLockoutDuration
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Migrate brings token data stored by older builds into the current layout.
// Run it at start, before the token endpoint serves requests.
func (p *Provider) Migrate(ctx context.Context) error {
	return p.tokens.migrateUsedMarkers(ctx)
}

// Mount adds the token, introspection, revocation and userinfo endpoints.
func (p *Provider) Mount(r chi.Router) {
	r.Post("/oauth2/token", p.serveToken)
	r.Post("/oauth2/introspect", p.serveIntrospection)
	r.Post("/oauth2/revoke", p.serveRevocation)
	userinfo := oidc.NewUserinfoHandler(p.validateForUserinfo, p.store.Users, realm, p.log)
	r.Method(http.MethodGet, "/userinfo", userinfo)
	r.Method(http.MethodPost, "/userinfo", userinfo)
}

// SupportedScopes returns the scopes that have a meaning on this server, for
// the discovery document.
func (p *Provider) SupportedScopes() []string {
	return oidc.SupportedScopes(p.cfg.RefreshScope)
}

func (p *Provider) validateForUserinfo(ctx context.Context, raw string) (oidc.AccessToken, error) {
	at, err := p.ValidateAccessToken(ctx, raw)
	if errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrSessionRevoked) {
		return oidc.AccessToken{}, fmt.Errorf("%w: %w", oidc.ErrInvalidToken, err)
	}
	if err != nil {
		return oidc.AccessToken{}, err
	}
	// A token meant only for other resource servers is not accepted here
	// (RFC 7519 §4.1.3).
	if !slices.Contains(at.Audience, p.cfg.Issuer) {
		return oidc.AccessToken{}, fmt.Errorf("%w: the audience %v does not name the issuer",
			oidc.ErrInvalidToken, at.Audience)
	}
	return oidc.AccessToken{Subject: at.Subject, Scopes: at.Scopes}, nil
}
