package oauth

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// loginAndReadRefresh logs in on a new environment and returns the response
// and the stored document of its refresh token.
func loginAndReadRefresh(t *testing.T) (*testEnv, response, *refreshDoc) {
	t.Helper()
	e, _ := newRefreshEnv(t)
	first := e.login(t, "openid offline_access")
	presented, err := e.p.tokens.getRefresh(context.Background(), e.p.hmac.Signature(first.str("refresh_token")))
	if err != nil {
		t.Fatal(err)
	}
	return e, first, presented
}

// A rotation that fails on the successor's insert returns an error to the
// client, which has no new refresh token and retries with the one it has.
// The retry must not count as a replay, so the failed rotation takes its
// used marker back. The test makes the second insert fail with a duplicate
// _id, because that is the only failure it can cause on demand.
func TestRefreshAfterFailedRotation(t *testing.T) {
	e, first, presented := loginAndReadRefresh(t)
	c := context.Background()
	token := first.str("refresh_token")
	duplicate := *presented
	duplicate.Signature = "duplicate"
	if err := e.p.tokens.createRefresh(c, &duplicate); err != nil {
		t.Fatal(err)
	}

	err := e.p.tokens.rotate(c, presented, &duplicate, e.clock.Now())
	if err == nil || errors.Is(err, errAlreadyUsed) {
		t.Fatalf("rotate with a duplicate successor: err = %v, want a storage error", err)
	}

	retry := e.refreshGrant("web", "s3cret", token, nil)
	if retry.status != http.StatusOK {
		t.Errorf("refresh after the failed rotation: %d %s, want 200", retry.status, retry.raw)
	}
	wantActive(t, e.introspect("web", "s3cret", first.str("access_token")))
}

// A token rotated out by an older build, whose used marker sits in the old
// collection, stays spent after the migration, and the old collection is
// dropped.
func TestMigrateLegacyUsedMarkers(t *testing.T) {
	e, first, presented := loginAndReadRefresh(t)
	c := context.Background()
	token := first.str("refresh_token")
	legacy := e.store.Database().Collection(collLegacyUsedMarkers)
	if _, err := legacy.InsertOne(c, usedMarker{Signature: presented.Signature, GrantID: presented.GrantID,
		UsedAt: e.clock.Now(), ExpiresAt: presented.ExpiresAt}); err != nil {
		t.Fatal(err)
	}

	for run := 1; run <= 2; run++ { // a second run finds nothing to do
		if err := e.p.Migrate(c); err != nil {
			t.Fatalf("migration run %d: %v", run, err)
		}
	}
	names, err := e.store.Database().ListCollectionNames(c, bson.D{{Key: "name", Value: collLegacyUsedMarkers}})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 0 {
		t.Errorf("legacy collection still exists: %v", names)
	}
	replay := e.refreshGrant("web", "s3cret", token, nil)
	if replay.status != http.StatusBadRequest {
		t.Errorf("refresh with the migrated spent token: %d %s, want 400", replay.status, replay.raw)
	}
	wantInactive(t, e.introspect("web", "s3cret", first.str("access_token")))
}
