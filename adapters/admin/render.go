package admin

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/averos/averos-auth/storage"
)

// userView is a user as the Averos User model reads it. It has no password
// hash, no token and no failed-login detail beyond isAccountLocked.
type userView struct {
	ID              string              `json:"_id"`
	UserName        string              `json:"userName"`
	Email           string              `json:"email"`
	FirstName       string              `json:"firstName,omitempty"`
	LastName        string              `json:"lastName,omitempty"`
	Gender          string              `json:"gender,omitempty"`
	Birthdate       string              `json:"birthdate,omitempty"`
	Telephone       string              `json:"telephone,omitempty"`
	Mobile          string              `json:"mobile,omitempty"`
	Fonction        string              `json:"fonction,omitempty"`
	ProfileLanguage string              `json:"profileLanguage,omitempty"`
	Image           string              `json:"image,omitempty"`
	About           string              `json:"about,omitempty"`
	Address         string              `json:"address,omitempty"`
	Address2        string              `json:"address2,omitempty"`
	City            string              `json:"city,omitempty"`
	Identifier      *storage.Identifier `json:"identifier,omitempty"`
	// Roles holds role names, or roleView values when expanded.
	Roles           any        `json:"roles"`
	IsAccountLocked bool       `json:"isAccountLocked"`
	AccountVerified bool       `json:"accountVerified"`
	Disabled        bool       `json:"disabled"`
	LastLoginDate   *time.Time `json:"lastLoginDate,omitempty"`
	// PasswordLastUpdateDate is when the password was last set.
	PasswordLastUpdateDate *time.Time `json:"passwordLastUpdateDate,omitempty"`
	CreatedAt              time.Time  `json:"createdAt"`
	UpdatedAt              time.Time  `json:"updatedAt"`
	// CreatedBy and UpdatedBy hold a user id, or a userRef when expanded.
	CreatedBy any `json:"createdBy,omitempty"`
	UpdatedBy any `json:"updatedBy,omitempty"`
}

