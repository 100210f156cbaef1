package admin_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/averos/averos-auth/internal/accounts"
	"github.com/averos/averos-auth/oauth"
	"github.com/averos/averos-auth/storage"
)

func TestSelfServiceUpdateIgnoresPrivilegedKeys(t *testing.T) {
	e := newEnv(t)
	before := e.stored(e.user.ID)

	// The body mixes profile fields with every privileged key and the junk
	// the Averos client adds.
	body := `{
		"_id": "000000000000000000000000",
		"userName": "ada2", "email": "other@example.test",
		"password": "Newpassword1", "passwordHash": "$argon2id$forged",
		"roles": [{"_id": "` + e.admin.ID + `"}, "admin"],
		"isAccountLocked": true, "accountVerified": false, "disabled": true,
		"createdAt": "2001-01-01T00:00:00Z", "createdBy": {"userName": "someone"},
		"updatedBy": {"token": "x", "userName": "root"},
		"entityName": "User", "instanceMetadata": {"x": 1},
		"firstName": "Augusta", "city": "Paris", "about": null,
		"identifier": {"uniqueID": "A123", "uniqueIdType": "CIN"}
	}`
	r := e.call(http.MethodPut, "/uapi/users/"+e.user.ID, e.userToken, body)
	wantStatus(t, r, http.StatusOK)
	if r.str("firstName") != "Augusta" || r.str("city") != "Paris" {
		t.Errorf("response = %s, want the new firstName and city", r.raw)
	}

	after := e.stored(e.user.ID)
	if after.FirstName != "Augusta" || after.City != "Paris" {
		t.Errorf("stored firstName, city = %q, %q; want Augusta, Paris", after.FirstName, after.City)
	}
	if after.Identifier == nil || after.Identifier.UniqueID != "A123" || after.Identifier.UniqueIDType != "CIN" {
		t.Errorf("stored identifier = %+v, want A123 CIN", after.Identifier)
	}
	if after.LastName != before.LastName {
		t.Errorf("lastName = %q, want it unchanged (%q)", after.LastName, before.LastName)
	}
	if after.ID != before.ID || after.UserName != before.UserName || after.Email != before.Email {
		t.Errorf("identity changed: %s %s %s", after.ID, after.UserName, after.Email)
	}
	if after.PasswordHash != before.PasswordHash {
		t.Error("password hash changed by a self-service update")
	}
	if !slices.Equal(after.Roles, before.Roles) {
		t.Errorf("roles = %v, want %v", after.Roles, before.Roles)
	}
	if after.LockedUntil != nil || after.Disabled || !after.AccountVerified {
		t.Errorf("account flags changed: locked %v, disabled %v, verified %v",
			after.LockedUntil, after.Disabled, after.AccountVerified)
	}
	if !after.CreatedAt.Equal(before.CreatedAt) || after.CreatedBy != before.CreatedBy {
		t.Errorf("creation changed: %v by %q", after.CreatedAt, after.CreatedBy)
	}
	if after.UpdatedBy != e.user.ID {
		t.Errorf("updatedBy = %q, want the caller %s", after.UpdatedBy, e.user.ID)
	}
	if !after.TokensValidAfter.Equal(before.TokensValidAfter) {
		t.Error("a self-service update revoked the user's tokens")
	}

	// The old password still works, and the session goes on.
	e.login("ada", userPassword)
	wantStatus(t, e.call(http.MethodGet, "/uapi/users/"+e.user.ID, e.userToken, ""), http.StatusOK)
}

