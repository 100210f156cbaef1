package storage_test

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/averos/averos-auth/storage"
	"github.com/averos/averos-auth/storage/storagetest"
)

func createRole(t *testing.T, s *storage.Store, name string) *storage.Role {
	t.Helper()
	role := &storage.Role{Name: name, Description: "created"}
	if err := s.Roles.Create(ctx(t), role); err != nil {
		t.Fatalf("create role %s: %v", name, err)
	}
	return role
}

func getRole(t *testing.T, s *storage.Store, id string) *storage.Role {
	t.Helper()
	role, err := s.Roles.Get(ctx(t), id)
	if err != nil {
		t.Fatalf("get role %s: %v", id, err)
	}
	return role
}

// createUserWithRole creates a user who has the role name.
func createUserWithRole(t *testing.T, s *storage.Store, userName, role string) *storage.User {
	t.Helper()
	u := newUser(userName, userName+"@example.com")
	u.Roles = []string{role}
	if err := s.Users.Create(ctx(t), u); err != nil {
		t.Fatalf("create user %s: %v", userName, err)
	}
	return u
}

// assertRoleName checks that the role is found under name.
func assertRoleName(t *testing.T, s *storage.Store, name, id string) {
	t.Helper()
	got, err := s.Roles.GetByName(ctx(t), name)
	if err != nil {
		t.Errorf("GetByName(%s): %v", name, err)
		return
	}
	if got.ID != id {
		t.Errorf("GetByName(%s) = role %s, want %s", name, got.ID, id)
	}
}

func TestRoleCreateStoresRev(t *testing.T) {
	s := storagetest.New(t)
	role := createRole(t, s, "rev")
	if got := getRole(t, s, role.ID).Rev; got != 1 {
		t.Errorf("rev after create = %d, want 1", got)
	}
	assertNoJSONKey(t, role, "rev")
}

// Three updates of the same role that each set another field must all
// survive.
func TestRoleUpdateConcurrentFields(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	for round := range 12 {
		role := createRole(t, s, fmt.Sprintf("fields%d", round))
		set := func(field func(role *storage.Role)) func() error {
			return func() error {
				_, err := s.Roles.Update(c, role.ID, func(role *storage.Role) error {
					field(role)
					return nil
				})
				return err
			}
		}
		atOnce(t,
			set(func(role *storage.Role) { role.Description = "edited" }),
			set(func(role *storage.Role) { role.CreatedBy = "creator" }),
			set(func(role *storage.Role) { role.UpdatedBy = "editor" }))

		got := getRole(t, s, role.ID)
		if got.Description != "edited" {
			t.Errorf("round %d: description = %q, want edited", round, got.Description)
		}
		if got.CreatedBy != "creator" {
			t.Errorf("round %d: createdBy = %q, want creator", round, got.CreatedBy)
		}
		if got.UpdatedBy != "editor" {
			t.Errorf("round %d: updatedBy = %q, want editor", round, got.UpdatedBy)
		}
		if got.Rev != 4 {
			t.Errorf("round %d: rev = %d, want 4", round, got.Rev)
		}
	}
}

// A rename and a description edit of the same role at the same time must
// keep both, and the role's users must end with the new name.
func TestRoleRenameDuringEdit(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	for round := range 12 {
		oldName, newName := fmt.Sprintf("ops%d", round), fmt.Sprintf("operators%d", round)
		role := createRole(t, s, oldName)
		u := createUserWithRole(t, s, fmt.Sprintf("member%d", round), oldName)

		atOnce(t,
			func() error {
				_, err := s.Roles.Update(c, role.ID, func(role *storage.Role) error { role.Name = newName; return nil })
				return err
			},
			func() error {
				_, err := s.Roles.Update(c, role.ID, func(role *storage.Role) error {
					role.Description = "edited"
					return nil
				})
				return err
			})

		got := getRole(t, s, role.ID)
		if got.Name != newName {
			t.Errorf("round %d: name = %q, want %q", round, got.Name, newName)
		}
		if got.Description != "edited" {
			t.Errorf("round %d: description = %q, want edited", round, got.Description)
		}
		if roles := getUser(t, s, u.ID).Roles; !slices.Equal(roles, []string{newName}) {
			t.Errorf("round %d: user roles = %v, want [%s]", round, roles, newName)
		}
		assertRoleName(t, s, newName, role.ID)
		if _, err := s.Roles.GetByName(c, oldName); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("round %d: GetByName(%s): err = %v, want ErrNotFound", round, oldName, err)
		}
	}
}

