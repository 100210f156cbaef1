package storage

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Users is the user repository.
type Users struct {
	s     *Store
	coll  *mongo.Collection
	locks *stripedLock
}

// NewID returns a new document id: 24 hexadecimal digits, the text form of a
// MongoDB ObjectID, which the Averos client treats as an opaque string.
func NewID() string { return bson.NewObjectID().Hex() }

// Create stores a new user. It sets ID (when empty), CreatedAt, UpdatedAt
// and Rev. A taken user name or email is an *AlreadyExistsError naming the
// field.
func (r *Users) Create(ctx context.Context, u *User) error {
	if u.ID == "" {
		u.ID = NewID()
	}
	now := r.s.now().UTC().Truncate(time.Millisecond)
	u.CreatedAt, u.UpdatedAt = now, now
	u.Rev = 1
	if u.Roles == nil {
		u.Roles = []string{}
	}
	u.Email = NormalizeEmail(u.Email)

	if err := r.claimName(ctx, u.ID, u.UserName); err != nil {
		return err
	}
	if u.Email != "" {
		if err := r.claimEmail(ctx, u.ID, u.Email); err != nil {
			_ = r.s.claims.release(ctx, claimUserName, NormalizeUserName(u.UserName), u.ID)
			return err
		}
	}
	if _, err := r.coll.InsertOne(ctx, u); err != nil {
		r.releaseClaims(ctx, u)
		if isDuplicateKey(err) {
			return &AlreadyExistsError{Kind: "user", Field: "_id"}
		}
		return wrap("insert user", err)
	}
	return nil
}

func (r *Users) claimName(ctx context.Context, id, name string) error {
	_, err := r.reserveName(ctx, id, name)
	return err
}

func (r *Users) claimEmail(ctx context.Context, id, email string) error {
	_, err := r.reserveEmail(ctx, id, email)
	return err
}

// reserveName claims the user name for id and reports whether this call
// inserted the claim, as claims.reserve does.
func (r *Users) reserveName(ctx context.Context, id, name string) (bool, error) {
	inserted, err := r.s.claims.reserve(ctx, claimUserName, NormalizeUserName(name), id, r.holdsName(name))
	if errors.Is(err, ErrAlreadyExists) {
		return false, &AlreadyExistsError{Kind: "user", Field: "userName"}
	}
	return inserted, err
}

func (r *Users) reserveEmail(ctx context.Context, id, email string) (bool, error) {
	inserted, err := r.s.claims.reserve(ctx, claimEmail, email, id, r.holdsEmail(email))
	if errors.Is(err, ErrAlreadyExists) {
		return false, &AlreadyExistsError{Kind: "user", Field: "email"}
	}
	return inserted, err
}

// holdsName returns a check that a user still has name, so that a claim left
// behind by an interrupted update can be taken over.
func (r *Users) holdsName(name string) func(context.Context, string) (bool, error) {
	return func(ctx context.Context, owner string) (bool, error) {
		u, err := r.Get(ctx, owner)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return NormalizeUserName(u.UserName) == NormalizeUserName(name), nil
	}
}

func (r *Users) holdsEmail(email string) func(context.Context, string) (bool, error) {
	return func(ctx context.Context, owner string) (bool, error) {
		u, err := r.Get(ctx, owner)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return u.Email == email, nil
	}
}

func (r *Users) releaseClaims(ctx context.Context, u *User) {
	_ = r.s.claims.release(ctx, claimUserName, NormalizeUserName(u.UserName), u.ID)
	if u.Email != "" {
		_ = r.s.claims.release(ctx, claimEmail, u.Email, u.ID)
	}
}

// Get returns the user with id, or ErrNotFound.
func (r *Users) Get(ctx context.Context, id string) (*User, error) {
	var u User
	if err := r.coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&u); err != nil {
		return nil, wrap("read user", err)
	}
	return &u, nil
}

// GetByUserName returns the user whose name equals name after normalisation.
func (r *Users) GetByUserName(ctx context.Context, name string) (*User, error) {
	return r.getByClaim(ctx, claimUserName, NormalizeUserName(name))
}

// GetByEmail returns the user with email, compared in lower case.
func (r *Users) GetByEmail(ctx context.Context, email string) (*User, error) {
	return r.getByClaim(ctx, claimEmail, NormalizeEmail(email))
}

// GetByLogin returns the user for what was typed at a login prompt: an email
// when it contains '@', a user name otherwise.
func (r *Users) GetByLogin(ctx context.Context, identifier string) (*User, error) {
	if strings.Contains(identifier, "@") {
		return r.GetByEmail(ctx, identifier)
	}
	return r.GetByUserName(ctx, identifier)
}

