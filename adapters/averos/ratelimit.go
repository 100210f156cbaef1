package averos

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxLimiterEntries bounds the memory of an ipLimiter. At an estimated 200
// bytes per entry (limiter, map slot and key), the bound is about 20 MB.
const maxLimiterEntries = 100_000

// ipLimiter allows each client address perMinute requests per minute, with
// bursts up to perMinute. IPv6 addresses count per /64 prefix, because one
// host usually holds a whole /64. An entry idle for a minute has refilled
// completely, so it is dropped and recreated on the next request.
type ipLimiter struct {
	perMinute int
	now       func() time.Time

	mu        sync.Mutex
	entries   map[string]*limiterEntry
	lastSweep time.Time
}

type limiterEntry struct {
	limiter  *rate.Limiter
	lastSeen time.Time
}

func newIPLimiter(perMinute int, now func() time.Time) *ipLimiter {
	return &ipLimiter{perMinute: perMinute, now: now, entries: map[string]*limiterEntry{}}
}

// allow takes one request from ip's budget. When none is left it returns
// false and the time until one is.
func (l *ipLimiter) allow(ip string) (bool, time.Duration) {
	key := limiterKey(ip)
	now := l.now()

	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= time.Minute {
		l.sweep(now)
	}
	e, ok := l.entries[key]
	if !ok {
		if len(l.entries) >= maxLimiterEntries {
			// Too many clients at once to track: fail closed.
			return false, time.Minute
		}
		perSecond := rate.Limit(float64(l.perMinute) / 60)
		e = &limiterEntry{limiter: rate.NewLimiter(perSecond, l.perMinute)}
		l.entries[key] = e
	}
	e.lastSeen = now

	reservation := e.limiter.ReserveN(now, 1)
	if delay := reservation.DelayFrom(now); delay > 0 {
		reservation.CancelAt(now)
		return false, delay
	}
	return true, 0
}

func (l *ipLimiter) sweep(now time.Time) {
	for key, e := range l.entries {
		if now.Sub(e.lastSeen) >= time.Minute {
			delete(l.entries, key)
		}
	}
	l.lastSweep = now
}

// size returns the number of tracked clients.
func (l *ipLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// limiterKey returns the address itself for IPv4 and the /64 prefix for IPv6.
func limiterKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap()
	if addr.Is4() {
		return addr.String()
	}
	prefix, err := addr.WithZone("").Prefix(64)
	if err != nil {
		return addr.String()
	}
	return prefix.String()
}
