package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/averos/averos-auth/configs"
	"github.com/averos/averos-auth/internal/httpserver"
	"github.com/averos/averos-auth/oauth"
	"github.com/averos/averos-auth/storage"
	"github.com/averos/averos-auth/wellknown"
)

// errStarting is the readiness error until the start-up steps have run.
var errStarting = errors.New("start-up steps have not completed")

// App is the assembled server.
type App struct {
	cfg    *configs.Config
	log    *zap.Logger
	store  *storage.Store
	server *httpserver.Server

	// startup holds the steps that run once storage responds: indexes, keys
	// and the first-party client.
	startup []func(ctx context.Context) error
	// background runs for the server's lifetime once start-up has completed.
	background []func(ctx context.Context)

	started atomic.Bool

	provider *oauth.Provider
	keys     *wellknown.Manager
	closers  []func()
}

// New builds the server and mounts every package's routes.
func New(cfg *configs.Config, log *zap.Logger, store *storage.Store) (*App, error) {
	a := &App{cfg: cfg, log: log, store: store}
	a.server = httpserver.New(httpserver.Options{
		Logger:            log,
		MaxBodyBytes:      cfg.HTTP.MaxBodyBytes,
		AllowedOrigins:    cfg.CORS.AllowedOrigins,
		ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout,
		ShutdownTimeout:   cfg.HTTP.ShutdownTimeout,
		Ready:             a.ready,
		MetricsEnabled:    cfg.Metrics.Enabled,
	})
	// mount registers the token collections for the sweep, so the indexes
	// are created after it has run.
	if err := a.mount(); err != nil {
		return nil, err
	}
	a.startup = append([]func(context.Context) error{store.EnsureIndexes}, a.startup...)
	a.background = append(a.background, func(ctx context.Context) {
		store.RunSweeper(ctx, cfg.Storage.SweepInterval)
	})
	return a, nil
}

// UseEngine adds the embedded engine's upkeep: its _id index on every
// table (storage.Engine.IndexIDs), at start and then after every sweep
// interval, so that collections created later are covered too. Call it
// before Serve.
func (a *App) UseEngine(e *storage.Engine) {
	database := a.store.Database().Name()
	a.startup = append(a.startup, func(ctx context.Context) error {
		return e.IndexIDs(ctx, database)
	})
	a.background = append(a.background, func(ctx context.Context) {
		ticker := time.NewTicker(a.cfg.Storage.SweepInterval)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
			if err := e.IndexIDs(ctx, database); err != nil && ctx.Err() == nil {
				a.log.Warn("indexing the embedded engine's _id failed", zap.Error(err))
			}
		}
	})
}

// Handler returns the whole middleware chain and routes, for tests.
func (a *App) Handler() http.Handler { return a.server.Handler() }

// Provider returns the OAuth provider, for tests.
func (a *App) Provider() *oauth.Provider { return a.provider }

// Router returns the router, for listing the mounted routes.
func (a *App) Router() chi.Router { return a.server.Router() }

func (a *App) ready(ctx context.Context) error {
	if !a.started.Load() {
		return errStarting
	}
	return a.store.Ping(ctx)
}

// Start runs the start-up steps, retrying while storage is unreachable, and
// then starts the background work. It returns at once; readiness reports
// 503 until the steps have completed. A step that fails for a reason no
// retry can fix, such as a system secret that does not decrypt the stored
// signing keys, is logged and stops start-up.
func (a *App) Start(ctx context.Context) *sync.WaitGroup {
	return a.start(ctx, func(error) {})
}

// start does the work of Start and calls onFatal with the error of a start-up step
// that retrying cannot fix.
func (a *App) start(ctx context.Context, onFatal func(error)) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := a.runStartup(ctx); err != nil {
			if ctx.Err() == nil {
				a.log.Error("start-up failed", zap.Error(err))
				onFatal(err)
			}
			return
		}
		a.started.Store(true)
		// Start-up leaves garbage behind (the argon2id work buffer of the
		// password hasher's dummy hash is 7 MiB by default), which an idle
		// server would otherwise keep resident.
		debug.FreeOSMemory()
		a.log.Info("server ready")
		for _, run := range a.background {
			wg.Add(1)
			go func() {
				defer wg.Done()
				run(ctx)
			}()
		}
	}()
	return &wg
}

// runStartup runs every start-up step until all have succeeded, waiting
// between rounds with an exponential backoff capped at 30 s. It returns
// ctx's error when ctx ends first, and at once the error of a step that
// retrying cannot fix. A wrong system secret gets the sources of the right
// one added to its error.
func (a *App) runStartup(ctx context.Context) error {
	delay := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := a.startupOnce(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, wellknown.ErrSystemSecretMismatch) {
			return fmt.Errorf("%w. The secret in use came from %s. Start the server with the secret "+
				"this data was created with, from %s",
				err, a.cfg.SystemSecretOrigin(), a.cfg.SystemSecretSources())
		}
		a.log.Warn("start-up step failed; retrying", zap.Error(err),
			zap.Int("attempt", attempt), zap.Duration("retry_in", delay))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 30*time.Second)
	}
}

func (a *App) startupOnce(ctx context.Context) error {
	for _, step := range a.startup {
		stepCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := step(stepCtx)
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

// Serve starts the app and serves HTTP on ln until ctx ends, then shuts down
// gracefully: in-flight requests get the configured shutdown timeout, and
// background work stops before Serve returns. A start-up step that fails
// for a reason no retry can fix shuts the server down the same way, and
// Serve returns that step's error.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	serveCtx, stopServing := context.WithCancel(ctx)
	defer stopServing()
	var fatal atomic.Pointer[error]
	bgCtx, cancel := context.WithCancel(ctx)
	wg := a.start(bgCtx, func(err error) {
		fatal.Store(&err)
		stopServing()
	})
	err := a.server.Serve(serveCtx, ln)
	cancel()
	wg.Wait()
	a.closeParts()
	if startErr := fatal.Load(); startErr != nil {
		return errors.Join(*startErr, err)
	}
	return err
}
