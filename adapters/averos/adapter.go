package averos

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/averos/averos-auth/configs"
	"github.com/averos/averos-auth/internal/accounts"
	"github.com/averos/averos-auth/internal/httpserver"
	"github.com/averos/averos-auth/internal/mail"
	"github.com/averos/averos-auth/storage"
)

// Scopes that /auth/login requests, and the grants it runs. The first-party
// client must allow all of them.
var (
	loginScopes  = []string{"openid", "profile", "email", "roles", "offline_access"}
	clientGrants = []string{accounts.GrantPassword, accounts.GrantRefreshToken}
)

// Defaults applied by New to zero Options fields.
const (
	defaultVerificationTokenLifetime = 24 * time.Hour
	defaultResetTokenLifetime        = time.Hour
	defaultAvailabilityRateLimit     = 30
	defaultLockoutMaxFailures        = 5
)

// maxBackgroundTasks bounds the password reset requests handled at once
// after their response was sent; further requests are dropped and logged.
const maxBackgroundTasks = 64

// backgroundTimeout bounds one background task.
const backgroundTimeout = 30 * time.Second

// Options configures the adapter.
type Options struct {
	// ClientID is the first-party client the grants run for.
	ClientID string
	// CookieName, CookieSecure and CookieSameSite ("Strict", "Lax" or
	// "None"; Strict when empty) set the refresh token cookie.
	CookieName     string
	CookieSecure   bool
	CookieSameSite string
	// RefreshTokenLifetime is the cookie's Max-Age.
	RefreshTokenLifetime time.Duration
	// FrontendURL is the Averos application that email links point to.
	FrontendURL string
	// VerificationTokenLifetime and ResetTokenLifetime are the lifetimes of
	// the email links.
	VerificationTokenLifetime time.Duration
	ResetTokenLifetime        time.Duration
	// AvailabilityRateLimit is the number of user name and email checks
	// allowed per minute per client address.
	AvailabilityRateLimit int
	// LockoutMaxFailures is the lockout limit; a password reset frees the
	// user's failure slots.
	LockoutMaxFailures int
	// SystemSecret keys the hashes of one-time tokens.
	SystemSecret string
	// DataDir holds the outbox directory when SMTP is not configured.
	DataDir string
	SMTP    configs.SMTPConfig

	// MailTLSConfig overrides the TLS client settings towards the SMTP
	// server; nil verifies it against the system roots.
	MailTLSConfig *tls.Config
	// MailRetryBackoff is the first wait before a failed delivery is tried
	// again; mail.DefaultInitialBackoff when zero.
	MailRetryBackoff time.Duration
}

// OptionsFromConfig returns the adapter options of a validated configuration.
func OptionsFromConfig(cfg *configs.Config) Options {
	return Options{
		ClientID:                  cfg.Averos.ClientID,
		CookieName:                cfg.Averos.CookieName,
		CookieSecure:              cfg.Averos.CookieSecure,
		CookieSameSite:            cfg.Averos.CookieSameSite,
		RefreshTokenLifetime:      cfg.Tokens.RefreshTokenLifetime,
		FrontendURL:               cfg.Averos.FrontendURL,
		VerificationTokenLifetime: cfg.Averos.VerificationTokenLifetime,
		ResetTokenLifetime:        cfg.Averos.ResetTokenLifetime,
		AvailabilityRateLimit:     cfg.Averos.AvailabilityRateLimit,
		LockoutMaxFailures:        cfg.Lockout.MaxFailures,
		SystemSecret:              cfg.SystemSecret,
		DataDir:                   cfg.DataDir,
		SMTP:                      cfg.SMTP,
	}
}

