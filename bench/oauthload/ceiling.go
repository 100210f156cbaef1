package main

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/averos/averos-auth/internal/password"
)

// hashCeiling measures how many argon2id verifications per second the
// machine completes with parameters p on every CPU, through the server's own
// password package: the most password grants per second that the hash alone
// allows.
func hashCeiling(p password.Params, d time.Duration) (float64, error) {
	h, err := password.NewHasher(p)
	if err != nil {
		return 0, err
	}
	hash, err := h.Hash("ceiling-Passw0rd")
	if err != nil {
		return 0, err
	}

	var done atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if err := h.Verify(hash, "ceiling-Passw0rd"); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()

	if err, ok := firstErr.Load().(error); ok {
		return 0, fmt.Errorf("verify a hash: %w", err)
	}
	return float64(done.Load()) / time.Since(start).Seconds(), nil
}
