package storage

import (
	"context"
	"errors"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Roles is the role repository. Role names are unique as typed (after
// trimming); users refer to roles by name, so renaming or deleting a role
// also updates its users.
type Roles struct {
	s    *Store
	coll *mongo.Collection
}

func roleKey(name string) string { return strings.TrimSpace(name) }

// Create stores a new role, setting ID when empty and the times.
func (r *Roles) Create(ctx context.Context, role *Role) error {
	if role.ID == "" {
		role.ID = NewID()
	}
	role.Name = roleKey(role.Name)
	now := r.s.now().UTC().Truncate(time.Millisecond)
	role.CreatedAt, role.UpdatedAt = now, now

	if err := r.claimName(ctx, role.ID, role.Name); err != nil {
		return err
	}
	if _, err := r.coll.InsertOne(ctx, role); err != nil {
		_ = r.s.claims.release(ctx, claimRoleName, role.Name, role.ID)
		if isDuplicateKey(err) {
			return &AlreadyExistsError{Kind: "role", Field: "_id"}
		}
		return wrap("insert role", err)
	}
	return nil
}

func (r *Roles) claimName(ctx context.Context, id, name string) error {
	err := r.s.claims.take(ctx, claimRoleName, name, id, func(ctx context.Context, owner string) (bool, error) {
		role, err := r.Get(ctx, owner)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return role.Name == name, nil
	})
	if errors.Is(err, ErrAlreadyExists) {
		return &AlreadyExistsError{Kind: "role", Field: "name"}
	}
	return err
}

// Get returns the role with id, or ErrNotFound.
func (r *Roles) Get(ctx context.Context, id string) (*Role, error) {
	var role Role
	if err := r.coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&role); err != nil {
		return nil, wrap("read role", err)
	}
	return &role, nil
}

// GetByName returns the role named name, or ErrNotFound.
func (r *Roles) GetByName(ctx context.Context, name string) (*Role, error) {
	id, err := r.s.claims.owner(ctx, claimRoleName, roleKey(name))
	if err != nil {
		return nil, err
	}
	role, err := r.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if role.Name != roleKey(name) {
		return nil, ErrNotFound
	}
	return role, nil
}

// Update reads the role, applies change and writes it back (last writer
// wins). A new name is claimed first and carried over to the role's users.
func (r *Roles) Update(ctx context.Context, id string, change func(role *Role) error) (*Role, error) {
	old, err := r.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	role := *old
	if err := change(&role); err != nil {
		return nil, err
	}
	role.ID, role.CreatedAt = old.ID, old.CreatedAt
	role.Name = roleKey(role.Name)
	role.UpdatedAt = r.s.now().UTC().Truncate(time.Millisecond)

	renamed := role.Name != old.Name
	if renamed {
		if err := r.claimName(ctx, id, role.Name); err != nil {
			return nil, err
		}
	}
	res, err := r.coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, &role)
	if err == nil && res.MatchedCount == 0 {
		err = ErrNotFound
	}
	if err != nil {
		if renamed {
			_ = r.s.claims.release(ctx, claimRoleName, role.Name, id)
		}
		return nil, wrap("replace role", err)
	}
	if renamed {
		if err := r.s.Users.RenameRoleEverywhere(ctx, old.Name, role.Name); err != nil {
			return nil, err
		}
		_ = r.s.claims.release(ctx, claimRoleName, old.Name, id)
	}
	return &role, nil
}

// Delete removes the role and takes it away from every user.
func (r *Roles) Delete(ctx context.Context, id string) (*Role, error) {
	role, err := r.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	res, err := r.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return nil, wrap("delete role", err)
	}
	if res.DeletedCount == 0 {
		return nil, ErrNotFound
	}
	if err := r.s.Users.RemoveRoleEverywhere(ctx, role.Name); err != nil {
		return nil, err
	}
	_ = r.s.claims.release(ctx, claimRoleName, role.Name, id)
	return role, nil
}

// List returns the roles matching filter, sorted by name then id.
func (r *Roles) List(ctx context.Context, filter bson.D, limit int) ([]Role, error) {
	if filter == nil {
		filter = bson.D{}
	}
	opts := options.Find().SetSort(bson.D{{Key: "name", Value: 1}, {Key: "_id", Value: 1}}).
		SetLimit(int64(limit))
	cur, err := r.coll.Find(ctx, filter, opts)
	if err != nil {
		return nil, wrap("list roles", err)
	}
	roles := []Role{}
	if err := cur.All(ctx, &roles); err != nil {
		return nil, wrap("list roles", err)
	}
	return roles, nil
}