// Adapter serves the /auth/* endpoints of the Averos client library.
type Adapter struct {
	opts      Options
	store     *storage.Store
	tokens    TokenService
	users     *accounts.Users
	clients   *accounts.Clients
	log       *zap.Logger
	now       func() time.Time
	cookie    refreshCookie
	oneTime   *oneTimeTokens
	templates *mail.Templates
	mailer    *mail.Mailer
	available *ipLimiter

	tasks     chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// New builds the adapter and starts its mail worker. It registers the
// one-time token collection with the store's expiry sweep, so call it
// before store.EnsureIndexes.
func New(opts Options, store *storage.Store, tokens TokenService, users *accounts.Users,
	log *zap.Logger) (*Adapter, error) {
	if log == nil {
		log = zap.NewNop()
	}
	log = log.Named("averos")
	applyDefaults(&opts)
	if err := checkOptions(opts); err != nil {
		return nil, err
	}
	sameSite, err := parseSameSite(opts.CookieSameSite)
	if err != nil {
		return nil, err
	}
	clients, err := accounts.NewClients(store, opts.SystemSecret, nil)
	if err != nil {
		return nil, err
	}
	oneTime, err := newOneTimeTokens(store, opts.SystemSecret)
	if err != nil {
		return nil, err
	}
	templates, err := loadTemplates(opts.SMTP.TemplatesDir)
	if err != nil {
		return nil, err
	}
	mailer, err := mail.New(mailConfig(opts, store.Now), log.Named("mail"))
	if err != nil {
		return nil, err
	}

	a := &Adapter{
		opts:    opts,
		store:   store,
		tokens:  tokens,
		users:   users,
		clients: clients,
		log:     log,
		now:     store.Now,
		cookie: newRefreshCookie(opts.CookieName, opts.CookieSecure, sameSite,
			opts.RefreshTokenLifetime),
		oneTime:   oneTime,
		templates: templates,
		mailer:    mailer,
		available: newIPLimiter(opts.AvailabilityRateLimit, store.Now),
		tasks:     make(chan struct{}, maxBackgroundTasks),
	}
	if !a.cookie.secure {
		log.Warn("the refresh token cookie is sent without the Secure attribute; " +
			"use this only for local development over plain HTTP")
	}
	if mailer.UsesOutbox() {
		log.Warn("SMTP is not configured: emails are written to the outbox directory",
			zap.String("outbox", mailConfig(opts, store.Now).OutboxDir))
	}
	return a, nil
}

func applyDefaults(opts *Options) {
	if opts.VerificationTokenLifetime <= 0 {
		opts.VerificationTokenLifetime = defaultVerificationTokenLifetime
	}
	if opts.ResetTokenLifetime <= 0 {
		opts.ResetTokenLifetime = defaultResetTokenLifetime
	}
	if opts.AvailabilityRateLimit <= 0 {
		opts.AvailabilityRateLimit = defaultAvailabilityRateLimit
	}
	if opts.LockoutMaxFailures <= 0 {
		opts.LockoutMaxFailures = defaultLockoutMaxFailures
	}
}

func checkOptions(opts Options) error {
	var problems []error
	if opts.ClientID == "" {
		problems = append(problems, errors.New("averos: the client ID is required"))
	}
	if opts.CookieName == "" {
		problems = append(problems, errors.New("averos: the cookie name is required"))
	}
	if opts.RefreshTokenLifetime <= 0 {
		problems = append(problems, errors.New("averos: the refresh token lifetime must be positive"))
	}
	u, err := url.Parse(opts.FrontendURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		problems = append(problems, fmt.Errorf(
			"averos: invalid front-end URL %q: use an absolute http or https URL", opts.FrontendURL))
	}
	if opts.SMTP.Host == "" && opts.DataDir == "" {
		problems = append(problems, errors.New(
			"averos: a data directory is required for the outbox when SMTP is not configured"))
	}
	return errors.Join(problems...)
}

func mailConfig(opts Options, now func() time.Time) mail.Config {
	return mail.Config{
		Host:           opts.SMTP.Host,
		Port:           opts.SMTP.Port,
		TLS:            opts.SMTP.TLS,
		Username:       opts.SMTP.Username,
		Password:       opts.SMTP.Password,
		From:           opts.SMTP.From,
		OutboxDir:      filepath.Join(opts.DataDir, "outbox"),
		TLSConfig:      opts.MailTLSConfig,
		InitialBackoff: opts.MailRetryBackoff,
		Now:            now,
	}
}

// EnsureClient creates the first-party client when it is missing: public,
// with the password and refresh_token grants and the scopes that
// /auth/login requests. An existing client is kept as it is, but it must
// allow those grants and scopes, or every login would fail.
func (a *Adapter) EnsureClient(ctx context.Context) error {
	c, err := a.store.Clients.Get(ctx, a.opts.ClientID)
	if errors.Is(err, storage.ErrNotFound) {
		c, _, err = a.clients.Create(ctx, accounts.ClientSpec{
			ID:         a.opts.ClientID,
			Name:       "Averos web application",
			Public:     true,
			GrantTypes: clientGrants,
			Scopes:     loginScopes,
		})
		if err == nil {
			a.log.Info("created the first-party client", zap.String("client_id", c.ID))
			return nil
		}
		// Another instance created it meanwhile.
		if errors.Is(err, storage.ErrAlreadyExists) {
			c, err = a.store.Clients.Get(ctx, a.opts.ClientID)
		}
	}
	if err != nil {
		return fmt.Errorf("averos: ensure client %q: %w", a.opts.ClientID, err)
	}

	var missingGrants, missingScopes []string
	for _, g := range clientGrants {
		if !slices.Contains(c.GrantTypes, g) {
			missingGrants = append(missingGrants, g)
		}
	}
	for _, s := range loginScopes {
		if !slices.Contains(c.Scopes, s) {
			missingScopes = append(missingScopes, s)
		}
	}
	if len(missingGrants) == 0 && len(missingScopes) == 0 {
		return nil
	}
	// The configuration owns this client: put back what /auth/login needs.
	// The change may run again after a concurrent write, so it adds only
	// what the client it is given lacks.
	_, err = a.store.Clients.Update(ctx, c.ID, func(c *storage.Client) error {
		for _, g := range missingGrants {
			if !slices.Contains(c.GrantTypes, g) {
				c.GrantTypes = append(c.GrantTypes, g)
			}
		}
		for _, s := range missingScopes {
			if !slices.Contains(c.Scopes, s) {
				c.Scopes = append(c.Scopes, s)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("averos: repair client %q: %w", a.opts.ClientID, err)
	}
	a.log.Warn("restored the grant types and scopes the first-party client needs",
		zap.String("client_id", c.ID), zap.Strings("grant_types", missingGrants), zap.Strings("scopes", missingScopes))
	return nil
}

// Mount adds the /auth/* routes, each with and without a trailing slash.
func (a *Adapter) Mount(r chi.Router) {
	r = r.With(noStore)
	routes := []struct {
		method, path string
		handler      http.HandlerFunc
	}{
		{http.MethodPost, "/auth/login", a.login},
		{http.MethodPost, "/auth/rt", a.refresh},
		{http.MethodPost, "/auth/logout", a.logout},
		{http.MethodGet, "/auth/luroles", a.loggedUserRoles},
		{http.MethodPost, "/auth/register", a.register},
		{http.MethodGet, "/auth/users/{userName}", a.userNameExists},
		{http.MethodGet, "/auth/users/email/{email}", a.emailExists},
		{http.MethodPost, "/auth/vaccount", a.verifyAccount},
		{http.MethodPost, "/auth/rrp", a.requestPasswordReset},
		{http.MethodPost, "/auth/rp", a.resetPassword},
	}
	for _, route := range routes {
		handler := http.Handler(route.handler)
		if route.method == http.MethodPost {
			handler = requireJSON(handler)
		}
		r.Method(route.method, route.path, handler)
		r.Method(route.method, route.path+"/", handler)
	}
}

// requireJSON responds with 415 to a POST whose Content-Type is not
// application/json. The Averos client always sends JSON; other types are what
// a cross-site form or a no-cors fetch can send without a CORS preflight, so
// refusing them keeps other sites from logging a user out or rotating their
// session with the refresh cookie.
func requireJSON(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mediaType != "application/json" {
			httpserver.WriteText(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Close waits for the background tasks and stops the mail worker. Call it
// after the HTTP server has stopped, so no request starts a new task.
func (a *Adapter) Close() {
	a.closeOnce.Do(func() {
		a.wg.Wait()
		a.mailer.Close()
	})
}

// goBackground runs task after the response, detached from the request's
// cancellation, and reports false when too many tasks are running.
func (a *Adapter) goBackground(task func(ctx context.Context)) bool {
	select {
	case a.tasks <- struct{}{}:
	default:
		return false
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer func() { <-a.tasks }()
		ctx, cancel := context.WithTimeout(context.Background(), backgroundTimeout)
		defer cancel()
		task(ctx)
	}()
	return true
}
