package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/debug"

	"go.uber.org/zap"

	"github.com/averos/averos-auth/internal/app"
	"github.com/averos/averos-auth/storage"
)

// baseMemoryLimit is the part of the default soft memory limit that is not
// password hashing. The live heap of the server under load is about 6 to
// 12 MiB; the rest leaves room for garbage between collections. On 2 CPUs,
// limits of 34 and 64 MiB gave the same throughput under bench/oauthload,
// and 32 MiB made the collector run often enough to lose a quarter of it.
const baseMemoryLimit = 20 << 20

// defaultMemoryLimit returns the Go runtime's soft memory limit when
// GOMEMLIMIT is not set: the base plus the argon2id memory of as many
// concurrent password hashes as the hasher runs (one per CPU). Without a
// limit the collector lets the heap grow to five times the live size (see
// defaultGCPercent), and the discarded argon2id buffers of password grants
// made up most of the peak resident memory measured under load.
func defaultMemoryLimit(argon2MemoryKiB int) int64 {
	return baseMemoryLimit + int64(runtime.GOMAXPROCS(0))*int64(argon2MemoryKiB)<<10
}

// defaultGCPercent is the garbage collector's target when GOGC is not set.
// The live heap of the server is small, so the default of 100 collected
// every few milliseconds. With 400, bounded by the memory limit above,
// refresh grants went from 425/s to 481-493/s at 8 concurrent requests
// (bench/oauthload on the 2-core development machine).
const defaultGCPercent = 400

func serve(ctx context.Context, args []string, e env) error {
	cmd := newCommand("serve", "Run the authorization server until SIGINT or SIGTERM.", e)
	cfg, err := cmd.parse(args, e.environ)
	if err != nil {
		return err
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit(cfg.Password.Argon2.MemoryKiB))
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if cfg.MongoDBURI == "" {
		// Checked before anything is written to the data directory.
		if _, err := storage.SocketURI(cfg.DataDir); err != nil {
			return usageError{err}
		}
	}
	// Listening first means a taken port fails before the engine starts.
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	defer ln.Close()
	// DevReasons reports a secret generated here, so the result is not needed.
	if _, err := cfg.EnsureSystemSecret(); err != nil {
		return usageError{err}
	}
	log, err := app.NewLogger(cfg.Log)
	if err != nil {
		return usageError{err}
	}
	defer func() { _ = log.Sync() }()

	for _, reason := range cfg.DevReasons() {
		log.Warn("development setup: " + reason + "; configure it before production use")
	}

	st, err := app.OpenStorage(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(context.WithoutCancel(ctx)); err != nil {
			log.Warn("closing storage failed", zap.Error(err))
		}
	}()

	a, err := app.New(cfg, log, st.Store)
	if err != nil {
		return err
	}
	if st.Engine != nil {
		a.UseEngine(st.Engine)
	}
	log.Info("averos-auth starting",
		zap.String("listen", ln.Addr().String()),
		zap.String("issuer", cfg.Issuer),
		zap.String("storage", st.Mode),
		zap.String("version", version))
	err = a.Serve(ctx, ln)
	log.Info("averos-auth stopped")
	return err
}
