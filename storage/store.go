package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.uber.org/zap"
)

// Collection names.
const (
	collUsers         = "users"
	collRoles         = "roles"
	collClients       = "clients"
	collSigningKeys   = "signing_keys"
	collClaims        = "unique_claims"
	collLoginFailures = "login_failures"
	// collSystem holds documents about the store itself.
	collSystem = "system"
)

// Store is the connection to the database and the repositories over it.
type Store struct {
	client *mongo.Client
	db     *mongo.Database
	log    *zap.Logger
	now    func() time.Time

	Users    *Users
	Roles    *Roles
	Clients  *Clients
	Keys     *SigningKeys
	Lockout  *Lockout
	claims   *claims
	sweepers []sweeper
}

// Options configures Open.
type Options struct {
	// URI is the MongoDB connection string.
	URI string
	// Database is the database name; "averos_auth" when empty.
	Database string
	// Timeout bounds each server selection and each operation started
	// without a deadline; 5 s when zero.
	Timeout time.Duration
	Logger  *zap.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// DefaultDatabase is the database used when Options.Database is empty.
const DefaultDatabase = "averos_auth"

// Open connects to the MongoDB server at opts.URI. It does not wait for the
// server: the driver connects lazily and reconnects on its own, so a server
// that is down at start or goes away later makes operations fail with an
// error (IsUnavailable) until it is back, and never crashes the process.
func Open(opts Options) (*Store, error) {
	if opts.Database == "" {
		opts.Database = DefaultDatabase
	}
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}

	clientOpts := options.Client().ApplyURI(opts.URI).
		SetServerSelectionTimeout(opts.Timeout).
		SetTimeout(opts.Timeout).
		SetAppName("averos-auth")
	if err := clientOpts.Validate(); err != nil {
		return nil, fmt.Errorf("storage: invalid MongoDB URI: %w", err)
	}
	client, err := mongo.Connect(clientOpts)
	if err != nil {
		return nil, fmt.Errorf("storage: connect: %w", err)
	}

	s := &Store{
		client: client,
		db:     client.Database(opts.Database),
		log:    opts.Logger,
		now:    opts.Now,
	}
	s.claims = &claims{coll: s.db.Collection(collClaims)}
	s.Users = &Users{s: s, coll: s.db.Collection(collUsers), locks: newStripedLock()}
	s.Roles = &Roles{s: s, coll: s.db.Collection(collRoles), locks: newStripedLock()}
	s.Clients = &Clients{s: s, coll: s.db.Collection(collClients), locks: newStripedLock()}
	s.Keys = &SigningKeys{s: s, coll: s.db.Collection(collSigningKeys)}
	s.Lockout = &Lockout{s: s, coll: s.db.Collection(collLoginFailures)}
	s.sweepers = []sweeper{
		{name: collLoginFailures, coll: s.Lockout.coll, remove: s.Lockout.sweep},
		{name: collSigningKeys, coll: s.Keys.coll},
		// Only release tombstones in the claims collection expire.
		{name: collClaims, coll: s.claims.coll},
	}
	return s, nil
}

// Database returns the database, for repositories defined in other files or
// packages (token sessions) that share this connection.
func (s *Store) Database() *mongo.Database { return s.db }

// Now returns the store's clock reading.
func (s *Store) Now() time.Time { return s.now() }

// Ping checks that the server responds. The readiness probe calls it.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx, readpref.Primary()); err != nil {
		return fmt.Errorf("storage: ping: %w", err)
	}
	return nil
}

// Close disconnects from the server.
func (s *Store) Close(ctx context.Context) error {
	return s.client.Disconnect(ctx)
}

// index describes one index to create at start.
type index struct {
	coll   string
	keys   bson.D
	unique bool
	name   string
}

