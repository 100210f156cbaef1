package admin

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/averos/averos-auth/internal/accounts"
	"github.com/averos/averos-auth/internal/httpserver"
	"github.com/averos/averos-auth/storage"
)

// roleInput is the checked content of a POST or PUT body for a role. A nil
// field was absent or null. Other keys (users, createdBy, ...) are ignored.
type roleInput struct {
	Name        *string `json:"name" validate:"omitnil,rolename"`
	Description *string `json:"description" validate:"omitnil,max=500,nocontrol"`
}

func (a *API) decodeRoleInput(members []member) (*roleInput, error) {
	in := &roleInput{}
	for _, m := range members {
		if isNull(m.value) {
			continue
		}
		switch m.key {
		case "name":
			s, err := decodeString(m.value, m.key)
			if err != nil {
				return nil, err
			}
			s = strings.TrimSpace(s)
			in.Name = &s
		case "description":
			s, err := decodeString(m.value, m.key)
			if err != nil {
				return nil, err
			}
			in.Description = &s
		}
	}
	if err := accounts.Check(a.validate, in); err != nil {
		return nil, err
	}
	return in, nil
}

// listRoles serves GET /uapi/roles/ with an optional filter and
// compositekeys (users_details, createdBy, updatedBy).
func (a *API) listRoles(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q, err := parseQuery(r, "filter", "compositekeys")
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}
	conds, err := parseFilter(q["filter"], roleFilterSchema)
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}
	roles, err := a.store.Roles.List(ctx, buildQuery(conds, roleFilterSchema, a.store.Now()), a.maxResults)
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}
	views, err := a.renderRoles(ctx, roles, compositeKeys(q))
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, listResponse{ReturnedEntities: views})
}

// getRole serves GET /uapi/roles/{id}.
func (a *API) getRole(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r, "compositekeys")
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}
	role, err := a.store.Roles.Get(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		a.writeError(w, r, err, "role")
		return
	}
	a.writeRole(w, r, http.StatusOK, role, compositeKeys(q))
}

func (a *API) writeRole(w http.ResponseWriter, r *http.Request, status int, role *storage.Role, keys map[string]bool) {
	views, err := a.renderRoles(r.Context(), []storage.Role{*role}, keys)
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}
	httpserver.WriteJSON(w, status, views[0])
}

// createRole serves POST /uapi/roles/ with the caller as createdBy.
func (a *API) createRole(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	members, err := readObject(r)
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}
	in, err := a.decodeRoleInput(members)
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}
	role, err := a.roles.Create(ctx, accounts.NewRole{
		Name:        deref(in.Name),
		Description: deref(in.Description),
		CreatedBy:   callerFrom(ctx).user.ID,
	})
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}
	a.writeRole(w, r, http.StatusCreated, role, nil)
}

// updateRole serves PUT /uapi/roles/{id}, a partial update of name and
// description. A new name is carried over to the role's users.
func (a *API) updateRole(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	members, err := readObject(r)
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}
	in, err := a.decodeRoleInput(members)
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}

	current, err := a.store.Roles.Get(ctx, id)
	if err != nil {
		a.writeError(w, r, err, "role")
		return
	}
	if in.Name != nil && *in.Name != current.Name && current.Name == a.adminRole {
		a.rejectAdminRoleChange(w)
		return
	}

	role, err := a.store.Roles.Update(ctx, id, func(role *storage.Role) error {
		if in.Name != nil {
			role.Name = *in.Name
		}
		if in.Description != nil {
			role.Description = *in.Description
		}
		role.UpdatedBy = callerFrom(ctx).user.ID
		return nil
	})
	if err != nil {
		a.writeError(w, r, err, "role")
		return
	}
	a.writeRole(w, r, http.StatusOK, role, nil)
}

// deleteRole serves DELETE /uapi/roles/{id}: it deletes the role, takes it
// away from every user and returns the deleted role.
func (a *API) deleteRole(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	current, err := a.store.Roles.Get(ctx, id)
	if err != nil {
		a.writeError(w, r, err, "role")
		return
	}
	if current.Name == a.adminRole {
		a.rejectAdminRoleChange(w)
		return
	}
	role, err := a.store.Roles.Delete(ctx, id)
	if err != nil {
		a.writeError(w, r, err, "role")
		return
	}
	a.logger(ctx).Info("deleted a role", zap.String("role", role.Name),
		zap.String("by", callerFrom(ctx).user.ID))
	a.writeRole(w, r, http.StatusOK, role, nil)
}

// rejectAdminRoleChange responds with 409, because renaming or deleting the
// administrator role would take administration away from everyone.
func (a *API) rejectAdminRoleChange(w http.ResponseWriter) {
	httpserver.WriteText(w, http.StatusConflict,
		"the role "+a.adminRole+" grants administration and cannot be renamed or deleted here; "+
			"change the admin.role setting first")
}