func TestSelfServiceUpdateChecksTypes(t *testing.T) {
	e := newEnv(t)
	before := e.stored(e.user.ID)
	cases := []struct {
		body, want string
	}{
		{`{"firstName":{"$set":"x"}}`, "firstName must be a string, not an object"},
		{`{"city":["Paris"]}`, "city must be a string, not an array"},
		{`{"gender":"Other"}`, "gender must be one of: Male, Female"},
		{`{"about":"` + strings.Repeat("x", 1001) + `"}`, "about must be at most 1000 characters"},
		{`{"identifier":"A123"}`, "identifier must be an object"},
		{`{"identifier":{"uniqueIdType":"Visa"}}`, "identifier.uniqueIdType must be one of"},
		{`{"firstName":"A\u0000"}`, "firstName must not contain control characters"},
		{`{"firstName":"Ada","firstName":"Eve"}`, `contains the key "firstName" twice`},
		{`["firstName"]`, "request body must be a JSON object"},
		{`{"firstName":`, "request body is not valid JSON"},
	}
	for _, tc := range cases {
		r := e.call(http.MethodPut, "/uapi/users/"+e.user.ID, e.userToken, tc.body)
		wantText(t, r, http.StatusBadRequest, tc.want)
	}
	after := e.stored(e.user.ID)
	if !after.UpdatedAt.Equal(before.UpdatedAt) || after.FirstName != before.FirstName {
		t.Errorf("a rejected update changed the user: %+v", after)
	}
}

func TestAdminUpdateUser(t *testing.T) {
	e := newEnv(t)
	r := e.call(http.MethodPut, "/uapi/users/"+e.user.ID, e.adminToken,
		`{"userName":"augusta","email":"Augusta@Example.test","accountVerified":"false","lastName":"King",
		  "updatedBy":{"_id":"forged"},"createdAt":"2001-01-01T00:00:00Z"}`)
	wantStatus(t, r, http.StatusOK)
	if r.str("userName") != "augusta" || r.str("email") != "augusta@example.test" || r.body["accountVerified"] != false {
		t.Errorf("response = %s", r.raw)
	}
	u := e.stored(e.user.ID)
	if u.UserName != "augusta" || u.Email != "augusta@example.test" || u.AccountVerified || u.LastName != "King" {
		t.Errorf("stored = %s %s verified %v %s", u.UserName, u.Email, u.AccountVerified, u.LastName)
	}
	if u.UpdatedBy != e.admin.ID {
		t.Errorf("updatedBy = %q, want %s", u.UpdatedBy, e.admin.ID)
	}

	// A taken user name is a conflict and changes nothing.
	r = e.call(http.MethodPut, "/uapi/users/"+e.user.ID, e.adminToken, `{"userName":"ROOT","city":"Rome"}`)
	wantText(t, r, http.StatusConflict, "userName already exists")
	if u := e.stored(e.user.ID); u.UserName != "augusta" || u.City == "Rome" {
		t.Errorf("rejected update stored %s %s", u.UserName, u.City)
	}

	r = e.call(http.MethodPut, "/uapi/users/000000000000000000000000", e.adminToken, `{"city":"Rome"}`)
	wantText(t, r, http.StatusNotFound, "user not found")
}

func TestAdminSetsPassword(t *testing.T) {
	e := newEnv(t)
	before := e.stored(e.user.ID)

	r := e.call(http.MethodPut, "/uapi/users/"+e.user.ID, e.adminToken, `{"password":"short","city":"Rome"}`)
	wantText(t, r, http.StatusBadRequest, "password must be at least 8 characters")
	if after := e.stored(e.user.ID); after.City != before.City || after.PasswordHash != before.PasswordHash {
		t.Error("a rejected password changed the user")
	}

	r = e.call(http.MethodPut, "/uapi/users/"+e.user.ID, e.adminToken, `{"password":"Brandnew2pass"}`)
	wantStatus(t, r, http.StatusOK)
	if strings.Contains(r.raw, "Brandnew2pass") || strings.Contains(r.raw, "argon2") {
		t.Errorf("response leaks the password: %s", r.raw)
	}
	after := e.stored(e.user.ID)
	if after.PasswordHash == before.PasswordHash || !strings.HasPrefix(after.PasswordHash, "$argon2id$") {
		t.Errorf("password hash = %q, want a new argon2id hash", after.PasswordHash)
	}
	if r := e.passwordGrant("ada", userPassword); r.status != http.StatusBadRequest {
		t.Errorf("old password: status = %d, want 400", r.status)
	}
	e.login("ada", "Brandnew2pass")

	// A new password ends the sessions that used the old one.
	r = e.call(http.MethodGet, "/uapi/users/"+e.user.ID, e.userToken, "")
	wantText(t, r, 460, "session revoked")
}

