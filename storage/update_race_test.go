package storage_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/averos/averos-auth/storage"
	"github.com/averos/averos-auth/storage/storagetest"
)

// openSecondStore opens another Store on the database of s. It stands for a
// second server process: its writes take none of the striped locks of s.
func openSecondStore(t *testing.T, s *storage.Store) *storage.Store {
	t.Helper()
	second, err := storage.Open(storage.Options{URI: storagetest.URI(t), Database: s.Database().Name(),
		Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("open second store: %v", err)
	}
	t.Cleanup(func() { _ = second.Close(ctx(t)) })
	return second
}

// writeRaw sets fields of the document with id and increments its rev, as a
// writer that bypasses the repositories would.
func writeRaw(t *testing.T, coll *mongo.Collection, id string, set bson.D) {
	t.Helper()
	_, err := coll.UpdateOne(ctx(t), bson.D{{Key: "_id", Value: id}}, bson.D{
		{Key: "$set", Value: set},
		{Key: "$inc", Value: bson.D{{Key: "rev", Value: int64(1)}}},
	})
	if err != nil {
		t.Fatalf("raw write of %s: %v", id, err)
	}
}

// assertNoJSONKey fails the test when the JSON encoding of v has key.
func assertNoJSONKey(t *testing.T, v any, key string) {
	t.Helper()
	body, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(body, &fields); err != nil {
		t.Fatal(err)
	}
	if _, ok := fields[key]; ok {
		t.Errorf("JSON has the %q key: %s", key, body)
	}
}

func createUser(t *testing.T, s *storage.Store, name string) *storage.User {
	t.Helper()
	u := newUser(name, name+"@example.com")
	if err := s.Users.Create(ctx(t), u); err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	return u
}

func getUser(t *testing.T, s *storage.Store, id string) *storage.User {
	t.Helper()
	u, err := s.Users.Get(ctx(t), id)
	if err != nil {
		t.Fatalf("get user %s: %v", id, err)
	}
	return u
}

func TestUserCreateStoresRev(t *testing.T) {
	s := storagetest.New(t)
	u := createUser(t, s, "rev")
	if got := getUser(t, s, u.ID).Rev; got != 1 {
		t.Errorf("rev after create = %d, want 1", got)
	}
	assertNoJSONKey(t, u, "rev")
}

// Twenty updates that each add a different role must all survive.
func TestUserUpdateConcurrentRoles(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	u := createUser(t, s, "roles")

	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Users.Update(c, u.ID, func(u *storage.User) error {
				u.Roles = append(u.Roles, fmt.Sprintf("role-%02d", i))
				return nil
			})
			if err != nil {
				t.Errorf("update %d: %v", i, err)
			}
		}()
	}
	wg.Wait()

	got := getUser(t, s, u.ID)
	for i := range n {
		if role := fmt.Sprintf("role-%02d", i); !slices.Contains(got.Roles, role) {
			t.Errorf("role %s lost; roles = %v", role, got.Roles)
		}
	}
	if got.Rev != 1+n {
		t.Errorf("rev = %d, want %d", got.Rev, 1+n)
	}
}

// An administrator's disable must survive profile edits of the same user
// that run at the same time.
func TestUserUpdateDisableWhileEditing(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	for round := range 6 {
		u := createUser(t, s, fmt.Sprintf("edit%d", round))
		var wg sync.WaitGroup
		for editor := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 8 {
					_, err := s.Users.Update(c, u.ID, func(u *storage.User) error {
						u.FirstName = fmt.Sprintf("editor%d-%d", editor, i)
						return nil
					})
					if err != nil {
						t.Errorf("edit: %v", err)
						return
					}
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(round) * time.Millisecond)
			if _, err := s.Users.Update(c, u.ID, func(u *storage.User) error { u.Disabled = true; return nil }); err != nil {
				t.Errorf("disable: %v", err)
			}
		}()
		wg.Wait()

		if got := getUser(t, s, u.ID); !got.Disabled {
			t.Errorf("round %d: disabled = false after a successful disable", round)
		}
	}
}

