package storage_test

import (
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/averos/averos-auth/storage"
	"github.com/averos/averos-auth/storage/storagetest"
)

// Of many users created at once with the name of a leftover claim (its owner
// no longer exists), exactly one gets the name. Releasing the leftover is a
// delete that must remove that claim and never the one a faster creator
// has just taken. The filler claims slow down the engine's scan of a
// filtered delete, which widens the window for that race.
func TestClaimTakeoverConcurrent(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	claims := s.Database().Collection("unique_claims")
	filler := make([]any, 5000)
	for i := range filler {
		filler[i] = bson.D{{Key: "_id", Value: fmt.Sprintf("user.name:filler%d", i)},
			{Key: "owner", Value: "nobody"}, {Key: "createdAt", Value: time.Now()}}
	}
	if _, err := claims.InsertMany(c, filler); err != nil {
		t.Fatal(err)
	}

	for round := range 4 {
		name := fmt.Sprintf("taken%d", round)
		if _, err := claims.InsertOne(c, bson.D{{Key: "_id", Value: "user.name:" + name},
			{Key: "owner", Value: "gone"}, {Key: "createdAt", Value: time.Now().Add(-time.Hour)}}); err != nil {
			t.Fatal(err)
		}
		wins, _ := race(t, 8, func(i int) error {
			return s.Users.Create(c, newUser(name, fmt.Sprintf("%s-%d@example.com", name, i)))
		})
		if wins != 1 {
			t.Errorf("round %d: %d users got the name, want 1", round, wins)
		}
		users, err := s.Users.List(c, bson.D{{Key: "userName", Value: name}}, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(users) != 1 {
			t.Errorf("round %d: %d users named %s, want 1", round, len(users), name)
			continue
		}
		owner, err := claims.CountDocuments(c, bson.D{{Key: "_id", Value: "user.name:" + name},
			{Key: "owner", Value: users[0].ID}})
		if err != nil {
			t.Fatal(err)
		}
		if owner != 1 {
			t.Errorf("round %d: the claim of %s does not belong to its user", round, name)
		}
	}
}

// The sweep removes release tombstones and never a claim: claims carry no
// expiry.
func TestSweepKeepsClaims(t *testing.T) {
	s := storagetest.New(t, storagetest.Options{Now: func() time.Time { return time.Now().Add(2 * time.Hour) }})
	c := ctx(t)
	u := newUser("kept", "kept@example.com")
	if err := s.Users.Create(c, u); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Users.Update(c, u.ID, func(u *storage.User) error { u.UserName = "renamed"; return nil }); err != nil {
		t.Fatal(err)
	}
	claims := s.Database().Collection("unique_claims")
	if n, _ := claims.CountDocuments(c, bson.D{{Key: "owner", Value: u.ID}}); n != 3 {
		t.Fatalf("claims and tombstones of the user = %d, want 3 (name, email, tombstone)", n)
	}
	if _, err := s.Sweep(c); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"user.name:renamed", "user.email:kept@example.com"} {
		if n, _ := claims.CountDocuments(c, bson.D{{Key: "_id", Value: id}}); n != 1 {
			t.Errorf("claim %s after the sweep: %d documents, want 1", id, n)
		}
	}
	if n, _ := claims.CountDocuments(c, bson.D{{Key: "owner", Value: u.ID}}); n != 2 {
		t.Errorf("documents of the user after the sweep = %d, want 2 (the tombstone expired)", n)
	}
	if _, err := s.Users.GetByUserName(c, "renamed"); err != nil {
		t.Errorf("user by name after the sweep: %v", err)
	}
}
