package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// The embedded engine keeps its files in the data directory:
//
//	<data-dir>/averos-auth.lock   held (flock) by the process running the engine
//	<data-dir>/engine/            the engine's SQLite files
//	<data-dir>/run/mongodb.sock   the engine's Unix socket
//
// The data directory and its subdirectories are owner-only (0700), so other
// local users can reach neither the files nor the socket; no TCP port opens.
const (
	lockFileName  = "averos-auth.lock"
	engineDirName = "engine"
	runDirName    = "run"
	socketName    = "mongodb.sock"
)

// maxSocketPath is the longest Unix socket path Linux accepts (sun_path less
// the terminating NUL).
const maxSocketPath = 107

// ErrEngineBusy reports that another process holds the data directory's
// engine and its socket does not respond.
var ErrEngineBusy = errors.New("the embedded engine's data directory is in use by another process")

// Engine is the embedded MongoDB-compatible engine (FerretDB on SQLite),
// running in this process.
type Engine struct {
	dataDir string
	uri     string
	socket  string
	lock    *os.File
	cancel  context.CancelFunc
	done    chan struct{}
}

// URI returns the connection string for the engine's Unix socket.
func (e *Engine) URI() string { return e.uri }

// Close stops the engine, waits for it to finish and releases the lock.
func (e *Engine) Close() error {
	e.cancel()
	<-e.done
	_ = os.Remove(e.socket)
	err := unix.Flock(int(e.lock.Fd()), unix.LOCK_UN)
	if cerr := e.lock.Close(); err == nil {
		err = cerr
	}
	return err
}

// SocketURI returns the connection string of the engine socket in dataDir.
// It limits the driver to two connections: the engine writes through one
// SQLite database, whose concurrent writers wait in SQLite's busy handler
// with sleeps of up to 100 ms, while requests waiting for a driver connection
// are woken at once. Measured with bench/oauthload at 64 concurrent refresh
// grants: p99 1,456 ms with the driver's default pool of 100 connections,
// 207 ms with 2, at the same throughput.
func SocketURI(dataDir string) (string, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return "", fmt.Errorf("storage: data directory %q: %w", dataDir, err)
	}
	sock := filepath.Join(abs, runDirName, socketName)
	if len(sock) > maxSocketPath {
		return "", fmt.Errorf("storage: data directory path %q is too long for a Unix socket "+
			"(%d bytes; at most %d): choose a shorter data directory", abs, len(sock), maxSocketPath)
	}
	return "mongodb://" + url.QueryEscape(sock) + "/?maxPoolSize=2", nil
}

// StartEmbedded locks dataDir and starts the embedded engine in it. It fails
// with ErrEngineBusy when another process holds the lock.
func StartEmbedded(ctx context.Context, dataDir string, log *zap.Logger) (*Engine, error) {
	if log == nil {
		log = zap.NewNop()
	}
	uri, err := SocketURI(dataDir)
	if err != nil {
		return nil, err
	}
	abs, _ := filepath.Abs(dataDir)
	for _, dir := range []string{abs, filepath.Join(abs, engineDirName), filepath.Join(abs, runDirName)} {
		if err := ensurePrivateDir(dir); err != nil {
			return nil, err
		}
	}

	lock, err := lockDataDir(abs)
	if err != nil {
		return nil, err
	}
	sock := filepath.Join(abs, runDirName, socketName)
	// The lock is ours, so a socket file left here is from a process that died.
	if err := os.Remove(sock); err != nil && !errors.Is(err, os.ErrNotExist) {
		_ = lock.Close()
		return nil, fmt.Errorf("storage: remove stale socket %s: %w", sock, err)
	}

	// synchronous(normal) makes SQLite sync its write-ahead log at
	// checkpoints instead of at every commit. A crash of the process loses
	// nothing. A power loss may lose the last commits, as it may with
	// MongoDB's default write concern (journal synced every 100 ms). With a
	// sync per commit every token request waited on the disk: 300 refresh
	// grants/s at 8 concurrent requests, against 435/s without
	// (bench/oauthload on the 2-core development machine).
	//
	// Each SQLite connection caches 1 MiB of pages instead of 2 MiB: the
	// cache is outside the Go heap and its memory limit, and the pages it
	// drops stay in the operating system's file cache.
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{Unix: sock},
		Handler:   "sqlite",
		SQLiteURL: "file:" + filepath.Join(abs, engineDirName) + "/?_pragma=synchronous(normal)&_pragma=cache_size(-1024)",
		Logger:    slog.New(slog.NewTextHandler(zapWriter{log}, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("storage: start embedded engine: %w", err)
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e := &Engine{dataDir: abs, uri: uri, socket: sock, lock: lock, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(e.done)
		_ = f.Run(runCtx)
	}()

	if err := waitForSocket(ctx, sock, 10*time.Second); err != nil {
		_ = e.Close()
		return nil, err
	}
	return e, nil
}

// Attach returns a connection string for the embedded engine in dataDir.
// When a running server holds the directory, it returns that server's socket
// and a nil engine. Otherwise it starts an engine in this process, which the
// caller must Close. So two processes never open the engine's files at once.
func Attach(ctx context.Context, dataDir string, log *zap.Logger) (string, *Engine, error) {
	e, err := StartEmbedded(ctx, dataDir, log)
	if err == nil {
		return e.URI(), e, nil
	}
	if !errors.Is(err, ErrEngineBusy) {
		return "", nil, err
	}
	uri, uerr := SocketURI(dataDir)
	if uerr != nil {
		return "", nil, uerr
	}
	abs, _ := filepath.Abs(dataDir)
	if werr := waitForSocket(ctx, filepath.Join(abs, runDirName, socketName), 2*time.Second); werr != nil {
		return "", nil, err
	}
	return uri, nil, nil
}

func ensurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("storage: create directory %s: %w", dir, err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("storage: directory %s: %w", dir, err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("storage: make directory %s owner-only: %w", dir, err)
		}
	}
	return nil
}

func lockDataDir(abs string) (*os.File, error) {
	path := filepath.Join(abs, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("storage: open lock file %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s)", ErrEngineBusy, abs)
		}
		return nil, fmt.Errorf("storage: lock %s: %w", path, err)
	}
	return f, nil
}

func waitForSocket(ctx context.Context, sock string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		conn, err := net.DialTimeout("unix", sock, 200*time.Millisecond)
		if err == nil {
			_ = conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("storage: embedded engine socket %s did not respond within %s: %w", sock, limit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// zapWriter forwards the engine's errors to the server log. Its warnings are
// left out: it warns about every command it does not implement (endSessions).
type zapWriter struct{ log *zap.Logger }

func (w zapWriter) Write(p []byte) (int, error) {
	w.log.Warn("embedded engine", zap.String("message", strings.TrimSpace(string(p))))
	return len(p), nil
}

var _ io.Writer = zapWriter{}
