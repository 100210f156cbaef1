package wellknown

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
	ID    string `bson:"_id"`
	Owner string `bson:"owner"`
	// Gen is a random value set when the claim is taken. It distinguishes
	// one taking of the claim from the next under the same _id.
	Gen       string    `bson:"gen,omitempty"`
	CreatedAt time.Time `bson:"createdAt"`
	ExpiresAt time.Time `bson:"expiresAt"`
}

// releasedPrefix starts the _id of a tombstone: the right to delete one
// taking of an expired claim.
const releasedPrefix = "released:"

// tombstoneTTL is how long a tombstone outlives its creation, far longer
// than a caller that read the claim can take to delete it.
const tombstoneTTL = time.Hour

func newClaims(store *storage.Store) (*claims, error) {
	owner, err := secrets.Generate()
	if err != nil {
		return nil, fmt.Errorf("generate claim owner id: %w", err)
	}
	return &claims{coll: store.Database().Collection(claimsCollection), owner: owner}, nil
}

// claim reports whether this instance took the claim id. A claim that
// expired is freed (see free) and taken again.
func (c *claims) claim(ctx context.Context, id string, now time.Time, ttl time.Duration) (bool, error) {
	gen, err := secrets.Generate()
	if err != nil {
		return false, fmt.Errorf("generate the generation of claim %s: %w", id, err)
	}
	doc := claimDoc{ID: id, Owner: c.owner, Gen: gen, CreatedAt: now, ExpiresAt: now.Add(ttl)}
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
		if err := c.free(ctx, held, now); err != nil {
			return false, err
		}
	}
	return false, nil
}

// free deletes the taking of a claim that the caller read, through a
// tombstone named after its Gen (see storage.DeleteOnce), so that of
// concurrent callers exactly one deletes it and never a later taking.
func (c *claims) free(ctx context.Context, expired claimDoc, now time.Time) error {
	tombstone := claimDoc{ID: releasedPrefix + expired.ID + "/" + expired.Gen, Owner: c.owner,
		CreatedAt: now, ExpiresAt: now.Add(tombstoneTTL)}
	if _, err := storage.DeleteOnce(ctx, c.coll, expired.ID, tombstone); err != nil {
		return fmt.Errorf("free expired claim %s: %w", expired.ID, err)
	}
	return nil
}

// deleteExpired removes claims and tombstones whose expiry has passed.
func (c *claims) deleteExpired(ctx context.Context, now time.Time) error {
	cur, err := c.coll.Find(ctx, bson.D{{Key: "expiresAt", Value: bson.D{{Key: "$lt", Value: now}}}})
	if err != nil {
		return fmt.Errorf("wellknown: read expired claims: %w", err)
	}
	var expired []claimDoc
	if err := cur.All(ctx, &expired); err != nil {
		return fmt.Errorf("wellknown: read expired claims: %w", err)
	}
	for _, doc := range expired {
		if strings.HasPrefix(doc.ID, releasedPrefix) {
			// A tombstone is never written again under its _id.
			if _, err := c.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: doc.ID}}); err != nil {
				return fmt.Errorf("wellknown: delete tombstone: %w", err)
			}
			continue
		}
		if err := c.free(ctx, doc, now); err != nil {
			return fmt.Errorf("wellknown: %w", err)
		}
	}
	return nil
}
