package app

import (
	"context"

	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/averos/averos-auth/adapters/admin"
	"github.com/averos/averos-auth/adapters/averos"
	"github.com/averos/averos-auth/configs"
	"github.com/averos/averos-auth/internal/accounts"
	"github.com/averos/averos-auth/internal/password"
	"github.com/averos/averos-auth/oauth"
	"github.com/averos/averos-auth/storage"
	"github.com/averos/averos-auth/wellknown"
)

// maxClientTokenLifetime is the longest access or ID token lifetime a client
// may be given (the account service rejects longer ones). A retired signing
// key stays published at least this long, so every token it signed can
// still be verified.
const maxClientTokenLifetime = 24 * time.Hour

// clockSkewMargin lengthens the time a retired key stays published, so that
// a token signed by an instance whose clock runs a little behind still finds
// its key until the token expires.
const clockSkewMargin = 5 * time.Minute

// PasswordHasher builds the argon2id hasher from the configuration.
func PasswordHasher(cfg *configs.Config) (*password.Hasher, error) {
	return password.NewHasher(password.Params{
		MemoryKiB:   uint32(cfg.Password.Argon2.MemoryKiB),
		Iterations:  uint32(cfg.Password.Argon2.Iterations),
		Parallelism: uint8(cfg.Password.Argon2.Parallelism),
	})
}

// KeyManager builds the signing-key manager from the configuration.
func KeyManager(cfg *configs.Config, store *storage.Store, log *zap.Logger) (*wellknown.Manager, error) {
	maxLifetime := max(cfg.Tokens.AccessTokenLifetime, cfg.Tokens.IDTokenLifetime, maxClientTokenLifetime)
	return wellknown.NewManager(store, wellknown.ManagerOptions{
		SystemSecret:     cfg.SystemSecret,
		Algorithm:        cfg.Keys.Algorithm,
		RSABits:          cfg.Keys.RSABits,
		LeadTime:         cfg.Keys.RotationLeadTime,
		RotationInterval: cfg.Keys.RotationInterval,
		MaxTokenLifetime: maxLifetime + clockSkewMargin,
		Logger:           log,
	})
}

// mount builds the protocol and adapter packages and mounts their routes.
func (a *App) mount() error {
	cfg, store := a.cfg, a.store
	hasher, err := PasswordHasher(cfg)
	if err != nil {
		return fmt.Errorf("password hasher: %w", err)
	}
	keys, err := KeyManager(cfg, store, a.log.Named("keys"))
	if err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	provider, err := oauth.New(oauth.Config{
		Issuer:               cfg.Issuer,
		AccessTokenLifetime:  cfg.Tokens.AccessTokenLifetime,
		RefreshTokenLifetime: cfg.Tokens.RefreshTokenLifetime,
		IDTokenLifetime:      cfg.Tokens.IDTokenLifetime,
		RefreshScope:         cfg.Tokens.RefreshScope,
		LockoutMaxFailures:   cfg.Lockout.MaxFailures,
		LockoutDuration:      cfg.Lockout.Duration,
		SystemSecret:         cfg.SystemSecret,
	}, store, keys, hasher, a.log.Named("oauth"))
	if err != nil {
		return err
	}

	users := accounts.NewUsers(store, hasher, cfg.Password.MinLength)
	roles := accounts.NewRoles(store)
	clients, err := accounts.NewClients(store, cfg.SystemSecret, provider)
	if err != nil {
		return err
	}
	adminAPI := admin.New(admin.Options{
		AdminRole: cfg.Admin.Role, MaxResults: cfg.Admin.MaxResults,
		Clients:          append([]string{cfg.Averos.ClientID}, cfg.Admin.Clients...),
		ProtectedClients: []string{cfg.Averos.ClientID},
	},
		store, provider, users, roles, clients, a.log.Named("admin"))

	averosAdapter, err := averos.New(averos.OptionsFromConfig(cfg), store, provider, users, a.log.Named("averos"))
	if err != nil {
		return err
	}

	// The secret check comes before anything that the secret seals or keys.
	checkSecret := func(ctx context.Context) error {
		return wellknown.CheckSystemSecret(ctx, store, cfg.SystemSecret)
	}
	a.startup = append(a.startup, checkSecret, provider.Migrate, keys.Init, averosAdapter.EnsureClient)
	a.background = append(a.background, keys.Run)

	r := a.server.Router()
	if err := keys.Mount(r, wellknown.Discovery{
		Issuer: cfg.Issuer, RefreshScope: cfg.Tokens.RefreshScope, MaxAge: cfg.Keys.JWKSMaxAge,
	}); err != nil {
		return err
	}
	provider.Mount(r)
	adminAPI.Mount(r)
	averosAdapter.Mount(r)
	a.provider = provider
	a.keys = keys
	a.closers = append(a.closers, averosAdapter.Close)
	return nil
}

// closeParts stops what mount started, once the HTTP server has stopped.
func (a *App) closeParts() {
	for _, c := range a.closers {
		c()
	}
}