func TestCreateUser(t *testing.T) {
	e := newEnv(t)
	editor, err := e.store.Roles.GetByName(context.Background(), "editor")
	if err != nil {
		t.Fatal(err)
	}
	r := e.call(http.MethodPost, "/uapi/users/", e.adminToken, `{
		"userName":"carol","email":"carol@example.test","password":"Carol1carol",
		"firstName":"Carol","mobile":"+33600000000","accountVerified":true,
		"roles":[{"_id":"`+editor.ID+`"}],
		"createdBy":{"_id":"forged","token":"x"},"_id":"000000000000000000000001","entityName":"User"}`)
	wantStatus(t, r, http.StatusCreated)
	id := r.str("_id")
	if id == "000000000000000000000001" || id == "" {
		t.Fatalf("_id = %q, want a generated id", id)
	}
	if r.body["createdBy"] != e.admin.ID || r.str("mobile") != "+33600000000" {
		t.Errorf("response = %s", r.raw)
	}
	u := e.stored(id)
	if u.CreatedBy != e.admin.ID || u.UpdatedBy != e.admin.ID {
		t.Errorf("createdBy, updatedBy = %q, %q; want %s", u.CreatedBy, u.UpdatedBy, e.admin.ID)
	}
	if !slices.Equal(u.Roles, []string{"editor"}) || !u.AccountVerified || u.Mobile != "+33600000000" {
		t.Errorf("stored = roles %v verified %v mobile %q", u.Roles, u.AccountVerified, u.Mobile)
	}
	e.login("carol", "Carol1carol")

	cases := []struct {
		body   string
		status int
		want   string
	}{
		{`{"email":"x@example.test","password":"Carol1carol"}`, 400, "userName is required"},
		{`{"userName":"xavier","email":"x@example.test"}`, 400, "password is required"},
		{`{"userName":"xavier","email":"not-an-email","password":"Carol1carol"}`, 400, "email must be a valid email"},
		{`{"userName":{"$ne":""},"email":"x@example.test","password":"Carol1carol"}`, 400, "userName must be a string"},
		{`{"userName":"xavier","email":"x@example.test","password":"Carol1carol","roles":["ghost"]}`, 400, `role "ghost" does not exist`},
		{`{"userName":"xavier","email":"x@example.test","password":"Carol1carol","roles":[{"_id":"nope"}]}`, 400, `no role has _id "nope"`},
		{`{"userName":"xavier","email":"x@example.test","password":"Carol1carol","roles":[7]}`, 400, "roles[0] must be a role object"},
		{`{"userName":"xavier","email":"x@example.test","password":"Carol1carol","disabled":"maybe"}`, 400, "disabled must be true or false"},
		{`{"userName":"Carol","email":"x@example.test","password":"Carol1carol"}`, 409, "userName already exists"},
		{`{"userName":"xavier","email":"CAROL@example.test","password":"Carol1carol"}`, 409, "email already exists"},
	}
	for _, tc := range cases {
		r := e.call(http.MethodPost, "/uapi/users/", e.adminToken, tc.body)
		wantText(t, r, tc.status, tc.want)
	}
	if _, err := e.store.Users.GetByUserName(context.Background(), "xavier"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a rejected user was stored: %v", err)
	}
}