// A login recorded while the user's tokens are revoked must keep both the
// login and the new TokensValidAfter.
func TestUserRecordLoginDuringUpdate(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for round := range 12 {
		u := createUser(t, s, fmt.Sprintf("login%d", round))
		loginAt := base.Add(time.Duration(round) * time.Minute)
		revokedAt := loginAt.Add(time.Second)

		atOnce(t,
			func() error { return s.Users.RecordLogin(c, u.ID, loginAt, "127.0.0.1") },
			func() error {
				_, err := s.Users.Update(c, u.ID, func(u *storage.User) error {
					u.TokensValidAfter = revokedAt
					return nil
				})
				return err
			})

		got := getUser(t, s, u.ID)
		if got.LastLoginAt == nil || !got.LastLoginAt.Equal(loginAt) {
			t.Errorf("round %d: lastLoginAt = %v, want %v", round, got.LastLoginAt, loginAt)
		}
		if !got.TokensValidAfter.Equal(revokedAt) {
			t.Errorf("round %d: tokensValidAfter = %v, want %v", round, got.TokensValidAfter, revokedAt)
		}
		if got.Rev != 3 {
			t.Errorf("round %d: rev = %d, want 3", round, got.Rev)
		}
	}
}

// A lock stored while the user is disabled must keep both.
func TestUserSetLockedUntilDuringUpdate(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	until := time.Date(2026, 3, 1, 12, 15, 0, 0, time.UTC)
	for round := range 12 {
		u := createUser(t, s, fmt.Sprintf("lock%d", round))
		atOnce(t,
			func() error { return s.Users.SetLockedUntil(c, u.ID, until) },
			func() error { return disable(c, s, u.ID) })

		got := getUser(t, s, u.ID)
		if got.LockedUntil == nil || !got.LockedUntil.Equal(until) {
			t.Errorf("round %d: lockedUntil = %v, want %v", round, got.LockedUntil, until)
		}
		if !got.Disabled {
			t.Errorf("round %d: disabled = false after a successful disable", round)
		}
	}
}

// Removing a role while the user is disabled must keep both changes.
func TestUserRemoveRolesDuringUpdate(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	for round := range 12 {
		u := newUser(fmt.Sprintf("unrole%d", round), fmt.Sprintf("unrole%d@example.com", round))
		u.Roles = []string{"ops", "dev"}
		if err := s.Users.Create(c, u); err != nil {
			t.Fatal(err)
		}
		atOnce(t,
			func() error { return s.Users.RemoveRoles(c, u.ID, []string{"ops"}) },
			func() error { return disable(c, s, u.ID) })

		got := getUser(t, s, u.ID)
		if !slices.Equal(got.Roles, []string{"dev"}) {
			t.Errorf("round %d: roles = %v, want [dev]", round, got.Roles)
		}
		if !got.Disabled {
			t.Errorf("round %d: disabled = false after a successful disable", round)
		}
	}
}

// Each single-field write increments the revision, so that an Update of
// another process that read the previous one retries.
func TestUserWritesIncrementRev(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	u := createUser(t, s, "inc")
	writes := []struct {
		name  string
		write func() error
	}{
		{"RecordLogin", func() error { return s.Users.RecordLogin(c, u.ID, time.Now(), "127.0.0.1") }},
		{"SetLockedUntil", func() error { return s.Users.SetLockedUntil(c, u.ID, time.Now().Add(time.Hour)) }},
		{"AddRoles", func() error { return s.Users.AddRoles(c, u.ID, []string{"ops"}) }},
		{"RemoveRoles", func() error { return s.Users.RemoveRoles(c, u.ID, []string{"ops"}) }},
	}
	for i, w := range writes {
		if err := w.write(); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		if got := getUser(t, s, u.ID).Rev; got != int64(i+2) {
			t.Errorf("rev after %s = %d, want %d", w.name, got, i+2)
		}
	}
}

