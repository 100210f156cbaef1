package storage

import (
	"context"
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Lockout counts consecutive failed logins per user without an atomic
// counter. A user has `limit` numbered slots, and evaluating a password first
// takes a free slot with an insert, which is atomic on both engines. A
// failure keeps its slot and marks it failed; a success frees its own slot
// and every failed one. The account is locked while all slots hold failures.
// At most `limit` evaluations run at once, so concurrent guesses can never
// exceed the limit: when every slot is held and some are still being
// evaluated, Begin waits for one to free up instead of evaluating more.
//
// A failed slot expires `period` after the failure, so old failures are
// forgotten and a lock ends by itself. A slot still being evaluated expires
// after inFlightTTL, so a process that dies mid-evaluation blocks one slot
// for at most that long.
//
// Beside the slots, a user with recorded failures has a failure mark that
// lives as long as the latest failure. A success reads the slots only when
// it removes such a mark, so a login without earlier failures costs one
// insert and two deletes.
type Lockout struct {
	s    *Store
	coll *mongo.Collection
}

const (
	// inFlightTTL bounds how long a slot of an unfinished evaluation lives.
	inFlightTTL = time.Minute
	// maxSlotWait bounds how long Begin waits for a slot held by concurrent
	// evaluations before reporting the account locked.
	maxSlotWait = 5 * time.Second
)

// Kinds of documents in the lockout collection.
const (
	kindSlot = "slot"
	kindMark = "mark"
	// kindFree is a tombstone: the right to delete one occupation of a slot.
	kindFree = "free"
)

// tombstoneTTL is how long a tombstone outlives its creation. A caller that
// read an occupation longer ago than this could free a later one.
const tombstoneTTL = time.Hour

// failureSlot is one document of the lockout collection: a slot, a failure
// mark or a tombstone (Kind).
type failureSlot struct {
	ID     string `bson:"_id"`
	Kind   string `bson:"kind"`
	UserID string `bson:"userId"`
	// Gen is a random value set when a slot is taken and never changed. It
	// distinguishes one occupation of a slot from the next.
	Gen       string    `bson:"gen,omitempty"`
	Failed    bool      `bson:"failed"`
	At        time.Time `bson:"at"`
	ExpiresAt time.Time `bson:"expiresAt"`
	// Limit is the failure limit recorded on a mark, for the sweep.
	Limit int `bson:"limit,omitempty"`
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
	slotID string
	limit  int
	period time.Duration
}

func slotID(userID string, n int) string { return userID + "/" + strconv.Itoa(n) }

// markID returns the id of the user's failure mark. Slot ids end in a
// number, so the two never collide.
func markID(userID string) string { return userID + "/failed" }

func slotIDs(userID string, limit int) []string {
	ids := make([]string, limit)
	for i := range ids {
		ids[i] = slotID(userID, i+1)
	}
	return ids
}

// Begin reserves one password evaluation for userID. It returns a
// *LockedError (errors.Is ErrLocked) when `limit` consecutive failures are
// recorded, or when concurrent evaluations hold every slot for longer than
// maxSlotWait.
//
// It tries the slots in order and takes the first free one, reading a slot
// only when it is held: an account without failures or concurrent logins
// costs one insert. An account with a free slot cannot be locked, because a
// lock needs every slot to hold a failure.
func (l *Lockout) Begin(ctx context.Context, userID string, limit int, period time.Duration) (*Attempt, error) {
	waitUntil := time.Now().Add(maxSlotWait)
	for {
		now := l.s.now()
		failed, until := 0, time.Time{}
		for _, id := range slotIDs(userID, limit) {
			inserted, err := l.take(ctx, id, userID, now)
			if err != nil {
				return nil, err
			}
			if inserted {
				return &Attempt{l: l, userID: userID, slotID: id, limit: limit, period: period}, nil
			}
			slot, exists, err := l.readSlot(ctx, id)
			if err != nil {
				return nil, err
			}
			if exists && !now.Before(slot.ExpiresAt) {
				// An expired slot is free. The caller that frees this
				// occupation tries to take the slot, and the others wait.
				freed, err := l.free(ctx, slot, now)
				if err != nil {
					return nil, err
				}
				if !freed {
					continue
				}
				exists = false
			}
			if !exists {
				// Freed since the insert failed: one more try.
				inserted, err := l.take(ctx, id, userID, now)
				if err != nil {
					return nil, err
				}
				if inserted {
					return &Attempt{l: l, userID: userID, slotID: id, limit: limit, period: period}, nil
				}
				continue
			}
			if slot.Failed {
				failed++
				until = later(until, slot.ExpiresAt)
			}
		}
		if failed >= limit {
			return nil, &LockedError{Until: until}
		}

		// Every slot is held, some by evaluations still running.
		if time.Now().After(waitUntil) {
			return nil, &LockedError{Until: now.Add(inFlightTTL)}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(5+rand.IntN(20)) * time.Millisecond):
		}
	}
}

