// Package storagetest gives tests a real store: a fresh database on the
// embedded engine, reached over the MongoDB wire protocol, or on the MongoDB
// server named by the MONGODB_URI environment variable when it is set.
//
// One embedded engine serves a whole test binary; each call to New gets its
// own database, so tests do not see each other's documents. A package that
// uses New should call Main from its TestMain to remove the engine's files.
package storagetest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/averos/averos-auth/storage"
)

var (
	engineOnce sync.Once
	engine     *storage.Engine
	engineDir  string
	engineErr  error
	counter    atomic.Int64
)

// URI returns the connection string tests use: MONGODB_URI when set, else
// the shared embedded engine's socket (started on first use).
func URI(tb testing.TB) string {
	tb.Helper()
	if uri := os.Getenv("MONGODB_URI"); uri != "" {
		return uri
	}
	engineOnce.Do(func() {
		engineDir, engineErr = os.MkdirTemp("", "aa-test-")
		if engineErr != nil {
			return
		}
		engine, engineErr = storage.StartEmbedded(context.Background(), engineDir, nil)
	})
	if engineErr != nil {
		tb.Fatalf("start embedded engine: %v", engineErr)
	}
	return engine.URI()
}

// Options describes the store New opens.
type Options struct {
	// Now is the store's clock; time.Now when nil.
	Now func() time.Time
}

// New opens a store on a database of its own, with indexes created, and
// closes it when the test ends.
func New(tb testing.TB, opts ...Options) *storage.Store {
	tb.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	name := DatabaseName(tb)
	s, err := storage.Open(storage.Options{URI: URI(tb), Database: name, Now: o.Now, Timeout: 10 * time.Second})
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.EnsureIndexes(ctx); err != nil {
		tb.Fatalf("create indexes: %v", err)
	}
	if engine != nil && os.Getenv("MONGODB_URI") == "" {
		if err := engine.IndexIDs(ctx, name); err != nil {
			tb.Fatalf("index _id: %v", err)
		}
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Database().Drop(ctx)
		_ = s.Close(ctx)
	})
	return s
}

// Prepare creates the indexes again, for collections that packages
// registered on the store after New (their expiry sweep), as the server's
// start-up does once every package is built.
func Prepare(tb testing.TB, s *storage.Store) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.EnsureIndexes(ctx); err != nil {
		tb.Fatalf("create indexes: %v", err)
	}
	if engine != nil && os.Getenv("MONGODB_URI") == "" {
		if err := engine.IndexIDs(ctx, s.Database().Name()); err != nil {
			tb.Fatalf("index _id: %v", err)
		}
	}
}

// DatabaseName returns a database name unique within this test binary.
func DatabaseName(tb testing.TB) string {
	base := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, tb.Name())
	if len(base) > 40 {
		base = base[:40]
	}
	return fmt.Sprintf("t%d_%d_%s", os.Getpid()%100000, counter.Add(1), base)
}

// Main runs the tests and then stops the shared engine and removes its files.
// Call it from TestMain: func TestMain(m *testing.M) { os.Exit(storagetest.Main(m)) }.
func Main(m *testing.M) int {
	code := m.Run()
	if engine != nil {
		_ = engine.Close()
	}
	if engineDir != "" {
		_ = os.RemoveAll(engineDir)
	}
	return code
}