func TestRoleAddAndRemove(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	viewer, _ := e.store.Roles.GetByName(ctx, "viewer")
	admin, _ := e.store.Roles.GetByName(ctx, "admin")

	// The Averos relation picker sends only the newly added ids, with the
	// caller's auth_token as updatedBy.
	r := e.call(http.MethodPut, "/uapi/users/"+e.user.ID, e.adminToken,
		`{"roles":[{"_id":"`+viewer.ID+`"}],"updatedBy":{"userName":"root","token":"x"}}`)
	wantStatus(t, r, http.StatusOK)
	if got := e.stored(e.user.ID).Roles; !slices.Equal(got, []string{"editor", "viewer"}) {
		t.Errorf("roles after add = %v, want [editor viewer]", got)
	}

	// Adding a role the user has keeps one copy; names work too.
	r = e.call(http.MethodPut, "/uapi/users/"+e.user.ID, e.adminToken, `{"roles":["viewer","admin"]}`)
	wantStatus(t, r, http.StatusOK)
	if got := e.stored(e.user.ID).Roles; !slices.Equal(got, []string{"editor", "viewer", "admin"}) {
		t.Errorf("roles after second add = %v, want [editor viewer admin]", got)
	}

	// Removal as the Averos client sends it.
	path := "/uapi/users/" + e.user.ID + "/collection/roles" +
		query("cids", `[{"_id":"`+viewer.ID+`"},{"_id":"`+admin.ID+`"}]`)
	r = e.call(http.MethodDelete, path, e.adminToken, "")
	wantStatus(t, r, http.StatusOK)
	if got := e.stored(e.user.ID).Roles; !slices.Equal(got, []string{"editor"}) {
		t.Errorf("roles after removal = %v, want [editor]", got)
	}
	if roles, _ := r.body["roles"].([]any); len(roles) != 1 || roles[0] != "editor" {
		t.Errorf("response roles = %v, want [editor]", r.body["roles"])
	}

	bad := []struct {
		path, want string
		status     int
	}{
		{"/uapi/users/" + e.user.ID + "/collection/roles", "cids is required", 400},
		{"/uapi/users/" + e.user.ID + "/collection/roles" + query("cids", `{"_id":"x"}`), "cids must be an array", 400},
		{"/uapi/users/" + e.user.ID + "/collection/roles" + query("cids", `[{"_id":"x"`), "cids is not valid JSON", 400},
		{"/uapi/users/" + e.user.ID + "/collection/roles" + query("cids", `[{"_id":"missing"}]`), `no role has _id "missing"`, 400},
		{"/uapi/users/" + e.user.ID + "/collection/groups" + query("cids", `[]`), "the only user relation is roles", 404},
	}
	for _, tc := range bad {
		r := e.call(http.MethodDelete, tc.path, e.adminToken, "")
		wantText(t, r, tc.status, tc.want)
	}
	if got := e.stored(e.user.ID).Roles; !slices.Equal(got, []string{"editor"}) {
		t.Errorf("roles after rejected removals = %v, want [editor]", got)
	}
}

func TestDeleteUserRevokesTokens(t *testing.T) {
	e := newEnv(t)
	if !e.introspectActive(e.userToken) {
		t.Fatal("the user's token is inactive before the deletion")
	}

	r := e.call(http.MethodDelete, "/uapi/users/"+e.user.ID, e.adminToken, "")
	wantStatus(t, r, http.StatusOK)
	if r.str("_id") != e.user.ID || r.str("userName") != "ada" {
		t.Errorf("response = %s, want the deleted user", r.raw)
	}
	if _, err := e.store.Users.Get(context.Background(), e.user.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("deleted user still stored: %v", err)
	}
	if _, err := e.provider.ValidateAccessToken(context.Background(), e.userToken); !errors.Is(err, oauth.ErrSessionRevoked) {
		t.Errorf("ValidateAccessToken after deletion: %v, want ErrSessionRevoked", err)
	}
	if e.introspectActive(e.userToken) {
		t.Error("introspection reports the deleted user's token active")
	}
	if r := e.passwordGrant("ada", userPassword); r.status != http.StatusBadRequest {
		t.Errorf("login after deletion: status = %d, want 400", r.status)
	}

	r = e.call(http.MethodDelete, "/uapi/users/"+e.user.ID, e.adminToken, "")
	wantText(t, r, http.StatusNotFound, "user not found")
}