// A delete racing a rename of the same role must leave the users with
// neither name.
func TestRoleDeleteDuringRename(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	for round := range 12 {
		oldName, newName := fmt.Sprintf("temp%d", round), fmt.Sprintf("renamed%d", round)
		role := createRole(t, s, oldName)
		u := createUserWithRole(t, s, fmt.Sprintf("holder%d", round), oldName)

		atOnce(t,
			func() error {
				_, err := s.Roles.Update(c, role.ID, func(role *storage.Role) error { role.Name = newName; return nil })
				if errors.Is(err, storage.ErrNotFound) {
					return nil // the delete came first
				}
				return err
			},
			func() error {
				_, err := s.Roles.Delete(c, role.ID)
				return err
			})

		if roles := getUser(t, s, u.ID).Roles; len(roles) != 0 {
			t.Errorf("round %d: user roles = %v, want none", round, roles)
		}
		if _, err := s.Roles.Get(c, role.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("round %d: get deleted role: err = %v, want ErrNotFound", round, err)
		}
		for _, name := range []string{oldName, newName} {
			if err := s.Roles.Create(c, &storage.Role{Name: name}); err != nil {
				t.Errorf("round %d: create role %s after the delete: %v", round, name, err)
			}
		}
	}
}

// A write of another Store between the read and the write of an Update
// makes the Update read again and repeat its change, so both writes
// survive. Each case renames the role in one of the two writes.
func TestRoleUpdateRetriesAfterWrite(t *testing.T) {
	s := storagetest.New(t)
	second := openSecondStore(t, s)
	rename := func(name string) func(role *storage.Role) error {
		return func(role *storage.Role) error { role.Name = name; return nil }
	}
	describe := func(role *storage.Role) error { role.Description = "edited"; return nil }
	cases := []struct {
		name          string
		first, second func(newName string) func(role *storage.Role) error
	}{
		{"rename after edit",
			rename,
			func(string) func(role *storage.Role) error { return describe }},
		{"edit after rename",
			func(string) func(role *storage.Role) error { return describe },
			rename},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ctx(t)
			oldName, newName := fmt.Sprintf("retry%d", i), fmt.Sprintf("retried%d", i)
			role := createRole(t, s, oldName)
			u := createUserWithRole(t, s, fmt.Sprintf("retry%d", i), oldName)

			calls := 0
			got, err := s.Roles.Update(c, role.ID, func(role *storage.Role) error {
				calls++
				if calls == 1 {
					if _, err := second.Roles.Update(c, role.ID, tc.second(newName)); err != nil {
						t.Fatalf("concurrent update: %v", err)
					}
				}
				return tc.first(newName)(role)
			})
			if err != nil {
				t.Fatalf("update: %v", err)
			}
			if calls != 2 {
				t.Errorf("change called %d times, want 2", calls)
			}
			stored := getRole(t, s, role.ID)
			if stored.Name != newName {
				t.Errorf("name = %q, want %q", stored.Name, newName)
			}
			if stored.Description != "edited" {
				t.Errorf("description = %q, want edited", stored.Description)
			}
			if stored.Rev != 3 || got.Rev != 3 {
				t.Errorf("stored rev = %d, returned rev = %d; want 3", stored.Rev, got.Rev)
			}
			if roles := getUser(t, s, u.ID).Roles; !slices.Equal(roles, []string{newName}) {
				t.Errorf("user roles = %v, want [%s]", roles, newName)
			}
			assertRoleName(t, s, newName, role.ID)
			if err := s.Roles.Create(c, &storage.Role{Name: oldName}); err != nil {
				t.Errorf("create role with the old name: %v", err)
			}
		})
	}
}

