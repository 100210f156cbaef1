package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/averos/averos-auth/internal/accounts"
	"github.com/averos/averos-auth/storage"
)

// userInput is the checked content of a POST or PUT body for a user. A nil
// field was absent or null and changes nothing. Keys that are not listed
// here (entityName, instanceMetadata, createdBy, _id, dates and the like)
// are ignored.
type userInput struct {
	UserName        *string          `json:"userName" validate:"omitnil,username"`
	Email           *string          `json:"email" validate:"omitnil,max=254,email"`
	Password        *string          `json:"password" validate:"omitnil,max=1024"`
	FirstName       *string          `json:"firstName" validate:"omitnil,max=100,nocontrol"`
	LastName        *string          `json:"lastName" validate:"omitnil,max=100,nocontrol"`
	Gender          *string          `json:"gender" validate:"omitnil,omitempty,oneof=Male Female"`
	Birthdate       *string          `json:"birthdate" validate:"omitnil,max=64,nocontrol"`
	Telephone       *string          `json:"telephone" validate:"omitnil,max=32,nocontrol"`
	Mobile          *string          `json:"mobile" validate:"omitnil,max=32,nocontrol"`
	Fonction        *string          `json:"fonction" validate:"omitnil,max=100,nocontrol"`
	ProfileLanguage *string          `json:"profileLanguage" validate:"omitnil,omitempty,oneof=en fr de es ar cn jp nl no ru se"`
	Image           *string          `json:"image" validate:"omitnil,max=2048,nocontrol"`
	About           *string          `json:"about" validate:"omitnil,max=1000,nocontrol"`
	Address         *string          `json:"address" validate:"omitnil,max=200,nocontrol"`
	Address2        *string          `json:"address2" validate:"omitnil,max=200,nocontrol"`
	City            *string          `json:"city" validate:"omitnil,max=100,nocontrol"`
	Identifier      *identifierInput `json:"identifier" validate:"omitnil"`
	Roles           []roleRef        `json:"roles" validate:"omitnil,max=100"`
	AccountVerified *bool            `json:"accountVerified"`
	Disabled        *bool            `json:"disabled"`
	IsAccountLocked *bool            `json:"isAccountLocked"`
}

type identifierInput struct {
	UniqueID     *string `json:"uniqueID" validate:"omitnil,max=64,nocontrol"`
	UniqueIDType *string `json:"uniqueIdType" validate:"omitnil,omitempty,oneof=CIN Passeport RC"`
}

// roleRef names a role by id or by name, as a relation picker or an API
// caller sends it.
type roleRef struct {
	ID   string
	Name string
}

// profileKeys are the keys a user may change on their own account.
var profileKeys = []string{
	"firstName", "lastName", "gender", "birthdate", "telephone", "mobile", "fonction",
	"profileLanguage", "image", "about", "address", "address2", "city", "identifier",
}

// adminKeys are the keys only an administrator may set, besides profileKeys.
var adminKeys = []string{
	"userName", "email", "password", "roles", "accountVerified", "disabled", "isAccountLocked",
}

// stringField returns the field of in that a string key sets.
func (in *userInput) stringField(key string) **string {
	switch key {
	case "userName":
		return &in.UserName
	case "email":
		return &in.Email
	case "password":
		return &in.Password
	case "firstName":
		return &in.FirstName
	case "lastName":
		return &in.LastName
	case "gender":
		return &in.Gender
	case "birthdate":
		return &in.Birthdate
	case "telephone":
		return &in.Telephone
	case "mobile":
		return &in.Mobile
	case "fonction":
		return &in.Fonction
	case "profileLanguage":
		return &in.ProfileLanguage
	case "image":
		return &in.Image
	case "about":
		return &in.About
	case "address":
		return &in.Address
	case "address2":
		return &in.Address2
	case "city":
		return &in.City
	}
	return nil
}

func (in *userInput) boolField(key string) **bool {
	switch key {
	case "accountVerified":
		return &in.AccountVerified
	case "disabled":
		return &in.Disabled
	case "isAccountLocked":
		return &in.IsAccountLocked
	}
	return nil
}