// EnsureIndexes creates the collections' secondary indexes. It is idempotent.
// Uniqueness of names and emails does not depend on these indexes (claims do
// that); they keep admin listings and the sweep cheap on MongoDB.
func (s *Store) EnsureIndexes(ctx context.Context) error {
	indexes := []index{
		{coll: collUsers, keys: bson.D{{Key: "roles", Value: 1}}, name: "roles"},
		{coll: collUsers, keys: bson.D{{Key: "createdAt", Value: 1}, {Key: "_id", Value: 1}}, name: "created"},
		{coll: collRoles, keys: bson.D{{Key: "name", Value: 1}}, name: "name"},
	}
	for _, ix := range indexes {
		model := mongo.IndexModel{
			Keys:    ix.keys,
			Options: options.Index().SetName(ix.name).SetUnique(ix.unique),
		}
		if _, err := s.db.Collection(ix.coll).Indexes().CreateOne(ctx, model); err != nil {
			return fmt.Errorf("storage: create index %s.%s: %w", ix.coll, ix.name, err)
		}
	}
	for _, sw := range s.sweepers {
		if err := s.ensureExpiryIndex(ctx, sw); err != nil {
			return err
		}
	}
	// Collections without a secondary index are created here too, so that
	// the embedded engine's _id index (Engine.IndexIDs) covers them at start.
	for _, name := range []string{collUsers, collRoles, collClients, collSigningKeys, collClaims, collLoginFailures} {
		if err := s.db.CreateCollection(ctx, name); err != nil && !isNamespaceExists(err) {
			return fmt.Errorf("storage: create collection %s: %w", name, err)
		}
	}
	return nil
}

// isNamespaceExists reports the "collection already exists" server error.
func isNamespaceExists(err error) bool {
	var se mongo.ServerError
	return errors.As(err, &se) && se.HasErrorCode(48)
}

// ensureExpiryIndex indexes a sweeper's expiry field. On MongoDB it is a TTL
// index, which also expires documents on its own. The embedded engine
// rejects TTL indexes, so there it is a plain index and the sweep does all
// the expiry.
func (s *Store) ensureExpiryIndex(ctx context.Context, sw sweeper) error {
	keys := bson.D{{Key: sw.fieldName(), Value: 1}}
	ttl := mongo.IndexModel{Keys: keys, Options: options.Index().SetName("expires_ttl").SetExpireAfterSeconds(0)}
	_, err := sw.coll.Indexes().CreateOne(ctx, ttl)
	if err == nil {
		return nil
	}
	if IsUnavailable(err) {
		return fmt.Errorf("storage: create index %s.expires_ttl: %w", sw.name, err)
	}
	plain := mongo.IndexModel{Keys: keys, Options: options.Index().SetName("expires")}
	if _, err := sw.coll.Indexes().CreateOne(ctx, plain); err != nil {
		return fmt.Errorf("storage: create index %s.expires: %w", sw.name, err)
	}
	return nil
}

// sweeper removes the documents of one collection whose expiry has passed.
type sweeper struct {
	name  string
	coll  *mongo.Collection
	field string // "expiresAt" when empty
	// remove replaces the plain delete for a collection whose documents
	// may be written again under the same _id after they expire.
	remove func(ctx context.Context, now time.Time) (int64, error)
}

func (sw sweeper) fieldName() string {
	if sw.field == "" {
		return "expiresAt"
	}
	return sw.field
}

// RegisterSweep adds a collection to the expiry sweep: documents whose field
// (a date) lies in the past are deleted. Call it before EnsureIndexes so the
// field gets an index.
func (s *Store) RegisterSweep(coll *mongo.Collection, field string) {
	s.sweepers = append(s.sweepers, sweeper{name: coll.Name(), coll: coll, field: field})
}

// Sweep deletes expired documents from every registered collection and
// returns how many it removed. A document without the field never expires.
func (s *Store) Sweep(ctx context.Context) (int64, error) {
	now := s.now()
	var total int64
	var errs []error
	for _, sw := range s.sweepers {
		if sw.remove != nil {
			n, err := sw.remove(ctx, now)
			total += n
			if err != nil {
				errs = append(errs, err)
			}
			continue
		}
		filter := bson.D{{Key: sw.fieldName(), Value: bson.D{{Key: "$lt", Value: now}}}}
		res, err := sw.coll.DeleteMany(ctx, filter)
		if err != nil {
			errs = append(errs, wrap("sweep "+sw.name, err))
			continue
		}
		total += res.DeletedCount
	}
	return total, errors.Join(errs...)
}

// RunSweeper calls Sweep every interval until ctx is done, logging failures.
func (s *Store) RunSweeper(ctx context.Context, interval time.Duration) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		n, err := s.Sweep(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("expiry sweep failed", zap.Error(err))
			continue
		}
		if n > 0 {
			s.log.Debug("expiry sweep removed documents", zap.Int64("count", n))
		}
	}
}