// A name claimed for an attempt that lost its race must be released when
// the next attempt writes another name.
func TestRoleUpdateRetryReleasesClaim(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	roles := s.Database().Collection("roles")
	role := createRole(t, s, "before")
	u := createUserWithRole(t, s, "claims", "before")

	calls := 0
	_, err := s.Roles.Update(c, role.ID, func(role *storage.Role) error {
		calls++
		if calls == 1 {
			writeRaw(t, roles, role.ID, bson.D{{Key: "description", Value: "raced"}})
			role.Name = "first-try"
			return nil
		}
		role.Name = "second-try"
		return nil
	})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if calls != 2 {
		t.Errorf("change called %d times, want 2", calls)
	}
	assertRoleName(t, s, "second-try", role.ID)
	if got := getRole(t, s, role.ID); got.Description != "raced" {
		t.Errorf("description = %q, want the concurrent write kept", got.Description)
	}
	if roles := getUser(t, s, u.ID).Roles; !slices.Equal(roles, []string{"second-try"}) {
		t.Errorf("user roles = %v, want [second-try]", roles)
	}
	// The claims of the lost attempt and of the old name are free again.
	for _, name := range []string{"first-try", "before"} {
		if err := s.Roles.Create(c, &storage.Role{Name: name}); err != nil {
			t.Errorf("create role %s: %v", name, err)
		}
	}
}

// A name claimed for a lost attempt stays claimed when a later attempt
// finds the role stored with that name, written by another writer that
// relied on the claim.
func TestRoleUpdateRetryKeepsStoredName(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	roles := s.Database().Collection("roles")
	role := createRole(t, s, "start")

	calls := 0
	got, err := s.Roles.Update(c, role.ID, func(role *storage.Role) error {
		calls++
		switch calls {
		case 1:
			writeRaw(t, roles, role.ID, bson.D{{Key: "description", Value: "raced"}})
			role.Name = "target"
		case 2:
			writeRaw(t, roles, role.ID, bson.D{{Key: "name", Value: "target"}})
			role.UpdatedBy = "editor"
		default:
			role.UpdatedBy = "editor"
		}
		return nil
	})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if calls != 3 {
		t.Errorf("change called %d times, want 3", calls)
	}
	if got.Name != "target" || got.UpdatedBy != "editor" {
		t.Errorf("returned role: name = %q, updatedBy = %q; want target, editor", got.Name, got.UpdatedBy)
	}
	assertRoleName(t, s, "target", role.ID)
	if err := s.Roles.Create(c, &storage.Role{Name: "target"}); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("create a second role named target: err = %v, want ErrAlreadyExists", err)
	}
}