// A write that lands between the read and the write of an Update makes the
// Update read again and repeat its change, so both writes survive.
func TestUserUpdateRetriesAfterWrite(t *testing.T) {
	s := storagetest.New(t)
	second := openSecondStore(t, s)
	users := s.Database().Collection("users")
	cases := []struct {
		name  string
		write func(t *testing.T, id string)
	}{
		{"update of another store", func(t *testing.T, id string) {
			_, err := second.Users.Update(ctx(t), id, func(u *storage.User) error { u.Disabled = true; return nil })
			if err != nil {
				t.Fatalf("concurrent update: %v", err)
			}
		}},
		{"login of another store", func(t *testing.T, id string) {
			if err := second.Users.RecordLogin(ctx(t), id, time.Now(), "127.0.0.1"); err != nil {
				t.Fatalf("concurrent login: %v", err)
			}
			writeRaw(t, users, id, bson.D{{Key: "disabled", Value: true}})
		}},
		{"raw write", func(t *testing.T, id string) {
			writeRaw(t, users, id, bson.D{{Key: "disabled", Value: true}})
		}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := createUser(t, s, fmt.Sprintf("retry%d", i))
			calls := 0
			got, err := s.Users.Update(ctx(t), u.ID, func(u *storage.User) error {
				calls++
				if calls == 1 {
					tc.write(t, u.ID)
				}
				u.FirstName = "Grace"
				return nil
			})
			if err != nil {
				t.Fatalf("update: %v", err)
			}
			if calls != 2 {
				t.Errorf("change called %d times, want 2", calls)
			}
			if !got.Disabled {
				t.Errorf("returned user: disabled = false, want the concurrent write kept")
			}
			stored := getUser(t, s, u.ID)
			if !stored.Disabled {
				t.Errorf("stored user: disabled = false, want the concurrent write kept")
			}
			if stored.FirstName != "Grace" {
				t.Errorf("stored user: firstName = %q, want Grace", stored.FirstName)
			}
			if stored.Rev != got.Rev {
				t.Errorf("stored rev = %d, returned rev = %d", stored.Rev, got.Rev)
			}
		})
	}
}

// A user name claimed for an attempt that lost its race must be released
// when the next attempt writes another name.
func TestUserUpdateRetryReleasesClaims(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	users := s.Database().Collection("users")
	u := createUser(t, s, "before")

	calls := 0
	_, err := s.Users.Update(c, u.ID, func(u *storage.User) error {
		calls++
		if calls == 1 {
			writeRaw(t, users, u.ID, bson.D{{Key: "lastName", Value: "Hopper"}})
			u.UserName, u.Email = "first-try", "first-try@example.com"
			return nil
		}
		u.UserName, u.Email = "second-try", "second-try@example.com"
		return nil
	})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if calls != 2 {
		t.Errorf("change called %d times, want 2", calls)
	}

	got, err := s.Users.GetByUserName(c, "second-try")
	if err != nil || got.ID != u.ID {
		t.Errorf("GetByUserName(second-try) = %v, %v; want the user", got, err)
	}
	if got, err := s.Users.GetByEmail(c, "second-try@example.com"); err != nil || got.ID != u.ID {
		t.Errorf("GetByEmail(second-try@example.com) = %v, %v; want the user", got, err)
	}
	if got := getUser(t, s, u.ID); got.LastName != "Hopper" {
		t.Errorf("lastName = %q, want the concurrent write kept", got.LastName)
	}
	// The claims of the lost attempt and of the old values are free again.
	for _, name := range []string{"first-try", "before"} {
		if err := s.Users.Create(c, newUser(name, name+"-other@example.com")); err != nil {
			t.Errorf("create user named %s: %v", name, err)
		}
	}
	if err := s.Users.Create(c, newUser("other", "first-try@example.com")); err != nil {
		t.Errorf("create user with the email of the lost attempt: %v", err)
	}
}

