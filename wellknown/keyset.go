package wellknown

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Key states reported by List.
const (
	StatePending = "pending"
	StateActive  = "active"
	StateRetired = "retired"
)

// keySet is one loaded copy of the stored keys. Each of its methods is a pure
// function of the stored list and the time, so instances that loaded the
// same list agree on the active key without coordinating.
type keySet struct {
	// keys is sorted by ActivatesAt, then kid: oldest first.
	keys             []*key
	byKID            map[string]*key
	maxTokenLifetime time.Duration
}

func newKeySet(keys []*key, maxTokenLifetime time.Duration) *keySet {
	slices.SortFunc(keys, func(a, b *key) int {
		if c := a.stored.ActivatesAt.Compare(b.stored.ActivatesAt); c != 0 {
			return c
		}
		return cmp.Compare(a.stored.ID, b.stored.ID)
	})
	byKID := make(map[string]*key, len(keys))
	for _, k := range keys {
		byKID[k.stored.ID] = k
	}
	return &keySet{keys: keys, byKID: byKID, maxTokenLifetime: maxTokenLifetime}
}

// active returns the newest key whose ActivatesAt is not after now and that
// has not expired, or nil. Equal activation times are ordered by kid.
func (s *keySet) active(now time.Time) *key {
	for i := len(s.keys) - 1; i >= 0; i-- {
		k := s.keys[i]
		if k.stored.ActivatesAt.After(now) || s.expired(i, now) {
			continue
		}
		return k
	}
	return nil
}

// newest returns the key with the latest ActivatesAt, pending or not, or nil.
func (s *keySet) newest() *key {
	if len(s.keys) == 0 {
		return nil
	}
	return s.keys[len(s.keys)-1]
}

// retiredAt returns when the key at index i stopped signing: the stored
// RetiredAt, else the activation of its successor once that has passed.
// It is zero while the key may still sign.
func (s *keySet) retiredAt(i int, now time.Time) time.Time {
	if t := s.keys[i].stored.RetiredAt; !t.IsZero() {
		return t
	}
	if i+1 < len(s.keys) {
		if next := s.keys[i+1].stored.ActivatesAt; !next.After(now) {
			return next
		}
	}
	return time.Time{}
}

// expiresAt returns when the key at index i leaves the JWKS: the stored
// ExpiresAt, else its retirement plus the maximum token lifetime, because the
// last token it signed is valid until then. It is zero while the key may sign.
//
// NOTE: the retention adds no margin for clock differences between
// instances; the server passes a MaxTokenLifetime that includes one.
func (s *keySet) expiresAt(i int, now time.Time) time.Time {
	if t := s.keys[i].stored.ExpiresAt; !t.IsZero() {
		return t
	}
	if retired := s.retiredAt(i, now); !retired.IsZero() {
		return retired.Add(s.maxTokenLifetime)
	}
	return time.Time{}
}

// expired reports whether the key at index i is past its expiry. An expired
// key is neither published nor used for verification, even while the
// store's sweep has not deleted it yet.
func (s *keySet) expired(i int, now time.Time) bool {
	exp := s.expiresAt(i, now)
	return !exp.IsZero() && !now.Before(exp)
}

// state returns the key's state at now: pending, active or retired.
func (s *keySet) state(i int, now time.Time) string {
	switch {
	case s.keys[i].stored.ActivatesAt.After(now):
		return StatePending
	case !s.retiredAt(i, now).IsZero():
		return StateRetired
	}
	return StateActive
}

// published returns the keys in the JWKS at now, newest first, and the time
// the published set next changes (zero when no published key expires).
func (s *keySet) published(now time.Time) (keys []*key, until time.Time) {
	for i := len(s.keys) - 1; i >= 0; i-- {
		if s.expired(i, now) {
			continue
		}
		keys = append(keys, s.keys[i])
		if exp := s.expiresAt(i, now); !exp.IsZero() && (until.IsZero() || exp.Before(until)) {
			until = exp
		}
	}
	// A retired key's expiry is only known once its successor activates,
	// so the set may also change at the next pending activation.
	for _, k := range s.keys {
		if k.stored.ActivatesAt.After(now) {
			if until.IsZero() || k.stored.ActivatesAt.Before(until) {
				until = k.stored.ActivatesAt
			}
			break
		}
	}
	return keys, until
}

// publishedKey returns the key with kid if it is published at now.
func (s *keySet) publishedKey(kid string, now time.Time) *key {
	k, ok := s.byKID[kid]
	if !ok {
		return nil
	}
	i := slices.Index(s.keys, k)
	if s.expired(i, now) {
		return nil
	}
	return k
}

// kidList joins the kids of keys, as an identity of a published set.
func kidList(keys []*key) string {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.stored.ID
	}
	return strings.Join(ids, " ")
}
