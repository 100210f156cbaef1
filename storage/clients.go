package storage

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Clients is the OAuth client repository; the client id is the _id.
type Clients struct {
	s     *Store
	coll  *mongo.Collection
	locks *stripedLock
}

// Create stores a new client with revision 1. A taken id is an
// *AlreadyExistsError.
func (r *Clients) Create(ctx context.Context, c *Client) error {
	now := r.s.now().UTC().Truncate(time.Millisecond)
	c.CreatedAt, c.UpdatedAt = now, now
	c.Rev = 1
	if _, err := r.coll.InsertOne(ctx, c); err != nil {
		if isDuplicateKey(err) {
			return &AlreadyExistsError{Kind: "client", Field: "client_id"}
		}
		return wrap("insert client", err)
	}
	return nil
}

// Get returns the client with id, or ErrNotFound.
func (r *Clients) Get(ctx context.Context, id string) (*Client, error) {
	var c Client
	if err := r.coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&c); err != nil {
		return nil, wrap("read client", err)
	}
	return &c, nil
}

// Update reads the client, applies change to a copy and writes the copy
// back only over the revision it read. When another writer got in between,
// it reads the client again and calls change again, so change must derive
// its result from the client it is given. It fails with ErrConflict after
// maxUpdateAttempts lost races, and with ErrNotFound once the client is
// gone. UpdatedAt is set and Rev incremented. Because the client's striped
// lock is held throughout, change must not write clients through this Store.
func (r *Clients) Update(ctx context.Context, id string, change func(c *Client) error) (*Client, error) {
	unlock, err := r.locks.lock(ctx, id)
	if err != nil {
		return nil, err
	}
	defer unlock()

	for range maxUpdateAttempts {
		old, err := r.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		c := *old
		if err := change(&c); err != nil {
			return nil, err
		}
		c.ID, c.CreatedAt = old.ID, old.CreatedAt
		c.UpdatedAt = r.s.now().UTC().Truncate(time.Millisecond)
		c.Rev = old.Rev + 1
		res, err := r.coll.ReplaceOne(ctx, revisionFilter(id, old.Rev), &c)
		if err != nil {
			return nil, wrap("replace client", err)
		}
		if res.MatchedCount == 1 {
			return &c, nil
		}
	}
	if _, err := r.Get(ctx, id); err != nil {
		return nil, err
	}
	return nil, conflictError("client", id)
}

// Delete removes the client.
func (r *Clients) Delete(ctx context.Context, id string) error {
	unlock, err := r.locks.lock(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	res, err := r.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return wrap("delete client", err)
	}
	if res.DeletedCount == 0 {
		return ErrNotFound
	}
	return nil
}

// List returns every client sorted by id, at most limit of them.
func (r *Clients) List(ctx context.Context, limit int) ([]Client, error) {
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit))
	cur, err := r.coll.Find(ctx, bson.D{}, opts)
	if err != nil {
		return nil, wrap("list clients", err)
	}
	clients := []Client{}
	if err := cur.All(ctx, &clients); err != nil {
		return nil, wrap("list clients", err)
	}
	return clients, nil
}