// An Update that loses every race gives up with ErrConflict, changes
// nothing and releases the claim it took.
func TestUserUpdateConflictGivesUp(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	users := s.Database().Collection("users")
	u := createUser(t, s, "busy")

	calls := 0
	_, err := s.Users.Update(c, u.ID, func(u *storage.User) error {
		calls++
		writeRaw(t, users, u.ID, bson.D{{Key: "lastName", Value: fmt.Sprint(calls)}})
		u.UserName = "wanted"
		return nil
	})
	if !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	if calls < 2 {
		t.Errorf("change called %d times, want retries", calls)
	}
	if got := getUser(t, s, u.ID); got.UserName != "busy" {
		t.Errorf("userName = %q, want busy (unchanged)", got.UserName)
	}
	if err := s.Users.Create(c, newUser("wanted", "wanted@example.com")); err != nil {
		t.Errorf("name of the failed update stays taken: %v", err)
	}
	if got, err := s.Users.GetByUserName(c, "busy"); err != nil || got.ID != u.ID {
		t.Errorf("GetByUserName(busy) = %v, %v; want the user", got, err)
	}
}

// A user written by a build without revisions has no rev field. Update and
// RecordLogin must still work on it and start its revisions.
func TestUserUpdateWithoutRev(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	users := s.Database().Collection("users")
	for i, first := range []string{"Update", "RecordLogin"} {
		id := storage.NewID()
		_, err := users.InsertOne(c, bson.D{
			{Key: "_id", Value: id},
			{Key: "userName", Value: fmt.Sprintf("legacy%d", i)},
			{Key: "email", Value: ""},
			{Key: "roles", Value: bson.A{}},
			{Key: "disabled", Value: false},
		})
		if err != nil {
			t.Fatal(err)
		}
		if first == "RecordLogin" {
			if err := s.Users.RecordLogin(c, id, time.Now(), "127.0.0.1"); err != nil {
				t.Fatalf("record login: %v", err)
			}
		}
		got, err := s.Users.Update(c, id, func(u *storage.User) error { u.FirstName = "Legacy"; return nil })
		if err != nil {
			t.Fatalf("%s first: update: %v", first, err)
		}
		stored := getUser(t, s, id)
		if stored.FirstName != "Legacy" {
			t.Errorf("%s first: firstName = %q, want Legacy", first, stored.FirstName)
		}
		if stored.Rev < 1 || stored.Rev != got.Rev {
			t.Errorf("%s first: stored rev = %d, returned rev = %d; want equal and at least 1",
				first, stored.Rev, got.Rev)
		}
	}
}

func TestUserUpdateDeleted(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)

	u := createUser(t, s, "gone")
	if _, err := s.Users.Delete(c, u.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.Users.Update(c, u.ID, func(u *storage.User) error { u.FirstName = "x"; return nil })
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("update after delete: err = %v, want ErrNotFound", err)
	}

	// Deleted between the read and the write of the first attempt.
	u = createUser(t, s, "going")
	users := s.Database().Collection("users")
	_, err = s.Users.Update(c, u.ID, func(u *storage.User) error {
		if _, err := users.DeleteOne(c, bson.D{{Key: "_id", Value: u.ID}}); err != nil {
			t.Fatal(err)
		}
		u.UserName = "renamed-going"
		return nil
	})
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("update during delete: err = %v, want ErrNotFound", err)
	}
	if err := s.Users.Create(c, newUser("renamed-going", "renamed-going@example.com")); err != nil {
		t.Errorf("name claimed by the failed update stays taken: %v", err)
	}
}