func (r *Users) getByClaim(ctx context.Context, kind, key string) (*User, error) {
	if key == "" {
		return nil, ErrNotFound
	}
	id, err := r.s.claims.owner(ctx, kind, key)
	if err != nil {
		return nil, err
	}
	u, err := r.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	// A claim left behind by an interrupted update points at a user who no
	// longer has the value.
	if kind == claimUserName && NormalizeUserName(u.UserName) != key {
		return nil, ErrNotFound
	}
	if kind == claimEmail && u.Email != key {
		return nil, ErrNotFound
	}
	return u, nil
}

// Update reads the user, applies change to a copy and writes the copy back
// only over the revision it read. When another writer got in between, it
// reads the user again and calls change again, so change must derive its
// result from the user it is given. It fails with ErrConflict after
// maxUpdateAttempts lost races, and with ErrNotFound once the user is gone.
// A changed user name or email is claimed first, so a taken value fails with
// *AlreadyExistsError and changes nothing. UpdatedAt is set and Rev
// incremented. Because the user's striped lock is held throughout, change
// must not write users through this Store.
func (r *Users) Update(ctx context.Context, id string, change func(u *User) error) (*User, error) {
	unlock, err := r.locks.lock(ctx, id)
	if err != nil {
		return nil, err
	}
	defer unlock()

	// A failed attempt keeps its claims for the next one. On the way out,
	// Update releases every claim it inserted for a value that the stored
	// user does not have. The stored user may have such a value although
	// this call failed, when a writer in another process wrote the same
	// value meanwhile and found the claim already taken by this id.
	var reserved []reservedClaim
	for range maxUpdateAttempts {
		old, err := r.Get(ctx, id)
		if err != nil {
			r.releaseReserved(ctx, id, reserved, nil)
			return nil, err
		}
		u, written, err := r.replaceRevision(ctx, old, change, &reserved)
		if err != nil {
			r.releaseReserved(ctx, id, reserved, old)
			return nil, err
		}
		if !written {
			continue
		}
		r.releaseReserved(ctx, id, reserved, u)
		if NormalizeUserName(u.UserName) != NormalizeUserName(old.UserName) {
			_ = r.s.claims.release(ctx, claimUserName, NormalizeUserName(old.UserName), id)
		}
		if u.Email != old.Email && old.Email != "" {
			_ = r.s.claims.release(ctx, claimEmail, old.Email, id)
		}
		return u, nil
	}
	current, err := r.Get(ctx, id)
	if err != nil {
		r.releaseReserved(ctx, id, reserved, nil)
		return nil, err
	}
	r.releaseReserved(ctx, id, reserved, current)
	return nil, conflictError("user", id)
}

// reservedClaim is a name or email claim that Update inserted for a value
// it has not yet written.
type reservedClaim struct {
	kind, key string
}

// replaceRevision applies change to a copy of old, claims a changed user
// name or email, and replaces the stored user if its revision is still
// old.Rev. It reports false, with no error, when the revision has moved on.
// Each claim it inserts is appended to reserved, for Update to release.
func (r *Users) replaceRevision(ctx context.Context, old *User, change func(u *User) error,
	reserved *[]reservedClaim) (*User, bool, error) {
	u := *old
	u.Roles = slices.Clone(old.Roles)
	if err := change(&u); err != nil {
		return nil, false, err
	}
	u.ID = old.ID
	u.CreatedAt = old.CreatedAt
	u.Email = NormalizeEmail(u.Email)
	if u.Roles == nil {
		u.Roles = []string{}
	}
	u.UpdatedAt = r.s.now().UTC().Truncate(time.Millisecond)
	u.Rev = old.Rev + 1

	name := NormalizeUserName(u.UserName)
	if name != NormalizeUserName(old.UserName) && !slices.Contains(*reserved, reservedClaim{claimUserName, name}) {
		inserted, err := r.reserveName(ctx, u.ID, u.UserName)
		if err != nil {
			return nil, false, err
		}
		if inserted {
			*reserved = append(*reserved, reservedClaim{claimUserName, name})
		}
	}
	if u.Email != old.Email && u.Email != "" && !slices.Contains(*reserved, reservedClaim{claimEmail, u.Email}) {
		inserted, err := r.reserveEmail(ctx, u.ID, u.Email)
		if err != nil {
			return nil, false, err
		}
		if inserted {
			*reserved = append(*reserved, reservedClaim{claimEmail, u.Email})
		}
	}

	res, err := r.coll.ReplaceOne(ctx, revisionFilter(u.ID, old.Rev), &u)
	if err != nil {
		return nil, false, wrap("replace user", err)
	}
	return &u, res.MatchedCount == 1, nil
}

