package admin

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/go-chi/chi/v5"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.uber.org/zap"

	"github.com/averos/averos-auth/internal/accounts"
	"github.com/averos/averos-auth/internal/httpserver"
	"github.com/averos/averos-auth/storage"
)

// maxLockoutSlots is the highest lockout.max-failures the configuration
// accepts. Unlocking frees that many failure slots, which covers every
// configured limit.
const maxLockoutSlots = 100

// adminLockDuration is how long an administrator's lock lasts: until an
// administrator unlocks the account, in practice.
const adminLockDuration = 100 * 365 * 24 * time.Hour

// listUsers serves GET /uapi/users/. An administrator may use any filter,
// any other user only {"userName":{"$eq":"<own user name>"}}, which the Averos
// profile screen sends, and gets their own record.
func (a *API) listUsers(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerFrom(ctx)
	q, err := parseQuery(r, "filter", "compositekeys")
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}
	conds, err := parseFilter(q["filter"], userFilterSchema)
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}

	query := buildQuery(conds, userFilterSchema, a.store.Now())
	if !c.isAdmin {
		if !isOwnUserFilter(conds, c.user) {
			forbidden(w)
			return
		}
		query = bson.D{{Key: "_id", Value: c.user.ID}}
	}

	users, err := a.store.Users.List(ctx, query, a.maxResults)
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}
	views, err := a.renderUsers(ctx, users, compositeKeys(q))
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, listResponse{ReturnedEntities: views})
}

// isOwnUserFilter reports whether conds is exactly "userName equals the
// caller's user name", compared as user names are (NFKC, case folded).
func isOwnUserFilter(conds []condition, user *storage.User) bool {
	return len(conds) == 1 && conds[0].field == "userName" && conds[0].op == opEq &&
		storage.NormalizeUserName(conds[0].values[0]) == storage.NormalizeUserName(user.UserName)
}

// getUser serves GET /uapi/users/{id}: any user for an administrator, the
// caller's own record for others.
func (a *API) getUser(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerFrom(ctx)
	id := chi.URLParam(r, "id")
	if !c.isAdmin && id != c.user.ID {
		forbidden(w)
		return
	}
	q, err := parseQuery(r, "compositekeys")
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}
	u, err := a.store.Users.Get(ctx, id)
	if err != nil {
		a.writeError(w, r, err, "user")
		return
	}
	a.writeUser(w, r, http.StatusOK, u, compositeKeys(q))
}

func (a *API) writeUser(w http.ResponseWriter, r *http.Request, status int, u *storage.User, keys map[string]bool) {
	views, err := a.renderUsers(r.Context(), []storage.User{*u}, keys)
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}
	httpserver.WriteJSON(w, status, views[0])
}

// createUser serves POST /uapi/users/ with the caller as createdBy.
// userName, email and password are required.
func (a *API) createUser(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerFrom(ctx)
	members, err := readObject(r)
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}
	in, err := a.decodeUserInput(members, profileKeys, adminKeys)
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}
	roleNames, err := a.resolveRoles(ctx, in.Roles)
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}

	created, err := a.users.Create(ctx, accounts.NewUser{
		UserName:        deref(in.UserName),
		Email:           deref(in.Email),
		Password:        deref(in.Password),
		FirstName:       deref(in.FirstName),
		LastName:        deref(in.LastName),
		Gender:          deref(in.Gender),
		Birthdate:       deref(in.Birthdate),
		City:            deref(in.City),
		ProfileLanguage: deref(in.ProfileLanguage),
		Roles:           roleNames,
		AccountVerified: in.AccountVerified != nil && *in.AccountVerified,
		CreatedBy:       c.user.ID,
	})
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}

	// accounts.NewUser has no place for the other profile fields and the
	// account flags, so a second write stores them.
	rest := *in
	rest.UserName, rest.Email, rest.Password, rest.Roles, rest.AccountVerified = nil, nil, nil, nil, nil
	u, err := a.applyUserInput(ctx, created.ID, &rest, nil, true, c.user.ID)
	if err != nil {
		a.writeError(w, r, err, "user")
		return
	}
	a.writeUser(w, r, http.StatusCreated, u, nil)
}

// updateUser serves PUT /uapi/users/{id}, a partial update with the caller
// as updatedBy. An administrator may change every field of userInput, and
// roles are added to the user's set. A user changing their own record may
// change only the profile fields. Their other keys are ignored, and the
// stored data stays as it was.
func (a *API) updateUser(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerFrom(ctx)
	id := chi.URLParam(r, "id")
	if !c.isAdmin && id != c.user.ID {
		forbidden(w)
		return
	}
	members, err := readObject(r)
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}
	allowed := [][]string{profileKeys}
	if c.isAdmin {
		allowed = append(allowed, adminKeys)
	}
	in, err := a.decodeUserInput(members, allowed...)
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}
	roleNames, err := a.resolveRoles(ctx, in.Roles)
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}
	if in.Password != nil {
		// Check the policy before any write, so that a rejected password
		// leaves the other fields unchanged too.
		current, err := a.store.Users.Get(ctx, id)
		if err != nil {
			a.writeError(w, r, err, "user")
			return
		}
		userName, email := current.UserName, current.Email
		if in.UserName != nil {
			userName = *in.UserName
		}
		if in.Email != nil {
			email = *in.Email
		}
		if err := a.users.CheckPassword(*in.Password, userName, email); err != nil {
			a.writeError(w, r, err, "")
			return
		}
	}

	u, err := a.applyUserInput(ctx, id, in, roleNames, c.isAdmin, c.user.ID)
	if err != nil {
		a.writeError(w, r, err, "user")
		return
	}
	a.writeUser(w, r, http.StatusOK, u, nil)
}

