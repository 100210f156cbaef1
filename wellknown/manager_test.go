package wellknown

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestInitCreatesOneActiveKey(t *testing.T) {
	e := newTestEnv(t)
	m := e.manager(e.options(AlgorithmES256))

	infos, err := m.List(context.Background())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(infos) != 1 {
		t.Fatalf("got %d keys after the first Init, want 1", len(infos))
	}
	if infos[0].State != StateActive {
		t.Errorf("state = %s, want active", infos[0].State)
	}
	if !infos[0].Activates.Equal(e.clock.Now()) {
		t.Errorf("activates = %s, want %s (at once)", infos[0].Activates, e.clock.Now())
	}
	if infos[0].Algorithm != AlgorithmES256 {
		t.Errorf("algorithm = %s, want ES256", infos[0].Algorithm)
	}
	if k := activeKey(t, m); k.KID != infos[0].KID {
		t.Errorf("ActiveKey kid = %s, want %s", k.KID, infos[0].KID)
	}
}

func TestSecondManagerLoadsSameKeys(t *testing.T) {
	e := newTestEnv(t)
	first := e.manager(e.options(AlgorithmEdDSA))
	if _, err := first.Rotate(context.Background()); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	second := e.manager(e.options(AlgorithmEdDSA))

	a, err := first.List(context.Background())
	if err != nil {
		t.Fatalf("List first: %v", err)
	}
	b, err := second.List(context.Background())
	if err != nil {
		t.Fatalf("List second: %v", err)
	}
	if len(a) != 2 || len(b) != 2 {
		t.Fatalf("key counts = %d and %d, want 2 and 2", len(a), len(b))
	}
	for i := range a {
		if a[i].KID != b[i].KID {
			t.Errorf("key %d: kids %s and %s differ", i, a[i].KID, b[i].KID)
		}
	}
	if activeKey(t, first).KID != activeKey(t, second).KID {
		t.Errorf("the managers disagree on the active key")
	}
}

