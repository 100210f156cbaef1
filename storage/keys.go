package storage

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// SigningKeys is the signing-key repository. Keys are only inserted, marked
// retired, and swept after ExpiresAt; every instance derives the active key
// from the same list, so no multi-document step is needed.
type SigningKeys struct {
	s    *Store
	coll *mongo.Collection
}

// Insert stores a new key; a taken kid is an *AlreadyExistsError.
func (r *SigningKeys) Insert(ctx context.Context, k *SigningKey) error {
	if _, err := r.coll.InsertOne(ctx, k); err != nil {
		if isDuplicateKey(err) {
			return &AlreadyExistsError{Kind: "signing key", Field: "kid"}
		}
		return wrap("insert signing key", err)
	}
	return nil
}

// List returns every stored key, oldest activation first.
func (r *SigningKeys) List(ctx context.Context) ([]SigningKey, error) {
	opts := options.Find().SetSort(bson.D{{Key: "activatesAt", Value: 1}, {Key: "_id", Value: 1}})
	cur, err := r.coll.Find(ctx, bson.D{}, opts)
	if err != nil {
		return nil, wrap("list signing keys", err)
	}
	keys := []SigningKey{}
	if err := cur.All(ctx, &keys); err != nil {
		return nil, wrap("list signing keys", err)
	}
	return keys, nil
}

// Retire records when a newer key took over from kid and when kid may leave
// the JWKS. Setting the same values twice is harmless, so instances may race.
func (r *SigningKeys) Retire(ctx context.Context, kid string, retiredAt, expiresAt time.Time) error {
	res, err := r.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: kid}}, bson.D{
		{Key: "$set", Value: bson.D{{Key: "retiredAt", Value: retiredAt}, {Key: "expiresAt", Value: expiresAt}}},
	})
	if err == nil && res.MatchedCount == 0 {
		return ErrNotFound
	}
	return wrap("retire signing key", err)
}

// Delete removes the key with kid.
func (r *SigningKeys) Delete(ctx context.Context, kid string) error {
	res, err := r.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: kid}})
	if err != nil {
		return wrap("delete signing key", err)
	}
	if res.DeletedCount == 0 {
		return ErrNotFound
	}
	return nil
}
