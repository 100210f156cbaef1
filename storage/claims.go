package storage

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// A claim reserves a unique value (a user name, an email, a role name) for
// one owner. Its _id is "<kind>:<normalised value>", so taking a value is one
// atomic insert and looking it up is one _id read, on both engines.
type claim struct {
	ID    string `bson:"_id"`
	Owner string `bson:"owner"`
	// Gen is a random value set when the claim is taken. It distinguishes
	// one holder's claim from the next one under the same _id.
	Gen       string    `bson:"gen,omitempty"`
	CreatedAt time.Time `bson:"createdAt"`
	// ExpiresAt is set on release tombstones only, for the sweep. A claim
	// has no such field, so the sweep never removes it.
	ExpiresAt *time.Time `bson:"expiresAt,omitempty"`
}

// releaseTombstoneTTL is how long a release tombstone is kept: far longer
// than a request that read the claim can take to delete it.
const releaseTombstoneTTL = time.Hour

const (
	claimUserName = "user.name"
	claimEmail    = "user.email"
	claimRoleName = "role.name"
)

// orphanAge is the minimum age of a claim that can be taken over as a
// leftover. It uses the wall clock, not the store's clock, because it guards
// against a race between live requests.
const orphanAge = time.Minute

type claims struct {
	coll *mongo.Collection
}

var folder = cases.Fold()

// NormalizeUserName returns the form under which user names are unique:
// Unicode NFKC, then case folding, then NFKC again (folding can denormalise).
func NormalizeUserName(name string) string {
	return norm.NFKC.String(folder.String(norm.NFKC.String(strings.TrimSpace(name))))
}

// NormalizeEmail returns the form under which emails are unique: trimmed and
// lower-cased.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

func claimID(kind, key string) string { return kind + ":" + key }

// take reserves key for owner. When another owner has the claim, held
// reports whether that owner still uses the value. A claim left behind by a
// crash between two steps (held returns false) is released and taken over.
func (c *claims) take(ctx context.Context, kind, key, owner string,
	held func(ctx context.Context, owner string) (bool, error)) error {
	_, err := c.reserve(ctx, kind, key, owner, held)
	return err
}

// reserve works like take and also reports whether this call inserted the
// claim. It reports false when owner held the claim already, for example
// through a concurrent update of the same document, which this caller must
// then not release on failure.
func (c *claims) reserve(ctx context.Context, kind, key, owner string,
	held func(ctx context.Context, owner string) (bool, error)) (bool, error) {
	id := claimID(kind, key)
	for attempt := 0; attempt < 2; attempt++ {
		_, err := c.coll.InsertOne(ctx, claim{ID: id, Owner: owner, Gen: rand.Text(), CreatedAt: time.Now()})
		if err == nil {
			return true, nil
		}
		if !isDuplicateKey(err) {
			return false, wrap("claim "+kind, err)
		}
		current, err := c.read(ctx, kind, key)
		if errors.Is(err, ErrNotFound) {
			continue // released meanwhile: try again
		}
		if err != nil {
			return false, err
		}
		if current.Owner == owner {
			return false, nil
		}
		// A fresh claim may belong to a creation still in progress, whose
		// document is not written yet: only an old one can be a leftover.
		if time.Since(current.CreatedAt) < orphanAge {
			return false, ErrAlreadyExists
		}
		stillHeld, err := held(ctx, current.Owner)
		if err != nil {
			return false, err
		}
		if stillHeld {
			return false, ErrAlreadyExists
		}
		if err := c.release(ctx, kind, key, current.Owner); err != nil {
			return false, err
		}
	}
	return false, ErrAlreadyExists
}

// owner returns the id that holds key, or ErrNotFound.
func (c *claims) owner(ctx context.Context, kind, key string) (string, error) {
	doc, err := c.read(ctx, kind, key)
	if err != nil {
		return "", err
	}
	return doc.Owner, nil
}

func (c *claims) read(ctx context.Context, kind, key string) (*claim, error) {
	var doc claim
	err := c.coll.FindOne(ctx, bson.D{{Key: "_id", Value: claimID(kind, key)}}).Decode(&doc)
	if err != nil {
		return nil, wrap("read claim "+kind, err)
	}
	return &doc, nil
}

// release frees key if owner holds it; releasing a claim held by someone
// else, or no claim, does nothing. A delete filtered on the owner would not
// be conditional on the embedded engine, so release reads the claim by _id
// and deletes it through a tombstone named after its Gen (see DeleteOnce).
func (c *claims) release(ctx context.Context, kind, key, owner string) error {
	current, err := c.read(ctx, kind, key)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if current.Owner != owner {
		return nil
	}
	now := time.Now()
	expires := now.Add(releaseTombstoneTTL)
	tombstone := claim{ID: "released:" + current.ID + "/" + current.Gen, Owner: owner, CreatedAt: now,
		ExpiresAt: &expires}
	_, err = DeleteOnce(ctx, c.coll, current.ID, tombstone)
	return err
}
