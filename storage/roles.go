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
	"go.uber.org/zap"
)

// Roles is the role repository. Role names are unique as typed (after
// trimming); users refer to roles by name, so renaming or deleting a role
// also updates its users.
type Roles struct {
	s     *Store
	coll  *mongo.Collection
	locks *stripedLock
}

func roleKey(name string) string { return strings.TrimSpace(name) }

// Create stores a new role with revision 1, setting ID when empty and the
// times.
func (r *Roles) Create(ctx context.Context, role *Role) error {
	if role.ID == "" {
		role.ID = NewID()
	}
	role.Name = roleKey(role.Name)
	now := r.s.now().UTC().Truncate(time.Millisecond)
	role.CreatedAt, role.UpdatedAt = now, now
	role.Rev = 1

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
	_, err := r.reserveName(ctx, id, name)
	return err
}

// reserveName claims the role name for id and reports whether this call
// inserted the claim, as claims.reserve does.
func (r *Roles) reserveName(ctx context.Context, id, name string) (bool, error) {
	inserted, err := r.s.claims.reserve(ctx, claimRoleName, name, id, r.holdsName(name))
	if errors.Is(err, ErrAlreadyExists) {
		return false, &AlreadyExistsError{Kind: "role", Field: "name"}
	}
	return inserted, err
}

// holdsName returns a check that a role still has name, so that a claim left
// behind by an interrupted update can be taken over.
func (r *Roles) holdsName(name string) func(context.Context, string) (bool, error) {
	return func(ctx context.Context, owner string) (bool, error) {
		role, err := r.Get(ctx, owner)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return role.Name == name, nil
	}
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

// Update reads the role, applies change to a copy and writes the copy back
// only over the revision it read. When another writer got in between, it
// reads the role again and calls change again, so change must derive its
// result from the role it is given. It fails with ErrConflict after
// maxUpdateAttempts lost races, and with ErrNotFound once the role is gone.
// A new name is claimed first, so a taken name fails with
// *AlreadyExistsError and changes nothing. After the write, the users that
// have the old name get the new one. UpdatedAt is set and Rev incremented.
// Because the role's striped lock is held throughout, change must not write
// roles through this Store.
func (r *Roles) Update(ctx context.Context, id string, change func(role *Role) error) (*Role, error) {
	unlock, err := r.locks.lock(ctx, id)
	if err != nil {
		return nil, err
	}
	// The lock is held until the users carry the new name, so that a second
	// rename of the role in this process starts from users that have the
	// name it read.
	defer unlock()

	// A failed attempt keeps its name claim for the next one, as in
	// Users.Update. On the way out, Update releases every claim it inserted
	// for a name that the stored role does not have.
	var reserved []string
	for range maxUpdateAttempts {
		old, err := r.Get(ctx, id)
		if err != nil {
			r.releaseReserved(ctx, id, reserved, nil)
			return nil, err
		}
		role, written, err := r.replaceRevision(ctx, old, change, &reserved)
		if err != nil {
			r.releaseReserved(ctx, id, reserved, old)
			return nil, err
		}
		if !written {
			continue
		}
		r.releaseReserved(ctx, id, reserved, role)
		if role.Name != old.Name {
			if err := r.finishRename(ctx, id, old.Name, role.Name); err != nil {
				return nil, err
			}
		}
		return role, nil
	}
	current, err := r.Get(ctx, id)
	if err != nil {
		r.releaseReserved(ctx, id, reserved, nil)
		return nil, err
	}
	r.releaseReserved(ctx, id, reserved, current)
	return nil, conflictError("role", id)
}

// replaceRevision applies change to a copy of old, claims a changed name,
// and replaces the stored role if its revision is still old.Rev. It reports
// false, with no error, when the revision has moved on. A claim that it
// inserts is appended to reserved, for Update to release.
func (r *Roles) replaceRevision(ctx context.Context, old *Role, change func(role *Role) error,
	reserved *[]string) (*Role, bool, error) {
	role := *old
	if err := change(&role); err != nil {
		return nil, false, err
	}
	role.ID, role.CreatedAt = old.ID, old.CreatedAt
	role.Name = roleKey(role.Name)
	role.UpdatedAt = r.s.now().UTC().Truncate(time.Millisecond)
	role.Rev = old.Rev + 1

	if role.Name != old.Name && !slices.Contains(*reserved, role.Name) {
		inserted, err := r.reserveName(ctx, role.ID, role.Name)
		if err != nil {
			return nil, false, err
		}
		if inserted {
			*reserved = append(*reserved, role.Name)
		}
	}

	res, err := r.coll.ReplaceOne(ctx, revisionFilter(role.ID, old.Rev), &role)
	if err != nil {
		return nil, false, wrap("replace role", err)
	}
	return &role, res.MatchedCount == 1, nil
}

// releaseReserved releases the reserved name claims except the one for the
// name of stored, the role as last read or written. With stored nil it
// releases them all.
func (r *Roles) releaseReserved(ctx context.Context, id string, reserved []string, stored *Role) {
	for _, name := range reserved {
		if stored != nil && name == stored.Name {
			continue
		}
		_ = r.s.claims.release(ctx, claimRoleName, name, id)
	}
}

// finishRename gives the users that have oldName the role's new name, then
// releases the claim of oldName unless the role has that name again.
func (r *Roles) finishRename(ctx context.Context, id, oldName, newName string) error {
	// NOTE: a rename of this role by a second server process on the same
	// MongoDB can move the users before this call does. They then end with
	// newName, although the role has the other process's name.
	if err := r.s.Users.RenameRoleEverywhere(ctx, oldName, newName); err != nil {
		return err
	}
	// A writer in another process may have renamed the role back to oldName
	// meanwhile. Its write relies on the claim that this id still holds, so
	// the claim stays. A rename back that lands between this read and the
	// release still loses the claim.
	current, err := r.Get(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		// The claim stays, and claims.reserve takes it over as a leftover
		// once it is older than orphanAge and the role has another name.
		r.s.log.Warn("read role after rename failed; the old name stays claimed for now",
			zap.String("role_id", id), zap.String("old_name", oldName), zap.Error(err))
		return nil
	}
	if err == nil && current.Name == oldName {
		return nil
	}
	_ = r.s.claims.release(ctx, claimRoleName, oldName, id)
	return nil
}

// Delete removes the role and takes it away from every user. It holds the
// role's striped lock, so it waits for an Update of the role in this
// process, including the move of its users to a new name.
func (r *Roles) Delete(ctx context.Context, id string) (*Role, error) {
	unlock, err := r.locks.lock(ctx, id)
	if err != nil {
		return nil, err
	}
	defer unlock()
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