// applyUserInput stores the checked input for user id and carries out what
// follows from it: a new password is hashed, disabling, locking or a new
// password revokes every token of the user, and unlocking clears the failed
// login count. Fields an administrator alone may set are applied only when
// asAdmin is true.
func (a *API) applyUserInput(ctx context.Context, id string, in *userInput, addRoles []string,
	asAdmin bool, updatedBy string) (*storage.User, error) {
	var revoke, unlock bool
	now := a.store.Now().UTC().Truncate(time.Millisecond)
	u, err := a.store.Users.Update(ctx, id, func(u *storage.User) error {
		applyProfile(u, in)
		if asAdmin {
			revoke, unlock = applyAccountChanges(u, in, addRoles, now)
		}
		u.UpdatedBy = updatedBy
		return nil
	})
	if err != nil {
		return nil, err
	}

	if asAdmin && in.Password != nil {
		if u, err = a.users.SetPassword(ctx, id, *in.Password, updatedBy); err != nil {
			return nil, err
		}
		revoke = true
	}
	if unlock {
		if err := a.store.Lockout.Unlock(ctx, id, maxLockoutSlots); err != nil {
			return nil, err
		}
	}
	if revoke {
		if err := a.tokens.RevokeUserTokens(ctx, id); err != nil {
			return nil, err
		}
		a.logger(ctx).Info("revoked every token of a user", zap.String("user_id", id),
			zap.String("by", updatedBy))
		// Revocation may have written the user again.
		if u, err = a.store.Users.Get(ctx, id); err != nil {
			return nil, err
		}
	}
	return u, nil
}

func applyProfile(u *storage.User, in *userInput) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&u.FirstName, in.FirstName)
	set(&u.LastName, in.LastName)
	set(&u.Gender, in.Gender)
	set(&u.Birthdate, in.Birthdate)
	set(&u.Telephone, in.Telephone)
	set(&u.Mobile, in.Mobile)
	set(&u.Fonction, in.Fonction)
	set(&u.ProfileLanguage, in.ProfileLanguage)
	set(&u.Image, in.Image)
	set(&u.About, in.About)
	set(&u.Address, in.Address)
	set(&u.Address2, in.Address2)
	set(&u.City, in.City)
	if in.Identifier != nil {
		id := storage.Identifier{}
		if u.Identifier != nil {
			id = *u.Identifier
		}
		set(&id.UniqueID, in.Identifier.UniqueID)
		set(&id.UniqueIDType, in.Identifier.UniqueIDType)
		u.Identifier = &id
		if id == (storage.Identifier{}) {
			u.Identifier = nil
		}
	}
}

// applyAccountChanges applies the fields only an administrator may set. It
// reports whether the user's tokens must be revoked (newly disabled or
// locked) and whether the failed-login count must be cleared (unlocked).
func applyAccountChanges(u *storage.User, in *userInput, addRoles []string, now time.Time) (revoke, unlock bool) {
	if in.UserName != nil {
		u.UserName = *in.UserName
	}
	if in.Email != nil {
		u.Email = *in.Email
	}
	if in.AccountVerified != nil {
		u.AccountVerified = *in.AccountVerified
	}
	if in.Disabled != nil {
		revoke = *in.Disabled && !u.Disabled
		u.Disabled = *in.Disabled
	}
	if in.IsAccountLocked != nil {
		if *in.IsAccountLocked {
			if !u.IsLocked(now) {
				revoke = true
				until := now.Add(adminLockDuration)
				u.LockedUntil = &until
			}
		} else {
			u.LockedUntil = nil
			unlock = true
		}
	}
	for _, name := range addRoles {
		if !slices.Contains(u.Roles, name) {
			u.Roles = append(u.Roles, name)
		}
	}
	return revoke, unlock
}

// deleteUser serves DELETE /uapi/users/{id}: it revokes every token of the
// user, deletes the user and returns the deleted record.
func (a *API) deleteUser(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	if _, err := a.store.Users.Get(ctx, id); err != nil {
		a.writeError(w, r, err, "user")
		return
	}
	if err := a.tokens.RevokeUserTokens(ctx, id); err != nil {
		a.writeError(w, r, err, "user")
		return
	}
	u, err := a.store.Users.Delete(ctx, id)
	if err != nil {
		a.writeError(w, r, err, "user")
		return
	}
	a.logger(ctx).Info("deleted a user", zap.String("user_id", id),
		zap.String("by", callerFrom(ctx).user.ID))
	a.writeUser(w, r, http.StatusOK, u, nil)
}

// removeUserRelation serves DELETE /uapi/users/{id}/collection/{relation}
// with cids=[{"_id":"..."}]: it removes those roles from the user. roles is
// the only relation.
func (a *API) removeUserRelation(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	if relation := chi.URLParam(r, "relation"); relation != relationRoles {
		httpserver.WriteText(w, http.StatusNotFound, "unknown relation: the only user relation is roles")
		return
	}

	q, err := parseQuery(r, "cids")
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}
	if q["cids"] == "" {
		a.writeError(w, r, invalidInput("cids is required: a JSON array of role references such as [{\"_id\":\"...\"}]"), "")
		return
	}
	refs, err := decodeRoleRefs([]byte(q["cids"]), "cids")
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}
	names, err := a.resolveRoles(ctx, refs)
	if err != nil {
		a.writeError(w, r, err, "")
		return
	}

	u, err := a.store.Users.Update(ctx, id, func(u *storage.User) error {
		u.Roles = slices.DeleteFunc(u.Roles, func(role string) bool { return slices.Contains(names, role) })
		u.UpdatedBy = callerFrom(ctx).user.ID
		return nil
	})
	if err != nil {
		a.writeError(w, r, err, "user")
		return
	}
	a.writeUser(w, r, http.StatusOK, u, nil)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
