package storage

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// secretCheckID is the _id of the document that records which system secret
// the store was set up with.
const secretCheckID = "secret-check"

// secretCheckDoc stores a value derived from the system secret, never the
// secret itself, so that a process started with another secret can tell.
type secretCheckDoc struct {
	ID        string    `bson:"_id"`
	Value     string    `bson:"value"`
	CreatedAt time.Time `bson:"createdAt"`
}

// EnsureSecretCheck stores value as the store's secret check unless one is
// stored already, and returns the stored value. Of concurrent callers with
// different values, the first insert wins and every caller gets its value.
func (s *Store) EnsureSecretCheck(ctx context.Context, value string) (string, error) {
	coll := s.db.Collection(collSystem)
	_, err := coll.InsertOne(ctx, secretCheckDoc{ID: secretCheckID, Value: value, CreatedAt: s.now().UTC()})
	if err == nil {
		return value, nil
	}
	if !isDuplicateKey(err) {
		return "", wrap("store secret check", err)
	}
	return s.SecretCheck(ctx)
}

// SecretCheck returns the store's secret check value, or ErrNotFound when
// none is stored yet.
func (s *Store) SecretCheck(ctx context.Context) (string, error) {
	var d secretCheckDoc
	err := s.db.Collection(collSystem).FindOne(ctx, bson.D{{Key: "_id", Value: secretCheckID}}).Decode(&d)
	if err != nil {
		return "", wrap("read secret check", err)
	}
	return d.Value, nil
}
