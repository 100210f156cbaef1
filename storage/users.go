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
	s    *Store
	coll *mongo.Collection
}

// NewID returns a new document id: 24 hexadecimal digits, the text form of a
// MongoDB ObjectID, which the Averos client treats as an opaque string.
func NewID() string { return bson.NewObjectID().Hex() }

// Create stores a new user. It sets ID (when empty), CreatedAt and UpdatedAt.
// A taken user name or email is an *AlreadyExistsError naming the field.
func (r *Users) Create(ctx context.Context, u *User) error {
	if u.ID == "" {
		u.ID = NewID()
	}
	now := r.s.now().UTC().Truncate(time.Millisecond)
	u.CreatedAt, u.UpdatedAt = now, now
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
	err := r.s.claims.take(ctx, claimUserName, NormalizeUserName(name), id, r.holdsName(name))
	if errors.Is(err, ErrAlreadyExists) {
		return &AlreadyExistsError{Kind: "user", Field: "userName"}
	}
	return err
}

func (r *Users) claimEmail(ctx context.Context, id, email string) error {
	err := r.s.claims.take(ctx, claimEmail, email, id, r.holdsEmail(email))
	if errors.Is(err, ErrAlreadyExists) {
		return &AlreadyExistsError{Kind: "user", Field: "email"}
	}
	return err
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

// Update reads the user, applies change to it and writes it back. The write
// replaces the whole document and is last-writer-wins: never base a security
// decision on a value read here and written later. A changed user name or
// email is claimed first, so a taken value fails with *AlreadyExistsError and
// changes nothing. UpdatedAt is set.
func (r *Users) Update(ctx context.Context, id string, change func(u *User) error) (*User, error) {
	old, err := r.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	u := *old
	u.Roles = append([]string(nil), old.Roles...)
	if err := change(&u); err != nil {
		return nil, err
	}
	u.ID = old.ID
	u.CreatedAt = old.CreatedAt
	u.Email = NormalizeEmail(u.Email)
	if u.Roles == nil {
		u.Roles = []string{}
	}
	u.UpdatedAt = r.s.now().UTC().Truncate(time.Millisecond)

	nameChanged := NormalizeUserName(u.UserName) != NormalizeUserName(old.UserName)
	emailChanged := u.Email != old.Email
	if nameChanged {
		if err := r.claimName(ctx, id, u.UserName); err != nil {
			return nil, err
		}
	}
	if emailChanged && u.Email != "" {
		if err := r.claimEmail(ctx, id, u.Email); err != nil {
			if nameChanged {
				_ = r.s.claims.release(ctx, claimUserName, NormalizeUserName(u.UserName), id)
			}
			return nil, err
		}
	}

	res, err := r.coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, &u)
	if err == nil && res.MatchedCount == 0 {
		err = ErrNotFound
	}
	if err != nil {
		if nameChanged {
			_ = r.s.claims.release(ctx, claimUserName, NormalizeUserName(u.UserName), id)
		}
		if emailChanged && u.Email != "" {
			_ = r.s.claims.release(ctx, claimEmail, u.Email, id)
		}
		return nil, wrap("replace user", err)
	}

	if nameChanged {
		_ = r.s.claims.release(ctx, claimUserName, NormalizeUserName(old.UserName), id)
	}
	if emailChanged && old.Email != "" {
		_ = r.s.claims.release(ctx, claimEmail, old.Email, id)
	}
	return &u, nil
}

// RecordLogin stores the time and address of a successful login and clears
// the display copy of the lock state.
func (r *Users) RecordLogin(ctx context.Context, id string, at time.Time, ip string) error {
	res, err := r.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{
		{Key: "$set", Value: bson.D{{Key: "lastLoginAt", Value: at}, {Key: "lastLoginIP", Value: ip}}},
		{Key: "$unset", Value: bson.D{{Key: "lockedUntil", Value: ""}}},
	})
	if err == nil && res.MatchedCount == 0 {
		return ErrNotFound
	}
	return wrap("record login", err)
}

// SetLockedUntil stores the display copy of the lock state.
func (r *Users) SetLockedUntil(ctx context.Context, id string, until time.Time) error {
	_, err := r.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "lockedUntil", Value: until}}}})
	return wrap("set lock", err)
}

// Delete removes the user and frees its user name and email.
func (r *Users) Delete(ctx context.Context, id string) (*User, error) {
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

// AddRoles adds role names to the user's set, keeping the existing ones.
func (r *Users) AddRoles(ctx context.Context, id string, names []string) error {
	res, err := r.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{
		{Key: "$addToSet", Value: bson.D{{Key: "roles", Value: bson.D{{Key: "$each", Value: names}}}}},
		{Key: "$set", Value: bson.D{{Key: "updatedAt", Value: r.s.now().UTC()}}},
	})
	if err == nil && res.MatchedCount == 0 {
		return ErrNotFound
	}
	return wrap("add roles", err)
}

// RemoveRoles removes role names from the user's set. The embedded engine
// ignores $pull, so the set is read and written back (last writer wins).
func (r *Users) RemoveRoles(ctx context.Context, id string, names []string) error {
	u, err := r.Get(ctx, id)
	if err != nil {
		return err
	}
	kept := make([]string, 0, len(u.Roles))
	for _, role := range u.Roles {
		if !slices.Contains(names, role) {
			kept = append(kept, role)
		}
	}
	if len(kept) == len(u.Roles) {
		return nil
	}
	res, err := r.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{
		{Key: "$set", Value: bson.D{{Key: "roles", Value: kept}, {Key: "updatedAt", Value: r.s.now().UTC()}}},
	})
	if err == nil && res.MatchedCount == 0 {
		return ErrNotFound
	}
	return wrap("remove roles", err)
}

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