// roleView is a role as the Averos Role model reads it.
type roleView struct {
	ID          string    `json:"_id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	CreatedBy   any       `json:"createdBy,omitempty"`
	UpdatedBy   any       `json:"updatedBy,omitempty"`
	// Users is set when the users_details relation is expanded.
	Users []userView `json:"users,omitempty"`
}

// userRef is an expanded createdBy or updatedBy relation. UserName is empty
// when that user no longer exists.
type userRef struct {
	ID       string `json:"_id"`
	UserName string `json:"userName,omitempty"`
}

// Relation names of the compositekeys query parameter.
const (
	relationRoles       = "roles"
	relationCreatedBy   = "createdBy"
	relationUpdatedBy   = "updatedBy"
	relationUsersDetail = "users_details"
)

func newUserView(u *storage.User, now time.Time) userView {
	v := userView{
		ID:                     u.ID,
		UserName:               u.UserName,
		Email:                  u.Email,
		FirstName:              u.FirstName,
		LastName:               u.LastName,
		Gender:                 u.Gender,
		Birthdate:              u.Birthdate,
		Telephone:              u.Telephone,
		Mobile:                 u.Mobile,
		Fonction:               u.Fonction,
		ProfileLanguage:        u.ProfileLanguage,
		Image:                  u.Image,
		About:                  u.About,
		Address:                u.Address,
		Address2:               u.Address2,
		City:                   u.City,
		Identifier:             u.Identifier,
		Roles:                  nonNil(u.Roles),
		IsAccountLocked:        u.IsLocked(now),
		AccountVerified:        u.AccountVerified,
		Disabled:               u.Disabled,
		LastLoginDate:          u.LastLoginAt,
		PasswordLastUpdateDate: u.PasswordUpdatedAt,
		CreatedAt:              u.CreatedAt,
		UpdatedAt:              u.UpdatedAt,
	}
	if u.CreatedBy != "" {
		v.CreatedBy = u.CreatedBy
	}
	if u.UpdatedBy != "" {
		v.UpdatedBy = u.UpdatedBy
	}
	return v
}

func newRoleView(r *storage.Role) roleView {
	v := roleView{
		ID:          r.ID,
		Name:        r.Name,
		Description: r.Description,
		CreatedAt:   r.CreatedAt,
		UpdatedAt:   r.UpdatedAt,
	}
	if r.CreatedBy != "" {
		v.CreatedBy = r.CreatedBy
	}
	if r.UpdatedBy != "" {
		v.UpdatedBy = r.UpdatedBy
	}
	return v
}

// renderUsers converts users to views and expands the relations named in
// keys: roles (role objects), createdBy and updatedBy ({_id, userName}).
func (a *API) renderUsers(ctx context.Context, users []storage.User, keys map[string]bool) ([]userView, error) {
	now := a.store.Now()
	views := make([]userView, len(users))
	for i := range users {
		views[i] = newUserView(&users[i], now)
	}

	if keys[relationRoles] {
		var names []string
		for _, u := range users {
			names = append(names, u.Roles...)
		}
		byName, err := a.rolesByName(ctx, names)
		if err != nil {
			return nil, err
		}
		for i, u := range users {
			roles := make([]roleView, 0, len(u.Roles))
			for _, name := range u.Roles {
				if role, ok := byName[name]; ok {
					roles = append(roles, role)
				}
			}
			views[i].Roles = roles
		}
	}

	if keys[relationCreatedBy] || keys[relationUpdatedBy] {
		var ids []string
		for _, u := range users {
			ids = append(ids, u.CreatedBy, u.UpdatedBy)
		}
		refs, err := a.userRefs(ctx, ids)
		if err != nil {
			return nil, err
		}
		for i, u := range users {
			if keys[relationCreatedBy] && u.CreatedBy != "" {
				views[i].CreatedBy = refs[u.CreatedBy]
			}
			if keys[relationUpdatedBy] && u.UpdatedBy != "" {
				views[i].UpdatedBy = refs[u.UpdatedBy]
			}
		}
	}
	return views, nil
}

// renderRoles converts roles to views and expands the relations named in
// keys: users_details (the users who have the role), createdBy, updatedBy.
func (a *API) renderRoles(ctx context.Context, roles []storage.Role, keys map[string]bool) ([]roleView, error) {
	views := make([]roleView, len(roles))
	for i := range roles {
		views[i] = newRoleView(&roles[i])
	}

	if keys[relationUsersDetail] && len(roles) > 0 {
		names := make([]string, len(roles))
		for i, r := range roles {
			names[i] = r.Name
		}
		// TODO: users_details lists at most max-results users over all the
		// listed roles together, so a role with more users shows a partial
		// list.
		users, err := a.store.Users.List(ctx, bson.D{{Key: "roles", Value: bson.D{{Key: "$in", Value: names}}}}, a.maxResults)
		if err != nil {
			return nil, err
		}
		now := a.store.Now()
		byRole := map[string][]userView{}
		for i := range users {
			for _, name := range users[i].Roles {
				byRole[name] = append(byRole[name], newUserView(&users[i], now))
			}
		}
		for i, r := range roles {
			views[i].Users = byRole[r.Name]
			if views[i].Users == nil {
				views[i].Users = []userView{}
			}
		}
	}

	if keys[relationCreatedBy] || keys[relationUpdatedBy] {
		var ids []string
		for _, r := range roles {
			ids = append(ids, r.CreatedBy, r.UpdatedBy)
		}
		refs, err := a.userRefs(ctx, ids)
		if err != nil {
			return nil, err
		}
		for i, r := range roles {
			if keys[relationCreatedBy] && r.CreatedBy != "" {
				views[i].CreatedBy = refs[r.CreatedBy]
			}
			if keys[relationUpdatedBy] && r.UpdatedBy != "" {
				views[i].UpdatedBy = refs[r.UpdatedBy]
			}
		}
	}
	return views, nil
}

// rolesByName reads the named roles in one query.
func (a *API) rolesByName(ctx context.Context, names []string) (map[string]roleView, error) {
	names = uniqueNonEmpty(names)
	byName := map[string]roleView{}
	if len(names) == 0 {
		return byName, nil
	}
	roles, err := a.store.Roles.List(ctx, bson.D{{Key: "name", Value: bson.D{{Key: "$in", Value: names}}}}, len(names))
	if err != nil {
		return nil, err
	}
	for i := range roles {
		byName[roles[i].Name] = newRoleView(&roles[i])
	}
	return byName, nil
}

// userRefs reads the user names of ids in one query. A user that no longer
// exists gets a reference with its id only.
func (a *API) userRefs(ctx context.Context, ids []string) (map[string]userRef, error) {
	ids = uniqueNonEmpty(ids)
	refs := map[string]userRef{}
	if len(ids) == 0 {
		return refs, nil
	}
	users, err := a.store.Users.List(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}, len(ids))
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		refs[id] = userRef{ID: id}
	}
	for _, u := range users {
		refs[u.ID] = userRef{ID: u.ID, UserName: u.UserName}
	}
	return refs, nil
}

func uniqueNonEmpty(items []string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, it := range items {
		if it != "" && !seen[it] {
			seen[it] = true
			out = append(out, it)
		}
	}
	return out
}

func nonNil(items []string) []string {
	if items == nil {
		return []string{}
	}
	return items
}