// A rename back to the old name by another process, while an Update moves
// the users to the new name, relies on the claim of the old name, so the
// Update must not release it. The second Store writes from inside the clock
// of the first, which AddRoles reads while it moves a user. The user ends
// with the new name, the gap marked in Roles.finishRename, so the test does
// not check the users.
func TestRoleRenameBackKeepsClaim(t *testing.T) {
	var armed atomic.Bool
	var renameBack func() bool
	s := storagetest.New(t, storagetest.Options{Now: func() time.Time {
		if armed.Load() && renameBack() {
			armed.Store(false)
		}
		return time.Now()
	}})
	c := ctx(t)
	second := openSecondStore(t, s)
	role := createRole(t, s, "original")
	createUserWithRole(t, s, "mover", "original")

	// renameBack waits until the role is stored with the new name, which
	// happens before the users are moved.
	renameBack = func() bool {
		stored, err := second.Roles.Get(c, role.ID)
		if err != nil || stored.Name != "interim" {
			return false
		}
		_, err = second.Roles.Update(c, role.ID, func(role *storage.Role) error { role.Name = "original"; return nil })
		if err != nil {
			t.Errorf("rename back: %v", err)
		}
		return true
	}
	armed.Store(true)
	if _, err := s.Roles.Update(c, role.ID, func(role *storage.Role) error { role.Name = "interim"; return nil }); err != nil {
		t.Fatalf("rename: %v", err)
	}
	if armed.Load() {
		t.Fatal("the second store did not rename the role back")
	}

	if got := getRole(t, s, role.ID); got.Name != "original" {
		t.Errorf("name = %q, want original", got.Name)
	}
	assertRoleName(t, s, "original", role.ID)
	if err := s.Roles.Create(c, &storage.Role{Name: "original"}); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("create a second role named original: err = %v, want ErrAlreadyExists", err)
	}
	if err := s.Roles.Create(c, &storage.Role{Name: "interim"}); err != nil {
		t.Errorf("create role interim: %v", err)
	}
}

// An Update that loses every race gives up with ErrConflict, changes
// nothing and releases the name it claimed.
func TestRoleUpdateConflictGivesUp(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	roles := s.Database().Collection("roles")
	role := createRole(t, s, "busy")

	calls := 0
	_, err := s.Roles.Update(c, role.ID, func(role *storage.Role) error {
		calls++
		writeRaw(t, roles, role.ID, bson.D{{Key: "description", Value: fmt.Sprint(calls)}})
		role.Name = "wanted"
		return nil
	})
	if !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	if calls < 2 {
		t.Errorf("change called %d times, want retries", calls)
	}
	if got := getRole(t, s, role.ID); got.Name != "busy" {
		t.Errorf("name = %q, want busy (unchanged)", got.Name)
	}
	assertRoleName(t, s, "busy", role.ID)
	if err := s.Roles.Create(c, &storage.Role{Name: "wanted"}); err != nil {
		t.Errorf("name of the failed update stays taken: %v", err)
	}
}

// A role written by a build without revisions has no rev field. Update
// must still change it and start its revisions.
func TestRoleUpdateWithoutRev(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)
	id := storage.NewID()
	_, err := s.Database().Collection("roles").InsertOne(c, bson.D{
		{Key: "_id", Value: id},
		{Key: "name", Value: "legacy"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Roles.Update(c, id, func(role *storage.Role) error { role.Description = "kept"; return nil })
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	stored := getRole(t, s, id)
	if stored.Description != "kept" {
		t.Errorf("description = %q, want kept", stored.Description)
	}
	if stored.Rev != 1 || got.Rev != 1 {
		t.Errorf("stored rev = %d, returned rev = %d; want 1", stored.Rev, got.Rev)
	}
}

func TestRoleUpdateDeleted(t *testing.T) {
	s := storagetest.New(t)
	c := ctx(t)

	role := createRole(t, s, "gone")
	if _, err := s.Roles.Delete(c, role.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.Roles.Update(c, role.ID, func(role *storage.Role) error { role.Description = "x"; return nil })
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("update after delete: err = %v, want ErrNotFound", err)
	}

	// Deleted between the read and the write of the first attempt.
	role = createRole(t, s, "going")
	roles := s.Database().Collection("roles")
	_, err = s.Roles.Update(c, role.ID, func(role *storage.Role) error {
		if _, err := roles.DeleteOne(c, bson.D{{Key: "_id", Value: role.ID}}); err != nil {
			t.Fatal(err)
		}
		role.Name = "renamed-going"
		return nil
	})
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("update during delete: err = %v, want ErrNotFound", err)
	}
	if err := s.Roles.Create(c, &storage.Role{Name: "renamed-going"}); err != nil {
		t.Errorf("name claimed by the failed update stays taken: %v", err)
	}
}
