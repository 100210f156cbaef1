package accounts

import (
	"context"
	"strings"

	"github.com/go-playground/validator/v10"

	"github.com/averos/averos-auth/storage"
)

// Roles creates and changes roles.
type Roles struct {
	store    *storage.Store
	validate *validator.Validate
}

// NewRoles returns the role service.
func NewRoles(store *storage.Store) *Roles {
	return &Roles{store: store, validate: newValidator()}
}

// NewRole is the input for creating a role.
type NewRole struct {
	Name        string `json:"name" validate:"required,rolename"`
	Description string `json:"description" validate:"max=500,nocontrol"`
	CreatedBy   string `json:"-"`
}

// Create validates in and stores the role. A taken name is an
// *storage.AlreadyExistsError.
func (s *Roles) Create(ctx context.Context, in NewRole) (*storage.Role, error) {
	in.Name = strings.TrimSpace(in.Name)
	if err := check(s.validate, in); err != nil {
		return nil, err
	}
	role := &storage.Role{Name: in.Name, Description: in.Description, CreatedBy: in.CreatedBy, UpdatedBy: in.CreatedBy}
	if err := s.store.Roles.Create(ctx, role); err != nil {
		return nil, err
	}
	return role, nil
}