// decodeUserInput reads the members of a user body whose keys are in
// allowed, checking the JSON type of each, and validates the result. Members
// with other keys are ignored whatever their content, so a self-service
// update cannot fail on a privileged key it may not set anyway.
func (a *API) decodeUserInput(members []member, allowed ...[]string) (*userInput, error) {
	in := &userInput{}
	for _, m := range members {
		if !keyAllowed(m.key, allowed) || isNull(m.value) {
			continue
		}
		switch {
		case in.stringField(m.key) != nil:
			s, err := decodeString(m.value, m.key)
			if err != nil {
				return nil, err
			}
			*in.stringField(m.key) = &s
		case in.boolField(m.key) != nil:
			b, err := decodeBool(m.value, m.key)
			if err != nil {
				return nil, err
			}
			*in.boolField(m.key) = &b
		case m.key == "identifier":
			id, err := decodeIdentifier(m.value)
			if err != nil {
				return nil, err
			}
			in.Identifier = id
		case m.key == "roles":
			refs, err := decodeRoleRefs(m.value, "roles")
			if err != nil {
				return nil, err
			}
			in.Roles = refs
		}
	}
	if err := accounts.Check(a.validate, in); err != nil {
		return nil, err
	}
	return in, nil
}

func keyAllowed(key string, lists [][]string) bool {
	for _, list := range lists {
		if slices.Contains(list, key) {
			return true
		}
	}
	return false
}

func decodeIdentifier(v json.RawMessage) (*identifierInput, error) {
	if t := jsonType(v); t != "object" {
		return nil, invalidInput("identifier must be an object, not %s", article(t))
	}
	members, err := decodeObject(v, "identifier")
	if err != nil {
		return nil, err
	}
	id := &identifierInput{}
	for _, m := range members {
		if isNull(m.value) {
			continue
		}
		var target **string
		switch m.key {
		case "uniqueID":
			target = &id.UniqueID
		case "uniqueIdType":
			target = &id.UniqueIDType
		default:
			continue
		}
		s, err := decodeString(m.value, "identifier."+m.key)
		if err != nil {
			return nil, err
		}
		*target = &s
	}
	return id, nil
}

// decodeRoleRefs reads a list of role references: objects with "_id" (the
// form relation pickers send) or "name", or strings, which are role names.
func decodeRoleRefs(v json.RawMessage, field string) ([]roleRef, error) {
	items, err := decodeArray(v, field)
	if err != nil {
		return nil, err
	}
	refs := make([]roleRef, 0, len(items))
	for i, item := range items {
		where := fmt.Sprintf("%s[%d]", field, i)
		switch jsonType(item) {
		case "string":
			name, err := decodeString(item, where)
			if err != nil {
				return nil, err
			}
			refs = append(refs, roleRef{Name: name})
		case "object":
			ref, err := decodeRoleObject(item, where)
			if err != nil {
				return nil, err
			}
			refs = append(refs, ref)
		default:
			return nil, invalidInput("%s must be a role object with _id or a role name, not %s",
				where, article(jsonType(item)))
		}
	}
	return refs, nil
}

func decodeRoleObject(item json.RawMessage, where string) (roleRef, error) {
	members, err := decodeObject(item, where)
	if err != nil {
		return roleRef{}, err
	}
	var ref roleRef
	for _, m := range members {
		switch m.key {
		case "_id":
			if ref.ID, err = decodeString(m.value, where+"._id"); err != nil {
				return roleRef{}, err
			}
		case "name":
			if ref.Name, err = decodeString(m.value, where+".name"); err != nil {
				return roleRef{}, err
			}
		}
	}
	if ref.ID == "" && ref.Name == "" {
		return roleRef{}, invalidInput("%s must have an _id or a name", where)
	}
	return ref, nil
}

// resolveRoles returns the names of the referenced roles. A reference with
// an _id is looked up by id, otherwise by name. A role that does not exist
// is an *inputError.
func (a *API) resolveRoles(ctx context.Context, refs []roleRef) ([]string, error) {
	names := make([]string, 0, len(refs))
	for _, ref := range refs {
		var (
			role *storage.Role
			err  error
		)
		if ref.ID != "" {
			role, err = a.store.Roles.Get(ctx, ref.ID)
		} else {
			role, err = a.store.Roles.GetByName(ctx, ref.Name)
		}
		if errors.Is(err, storage.ErrNotFound) {
			if ref.ID != "" {
				return nil, invalidInput("roles: no role has _id %q", ref.ID)
			}
			return nil, invalidInput("roles: role %q does not exist", ref.Name)
		}
		if err != nil {
			return nil, err
		}
		names = append(names, role.Name)
	}
	return uniqueNonEmpty(names), nil
}
