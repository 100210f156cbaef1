package oauth

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/averos/averos-auth/internal/password"
	"github.com/averos/averos-auth/storage"
)

// badCredentials is the description every failed password grant carries.
const badCredentials = "The provided credentials are invalid."

func wantBadCredentials(t *testing.T, r response) {
	t.Helper()
	wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
	if got := r.str("error_description"); got != badCredentials {
		t.Errorf("error_description = %q, want %q", got, badCredentials)
	}
}

func TestPasswordGrantFailuresLookAlike(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.addUser("ada", "correct horse")
	disabled := e.addUser("bob", "correct horse", func(u *storage.User) { u.Disabled = true })
	lockedUntil := e.clock.Now().Add(time.Hour)
	adminLocked := e.addUser("cy", "correct horse", func(u *storage.User) { u.LockedUntil = &lockedUntil })
	e.addClient("web", "s3cret")

	cases := []struct{ name, user, password string }{
		{"wrong password", "ada", "wrong"},
		{"unknown user", "nobody", "correct horse"},
		{"unknown email", "nobody@example.test", "correct horse"},
		{"disabled user", "bob", "correct horse"},
		{"locked user", "cy", "correct horse"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantBadCredentials(t, e.passwordGrant("web", "s3cret", tc.user, tc.password, ""))
		})
	}

	for _, u := range []*storage.User{disabled, adminLocked} {
		stored, err := e.store.Users.Get(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.LastLoginAt != nil {
			t.Errorf("user %s: a refused login was recorded", u.UserName)
		}
	}
	// The email works as well as the user name.
	if r := e.passwordGrant("web", "s3cret", "ADA@example.test", "correct horse", ""); r.status != 200 {
		t.Errorf("login by email: %d %s", r.status, r.raw)
	}
}

func TestPasswordGrantLockout(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	user := e.addUser("ada", "correct horse")
	e.addClient("web", "s3cret")

	// A session from before the lockout.
	before := e.passwordGrant("web", "s3cret", "ada", "correct horse", "offline_access")
	if before.status != http.StatusOK {
		t.Fatalf("first login: %d %s", before.status, before.raw)
	}
	e.clock.Advance(time.Second)

	// Failures counted per user, whichever identifier was typed.
	for i, login := range []string{"ada", "ADA", "ada@example.test", "Ada", "ada"} {
		if r := e.passwordGrant("web", "s3cret", login, "wrong", ""); r.status != http.StatusBadRequest {
			t.Fatalf("failure %d: status %d", i+1, r.status)
		}
	}
	failures, err := e.store.Lockout.Failures(ctx, user.ID, 5)
	if err != nil {
		t.Fatal(err)
	}
	if failures != 5 {
		t.Errorf("failures = %d, want 5", failures)
	}
	stored, err := e.store.Users.Get(ctx, user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !stored.IsLocked(e.clock.Now()) {
		t.Error("the user's lock is not stored for display")
	}
	// Locked: even the right password fails, with the same answer.
	wantBadCredentials(t, e.passwordGrant("web", "s3cret", "ada", "correct horse", ""))
	// Locking revoked the earlier session.
	wantInactive(t, e.introspect("web", "s3cret", before.str("refresh_token")))
	wantOAuthError(t, e.refreshGrant("web", "s3cret", before.str("refresh_token"), nil),
		http.StatusBadRequest, "invalid_grant")

	// After the lock period the right password works again.
	e.clock.Advance(16 * time.Minute)
	if r := e.passwordGrant("web", "s3cret", "ada", "correct horse", ""); r.status != http.StatusOK {
		t.Errorf("login after the lock expired: %d %s", r.status, r.raw)
	}
}

func TestPasswordGrantParallelGuesses(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	user := e.addUser("ada", "correct horse")
	e.addClient("web", "s3cret")

	const n = 50
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = e.passwordGrant("web", "s3cret", "ada", "wrong", "").status
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusBadRequest {
			t.Errorf("guess %d: status %d, want 400", i, s)
		}
	}
	failures, err := e.store.Lockout.Failures(ctx, user.ID, 5)
	if err != nil {
		t.Fatal(err)
	}
	if failures > 5 {
		t.Errorf("failures = %d, more than the limit 5", failures)
	}
	if failures != 5 {
		t.Errorf("failures = %d, want the limit 5 after 50 guesses", failures)
	}
	wantBadCredentials(t, e.passwordGrant("web", "s3cret", "ada", "correct horse", ""))
}

func TestPasswordGrantUpgradesHash(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	old, err := password.NewHasher(password.Params{MemoryKiB: 32, Iterations: 1, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	oldHash, err := old.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	user := e.addUser("ada", "ignored", func(u *storage.User) { u.PasswordHash = oldHash })
	e.addClient("web", "s3cret")

	if r := e.passwordGrant("web", "s3cret", "ada", "correct horse", ""); r.status != http.StatusOK {
		t.Fatalf("login: %d %s", r.status, r.raw)
	}
	stored, err := e.store.Users.Get(ctx, user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.PasswordHash == oldHash || !strings.Contains(stored.PasswordHash, "m=64,") {
		t.Errorf("hash not upgraded to the current parameters: %s", stored.PasswordHash[:30])
	}
	if err := e.hasher.Verify(stored.PasswordHash, "correct horse"); err != nil {
		t.Errorf("upgraded hash does not verify: %v", err)
	}
}

func TestPasswordGrantCanceledLogins(t *testing.T) {
	// A slow hash lets the client give up after the lockout slot is taken
	// and before the password is checked.
	e := newTestEnv(t, envOptions{hash: &password.Params{MemoryKiB: 16 * 1024, Iterations: 8, Parallelism: 1}})
	e.addUser("ada", "correct horse")
	e.addClient("web", "s3cret")

	form := url.Values{"grant_type": {"password"}, "username": {"ada"}, "password": {"correct horse"}}
	for i := range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.srv.URL+"/oauth2/token",
			strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("web", "s3cret")
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			t.Fatalf("login %d finished before the client gave up; the hash is too fast for this test", i)
		}
		// Let the server finish the abandoned login.
		time.Sleep(300 * time.Millisecond)
	}

	// Every slot taken by an abandoned login was freed.
	if r := e.passwordGrant("web", "s3cret", "ada", "correct horse", ""); r.status != http.StatusOK {
		t.Errorf("login after 5 abandoned ones: %d %s", r.status, r.raw)
	}
}
