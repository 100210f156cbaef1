package oauth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.uber.org/zap"

	"github.com/averos/averos-auth/internal/httpserver"
	"github.com/averos/averos-auth/storage"
)

// Collections of the token service. Every document carries expiresAt and is
// removed by the store's sweep once it has passed; every lookup goes by _id.
// The refresh token collection also keeps the used markers, so a rotation
// stores the marker and the next token with one ordered insert.
const (
	collGrants              = "oauth_grants"
	collRefreshTokens       = "oauth_refresh_tokens"
	collRevokedAccessTokens = "oauth_revoked_access_tokens"
)

// grantDoc is one grant family: a user's login through one client, and every
// access and refresh token issued from it by later refreshes. Deleting it
// revokes all of them at once, because a token of a family is valid only
// while the family document exists.
type grantDoc struct {
	ID       string   `bson:"_id"`
	ClientID string   `bson:"clientId"`
	Subject  string   `bson:"subject"`
	Scopes   []string `bson:"scopes"`
	Audience []string `bson:"audience"`
	// AuthTime is the login that started the family. Tokens of the family
	// are revoked when the user's or the client's TokensValidAfter is later.
	AuthTime  time.Time `bson:"authTime"`
	ExpiresAt time.Time `bson:"expiresAt"`
}

// refreshDoc is one refresh token, stored under its HMAC signature so the
// token itself never reaches the database. It stays after use; the used
// marker tells a rotated-out token apart from a live one.
type refreshDoc struct {
	Signature string    `bson:"_id"`
	GrantID   string    `bson:"grantId"`
	ClientID  string    `bson:"clientId"`
	Subject   string    `bson:"subject"`
	Scopes    []string  `bson:"scopes"`
	IssuedAt  time.Time `bson:"issuedAt"`
	ExpiresAt time.Time `bson:"expiresAt"`
}

// usedMarker records that a refresh token was spent. Its _id is derived from
// the token signature (usedID), so of many concurrent inserts exactly one
// succeeds: that insert is the rotation.
type usedMarker struct {
	Signature string `bson:"_id"`
	GrantID   string `bson:"grantId"`
	// Rotation is a random value of the request that spent the token, so
	// that request can take its marker back when its rotation fails.
	Rotation  string    `bson:"rotation"`
	UsedAt    time.Time `bson:"usedAt"`
	ExpiresAt time.Time `bson:"expiresAt"`
}

// revokedAccessToken marks one access token revoked by its jti, until the
// token expires on its own.
type revokedAccessToken struct {
	JTI       string    `bson:"_id"`
	ClientID  string    `bson:"clientId"`
	RevokedAt time.Time `bson:"revokedAt"`
	ExpiresAt time.Time `bson:"expiresAt"`
}

// errAlreadyUsed reports that a refresh token was rotated before.
var errAlreadyUsed = errors.New("refresh token already used")

// usedID returns the _id of the used marker of the refresh token with
// signature. Signatures are base64url, so they never contain the slash and
// never equal a marker id.
func usedID(signature string) string { return "used/" + signature }

type tokenStore struct {
	grants  *mongo.Collection
	refresh *mongo.Collection
	revoked *mongo.Collection
}

func newTokenStore(s *storage.Store) *tokenStore {
	db := s.Database()
	t := &tokenStore{
		grants:  db.Collection(collGrants),
		refresh: db.Collection(collRefreshTokens),
		revoked: db.Collection(collRevokedAccessTokens),
	}
	for _, c := range []*mongo.Collection{t.grants, t.refresh, t.revoked} {
		s.RegisterSweep(c, "expiresAt")
	}
	return t
}

// storageError wraps a driver error with the operation that failed.
func storageError(op string, err error) error {
	return fmt.Errorf("oauth: %s: %w", op, err)
}

func byID(id string) bson.D { return bson.D{{Key: "_id", Value: id}} }

// findByID decodes the document with id into out. It returns storage.ErrNotFound
// when there is none.
func findByID(ctx context.Context, c *mongo.Collection, id string, out any, op string) error {
	err := c.FindOne(ctx, byID(id)).Decode(out)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return storage.ErrNotFound
	}
	if err != nil {
		return storageError(op, err)
	}
	return nil
}

func (t *tokenStore) createGrant(ctx context.Context, g *grantDoc) error {
	if _, err := t.grants.InsertOne(ctx, g); err != nil {
		return storageError("insert grant", err)
	}
	return nil
}

func (t *tokenStore) getGrant(ctx context.Context, id string) (*grantDoc, error) {
	var g grantDoc
	if err := findByID(ctx, t.grants, id, &g, "read grant"); err != nil {
		return nil, err
	}
	return &g, nil
}

// revokeGrant deletes the grant family, which revokes every token issued from
// it. Revoking a family that is already gone is not an error.
func (t *tokenStore) revokeGrant(ctx context.Context, id string) error {
	if _, err := t.grants.DeleteOne(ctx, byID(id)); err != nil {
		return storageError("delete grant", err)
	}
	return nil
}