func TestConcurrentInitCreatesOneKey(t *testing.T) {
	e := newTestEnv(t)
	const instances = 4
	managers := make([]*Manager, instances)
	for i := range managers {
		m, err := NewManager(e.store, e.options(AlgorithmES256))
		if err != nil {
			t.Fatalf("NewManager: %v", err)
		}
		managers[i] = m
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, instances)
	for i, m := range managers {
		wg.Go(func() { errs[i] = m.Init(ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Init of instance %d: %v", i, err)
		}
	}

	stored, err := e.store.Keys.List(ctx)
	if err != nil {
		t.Fatalf("list stored keys: %v", err)
	}
	if len(stored) != 1 {
		t.Fatalf("got %d stored keys after concurrent Init, want 1", len(stored))
	}
	for i, m := range managers {
		if kid := activeKey(t, m).KID; kid != stored[0].ID {
			t.Errorf("instance %d: active kid %s, want %s", i, kid, stored[0].ID)
		}
	}
}

func TestInitWrongSecretFails(t *testing.T) {
	e := newTestEnv(t)
	first := e.manager(e.options(AlgorithmES256))
	kid := activeKey(t, first).KID

	opts := e.options(AlgorithmES256)
	opts.SystemSecret = "another-system-secret-0123456789abcdefghij"
	m, err := NewManager(e.store, opts)
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	err = m.Init(context.Background())
	if err == nil {
		t.Fatal("Init with a wrong system secret succeeded")
	}
	want := "cannot decrypt signing key " + kid +
		": the system secret differs from the one the key was encrypted with"
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	if !errors.Is(err, ErrSystemSecretMismatch) {
		t.Errorf("error does not wrap ErrSystemSecretMismatch")
	}

	stored, err := e.store.Keys.List(context.Background())
	if err != nil {
		t.Fatalf("list stored keys: %v", err)
	}
	if len(stored) != 1 || stored[0].ID != kid {
		t.Errorf("stored keys changed after the failed Init: %d keys", len(stored))
	}
	if _, err := m.ActiveKey(context.Background()); !errors.Is(err, ErrNotInitialized) {
		t.Errorf("ActiveKey after failed Init: %v, want ErrNotInitialized", err)
	}
}

func TestCheckSystemSecret(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	other := "another-system-secret-0123456789abcdefghij"
	if err := CheckSystemSecret(ctx, e.store, testSecret); err != nil {
		t.Errorf("empty store: %v, want nil", err)
	}

	kid := activeKey(t, e.manager(e.options(AlgorithmES256))).KID
	if err := CheckSystemSecret(ctx, e.store, testSecret); err != nil {
		t.Errorf("the secret the key was created with: %v, want nil", err)
	}
	err := CheckSystemSecret(ctx, e.store, other)
	if !errors.Is(err, ErrSystemSecretMismatch) {
		t.Errorf("another secret: %v, want ErrSystemSecretMismatch", err)
	}
	if err != nil && !strings.Contains(err.Error(), kid) {
		t.Errorf("another secret: error %q does not name the key %s", err, kid)
	}
	if err := CheckSystemSecret(ctx, e.store, "short"); err == nil {
		t.Error("a secret of 5 characters: nil, want an error")
	}
}

func TestCheckSystemSecretWithoutKeys(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	other := "another-system-secret-0123456789abcdefghij"
	// The first secret checked on a store binds it, before any key exists.
	if err := CheckSystemSecret(ctx, e.store, other); err != nil {
		t.Fatalf("first check: %v", err)
	}
	if err := CheckSystemSecret(ctx, e.store, other); err != nil {
		t.Errorf("the same secret again: %v, want nil", err)
	}
	err := CheckSystemSecret(ctx, e.store, testSecret)
	if !errors.Is(err, ErrSystemSecretMismatch) {
		t.Errorf("another secret on a store without keys: %v, want ErrSystemSecretMismatch", err)
	}
	stored, err := e.store.SecretCheck(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, other) {
		t.Error("the store holds the secret itself")
	}
}

func TestNewManagerRejectsBadOptions(t *testing.T) {
	e := newTestEnv(t)
	tests := []struct {
		name   string
		change func(*ManagerOptions)
		want   string
	}{
		{"unknown algorithm", func(o *ManagerOptions) { o.Algorithm = "HS256" }, "unsupported signing algorithm"},
		{"small RSA key", func(o *ManagerOptions) { o.Algorithm, o.RSABits = AlgorithmRS256, 1024 }, "below the minimum"},
		{"short secret", func(o *ManagerOptions) { o.SystemSecret = "short" }, "at least 32 characters"},
		{"no token lifetime", func(o *ManagerOptions) { o.MaxTokenLifetime = 0 }, "must be positive"},
		{"interval within lead time", func(o *ManagerOptions) { o.RotationInterval = o.LeadTime }, "longer than the lead time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := e.options(AlgorithmES256)
			tt.change(&opts)
			_, err := NewManager(e.store, opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewManager error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestRotateActivatesAfterLeadTime(t *testing.T) {
	e := newTestEnv(t)
	opts := e.options(AlgorithmES256)
	m := e.manager(opts)
	old := activeKey(t, m).KID

	rotated, err := m.Rotate(context.Background())
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if rotated.PrivateSealed != nil {
		t.Errorf("Rotate returned the sealed private key")
	}
	if want := e.clock.Now().Add(opts.LeadTime); !rotated.ActivatesAt.Equal(want) {
		t.Errorf("ActivatesAt = %s, want %s", rotated.ActivatesAt, want)
	}
	if kid := activeKey(t, m).KID; kid != old {
		t.Errorf("active kid right after Rotate = %s, want the old %s", kid, old)
	}

	e.clock.Add(opts.LeadTime - time.Millisecond)
	if kid := activeKey(t, m).KID; kid != old {
		t.Errorf("active kid just before the lead time = %s, want the old %s", kid, old)
	}
	e.clock.Add(time.Millisecond)
	if kid := activeKey(t, m).KID; kid != rotated.ID {
		t.Errorf("active kid at the lead time = %s, want the new %s", kid, rotated.ID)
	}
}

func TestRefreshStoresRetirement(t *testing.T) {
	e := newTestEnv(t)
	opts := e.options(AlgorithmES256)
	m := e.manager(opts)
	old := activeKey(t, m).KID
	rotated, err := m.Rotate(context.Background())
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}

	if err := m.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh before the switch: %v", err)
	}
	stored, err := e.store.Keys.List(context.Background())
	if err != nil {
		t.Fatalf("list stored keys: %v", err)
	}
	if !stored[0].RetiredAt.IsZero() {
		t.Errorf("the old key was retired before the new one activated")
	}

	e.clock.Add(opts.LeadTime + time.Second)
	if err := m.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh after the switch: %v", err)
	}
	stored, err = e.store.Keys.List(context.Background())
	if err != nil {
		t.Fatalf("list stored keys: %v", err)
	}
	if stored[0].ID != old {
		t.Fatalf("first stored key = %s, want the old %s", stored[0].ID, old)
	}
	if !stored[0].RetiredAt.Equal(rotated.ActivatesAt) {
		t.Errorf("RetiredAt = %s, want the new key's activation %s", stored[0].RetiredAt, rotated.ActivatesAt)
	}
	if want := rotated.ActivatesAt.Add(opts.MaxTokenLifetime); !stored[0].ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt = %s, want %s", stored[0].ExpiresAt, want)
	}
	if !stored[1].RetiredAt.IsZero() || !stored[1].ExpiresAt.IsZero() {
		t.Errorf("the active key has a retirement: %s, %s", stored[1].RetiredAt, stored[1].ExpiresAt)
	}

	infos, err := m.List(context.Background())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if infos[0].State != StateRetired || infos[1].State != StateActive {
		t.Errorf("states = %s, %s; want retired, active", infos[0].State, infos[1].State)
	}
}

func TestScheduledRotationRunsOnce(t *testing.T) {
	e := newTestEnv(t)
	opts := e.options(AlgorithmES256)
	opts.RotationInterval = 2 * time.Hour
	managers := []*Manager{e.manager(opts), e.manager(opts), e.manager(opts)}
	first := activeKey(t, managers[0]).KID

	e.clock.Add(opts.RotationInterval - opts.LeadTime - time.Second)
	if err := managers[0].Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh before the schedule: %v", err)
	}
	if n := storedCount(t, e); n != 1 {
		t.Fatalf("got %d keys before the rotation was due, want 1", n)
	}

	e.clock.Add(time.Second)
	var wg sync.WaitGroup
	errs := make([]error, len(managers))
	for i, m := range managers {
		wg.Go(func() { errs[i] = m.Refresh(context.Background()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Refresh of instance %d: %v", i, err)
		}
	}
	if n := storedCount(t, e); n != 2 {
		t.Fatalf("got %d keys after concurrent scheduled rotation, want 2", n)
	}

	for _, m := range managers {
		if err := m.Refresh(context.Background()); err != nil {
			t.Fatalf("Refresh: %v", err)
		}
	}
	if n := storedCount(t, e); n != 2 {
		t.Errorf("a second Refresh rotated again: %d keys, want 2", n)
	}
	e.clock.Add(opts.LeadTime)
	for i, m := range managers {
		if kid := activeKey(t, m).KID; kid == first {
			t.Errorf("instance %d still signs with the first key one interval later", i)
		}
	}
}

func storedCount(t *testing.T, e *testEnv) int {
	t.Helper()
	stored, err := e.store.Keys.List(context.Background())
	if err != nil {
		t.Fatalf("list stored keys: %v", err)
	}
	return len(stored)
}

func TestClaimExpiresForCrashedHolder(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	holder, err := newClaims(e.store)
	if err != nil {
		t.Fatalf("newClaims: %v", err)
	}
	other, err := newClaims(e.store)
	if err != nil {
		t.Fatalf("newClaims: %v", err)
	}
	now := e.clock.Now()

	if won, err := holder.claim(ctx, "x", now, time.Minute); err != nil || !won {
		t.Fatalf("first claim: won=%v err=%v", won, err)
	}
	if won, err := other.claim(ctx, "x", now.Add(59*time.Second), time.Minute); err != nil || won {
		t.Fatalf("claim while held: won=%v err=%v, want lost", won, err)
	}
	if won, err := other.claim(ctx, "x", now.Add(time.Minute), time.Minute); err != nil || !won {
		t.Fatalf("claim after expiry: won=%v err=%v, want won", won, err)
	}
	if won, err := holder.claim(ctx, "x", now.Add(time.Minute), time.Minute); err != nil || won {
		t.Fatalf("old holder claims again: won=%v err=%v, want lost", won, err)
	}
}

// Of instances that find one expired claim at once, exactly one takes it,
// and removing expired claims leaves the new taking in place.
func TestExpiredClaimTakenOnce(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	now := e.clock.Now()
	crashed, err := newClaims(e.store)
	if err != nil {
		t.Fatalf("newClaims: %v", err)
	}
	if won, err := crashed.claim(ctx, "y", now, time.Minute); err != nil || !won {
		t.Fatalf("first claim: won=%v err=%v", won, err)
	}

	later := now.Add(2 * time.Minute)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := newClaims(e.store)
			if err != nil {
				t.Errorf("newClaims: %v", err)
				return
			}
			won, err := c.claim(ctx, "y", later, time.Hour)
			if err != nil {
				t.Errorf("claim: %v", err)
				return
			}
			if won {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("instances that took the expired claim = %d, want 1", wins.Load())
	}
	if err := crashed.deleteExpired(ctx, later.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if won, err := crashed.claim(ctx, "y", later.Add(time.Minute), time.Minute); err != nil || won {
		t.Errorf("claim after removing expired claims: won=%v err=%v, want lost", won, err)
	}
}

func TestInitAfterCrashedFirstKeyClaim(t *testing.T) {
	e := newTestEnv(t)
	crashed, err := newClaims(e.store)
	if err != nil {
		t.Fatalf("newClaims: %v", err)
	}
	won, err := crashed.claim(context.Background(), firstKeyClaimID, e.clock.Now(), firstKeyClaimTTL)
	if err != nil || !won {
		t.Fatalf("claim: won=%v err=%v", won, err)
	}

	// The holder never stores a key; once its claim expires, Init succeeds.
	e.clock.Add(firstKeyClaimTTL)
	m := e.manager(e.options(AlgorithmES256))
	if n := storedCount(t, e); n != 1 {
		t.Errorf("got %d keys, want 1", n)
	}
	activeKey(t, m)
}

func TestRunConvergesOnAnotherInstancesRotation(t *testing.T) {
	e := newTestEnv(t)
	opts := e.options(AlgorithmES256)
	opts.ReloadInterval = 10 * time.Millisecond
	runner := e.manager(opts)
	other := e.manager(opts)
	old := activeKey(t, runner).KID

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		runner.Run(ctx)
		close(done)
	}()
	defer func() {
		cancel()
		<-done
	}()

	rotated, err := other.Rotate(context.Background())
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	e.clock.Add(opts.LeadTime)

	// Run reloads in the background; wait until it has stored the old
	// key's retirement, which only a reload that saw the new key can do.
	waitFor(t, "Run to retire the old key", func() bool {
		stored, err := e.store.Keys.List(context.Background())
		return err == nil && len(stored) == 2 && stored[0].ID == old && !stored[0].RetiredAt.IsZero()
	})
	if kid := activeKey(t, runner).KID; kid != rotated.ID {
		t.Errorf("runner's active kid = %s, want %s", kid, rotated.ID)
	}
}

// waitFor polls cond until it holds, failing the test after 30 s. The limit
// only stops a hung test; no result depends on how long the wait takes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRotateNeedsInit(t *testing.T) {
	e := newTestEnv(t)
	m, err := NewManager(e.store, e.options(AlgorithmES256))
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	if _, err := m.Rotate(context.Background()); !errors.Is(err, ErrNotInitialized) {
		t.Errorf("Rotate before Init: %v, want ErrNotInitialized", err)
	}
	if n := storedCount(t, e); n != 0 {
		t.Errorf("Rotate before Init stored %d keys, want 0", n)
	}
}
