package storage_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/averos/averos-auth/storage"
	"github.com/averos/averos-auth/storage/storagetest"
)

func TestMain(m *testing.M) { os.Exit(storagetest.Main(m)) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func newUser(name, email string) *storage.User {
	return &storage.User{UserName: name, Email: email, PasswordHash: "$argon2id$x", FirstName: "Ada"}
}

func TestUserCreateAndRead(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	u := newUser("Ada", "Ada@Example.COM")
	if err := s.Users.Create(c, u); err != nil {
		t.Fatalf("create: %v", err)
	}
	if len(u.ID) != 24 {
		t.Errorf("id = %q, want 24 hex digits", u.ID)
	}
	got, err := s.Users.Get(c, u.ID)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.UserName != "Ada" || got.Email != "ada@example.com" || got.FirstName != "Ada" {
		t.Errorf("stored user = %+v", got)
	}
	for _, login := range []string{"ada", "ADA", "Ａｄａ", "ADA@example.com"} {
		got, err := s.Users.GetByLogin(c, login)
		if err != nil {
			t.Errorf("GetByLogin(%q): %v", login, err)
			continue
		}
		if got.ID != u.ID {
			t.Errorf("GetByLogin(%q) = %s, want %s", login, got.ID, u.ID)
		}
	}
}

func TestUserNotFound(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	if _, err := s.Users.Get(c, "nope"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Get: err = %v, want ErrNotFound", err)
	}
	if _, err := s.Users.GetByUserName(c, "nope"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("GetByUserName: err = %v, want ErrNotFound", err)
	}
	if _, err := s.Users.GetByEmail(c, "nope@example.com"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("GetByEmail: err = %v, want ErrNotFound", err)
	}
	_, err := s.Users.Update(c, "nope", func(*storage.User) error { return nil })
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Update: err = %v, want ErrNotFound", err)
	}
	if _, err := s.Users.Delete(c, "nope"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Delete: err = %v, want ErrNotFound", err)
	}
}

func TestUserUniqueOnCreate(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	if err := s.Users.Create(c, newUser("grace", "grace@example.com")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, userName, email, field string
	}{
		{"same name other case", "GRACE", "other@example.com", "userName"},
		{"compatibility form", "ｇｒａｃｅ", "other2@example.com", "userName"},
		{"same email other case", "grace2", "Grace@Example.com", "email"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Users.Create(c, newUser(tc.userName, tc.email))
			var exists *storage.AlreadyExistsError
			if !errors.As(err, &exists) {
				t.Fatalf("err = %v, want *AlreadyExistsError", err)
			}
			if !errors.Is(err, storage.ErrAlreadyExists) {
				t.Errorf("errors.Is(err, ErrAlreadyExists) = false")
			}
			if exists.Field != tc.field {
				t.Errorf("field = %q, want %q", exists.Field, tc.field)
			}
		})
	}
	// A failed create must not leave its other claim behind.
	if _, err := s.Users.GetByEmail(c, "other@example.com"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("email of the rejected user is reachable: %v", err)
	}
	if err := s.Users.Create(c, newUser("fresh", "other@example.com")); err != nil {
		t.Errorf("email of a rejected user stays taken: %v", err)
	}
}