func (t *tokenStore) createRefresh(ctx context.Context, d *refreshDoc) error {
	if _, err := t.refresh.InsertOne(ctx, d); err != nil {
		return storageError("insert refresh token", err)
	}
	return nil
}

func (t *tokenStore) getRefresh(ctx context.Context, signature string) (*refreshDoc, error) {
	var d refreshDoc
	if err := findByID(ctx, t.refresh, signature, &d, "read refresh token"); err != nil {
		return nil, err
	}
	return &d, nil
}

// rotate spends the presented refresh token and stores next, the token that
// replaces it (nil when none is issued). The used marker goes first in one
// ordered insert, so next is stored only when the marker was: exactly one
// caller per presented token gets nil, every other one errAlreadyUsed.
func (t *tokenStore) rotate(ctx context.Context, presented, next *refreshDoc, now time.Time) error {
	rotation := rand.Text()
	docs := []any{usedMarker{
		Signature: usedID(presented.Signature), GrantID: presented.GrantID, Rotation: rotation,
		UsedAt: now, ExpiresAt: presented.ExpiresAt,
	}}
	if next != nil {
		docs = append(docs, next)
	}
	_, err := t.refresh.InsertMany(ctx, docs, options.InsertMany().SetOrdered(true))
	if err == nil {
		return nil
	}
	// 11000 is the duplicate key error: the marker exists already.
	var bulk mongo.BulkWriteException
	if errors.As(err, &bulk) && len(bulk.WriteErrors) > 0 &&
		bulk.WriteErrors[0].Index == 0 && bulk.WriteErrors[0].HasErrorCode(11000) {
		return errAlreadyUsed
	}
	// The marker may be stored without the next token: the embedded engine
	// retries a failed batch one document at a time, and a reply can be
	// lost after the write. Taking the marker back lets the client retry
	// with the token it still holds instead of being treated as a replay.
	t.unspend(ctx, presented.Signature, rotation)
	return storageError("rotate refresh token", err)
}

// unspend deletes the used marker of signature if the rotation with the
// given random value stored it. A marker is never changed after its insert,
// and only its own rotation or the sweep after its expiry deletes it, so the
// delete by _id removes that marker.
func (t *tokenStore) unspend(ctx context.Context, signature, rotation string) {
	ctx, cancel := detached(ctx)
	defer cancel()
	var m usedMarker
	err := findByID(ctx, t.refresh, usedID(signature), &m, "read used refresh token")
	if errors.Is(err, storage.ErrNotFound) {
		return
	}
	if err == nil && m.Rotation != rotation {
		return
	}
	if err == nil {
		_, err = t.refresh.DeleteOne(ctx, byID(usedID(signature)))
	}
	if err != nil {
		httpserver.LoggerFrom(ctx).Warn("take back the used marker of a failed rotation failed; "+
			"the client's retry will count as a replay", zap.Error(err))
	}
}

// collLegacyUsedMarkers is the collection in which builds before one-insert
// rotation kept the used markers, under the bare token signature.
const collLegacyUsedMarkers = "oauth_used_refresh_tokens"

// migrateUsedMarkers copies the used markers of older builds into the refresh
// token collection under their current _id, so a token rotated out before an
// upgrade stays spent, and then drops the old collection. Markers already
// copied are skipped, so a migration interrupted by a crash runs again.
func (t *tokenStore) migrateUsedMarkers(ctx context.Context) error {
	legacy := t.refresh.Database().Collection(collLegacyUsedMarkers)
	cur, err := legacy.Find(ctx, bson.D{})
	if err != nil {
		return storageError("read legacy used markers", err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var m usedMarker
		if err := cur.Decode(&m); err != nil {
			return storageError("decode legacy used marker", err)
		}
		m.Signature = usedID(m.Signature)
		if _, err := t.refresh.InsertOne(ctx, m); err != nil && !mongo.IsDuplicateKeyError(err) {
			return storageError("copy legacy used marker", err)
		}
	}
	if err := cur.Err(); err != nil {
		return storageError("read legacy used markers", err)
	}
	if err := legacy.Drop(ctx); err != nil {
		return storageError("drop legacy used markers", err)
	}
	return nil
}

func (t *tokenStore) isUsed(ctx context.Context, signature string) (bool, error) {
	var m usedMarker
	err := findByID(ctx, t.refresh, usedID(signature), &m, "read used refresh token")
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// revokeAccessToken marks the access token with jti revoked until expiresAt.
// Revoking it twice is not an error.
func (t *tokenStore) revokeAccessToken(ctx context.Context, jti, clientID string, now,
	expiresAt time.Time) error {
	_, err := t.revoked.InsertOne(ctx, revokedAccessToken{
		JTI: jti, ClientID: clientID, RevokedAt: now, ExpiresAt: expiresAt,
	})
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return storageError("revoke access token", err)
	}
	return nil
}

func (t *tokenStore) isAccessTokenRevoked(ctx context.Context, jti string) (bool, error) {
	var m revokedAccessToken
	err := findByID(ctx, t.revoked, jti, &m, "read revoked access token")
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
