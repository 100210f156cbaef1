package storage_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/averos/averos-auth/storage"
)

// addOtherUsersSlots inserts n unexpired failure slots of other users. The
// embedded engine pushes down only a filter on _id alone, so any other
// filter scans these slots. The scan widens the gap between the engine's
// read of a document and its delete by _id.
func addOtherUsersSlots(t *testing.T, s *storage.Store, n int, expires time.Time) {
	t.Helper()
	docs := make([]any, n)
	for i := range docs {
		docs[i] = bson.D{
			{Key: "_id", Value: fmt.Sprintf("other-%d/1", i)},
			{Key: "userId", Value: fmt.Sprintf("other-%d", i)},
			{Key: "failed", Value: true},
			{Key: "at", Value: expires.Add(-time.Hour)},
			{Key: "expiresAt", Value: expires},
		}
	}
	if _, err := s.Database().Collection("login_failures").InsertMany(ctx(t), docs); err != nil {
		t.Fatal(err)
	}
}

// A sweep that runs while failures are recorded must not delete them. The
// embedded engine deletes by _id the documents that the sweep read as
// expired, and such a slot may contain a new failure by then.
func TestLockoutSweepKeepsNewFailures(t *testing.T) {
	s, clock, start := newClockedStore(t)
	c := ctx(t)
	const limit, period = 3, 15 * time.Minute

	for range limit {
		a, err := s.Lockout.Begin(c, "u", limit, period)
		if err != nil {
			t.Fatal(err)
		}
		a.Failed(c)
	}
	addOtherUsersSlots(t, s, 20000, start.Add(24*time.Hour))

	// The lock has ended, and the sweep has not yet removed the old slots.
	later := start.Add(period + time.Minute)
	clock.Store(&later)
	swept := make(chan error, 1)
	go func() {
		_, err := s.Sweep(c)
		swept <- err
	}()
	time.Sleep(20 * time.Millisecond)

	evaluated := 0
	guess := func() bool {
		a, err := s.Lockout.Begin(c, "u", limit, period)
		if errors.Is(err, storage.ErrLocked) {
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
		evaluated++
		a.Failed(c)
		return true
	}
	for evaluated < 3*limit && guess() {
	}
	if err := <-swept; err != nil {
		t.Fatal(err)
	}
	for evaluated < 3*limit && guess() {
	}

	if evaluated != limit {
		t.Errorf("wrong passwords evaluated = %d, want %d", evaluated, limit)
	}
}

// Two guesses after a lock ended must not both be evaluated when the limit
// is one. A delete filtered on more than _id runs on the embedded engine as
// a scan followed by a delete by _id. Freeing an expired slot that way let
// a Begin that scanned before another freed and took the slot delete the
// slot just taken, so both evaluated a password.
func TestLockoutExpiredSlotTakenTwice(t *testing.T) {
	s, clock, start := newClockedStore(t)
	c := ctx(t)
	const limit, period = 1, 15 * time.Minute
	addOtherUsersSlots(t, s, 5000, start.Add(24*time.Hour))

	delays := []time.Duration{0, time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond,
		8 * time.Millisecond, 16 * time.Millisecond}
	for round, delay := range delays {
		user := fmt.Sprintf("u%d", round)
		first := start.Add(time.Duration(round) * time.Hour)
		clock.Store(&first)
		a, err := s.Lockout.Begin(c, user, limit, period)
		if err != nil {
			t.Fatal(err)
		}
		a.Failed(c)
		later := first.Add(period + time.Second)
		clock.Store(&later)

		var evaluated atomic.Int32
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(time.Duration(i) * delay)
				a, err := s.Lockout.Begin(c, user, limit, period)
				if errors.Is(err, storage.ErrLocked) {
					return
				}
				if err != nil {
					t.Errorf("begin: %v", err)
					return
				}
				evaluated.Add(1)
				time.Sleep(50 * time.Millisecond) // the password check
				a.Failed(c)
			}()
		}
		wg.Wait()
		if got := evaluated.Load(); got != limit {
			t.Errorf("second guess %v later: wrong passwords evaluated = %d, want %d", delay, got, limit)
		}
	}
}
