package wellknown

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/averos/averos-auth/internal/secrets"
	"github.com/averos/averos-auth/storage"
)

// claimsCollection holds the claims that let one instance at a time create
// the first key or perform a scheduled rotation.
const claimsCollection = "signing_key_claims"

// Claim ids.
const (
	firstKeyClaimID     = "first-key"
	rotationClaimPrefix = "rotation-after-"
)

// claims takes exclusive, expiring claims by inserting a document with a
// fixed _id. An insert with a taken _id fails atomically on MongoDB and on
// the embedded engine, so of several instances exactly one wins. No update
// with a filter is involved, because the embedded engine does not apply
// those atomically.
type claims struct {
	coll  *mongo.Collection
	owner string
}

type claimDoc struct {
	ID        string    `bson:"_id"`
	Owner     string    `bson:"owner"`
	CreatedAt time.Time `bson:"createdAt"`
	ExpiresAt time.Time `bson:"expiresAt"`
}

func newClaims(store *storage.Store) (*claims, error) {
	owner, err := secrets.Generate()
	if err != nil {
		return nil, fmt.Errorf("generate claim owner id: %w", err)
	}
	return &claims{coll: store.Database().Collection(claimsCollection), owner: owner}, nil
}

// claim reports whether this instance took the claim id. A claim that
// expired is deleted, by _id and owner so that only that holder's document
// goes, and taken again.
func (c *claims) claim(ctx context.Context, id string, now time.Time, ttl time.Duration) (bool, error) {
	doc := claimDoc{ID: id, Owner: c.owner, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	for attempt := 0; attempt < 2; attempt++ {
		_, err := c.coll.InsertOne(ctx, doc)
		if err == nil {
			return true, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return false, fmt.Errorf("insert claim %s: %w", id, err)
		}

		var held claimDoc
		err = c.coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&held)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("read claim %s: %w", id, err)
		}
		if now.Before(held.ExpiresAt) {
			return false, nil
		}
		filter := bson.D{{Key: "_id", Value: id}, {Key: "owner", Value: held.Owner}}
		if _, err := c.coll.DeleteOne(ctx, filter); err != nil {
			return false, fmt.Errorf("delete expired claim %s: %w", id, err)
		}
	}
	return false, nil
}

// deleteExpired removes claims whose expiry has passed.
func (c *claims) deleteExpired(ctx context.Context, now time.Time) error {
	filter := bson.D{{Key: "expiresAt", Value: bson.D{{Key: "$lt", Value: now}}}}
	if _, err := c.coll.DeleteMany(ctx, filter); err != nil {
		return fmt.Errorf("wellknown: delete expired claims: %w", err)
	}
	return nil
}