func TestClientCreateStoresRev(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	if err := s.Clients.Create(c, &storage.Client{ID: "app"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Clients.Get(c, "app")
	if err != nil {
		t.Fatal(err)
	}
	if got.Rev != 1 {
		t.Errorf("rev after create = %d, want 1", got.Rev)
	}
	assertNoJSONKey(t, got, "rev")
}

// A secret rotation and a token revocation of the same client at the same
// time must both survive.
func TestClientUpdateConcurrent(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	revokedAt := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for round := range 12 {
		id := fmt.Sprintf("client%d", round)
		if err := s.Clients.Create(c, &storage.Client{ID: id, SecretHash: "old"}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := s.Clients.Update(c, id, func(c *storage.Client) error { c.SecretHash = "new"; return nil }); err != nil {
				t.Errorf("rotate secret: %v", err)
			}
		}()
		go func() {
			defer wg.Done()
			_, err := s.Clients.Update(c, id, func(c *storage.Client) error {
				c.TokensValidAfter = revokedAt
				return nil
			})
			if err != nil {
				t.Errorf("revoke: %v", err)
			}
		}()
		wg.Wait()

		got, err := s.Clients.Get(c, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.SecretHash != "new" {
			t.Errorf("round %d: secretHash = %q, want new", round, got.SecretHash)
		}
		if !got.TokensValidAfter.Equal(revokedAt) {
			t.Errorf("round %d: tokensValidAfter = %v, want %v", round, got.TokensValidAfter, revokedAt)
		}
	}
}

func TestClientUpdateRetriesAfterWrite(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	second := openSecondStore(t, s)
	if err := s.Clients.Create(c, &storage.Client{ID: "app", SecretHash: "old"}); err != nil {
		t.Fatal(err)
	}
	revokedAt := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	calls := 0
	got, err := s.Clients.Update(c, "app", func(c *storage.Client) error {
		calls++
		if calls == 1 {
			_, err := second.Clients.Update(ctx(t), "app", func(c *storage.Client) error {
				c.TokensValidAfter = revokedAt
				return nil
			})
			if err != nil {
				t.Fatalf("concurrent update: %v", err)
			}
		}
		c.SecretHash = "new"
		return nil
	})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if calls != 2 {
		t.Errorf("change called %d times, want 2", calls)
	}
	stored, err := s.Clients.Get(c, "app")
	if err != nil {
		t.Fatal(err)
	}
	if stored.SecretHash != "new" {
		t.Errorf("secretHash = %q, want new", stored.SecretHash)
	}
	if !stored.TokensValidAfter.Equal(revokedAt) {
		t.Errorf("tokensValidAfter = %v, want the concurrent write kept (%v)", stored.TokensValidAfter, revokedAt)
	}
	if stored.Rev != 3 || got.Rev != 3 {
		t.Errorf("stored rev = %d, returned rev = %d; want 3", stored.Rev, got.Rev)
	}
}

func TestClientUpdateConflictAndDelete(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	clients := s.Database().Collection("clients")
	if err := s.Clients.Create(c, &storage.Client{ID: "app"}); err != nil {
		t.Fatal(err)
	}

	_, err := s.Clients.Update(c, "app", func(cl *storage.Client) error {
		writeRaw(t, clients, cl.ID, bson.D{{Key: "name", Value: "raced"}})
		cl.SecretHash = "lost"
		return nil
	})
	if !errors.Is(err, storage.ErrConflict) {
		t.Errorf("update that loses every race: err = %v, want ErrConflict", err)
	}

	_, err = s.Clients.Update(c, "app", func(cl *storage.Client) error {
		if _, err := clients.DeleteOne(c, bson.D{{Key: "_id", Value: cl.ID}}); err != nil {
			t.Fatal(err)
		}
		return nil
	})
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("update during delete: err = %v, want ErrNotFound", err)
	}
}

// atOnce runs the writes at the same time and reports each one that fails.
func atOnce(t *testing.T, writes ...func() error) {
	t.Helper()
	var wg sync.WaitGroup
	for i, write := range writes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := write(); err != nil {
				t.Errorf("write %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
}

// disable disables the user with id.
func disable(c context.Context, s *storage.Store, id string) error {
	_, err := s.Users.Update(c, id, func(u *storage.User) error { u.Disabled = true; return nil })
	return err
}
