package storage

import (
	"context"
	"fmt"
	"hash/maphash"
)

// writeLockStripes is the number of stripes in a stripedLock. Writes to two
// documents whose ids hash to the same stripe wait for each other, which
// only delays them.
const writeLockStripes = 64

// stripedLock serialises the writes to one document inside this process.
// The embedded engine runs a filtered update as a read followed by a write
// by _id, so the revision filter misses a write that lands between the two.
// Holding the document's stripe around each read-change-write keeps the
// writes of this process out of that gap.
type stripedLock struct {
	seed maphash.Seed
	// Each stripe is a channel with room for one token, so that a waiting
	// caller can give up when its context ends.
	stripes [writeLockStripes]chan struct{}
}

func newStripedLock() *stripedLock {
	l := &stripedLock{seed: maphash.MakeSeed()}
	for i := range l.stripes {
		l.stripes[i] = make(chan struct{}, 1)
	}
	return l
}

// lock waits for the stripe of id and returns the function that releases
// it. It fails when ctx ends first. The lock is not reentrant and two ids
// may share a stripe, so a caller must release its stripe before it locks
// another id.
func (l *stripedLock) lock(ctx context.Context, id string) (func(), error) {
	stripe := l.stripes[maphash.String(l.seed, id)%writeLockStripes]
	select {
	case stripe <- struct{}{}:
		return func() { <-stripe }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("storage: wait for the write lock of %s: %w", id, ctx.Err())
	}
}
