package app

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/averos/averos-auth/configs"
	"github.com/averos/averos-auth/storage"
)

// Storage modes, as logged at start.
const (
	ModeMongoDB  = "mongodb"
	ModeEmbedded = "embedded"
	// ModeAttached is a CLI run that uses the engine of a running server.
	ModeAttached = "embedded (attached to the running server)"
)

// Storage is an open store and, in embedded mode, the engine behind it.
type Storage struct {
	Store  *storage.Store
	Engine *storage.Engine
	Mode   string
}

// Close closes the store, then stops the engine this process runs.
func (s *Storage) Close(ctx context.Context) error {
	err := s.Store.Close(ctx)
	if s.Engine != nil {
		if eerr := s.Engine.Close(); err == nil {
			err = eerr
		}
	}
	return err
}

// OpenStorage connects to MongoDB when the configuration has a URI, and
// otherwise starts the embedded engine in the data directory. With attach
// (the CLI), a data directory held by a running server is used through that
// server's engine instead of failing. A configured but unreachable MongoDB is
// never replaced by the embedded engine: the store keeps retrying.
func OpenStorage(ctx context.Context, cfg *configs.Config, log *zap.Logger, attach bool) (*Storage, error) {
	opts := storage.Options{Timeout: cfg.Storage.Timeout, Logger: log}
	if cfg.MongoDBURI != "" {
		opts.URI = cfg.MongoDBURI
		st, err := storage.Open(opts)
		if err != nil {
			return nil, err
		}
		return &Storage{Store: st, Mode: ModeMongoDB}, nil
	}

	var engine *storage.Engine
	mode := ModeEmbedded
	if attach {
		uri, e, err := storage.Attach(ctx, cfg.DataDir, log)
		if err != nil {
			return nil, err
		}
		opts.URI, engine = uri, e
		if e == nil {
			mode = ModeAttached
		}
	} else {
		e, err := storage.StartEmbedded(ctx, cfg.DataDir, log)
		if err != nil {
			return nil, err
		}
		opts.URI, engine = e.URI(), e
	}
	st, err := storage.Open(opts)
	if err != nil {
		if engine != nil {
			_ = engine.Close()
		}
		return nil, fmt.Errorf("open embedded engine store: %w", err)
	}
	return &Storage{Store: st, Engine: engine, Mode: mode}, nil
}