func TestUserUniqueOnUpdate(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	a, b := newUser("alan", "alan@example.com"), newUser("barbara", "barbara@example.com")
	for _, u := range []*storage.User{a, b} {
		if err := s.Users.Create(c, u); err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.Users.Update(c, b.ID, func(u *storage.User) error { u.UserName = "ALAN"; return nil })
	if !errors.Is(err, storage.ErrAlreadyExists) {
		t.Fatalf("rename to a taken name: err = %v, want ErrAlreadyExists", err)
	}
	_, err = s.Users.Update(c, b.ID, func(u *storage.User) error { u.Email = "alan@EXAMPLE.com"; return nil })
	if !errors.Is(err, storage.ErrAlreadyExists) {
		t.Fatalf("change to a taken email: err = %v, want ErrAlreadyExists", err)
	}
	got, _ := s.Users.Get(c, b.ID)
	if got.UserName != "barbara" || got.Email != "barbara@example.com" {
		t.Errorf("rejected update changed the user: %+v", got)
	}

	// A successful rename frees the old name and takes the new one.
	if _, err := s.Users.Update(c, b.ID, func(u *storage.User) error { u.UserName = "babs"; return nil }); err != nil {
		t.Fatalf("rename: %v", err)
	}
	if _, err := s.Users.GetByUserName(c, "barbara"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("old name still resolves: %v", err)
	}
	if got, err := s.Users.GetByUserName(c, "Babs"); err != nil || got.ID != b.ID {
		t.Errorf("new name resolves to %v, %v", got, err)
	}
	if err := s.Users.Create(c, newUser("barbara", "b2@example.com")); err != nil {
		t.Errorf("old name not free after rename: %v", err)
	}
}

func TestUserDeleteFreesNames(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	u := newUser("linus", "linus@example.com")
	if err := s.Users.Create(c, u); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Users.Delete(c, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Users.Get(c, u.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("deleted user still readable: %v", err)
	}
	if err := s.Users.Create(c, newUser("linus", "linus@example.com")); err != nil {
		t.Errorf("name and email not freed by delete: %v", err)
	}
}

func TestOrphanClaimTakenOver(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	// A claim whose owner does not exist, as a crash between the claim and
	// the insert leaves it.
	_, err := s.Database().Collection("unique_claims").InsertOne(c, bson.D{
		{Key: "_id", Value: "user.name:" + storage.NormalizeUserName("ghost")},
		{Key: "owner", Value: "000000000000000000000000"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Users.GetByUserName(c, "ghost"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("orphan claim resolves: %v", err)
	}
	if err := s.Users.Create(c, newUser("ghost", "ghost@example.com")); err != nil {
		t.Errorf("orphan claim blocks the name: %v", err)
	}
}

// Exactly one of many concurrent creations of one user name may succeed.
func TestUserCreateConcurrent(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	const n = 50
	var wins, dups atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			err := s.Users.Create(c, newUser("race", fmt.Sprintf("race%d@example.com", i)))
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, storage.ErrAlreadyExists):
				dups.Add(1)
			default:
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("unexpected error: %v", err)
	}
	if wins.Load() != 1 {
		t.Errorf("winners = %d, want 1", wins.Load())
	}
	if dups.Load() != n-1 {
		t.Errorf("duplicates = %d, want %d", dups.Load(), n-1)
	}
	users, err := s.Users.List(c, bson.D{{Key: "userName", Value: "race"}}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 {
		t.Errorf("stored users named race = %d, want 1", len(users))
	}
}

func TestUserRoles(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	u := newUser("ops", "ops@example.com")
	u.Roles = []string{"viewer"}
	if err := s.Users.Create(c, u); err != nil {
		t.Fatal(err)
	}
	if err := s.Users.AddRoles(c, u.ID, []string{"viewer", "admin"}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Users.Get(c, u.ID)
	if fmt.Sprint(got.Roles) != "[viewer admin]" {
		t.Errorf("roles after add = %v, want [viewer admin]", got.Roles)
	}
	if err := s.Users.RemoveRoles(c, u.ID, []string{"viewer"}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Users.Get(c, u.ID)
	if fmt.Sprint(got.Roles) != "[admin]" {
		t.Errorf("roles after remove = %v, want [admin]", got.Roles)
	}
}

func TestRoleLifecycle(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	role := &storage.Role{Name: "editor", Description: "edits"}
	if err := s.Roles.Create(c, role); err != nil {
		t.Fatal(err)
	}
	if err := s.Roles.Create(c, &storage.Role{Name: "editor"}); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("duplicate role: err = %v, want ErrAlreadyExists", err)
	}
	u := newUser("eve", "eve@example.com")
	u.Roles = []string{"editor", "viewer"}
	if err := s.Users.Create(c, u); err != nil {
		t.Fatal(err)
	}

	if _, err := s.Roles.Update(c, role.ID, func(r *storage.Role) error { r.Name = "writer"; return nil }); err != nil {
		t.Fatalf("rename: %v", err)
	}
	got, _ := s.Users.Get(c, u.ID)
	if fmt.Sprint(got.Roles) != "[viewer writer]" {
		t.Errorf("user roles after rename = %v, want [viewer writer]", got.Roles)
	}
	if r, err := s.Roles.GetByName(c, "writer"); err != nil || r.ID != role.ID {
		t.Errorf("GetByName(writer) = %v, %v", r, err)
	}
	if _, err := s.Roles.GetByName(c, "editor"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("old name still resolves: %v", err)
	}

	other := &storage.Role{Name: "viewer"}
	if err := s.Roles.Create(c, other); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Roles.Update(c, role.ID, func(r *storage.Role) error { r.Name = "viewer"; return nil }); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("rename onto a taken name: err = %v, want ErrAlreadyExists", err)
	}

	if _, err := s.Roles.Delete(c, role.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Users.Get(c, u.ID)
	if fmt.Sprint(got.Roles) != "[viewer]" {
		t.Errorf("user roles after delete = %v, want [viewer]", got.Roles)
	}
	if _, err := s.Roles.Delete(c, role.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("second delete: err = %v, want ErrNotFound", err)
	}
}

func TestClientLifecycle(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	cl := &storage.Client{ID: "web", SecretHash: "h", GrantTypes: []string{"password"}, Scopes: []string{"openid"},
		AccessTokenLifetime: 10 * time.Minute}
	if err := s.Clients.Create(c, cl); err != nil {
		t.Fatal(err)
	}
	if err := s.Clients.Create(c, &storage.Client{ID: "web"}); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("duplicate client: err = %v", err)
	}
	got, err := s.Clients.Get(c, "web")
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessTokenLifetime != 10*time.Minute || got.SecretHash != "h" {
		t.Errorf("stored client = %+v", got)
	}
	if _, err := s.Clients.Update(c, "web", func(cl *storage.Client) error { cl.Scopes = []string{"openid", "email"}; return nil }); err != nil {
		t.Fatal(err)
	}
	list, err := s.Clients.List(c, 10)
	if err != nil || len(list) != 1 || len(list[0].Scopes) != 2 {
		t.Errorf("list = %+v, %v", list, err)
	}
	if err := s.Clients.Delete(c, "web"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Clients.Get(c, "web"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("deleted client readable: %v", err)
	}
}

func TestSigningKeysAndSweep(t *testing.T) {
	s, clock, now := newClockedStore(t)
	c := ctx(t)
	for i, kid := range []string{"k1", "k2"} {
		k := &storage.SigningKey{ID: kid, Algorithm: "RS256", PublicJWK: []byte("{}"),
			ActivatesAt: now.Add(time.Duration(i) * time.Hour), CreatedAt: now}
		if err := s.Keys.Insert(c, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Keys.Insert(c, &storage.SigningKey{ID: "k1"}); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("duplicate kid: err = %v", err)
	}
	if err := s.Keys.Retire(c, "k1", now.Add(time.Hour), now.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}

	later := now.Add(2 * time.Hour)
	clock.Store(&later)
	if _, err := s.Sweep(c); err != nil {
		t.Fatal(err)
	}
	keys, _ := s.Keys.List(c)
	if len(keys) != 2 {
		t.Fatalf("keys before expiry = %d, want 2", len(keys))
	}

	expired := now.Add(4 * time.Hour)
	clock.Store(&expired)
	n, err := s.Sweep(c)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("swept = %d, want 1", n)
	}
	keys, _ = s.Keys.List(c)
	if len(keys) != 1 || keys[0].ID != "k2" {
		t.Errorf("keys after sweep = %+v, want only k2", keys)
	}
}

func TestLockoutSequential(t *testing.T) {
	s, clock, now := newClockedStore(t)
	c := ctx(t)
	const limit = 3
	for i := 1; i <= limit; i++ {
		a, err := s.Lockout.Begin(c, "u1", limit, 15*time.Minute)
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		_, locked := a.Failed(c)
		if locked != (i == limit) {
			t.Errorf("attempt %d: locked = %v", i, locked)
		}
	}
	_, err := s.Lockout.Begin(c, "u1", limit, 15*time.Minute)
	var le *storage.LockedError
	if !errors.As(err, &le) {
		t.Fatalf("attempt after limit: err = %v, want *LockedError", err)
	}
	if !le.Until.Equal(now.Add(15 * time.Minute)) {
		t.Errorf("until = %v, want %v", le.Until, now.Add(15*time.Minute))
	}
	// Another user is not affected.
	if _, err := s.Lockout.Begin(c, "u2", limit, 15*time.Minute); err != nil {
		t.Errorf("other user: %v", err)
	}
	// After the period the account unlocks and the count starts again.
	later := now.Add(16 * time.Minute)
	clock.Store(&later)
	a, err := s.Lockout.Begin(c, "u1", limit, 15*time.Minute)
	if err != nil {
		t.Fatalf("after period: %v", err)
	}
	if err := a.Succeeded(c); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Lockout.Failures(c, "u1", limit); n != 0 {
		t.Errorf("failures after success = %d, want 0", n)
	}
}

// Concurrent guesses can never evaluate more passwords than the limit.
func TestLockoutConcurrent(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	const limit, n = 5, 50
	var evaluated, locked atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := s.Lockout.Begin(c, "target", limit, time.Hour)
			if errors.Is(err, storage.ErrLocked) {
				locked.Add(1)
				return
			}
			if err != nil {
				t.Errorf("begin: %v", err)
				return
			}
			evaluated.Add(1)
			a.Failed(c)
		}()
	}
	wg.Wait()
	if evaluated.Load() != limit {
		t.Errorf("evaluated = %d, want exactly %d", evaluated.Load(), limit)
	}
	if locked.Load() != n-limit {
		t.Errorf("locked = %d, want %d", locked.Load(), n-limit)
	}
}

func TestEnsureIndexesIdempotent(t *testing.T) {
	s := storagetest.New(t)
	for i := 0; i < 2; i++ {
		if err := s.EnsureIndexes(ctx(t)); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
	}
}

// race runs fn n times concurrently and counts successes and
// ErrAlreadyExists failures; any other error fails the test.
func race(t *testing.T, n int, fn func(i int) error) (wins, dups int32) {
	t.Helper()
	var w, d atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			err := fn(i)
			switch {
			case err == nil:
				w.Add(1)
			case errors.Is(err, storage.ErrAlreadyExists):
				d.Add(1)
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}(i)
	}
	wg.Wait()
	return w.Load(), d.Load()
}

func TestRoleAndClientCreateConcurrent(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	wins, dups := race(t, 50, func(int) error { return s.Roles.Create(c, &storage.Role{Name: "ops"}) })
	if wins != 1 || dups != 49 {
		t.Errorf("role creations: %d won, %d duplicates; want 1 and 49", wins, dups)
	}
	wins, dups = race(t, 50, func(int) error { return s.Clients.Create(c, &storage.Client{ID: "same"}) })
	if wins != 1 || dups != 49 {
		t.Errorf("client creations: %d won, %d duplicates; want 1 and 49", wins, dups)
	}
}

// Of many users renamed to one free name at once, exactly one gets it.
func TestUserRenameConcurrent(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	const n = 50
	ids := make([]string, n)
	for i := range ids {
		u := newUser(fmt.Sprintf("user%d", i), fmt.Sprintf("user%d@example.com", i))
		if err := s.Users.Create(c, u); err != nil {
			t.Fatal(err)
		}
		ids[i] = u.ID
	}
	wins, dups := race(t, n, func(i int) error {
		_, err := s.Users.Update(c, ids[i], func(u *storage.User) error { u.UserName = "wanted"; return nil })
		return err
	})
	if wins != 1 || dups != n-1 {
		t.Errorf("renames: %d won, %d duplicates; want 1 and %d", wins, dups, n-1)
	}
	users, err := s.Users.List(c, bson.D{{Key: "userName", Value: "wanted"}}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 {
		t.Errorf("users named wanted = %d, want 1", len(users))
	}
}

// Concurrent successful logins beyond the limit wait for a slot instead of
// being reported locked.
func TestLockoutConcurrentSuccesses(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	const limit, n = 5, 50
	var ok atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := s.Lockout.Begin(c, "busy", limit, time.Hour)
			if err != nil {
				t.Errorf("begin: %v", err)
				return
			}
			time.Sleep(2 * time.Millisecond) // the password check
			if err := a.Succeeded(c); err != nil {
				t.Errorf("succeeded: %v", err)
				return
			}
			ok.Add(1)
		}()
	}
	wg.Wait()
	if ok.Load() != n {
		t.Errorf("successful logins = %d, want %d", ok.Load(), n)
	}
}

// A slot left by an evaluation that never finished blocks only until it
// expires, and a success clears failures but not such slots.
func TestLockoutUnfinishedSlotExpires(t *testing.T) {
	s, clock, now := newClockedStore(t)
	c := ctx(t)
	const limit = 2
	if _, err := s.Lockout.Begin(c, "u", limit, time.Hour); err != nil { // never finished
		t.Fatal(err)
	}
	a, err := s.Lockout.Begin(c, "u", limit, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	a.Failed(c)
	if n, _ := s.Lockout.Failures(c, "u", limit); n != 1 {
		t.Errorf("failures = %d, want 1", n)
	}

	later := now.Add(2 * time.Minute)
	clock.Store(&later)
	b, err := s.Lockout.Begin(c, "u", limit, time.Hour)
	if err != nil {
		t.Fatalf("after the unfinished slot expired: %v", err)
	}
	if _, locked := b.Failed(c); !locked {
		t.Error("second failure did not lock")
	}
	if _, err := s.Lockout.Begin(c, "u", limit, time.Hour); !errors.Is(err, storage.ErrLocked) {
		t.Errorf("after two failures: err = %v, want ErrLocked", err)
	}
}

// A success clears failures in higher slots even when its own slot was the
// first free one, and the failure mark outlives every failure it covers,
// across a sweep.
func TestLockoutSuccessClearsFailuresAfterExpiry(t *testing.T) {
	s, clock, now := newClockedStore(t)
	c := ctx(t)
	const limit, period = 3, time.Hour
	fail := func(at time.Time) {
		t.Helper()
		clock.Store(&at)
		a, err := s.Lockout.Begin(c, "u", limit, period)
		if err != nil {
			t.Fatalf("begin at %v: %v", at, err)
		}
		a.Failed(c)
	}
	fail(now)                       // slot 1, expires at now+1h
	fail(now.Add(50 * time.Minute)) // slot 2, expires at now+1h50m

	// Slot 1 has expired and the sweep ran: slot 1 is free again, slot 2
	// still holds a failure.
	later := now.Add(61 * time.Minute)
	clock.Store(&later)
	if _, err := s.Sweep(c); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Lockout.Failures(c, "u", limit); n != 1 {
		t.Fatalf("failures before the success = %d, want 1", n)
	}
	a, err := s.Lockout.Begin(c, "u", limit, period)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Succeeded(c); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Lockout.Failures(c, "u", limit); n != 0 {
		t.Errorf("failures after the success = %d, want 0", n)
	}
	// Tombstones of freed slots stay until the sweep; nothing else may.
	left, err := s.Database().Collection("login_failures").CountDocuments(c,
		bson.D{{Key: "kind", Value: bson.D{{Key: "$ne", Value: "free"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d lockout documents left after the success, want 0", left)
	}
}

// A success without earlier failures leaves no document behind, and failures
// after it still lock the account at the limit.
func TestLockoutSuccessThenFailures(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	const limit = 3
	for range 3 {
		a, err := s.Lockout.Begin(c, "u", limit, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Succeeded(c); err != nil {
			t.Fatal(err)
		}
	}
	left, err := s.Database().Collection("login_failures").CountDocuments(c, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d lockout documents after successes, want 0", left)
	}
	for i := 1; i <= limit; i++ {
		a, err := s.Lockout.Begin(c, "u", limit, time.Hour)
		if err != nil {
			t.Fatalf("failure %d: %v", i, err)
		}
		if _, locked := a.Failed(c); locked != (i == limit) {
			t.Errorf("failure %d: locked = %v", i, locked)
		}
	}
	if _, err := s.Lockout.Begin(c, "u", limit, time.Hour); !errors.Is(err, storage.ErrLocked) {
		t.Errorf("after %d failures: err = %v, want ErrLocked", limit, err)
	}
	if err := s.Lockout.Unlock(c, "u", limit); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lockout.Begin(c, "u", limit, time.Hour); err != nil {
		t.Errorf("after unlock: %v", err)
	}
}

// Concurrent failures of one user create one failure mark between them, and
// a success afterwards clears them all.
func TestLockoutConcurrentFailuresThenSuccess(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	const limit, n = 10, 8
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := s.Lockout.Begin(c, "u", limit, time.Hour)
			if err != nil {
				t.Errorf("begin: %v", err)
				return
			}
			a.Failed(c)
		}()
	}
	wg.Wait()

	if got, _ := s.Lockout.Failures(c, "u", limit); got != n {
		t.Fatalf("failures = %d, want %d", got, n)
	}
	marks, err := s.Database().Collection("login_failures").CountDocuments(c, bson.D{{Key: "_id", Value: "u/failed"}})
	if err != nil {
		t.Fatal(err)
	}
	if marks != 1 {
		t.Errorf("failure marks = %d, want 1", marks)
	}

	a, err := s.Lockout.Begin(c, "u", limit, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Succeeded(c); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Lockout.Failures(c, "u", limit); got != 0 {
		t.Errorf("failures after the success = %d, want 0", got)
	}
}

// The sweep keeps a failure mark whose expiry lies before a live failure's
// (concurrent upserts on the embedded engine can leave the earlier one),
// and removes tombstones once they expire.
func TestLockoutSweepKeepsMarkOfLiveFailure(t *testing.T) {
	s, clock, now := newClockedStore(t)
	c := ctx(t)
	const limit, period = 3, time.Hour
	coll := s.Database().Collection("login_failures")

	a, err := s.Lockout.Begin(c, "u", limit, period)
	if err != nil {
		t.Fatal(err)
	}
	a.Failed(c) // expires at now+1h
	// Set the mark back to an expiry before the failure's.
	if _, err := coll.UpdateOne(c, bson.D{{Key: "_id", Value: "u/failed"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "expiresAt", Value: now.Add(time.Minute)}}}}); err != nil {
		t.Fatal(err)
	}
	later := now.Add(2 * time.Minute)
	clock.Store(&later)
	if _, err := s.Sweep(c); err != nil {
		t.Fatal(err)
	}
	if n, err := coll.CountDocuments(c, bson.D{{Key: "_id", Value: "u/failed"}}); err != nil || n != 1 {
		t.Fatalf("marks after the sweep = %d (%v), want 1", n, err)
	}

	b, err := s.Lockout.Begin(c, "u", limit, period)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Succeeded(c); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Lockout.Failures(c, "u", limit); n != 0 {
		t.Errorf("failures after the success = %d, want 0", n)
	}
	tombstones, err := coll.CountDocuments(c, bson.D{{Key: "kind", Value: "free"}})
	if err != nil {
		t.Fatal(err)
	}
	if tombstones != 1 {
		t.Errorf("tombstones after the success = %d, want 1", tombstones)
	}

	muchLater := later.Add(2 * time.Hour)
	clock.Store(&muchLater)
	if _, err := s.Sweep(c); err != nil {
		t.Fatal(err)
	}
	left, err := coll.CountDocuments(c, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d lockout documents after the last sweep, want 0", left)
	}
}

// newClockedStore returns a store whose clock reads clock, which starts at
// the returned time.
func newClockedStore(t *testing.T) (*storage.Store, *atomic.Pointer[time.Time], time.Time) {
	t.Helper()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := &atomic.Pointer[time.Time]{}
	clock.Store(&start)
	return storagetest.New(t, storagetest.Options{Now: func() time.Time { return *clock.Load() }}), clock, start
}
