package averos

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

// oneTimeCollection stores the email verification and password reset tokens.
const oneTimeCollection = "averos_one_time_tokens"

// Kinds of one-time tokens. The kind is part of the document id, so a token
// of one kind never matches a lookup of the other.
const (
	kindVerifyAccount = "verify-account"
	kindResetPassword = "reset-password"
)

// errTokenInvalid reports a one-time token that is unknown, already used or
// expired.
var errTokenInvalid = errors.New("one-time token is invalid, used or expired")

// oneTimeToken is a stored one-time token. The token itself is never stored:
// the id is the kind and the token's keyed hash, so a stolen database yields
// no usable link.
type oneTimeToken struct {
	ID        string    `bson:"_id"`
	Kind      string    `bson:"kind"`
	UserID    string    `bson:"userId"`
	CreatedAt time.Time `bson:"createdAt"`
	ExpiresAt time.Time `bson:"expiresAt"`
}

// oneTimeTokens issues and consumes one-time tokens. Consuming is one
// deleteOne by id, which is atomic on MongoDB and on the embedded engine, so
// of any number of concurrent uses of a token exactly one succeeds.
type oneTimeTokens struct {
	coll   *mongo.Collection
	hasher *secrets.Hasher
	now    func() time.Time
}

func newOneTimeTokens(store *storage.Store, systemSecret string) (*oneTimeTokens, error) {
	hasher, err := secrets.NewHasher(systemSecret, secrets.PurposeOneTimeTokens)
	if err != nil {
		return nil, err
	}
	coll := store.Database().Collection(oneTimeCollection)
	store.RegisterSweep(coll, "expiresAt")
	return &oneTimeTokens{coll: coll, hasher: hasher, now: store.Now}, nil
}

func (s *oneTimeTokens) id(kind, token string) string {
	return kind + ":" + s.hasher.Hash(token)
}

// issue creates a token of kind for userID, valid for lifetime, and returns
// it. Only its keyed hash is stored.
func (s *oneTimeTokens) issue(ctx context.Context, kind, userID string,
	lifetime time.Duration) (string, error) {
	token, err := secrets.Generate()
	if err != nil {
		return "", err
	}
	now := s.now().UTC()
	doc := oneTimeToken{
		ID:        s.id(kind, token),
		Kind:      kind,
		UserID:    userID,
		CreatedAt: now,
		ExpiresAt: now.Add(lifetime),
	}
	if _, err := s.coll.InsertOne(ctx, doc); err != nil {
		return "", fmt.Errorf("store %s token: %w", kind, err)
	}
	return token, nil
}

// peek returns the stored token without consuming it, or errTokenInvalid.
func (s *oneTimeTokens) peek(ctx context.Context, kind, token string) (*oneTimeToken, error) {
	if token == "" {
		return nil, errTokenInvalid
	}
	var doc oneTimeToken
	err := s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: s.id(kind, token)}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, errTokenInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("read %s token: %w", kind, err)
	}
	// The sweep removes expired tokens only periodically.
	if !s.now().Before(doc.ExpiresAt) {
		return nil, errTokenInvalid
	}
	return &doc, nil
}

// consume checks the token and deletes it. It returns errTokenInvalid when
// the token is unknown or expired, or when a concurrent call consumed it
// first.
func (s *oneTimeTokens) consume(ctx context.Context, kind, token string) (*oneTimeToken, error) {
	doc, err := s.peek(ctx, kind, token)
	if err != nil {
		return nil, err
	}
	res, err := s.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: doc.ID}})
	if err != nil {
		return nil, fmt.Errorf("consume %s token: %w", kind, err)
	}
	if res.DeletedCount != 1 {
		return nil, errTokenInvalid
	}
	return doc, nil
}

// outstanding counts the unexpired tokens of kind issued to userID.
func (s *oneTimeTokens) outstanding(ctx context.Context, kind, userID string) (int64, error) {
	n, err := s.coll.CountDocuments(ctx, bson.D{
		{Key: "userId", Value: userID},
		{Key: "kind", Value: kind},
		{Key: "expiresAt", Value: bson.D{{Key: "$gt", Value: s.now()}}},
	})
	if err != nil {
		return 0, fmt.Errorf("count %s tokens: %w", kind, err)
	}
	return n, nil
}

// revokeAll deletes every token of kind issued to userID.
func (s *oneTimeTokens) revokeAll(ctx context.Context, kind, userID string) error {
	filter := bson.D{{Key: "userId", Value: userID}, {Key: "kind", Value: kind}}
	_, err := s.coll.DeleteMany(ctx, filter)
	if err != nil {
		return fmt.Errorf("delete %s tokens: %w", kind, err)
	}
	return nil
}
