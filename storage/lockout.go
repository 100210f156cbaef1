package storage

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// Lockout counts consecutive failed logins per user without an atomic
// counter: a user has `limit` numbered slots, and evaluating a password first
// takes a free slot with an insert (atomic on both engines). A failure keeps
// its slot, a success frees all of them. When every slot is taken no further
// password is evaluated, so concurrent guesses can never exceed the limit.
// The account stays locked until the last slot's expiry; every slot expires
// `period` after it was taken, so old failures are forgotten too.
type Lockout struct {
	s    *Store
	coll *mongo.Collection
}

type failureSlot struct {
	ID        string    `bson:"_id"`
	UserID    string    `bson:"userId"`
	At        time.Time `bson:"at"`
	ExpiresAt time.Time `bson:"expiresAt"`
}

// LockedError reports a locked account and when it unlocks.
type LockedError struct {
	Until time.Time
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("account locked until %s", e.Until.UTC().Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// Attempt is one reserved password evaluation.
type Attempt struct {
	l      *Lockout
	userID string
	slot   int
	limit  int
	until  time.Time
}

func slotID(userID string, n int) string { return userID + "/" + strconv.Itoa(n) }

func slotIDs(userID string, limit int) []string {
	ids := make([]string, limit)
	for i := range ids {
		ids[i] = slotID(userID, i+1)
	}
	return ids
}

// Begin reserves one password evaluation for userID. It returns a
// *LockedError (errors.Is ErrLocked) when the limit of consecutive failures
// is reached, or when concurrent attempts hold every remaining slot.
func (l *Lockout) Begin(ctx context.Context, userID string, limit int, period time.Duration) (*Attempt, error) {
	now := l.s.now()
	var last failureSlot
	err := l.coll.FindOne(ctx, bson.D{{Key: "_id", Value: slotID(userID, limit)}}).Decode(&last)
	switch {
	case err == nil && now.Before(last.ExpiresAt):
		return nil, &LockedError{Until: last.ExpiresAt}
	case err == nil:
		if err := l.clear(ctx, userID, limit); err != nil {
			return nil, err
		}
	case err != mongo.ErrNoDocuments:
		return nil, wrap("read lockout", err)
	}

	expires := now.Add(period)
	for n := 1; n <= limit; n++ {
		_, err := l.coll.InsertOne(ctx, failureSlot{
			ID: slotID(userID, n), UserID: userID, At: now, ExpiresAt: expires,
		})
		if err == nil {
			return &Attempt{l: l, userID: userID, slot: n, limit: limit, until: expires}, nil
		}
		if !isDuplicateKey(err) {
			return nil, wrap("take lockout slot", err)
		}
	}
	return nil, &LockedError{Until: expires}
}

// Succeeded frees every slot of the user: the failure count starts again.
func (a *Attempt) Succeeded(ctx context.Context) error {
	return a.l.clear(ctx, a.userID, a.limit)
}

// Failed keeps the attempt's slot as a recorded failure. It returns the time
// the account unlocks when this failure took the last slot.
func (a *Attempt) Failed(ctx context.Context) (lockedUntil time.Time, locked bool) {
	if a.slot == a.limit {
		return a.until, true
	}
	return time.Time{}, false
}

// Failures returns how many failure slots the user holds now.
func (l *Lockout) Failures(ctx context.Context, userID string, limit int) (int, error) {
	n, err := l.coll.CountDocuments(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: slotIDs(userID, limit)}}}})
	return int(n), wrap("count lockout slots", err)
}

// Unlock frees every slot of the user, as an administrator's unlock does.
func (l *Lockout) Unlock(ctx context.Context, userID string, limit int) error {
	return l.clear(ctx, userID, limit)
}

func (l *Lockout) clear(ctx context.Context, userID string, limit int) error {
	_, err := l.coll.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: slotIDs(userID, limit)}}}})
	return wrap("clear lockout slots", err)
}