// take inserts the slot with id for an evaluation that starts now. It
// returns false when another evaluation or a failure already has the slot.
func (l *Lockout) take(ctx context.Context, id, userID string, now time.Time) (inserted bool, err error) {
	_, err = l.coll.InsertOne(ctx, failureSlot{ID: id, Kind: kindSlot, UserID: userID, Gen: cryptorand.Text(),
		At: now, ExpiresAt: now.Add(inFlightTTL)})
	switch {
	case err == nil:
		return true, nil
	case isDuplicateKey(err):
		return false, nil
	default:
		return false, wrap("take lockout slot", err)
	}
}

// free deletes the occupation of a slot that the caller read, through a
// tombstone named after its Gen (see DeleteOnce), so that of concurrent
// callers (Begin, Succeeded, the sweep) exactly one deletes it and never a
// later occupation. It returns false when another caller frees it.
func (l *Lockout) free(ctx context.Context, slot failureSlot, now time.Time) (bool, error) {
	tombstone := failureSlot{ID: "free/" + slot.ID + "/" + slot.Gen, Kind: kindFree, UserID: slot.UserID,
		At: now, ExpiresAt: now.Add(tombstoneTTL)}
	return DeleteOnce(ctx, l.coll, slot.ID, tombstone)
}

// readSlot reads one slot by id. It returns exists false when there is no
// such slot.
func (l *Lockout) readSlot(ctx context.Context, id string) (slot failureSlot, exists bool, err error) {
	err = l.coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&slot)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return slot, false, nil
	}
	if err != nil {
		return slot, false, wrap("read lockout slot", err)
	}
	return slot, true, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// read returns the user's slots by id. It reads each slot by _id: a filter
// with $in is not pushed down by the embedded engine and would scan every
// slot of every user, which an attacker could grow by guessing many names.
func (l *Lockout) read(ctx context.Context, userID string, limit int) (map[string]failureSlot, error) {
	slots := make(map[string]failureSlot, limit)
	for _, id := range slotIDs(userID, limit) {
		slot, exists, err := l.readSlot(ctx, id)
		if err != nil {
			return nil, err
		}
		if exists {
			slots[id] = slot
		}
	}
	return slots, nil
}

// Succeeded frees the attempt's slot and every recorded failure: the
// failure count starts again. Slots of evaluations still running stay.
//
// Failures are looked for only when the failure mark was there to remove.
// Failed marks the slot before it sets the mark, so every failure recorded
// before the mark was removed is in the slots read after it. A failure
// recorded later sets a new mark and stays for the next success to clear.
func (a *Attempt) Succeeded(ctx context.Context) error {
	if _, err := a.l.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: a.slotID}}); err != nil {
		return wrap("free lockout slot", err)
	}
	res, err := a.l.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: markID(a.userID)}})
	if err != nil {
		return wrap("clear failure mark", err)
	}
	if res.DeletedCount == 0 {
		return nil
	}
	slots, err := a.l.read(ctx, a.userID, a.limit)
	if err != nil {
		return err
	}
	now := a.l.s.now()
	for _, slot := range slots {
		if !slot.Failed {
			continue
		}
		if _, err := a.l.free(ctx, slot, now); err != nil {
			return err
		}
	}
	return nil
}

