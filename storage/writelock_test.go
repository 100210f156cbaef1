package storage

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A caller waiting for a held stripe gives up when its context ends, and
// gets the stripe once it is released.
func TestStripedLockWaitEndsWithContext(t *testing.T) {
	locks := newStripedLock()
	unlock, err := locks.lock(context.Background(), "user-1")
	if err != nil {
		t.Fatal(err)
	}

	waitCtx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := locks.lock(waitCtx, "user-1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lock of a held stripe: err = %v, want context.DeadlineExceeded", err)
	}

	unlock()
	again, err := locks.lock(context.Background(), "user-1")
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	again()
}
