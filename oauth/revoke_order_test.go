package oauth

import (
	"context"
	"testing"
	"time"

	"github.com/averos/averos-auth/internal/password"
	"github.com/averos/averos-auth/storage"
	"github.com/averos/averos-auth/storage/storagetest"
)

// A password grant reads its time before it verifies the password, and
// after the failure that locks the user it revokes the user's tokens as of
// that time. A revocation stored meanwhile, such as an administrator's or a
// password reset's, is later: moving TokensValidAfter back to the grant's
// time would make the tokens issued in between valid again.
func TestRevokeUserTokensKeepsLater(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	store := storagetest.New(t, storagetest.Options{Now: clock.Now})
	hasher, err := password.NewHasher(password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{
		Issuer:       "http://issuer.test",
		SystemSecret: testSystemSecret,
		Now:          clock.Now,
	}, store, newTestKeys(t, "ES256"), hasher, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	u := &storage.User{UserName: "ada", Email: "ada@example.test", PasswordHash: "unused"}
	if err := store.Users.Create(ctx, u); err != nil {
		t.Fatal(err)
	}

	grantStarted := clock.Now()
	clock.Advance(time.Second)
	if err := p.RevokeUserTokens(ctx, u.ID); err != nil {
		t.Fatalf("RevokeUserTokens: %v", err)
	}
	revokedAt := clock.Now().UTC().Truncate(time.Millisecond)

	// What lockUser does once the failed password has been counted.
	if err := p.revokeUserTokensAt(ctx, u.ID, grantStarted); err != nil {
		t.Fatalf("revokeUserTokensAt: %v", err)
	}
	got, err := store.Users.Get(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.TokensValidAfter.Before(revokedAt) {
		t.Errorf("TokensValidAfter = %v, moved back before the revocation at %v",
			got.TokensValidAfter, revokedAt)
	}
}
