package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/averos/averos-auth/configs"
	"github.com/averos/averos-auth/internal/app"
	"github.com/averos/averos-auth/storage"
	"github.com/averos/averos-auth/wellknown"
)

// openForCLI opens storage, through a running server's engine when one holds
// the data directory, and sets the system secret with ensureCLISecret before
// anything is written.
func openForCLI(ctx context.Context, cfg *configs.Config, e env) (*app.Storage, error) {
	if cfg.MongoDBURI == "" {
		reportNewDataDir(cfg.DataDir, e.stderr)
	}
	st, err := app.OpenStorage(ctx, cfg, zap.NewNop(), true)
	if err != nil {
		return nil, err
	}
	if err := prepareForCLI(ctx, cfg, st.Store, e); err != nil {
		_ = st.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return st, nil
}

// prepareForCLI checks that storage responds, sets the system secret and
// creates the indexes, each step within three storage timeouts.
func prepareForCLI(ctx context.Context, cfg *configs.Config, store *storage.Store, e env) error {
	limit := cfg.Storage.Timeout * 3

	pingCtx, cancel := context.WithTimeout(ctx, limit)
	err := store.Ping(pingCtx)
	cancel()
	if err != nil {
		return fmt.Errorf("storage is not reachable: %w", err)
	}

	secretCtx, cancel := context.WithTimeout(ctx, limit)
	err = ensureCLISecret(secretCtx, cfg, store, e)
	cancel()
	if err != nil {
		return err
	}

	indexCtx, cancel := context.WithTimeout(ctx, limit)
	err = store.EnsureIndexes(indexCtx)
	cancel()
	if err != nil {
		return fmt.Errorf("create storage indexes: %w", err)
	}
	return nil
}

// reportNewDataDir writes one line to stderr when the embedded engine's data
// directory does not exist yet. The command still creates it, so that users,
// roles and clients can be set up before the first serve, but a command run
// from the wrong directory would otherwise quietly start an empty store.
func reportNewDataDir(dataDir string, stderr io.Writer) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		abs = dataDir
	}
	if _, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stderr, "averos-auth: data directory %s does not exist, so a new empty store is created there "+
			"(to use the server's store, run from the server's directory or set --data-dir)\n", abs)
	}
}

// ensureCLISecret sets the system secret of a CLI command from the
// configuration or data-dir/system-secret, and checks it against the store
// (wellknown.CheckSystemSecret). It generates a new secret only for a store
// that no secret was checked against and that has no signing keys or
// clients, as before the first serve. A client secret hashed with a secret
// that the server does not use would never match.
//
// NOTE: the generation and the binding are not atomic. When a server with
// another secret binds the empty store in between, the command fails before
// it writes anything, but the secret file it generated stays behind.
func ensureCLISecret(ctx context.Context, cfg *configs.Config, store *storage.Store, e env) error {
	found, err := cfg.ReadSystemSecret()
	if err != nil {
		return usageError{err}
	}
	if !found {
		return generateCLISecret(ctx, cfg, store, e)
	}

	return checkCLISecret(ctx, cfg, store)
}

// checkCLISecret checks the command's secret against the store, with advice
// on a mismatch.
func checkCLISecret(ctx context.Context, cfg *configs.Config, store *storage.Store) error {
	err := wellknown.CheckSystemSecret(ctx, store, cfg.SystemSecret)
	if errors.Is(err, wellknown.ErrSystemSecretMismatch) {
		return usagef("invalid system secret: %v. The secret in use came from %s. "+
			"Run the command with the server's secret, from %s",
			err, cfg.SystemSecretOrigin(), cfg.SystemSecretSources())
	}
	return err
}

// generateCLISecret creates data-dir/system-secret when the store has no data
// that depends on the system secret, and fails with exit status 2 otherwise.
func generateCLISecret(ctx context.Context, cfg *configs.Config, store *storage.Store, e env) error {
	keys, err := store.Keys.List(ctx)
	if err != nil {
		return fmt.Errorf("list signing keys: %w", err)
	}
	clients, err := store.Clients.List(ctx, 1)
	if err != nil {
		return fmt.Errorf("list clients: %w", err)
	}
	_, err = store.SecretCheck(ctx)
	bound := err == nil
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("read the system secret check: %w", err)
	}
	if len(keys) > 0 || len(clients) > 0 || bound {
		return usagef("missing system secret: system-secret is not configured and %s does not exist, "+
			"but the store was set up with the server's secret. "+
			"Run the command with the server's secret, from %s",
			cfg.SystemSecretPath(), cfg.SystemSecretSources())
	}

	generated, err := cfg.EnsureSystemSecret()
	if err != nil {
		return usageError{err}
	}
	if generated {
		fmt.Fprintf(e.stderr, "averos-auth: system-secret is not configured, so a new secret was generated "+
			"and stored in %s\n", cfg.SystemSecretPath())
	}
	// Binds the store to the new secret, or finds that another process
	// bound it meanwhile.
	return checkCLISecret(ctx, cfg, store)
}