func TestDisableAndLockRevokeTokens(t *testing.T) {
	cases := []struct {
		name, lock, unlock string
	}{
		{"disable", `{"disabled":true}`, `{"disabled":false}`},
		{"lock", `{"isAccountLocked":true}`, `{"isAccountLocked":false}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			r := e.call(http.MethodPut, "/uapi/users/"+e.user.ID, e.adminToken, tc.lock)
			wantStatus(t, r, http.StatusOK)
			if _, err := e.provider.ValidateAccessToken(context.Background(), e.userToken); !errors.Is(err, oauth.ErrSessionRevoked) {
				t.Errorf("ValidateAccessToken: %v, want ErrSessionRevoked", err)
			}
			if e.introspectActive(e.userToken) {
				t.Error("introspection reports the token active")
			}
			if r := e.passwordGrant("ada", userPassword); r.status != http.StatusBadRequest {
				t.Errorf("login while blocked: status = %d, want 400", r.status)
			}

			r = e.call(http.MethodPut, "/uapi/users/"+e.user.ID, e.adminToken, tc.unlock)
			wantStatus(t, r, http.StatusOK)
			if r.body["isAccountLocked"] != false || r.body["disabled"] != false {
				t.Errorf("response = %s, want unlocked and enabled", r.raw)
			}
			token := e.login("ada", userPassword)
			wantStatus(t, e.call(http.MethodGet, "/uapi/users/"+e.user.ID, token, ""), http.StatusOK)
		})
	}
}

func TestUnlockClearsFailedLogins(t *testing.T) {
	e := newEnv(t)
	for range 5 {
		if r := e.passwordGrant("ada", "Wrong1password"); r.status != http.StatusBadRequest {
			t.Fatalf("wrong password: status = %d, want 400", r.status)
		}
	}
	r := e.call(http.MethodGet, "/uapi/users/"+e.user.ID, e.adminToken, "")
	if r.body["isAccountLocked"] != true {
		t.Fatalf("isAccountLocked = %v after five failures, want true", r.body["isAccountLocked"])
	}
	if r := e.passwordGrant("ada", userPassword); r.status != http.StatusBadRequest {
		t.Fatalf("login while locked: status = %d, want 400", r.status)
	}

	r = e.call(http.MethodPut, "/uapi/users/"+e.user.ID, e.adminToken, `{"isAccountLocked":"false"}`)
	wantStatus(t, r, http.StatusOK)
	if u := e.stored(e.user.ID); u.LockedUntil != nil {
		t.Errorf("lockedUntil = %v after unlock, want none", u.LockedUntil)
	}
	if n, err := e.store.Lockout.Failures(context.Background(), e.user.ID, 5); err != nil || n != 0 {
		t.Errorf("failures after unlock = %d, %v; want 0", n, err)
	}
	e.login("ada", userPassword)
}

func TestAdminRoleProtected(t *testing.T) {
	e := newEnv(t)
	adminRole, _ := e.store.Roles.GetByName(context.Background(), "admin")

	r := e.call(http.MethodPut, "/uapi/roles/"+adminRole.ID, e.adminToken, `{"name":"boss"}`)
	wantText(t, r, http.StatusConflict, "cannot be renamed or deleted")
	r = e.call(http.MethodDelete, "/uapi/roles/"+adminRole.ID, e.adminToken, "")
	wantText(t, r, http.StatusConflict, "cannot be renamed or deleted")
	if role, err := e.store.Roles.Get(context.Background(), adminRole.ID); err != nil || role.Name != "admin" {
		t.Errorf("admin role = %v, %v; want it unchanged", role, err)
	}

	// Its description may change.
	r = e.call(http.MethodPut, "/uapi/roles/"+adminRole.ID, e.adminToken, `{"description":"all rights"}`)
	wantStatus(t, r, http.StatusOK)
}

func TestRoleLifecycle(t *testing.T) {
	e := newEnv(t)
	r := e.call(http.MethodPost, "/uapi/roles/", e.adminToken,
		`{"name":"  auditor ","description":"reads logs","createdBy":{"_id":"forged"},"users":[{"_id":"x"}]}`)
	wantStatus(t, r, http.StatusCreated)
	id := r.str("_id")
	if r.str("name") != "auditor" || r.body["createdBy"] != e.admin.ID {
		t.Errorf("response = %s", r.raw)
	}
	r = e.call(http.MethodPut, "/uapi/users/"+e.user.ID, e.adminToken, `{"roles":["auditor"]}`)
	wantStatus(t, r, http.StatusOK)

	// A rename is carried over to the role's users.
	r = e.call(http.MethodPut, "/uapi/roles/"+id, e.adminToken, `{"name":"inspector"}`)
	wantStatus(t, r, http.StatusOK)
	if r.str("name") != "inspector" || r.str("description") != "reads logs" || r.body["updatedBy"] != e.admin.ID {
		t.Errorf("response = %s", r.raw)
	}
	if got := e.stored(e.user.ID).Roles; !slices.Equal(got, []string{"editor", "inspector"}) {
		t.Errorf("user roles after rename = %v", got)
	}

	for _, tc := range []struct{ body, want string }{
		{`{"name":""}`, "name must be 1 to 64 characters"},
		{`{"name":5}`, "name must be a string"},
		{`{"description":{"$gt":""}}`, "description must be a string"},
		{`{"name":"editor"}`, "name already exists"},
	} {
		r := e.call(http.MethodPut, "/uapi/roles/"+id, e.adminToken, tc.body)
		status := http.StatusBadRequest
		if strings.Contains(tc.want, "already exists") {
			status = http.StatusConflict
		}
		wantText(t, r, status, tc.want)
	}

	// Deleting the role takes it away from its users.
	r = e.call(http.MethodDelete, "/uapi/roles/"+id, e.adminToken, "")
	wantStatus(t, r, http.StatusOK)
	if r.str("_id") != id || r.str("name") != "inspector" {
		t.Errorf("response = %s, want the deleted role", r.raw)
	}
	if got := e.stored(e.user.ID).Roles; !slices.Equal(got, []string{"editor"}) {
		t.Errorf("user roles after delete = %v, want [editor]", got)
	}
	r = e.call(http.MethodGet, "/uapi/roles/"+id, e.adminToken, "")
	wantText(t, r, http.StatusNotFound, "role not found")
}

func TestRoleTakenAwayEndsAdministration(t *testing.T) {
	e := newEnv(t)
	second := e.addUser(accounts.NewUser{UserName: "boss", Email: "boss@example.test",
		Password: adminPassword, Roles: []string{"admin"}, AccountVerified: true})
	token := e.login("boss", adminPassword)
	wantStatus(t, e.call(http.MethodGet, "/uapi/roles/", token, ""), http.StatusOK)

	adminRole, _ := e.store.Roles.GetByName(context.Background(), "admin")
	r := e.call(http.MethodDelete, "/uapi/users/"+second.ID+"/collection/roles"+
		query("cids", `[{"_id":"`+adminRole.ID+`"}]`), e.adminToken, "")
	wantStatus(t, r, http.StatusOK)

	// The token still lists the role, but storage is what counts.
	r = e.call(http.MethodGet, "/uapi/roles/", token, "")
	wantText(t, r, http.StatusForbidden, "administrator role")
}