// Failed records the attempt's slot as a failure that expires after the
// lockout period. It reports the time the account unlocks when this failure
// completed the limit. An error while recording is treated as no lock: the
// slot still counts until it expires.
func (a *Attempt) Failed(ctx context.Context) (lockedUntil time.Time, locked bool) {
	now := a.l.s.now()
	expires := now.Add(a.period)
	_, err := a.l.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: a.slotID}}, bson.D{
		{Key: "$set", Value: bson.D{{Key: "failed", Value: true}, {Key: "at", Value: now}, {Key: "expiresAt", Value: expires}}},
	})
	if err != nil {
		return time.Time{}, false
	}
	// The mark comes second (see Succeeded). Should it fail, the failure
	// still counts toward the lock, but a success may leave it in place.
	_ = a.l.mark(ctx, a.userID, a.limit, expires)
	slots, err := a.l.read(ctx, a.userID, a.limit)
	if err != nil {
		return time.Time{}, false
	}
	failed := 0
	for _, slot := range slots {
		if slot.Failed && now.Before(slot.ExpiresAt) {
			failed++
		}
	}
	if failed >= a.limit {
		return expires, true
	}
	return time.Time{}, false
}

// mark creates or extends the user's failure mark so that it lives until
// expires at least. Two concurrent upserts of a new mark may both try to
// insert it; the one that loses the race updates it instead. On the embedded
// engine the update is a read and a write, so concurrent failures may leave
// the earlier expiry. The sweep therefore keeps a mark while the user has a
// live failure.
func (l *Lockout) mark(ctx context.Context, userID string, limit int, expires time.Time) error {
	filter := bson.D{{Key: "_id", Value: markID(userID)}}
	update := bson.D{
		{Key: "$max", Value: bson.D{{Key: "expiresAt", Value: expires}}},
		{Key: "$set", Value: bson.D{{Key: "limit", Value: limit}}},
		{Key: "$setOnInsert", Value: bson.D{{Key: "userId", Value: userID}, {Key: "kind", Value: kindMark}}},
	}
	_, err := l.coll.UpdateOne(ctx, filter, update, options.UpdateOne().SetUpsert(true))
	if isDuplicateKey(err) {
		_, err = l.coll.UpdateOne(ctx, filter, update)
	}
	return wrap("mark lockout failure", err)
}

// Failures returns how many unexpired failures the user has recorded.
func (l *Lockout) Failures(ctx context.Context, userID string, limit int) (int, error) {
	slots, err := l.read(ctx, userID, limit)
	if err != nil {
		return 0, err
	}
	now, n := l.s.now(), 0
	for _, slot := range slots {
		if slot.Failed && now.Before(slot.ExpiresAt) {
			n++
		}
	}
	return n, nil
}

// Unlock frees every slot of the user and removes the failure mark, as an
// administrator's unlock does.
func (l *Lockout) Unlock(ctx context.Context, userID string, limit int) error {
	slots, err := l.read(ctx, userID, limit)
	if err != nil {
		return err
	}
	now := l.s.now()
	for _, slot := range slots {
		if _, err := l.free(ctx, slot, now); err != nil {
			return err
		}
	}
	if _, err := l.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: markID(userID)}}); err != nil {
		return wrap("clear failure mark", err)
	}
	return nil
}

// sweep removes the lockout documents whose expiry has passed. On the
// embedded engine, a plain delete filtered on expiresAt would also remove a
// slot taken again or a mark extended while the delete ran. So each expired
// slot is freed through its tombstone, and each mark stays while its user
// has an unexpired failure.
//
// NOTE: a failure recorded between the sweep's check of a mark and its
// delete loses its mark. A later success then leaves that failure in place
// until it expires, which errs toward locking.
func (l *Lockout) sweep(ctx context.Context, now time.Time) (int64, error) {
	cur, err := l.coll.Find(ctx, bson.D{{Key: "expiresAt", Value: bson.D{{Key: "$lt", Value: now}}}})
	if err != nil {
		return 0, wrap("sweep lockout", err)
	}
	var expired []failureSlot
	if err := cur.All(ctx, &expired); err != nil {
		return 0, wrap("sweep lockout", err)
	}
	var removed int64
	for _, doc := range expired {
		switch doc.Kind {
		case kindFree:
			res, err := l.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: doc.ID}})
			if err != nil {
				return removed, wrap("sweep lockout tombstone", err)
			}
			removed += res.DeletedCount
		case kindMark:
			live, err := l.Failures(ctx, doc.UserID, doc.Limit)
			if err != nil {
				return removed, err
			}
			if live > 0 {
				continue
			}
			res, err := l.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: doc.ID}})
			if err != nil {
				return removed, wrap("sweep failure mark", err)
			}
			removed += res.DeletedCount
		default:
			freed, err := l.free(ctx, doc, now)
			if err != nil {
				return removed, err
			}
			if freed {
				removed++
			}
		}
	}
	return removed, nil
}