// releaseReserved releases the reserved claims except those for the user
// name or email of stored, the user as last read or written. With stored nil
// it releases them all.
func (r *Users) releaseReserved(ctx context.Context, id string, reserved []reservedClaim, stored *User) {
	for _, c := range reserved {
		if stored != nil && c.kind == claimUserName && c.key == NormalizeUserName(stored.UserName) {
			continue
		}
		if stored != nil && c.kind == claimEmail && c.key == stored.Email {
			continue
		}
		_ = r.s.claims.release(ctx, c.kind, c.key, id)
	}
}

// RecordLogin stores the time and address of a successful login and clears
// the display copy of the lock state. It is one update that also increments
// Rev, under the user's striped lock.
func (r *Users) RecordLogin(ctx context.Context, id string, at time.Time, ip string) error {
	unlock, err := r.locks.lock(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	res, err := r.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{
		{Key: "$set", Value: bson.D{{Key: "lastLoginAt", Value: at}, {Key: "lastLoginIP", Value: ip}}},
		{Key: "$unset", Value: bson.D{{Key: "lockedUntil", Value: ""}}},
		incrementRevision,
	})
	if err == nil && res.MatchedCount == 0 {
		return ErrNotFound
	}
	return wrap("record login", err)
}

// SetLockedUntil stores the display copy of the lock state. It is one update
// that also increments Rev, under the user's striped lock.
func (r *Users) SetLockedUntil(ctx context.Context, id string, until time.Time) error {
	unlock, err := r.locks.lock(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	_, err = r.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "lockedUntil", Value: until}}}, incrementRevision})
	return wrap("set lock", err)
}

// Delete removes the user and frees its user name and email.
func (r *Users) Delete(ctx context.Context, id string) (*User, error) {
	unlock, err := r.locks.lock(ctx, id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	u, err := r.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	res, err := r.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return nil, wrap("delete user", err)
	}
	if res.DeletedCount == 0 {
		return nil, ErrNotFound
	}
	r.releaseClaims(ctx, u)
	return u, nil
}

// List returns the users matching filter (a query built by the caller from
// validated input), sorted by creation time then id, at most limit of them.
func (r *Users) List(ctx context.Context, filter bson.D, limit int) ([]User, error) {
	if filter == nil {
		filter = bson.D{}
	}
	opts := options.Find().
		SetSort(bson.D{{Key: "createdAt", Value: 1}, {Key: "_id", Value: 1}}).
		SetLimit(int64(limit))
	cur, err := r.coll.Find(ctx, filter, opts)
	if err != nil {
		return nil, wrap("list users", err)
	}
	users := []User{}
	if err := cur.All(ctx, &users); err != nil {
		return nil, wrap("list users", err)
	}
	return users, nil
}

// AddRoles adds role names to the user's set, keeping the existing ones. It
// is one update that also increments Rev, under the user's striped lock.
func (r *Users) AddRoles(ctx context.Context, id string, names []string) error {
	unlock, err := r.locks.lock(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	res, err := r.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{
		{Key: "$addToSet", Value: bson.D{{Key: "roles", Value: bson.D{{Key: "$each", Value: names}}}}},
		{Key: "$set", Value: bson.D{{Key: "updatedAt", Value: r.s.now().UTC()}}},
		incrementRevision,
	})
	if err == nil && res.MatchedCount == 0 {
		return ErrNotFound
	}
	return wrap("add roles", err)
}

// RemoveRoles removes role names from the user's set. The embedded engine
// ignores $pull, so the set is changed through Update, which writes it back
// only over the revision it read.
func (r *Users) RemoveRoles(ctx context.Context, id string, names []string) error {
	listed := func(role string) bool { return slices.Contains(names, role) }
	_, err := r.Update(ctx, id, func(u *User) error {
		if !slices.ContainsFunc(u.Roles, listed) {
			return errRolesUnchanged
		}
		u.Roles = slices.DeleteFunc(u.Roles, listed)
		return nil
	})
	if errors.Is(err, errRolesUnchanged) {
		return nil
	}
	return err
}

// errRolesUnchanged stops an Update of RemoveRoles that would write nothing new.
var errRolesUnchanged = errors.New("user has none of the roles")

// RemoveRoleEverywhere takes the role name out of every user that has it.
func (r *Users) RemoveRoleEverywhere(ctx context.Context, name string) error {
	users, err := r.List(ctx, bson.D{{Key: "roles", Value: name}}, 0)
	if err != nil {
		return err
	}
	for _, u := range users {
		if err := r.RemoveRoles(ctx, u.ID, []string{name}); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

// RenameRoleEverywhere replaces the role name in every user that has it.
func (r *Users) RenameRoleEverywhere(ctx context.Context, oldName, newName string) error {
	users, err := r.List(ctx, bson.D{{Key: "roles", Value: oldName}}, 0)
	if err != nil {
		return err
	}
	for _, u := range users {
		if err := r.AddRoles(ctx, u.ID, []string{newName}); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := r.RemoveRoles(ctx, u.ID, []string{oldName}); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}
