package admin_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/averos/averos-auth/adapters/admin"
	"github.com/averos/averos-auth/internal/accounts"
)

// userNames returns the sorted user names of a user list response.
func userNames(t *testing.T, r response) []string {
	t.Helper()
	var names []string
	for _, u := range r.entities(t) {
		name, _ := u["userName"].(string)
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func TestUserFilterOperators(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.addUser(accounts.NewUser{UserName: "bob", Email: "Bob@Example.test", Password: userPassword,
		FirstName: "Bob", City: "Paris; Left Bank", Gender: "Male", ProfileLanguage: "fr",
		Roles: []string{"viewer"}, AccountVerified: false})
	cy := e.addUser(accounts.NewUser{UserName: "cyd", Email: "cyd@example.test", Password: userPassword,
		FirstName: "Cy+Ann", City: "a.b", Gender: "Female", Roles: []string{"editor", "viewer"},
		AccountVerified: true})
	// cyd is locked, and root's lock has expired.
	locked := time.Now().Add(time.Hour)
	if err := e.store.Users.SetLockedUntil(ctx, cy.ID, locked); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Users.SetLockedUntil(ctx, e.admin.ID, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	// A lock that has expired does not block root's token.

	created := e.stored(e.user.ID).CreatedAt
	paris := time.FixedZone("CET", 3600)
	jsDate := created.In(paris).Format("Mon Jan 02 2006 15:04:05 GMT-0700") + " (Central European Standard Time)"
	day := created.UTC().Format(time.DateOnly)
	nextDay := created.UTC().AddDate(0, 0, 1).Format(time.DateOnly)

	all := []string{"ada", "bob", "cyd", "root"}
	cases := []struct {
		name   string
		filter string
		want   []string
	}{
		{"no filter", "", all},
		{"empty object", `{}`, all},
		{"eq", `{"userName":{"$eq":"bob"}}`, []string{"bob"}},
		{"bare string", `{"userName":"bob"}`, []string{"bob"}},
		{"ne", `{"userName":{"$ne":"bob"}}`, []string{"ada", "cyd", "root"}},
		{"gt", `{"userName":{"$gt":"bob"}}`, []string{"cyd", "root"}},
		{"gte", `{"userName":{"$gte":"bob"}}`, []string{"bob", "cyd", "root"}},
		{"lt", `{"userName":{"$lt":"bob"}}`, []string{"ada"}},
		{"lte", `{"userName":{"$lte":"bob"}}`, []string{"ada", "bob"}},
		{"range on one field", `{"userName":{"$gt":"ada","$lt":"root"}}`, []string{"bob", "cyd"}},
		{"regex substring any case", `{"firstName":{"$regex":"AD"}}`, []string{"ada"}},
		{"regex is literal", `{"city":{"$regex":"a.b"}}`, []string{"cyd"}},
		{"regex plus sign", `{"firstName":{"$regex":"y+a"}}`, []string{"cyd"}},
		{"semicolon in value", `{"city":{"$eq":"Paris; Left Bank"}}`, []string{"bob"}},
		{"in", `{"_id":{"$in":["` + e.user.ID + `","` + cy.ID + `"]}}`, []string{"ada", "cyd"}},
		{"nin", `{"_id":{"$nin":["` + e.user.ID + `","` + cy.ID + `"]}}`, []string{"bob", "root"}},
		{"in empty", `{"_id":{"$in":[]}}`, nil},
		{"email any case", `{"email":{"$eq":"BOB@example.TEST"}}`, []string{"bob"}},
		{"two fields", `{"gender":{"$eq":"Female"},"city":{"$regex":"a"}}`, []string{"cyd"}},
		{"profile language", `{"profileLanguage":{"$eq":"fr"}}`, []string{"bob"}},
		{"lastName", `{"lastName":{"$eq":"Lovelace"}}`, []string{"ada"}},
		{"roles eq", `{"roles":{"$eq":"viewer"}}`, []string{"bob", "cyd"}},
		{"roles ne", `{"roles":{"$ne":"viewer"}}`, []string{"ada", "root"}},
		{"roles in", `{"roles":{"$in":["admin","editor"]}}`, []string{"ada", "cyd", "root"}},
		{"roles nin", `{"roles":{"$nin":["editor","viewer"]}}`, []string{"root"}},
		{"roles regex", `{"roles":{"$regex":"EDIT"}}`, []string{"ada", "cyd"}},
		{"verified true", `{"accountVerified":{"$eq":"true"}}`, []string{"ada", "cyd", "root"}},
		{"verified ne true", `{"accountVerified":{"$ne":"true"}}`, []string{"bob"}},
		{"verified in", `{"accountVerified":{"$in":["false"]}}`, []string{"bob"}},
		{"verified nin", `{"accountVerified":{"$nin":["false"]}}`, []string{"ada", "cyd", "root"}},
		{"locked", `{"isAccountLocked":{"$eq":"true"}}`, []string{"cyd"}},
		{"not locked", `{"isAccountLocked":{"$eq":"false"}}`, []string{"ada", "bob", "root"}},
		{"locked ne", `{"isAccountLocked":{"$ne":"false"}}`, []string{"cyd"}},
		{"locked in both", `{"isAccountLocked":{"$in":["true","false"]}}`, all},
		{"locked nin true", `{"isAccountLocked":{"$nin":["true"]}}`, []string{"ada", "bob", "root"}},
		{"created eq js date", `{"_id":"` + e.user.ID + `","createdAt":{"$eq":"` + jsDate + `"}}`, []string{"ada"}},
		{"created eq day", `{"createdAt":{"$eq":"` + day + `"}}`, all},
		{"created ne day", `{"createdAt":{"$ne":"` + day + `"}}`, nil},
		{"created gte day", `{"createdAt":{"$gte":"` + day + `"}}`, all},
		{"created gt day", `{"createdAt":{"$gt":"` + day + `"}}`, nil},
		{"created lt next day", `{"createdAt":{"$lt":"` + nextDay + `"}}`, all},
		{"created lte day", `{"createdAt":{"$lte":"` + day + `"}}`, all},
		{"created in days", `{"createdAt":{"$in":["2001-01-01","` + day + `"]}}`, all},
		{"created nin day", `{"createdAt":{"$nin":["` + day + `"]}}`, nil},
		{"updated rfc3339", `{"updatedAt":{"$lt":"2001-01-01T00:00:00Z"}}`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := "/uapi/users/"
			if tc.filter != "" {
				path += query("filter", tc.filter)
			}
			r := e.call(http.MethodGet, path, e.adminToken, "")
			wantStatus(t, r, http.StatusOK)
			if got := userNames(t, r); !slices.Equal(got, tc.want) {
				t.Errorf("filter %s returned %v, want %v", tc.filter, got, tc.want)
			}
		})
	}
}

func TestRoleFilterOperators(t *testing.T) {
	e := newEnv(t)
	viewer, err := e.store.Roles.GetByName(context.Background(), "viewer")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		filter string
		want   []string
	}{
		{`{"name":{"$eq":"editor"}}`, []string{"editor"}},
		{`{"name":{"$regex":"MIN"}}`, []string{"admin"}},
		{`{"_id":{"$nin":["` + viewer.ID + `"]}}`, []string{"admin", "editor"}},
		{`{"description":{"$in":["viewer role","admin role"]}}`, []string{"admin", "viewer"}},
		{`{"createdAt":{"$gte":"2001-01-01T00:00:00Z"}}`, []string{"admin", "editor", "viewer"}},
	}
	for _, tc := range cases {
		r := e.call(http.MethodGet, "/uapi/roles/"+query("filter", tc.filter), e.adminToken, "")
		wantStatus(t, r, http.StatusOK)
		var names []string
		for _, role := range r.entities(t) {
			names = append(names, role["name"].(string))
		}
		if !slices.Equal(names, tc.want) {
			t.Errorf("filter %s returned %v, want %v", tc.filter, names, tc.want)
		}
	}
}

func TestFilterRejected(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, path, want string
	}{
		{"unknown field", "/uapi/users/" + query("filter", `{"passwordHash":{"$eq":"x"}}`), `unknown field "passwordHash"`},
		{"operator object in string field", "/uapi/users/" + query("filter", `{"userName":{"$eq":{"$ne":""}}}`),
			"userName.$eq must be a string, not an object"},
		{"operator object as field value", "/uapi/users/" + query("filter", `{"userName":{"$gt":""}}x`),
			"data after the JSON object"},
		{"where", "/uapi/users/" + query("filter", `{"$where":"this.userName == 'root'"}`), "$where is not supported"},
		{"nested or", "/uapi/users/" + query("filter", `{"userName":{"$or":[{"$eq":"a"},{"$eq":"b"}]}}`),
			`operator "$or" is not supported on userName`},
		{"top-level or", "/uapi/users/" + query("filter", `{"$or":[{"userName":"root"}]}`), "$or is not supported"},
		{"not JSON", "/uapi/users/" + query("filter", `userName=root`), "filter is not valid JSON"},
		{"truncated JSON", "/uapi/users/" + query("filter", `{"userName":{"$eq":"ro`), "filter is not valid JSON"},
		{"filter twice", "/uapi/users/" + query("filter", `{}`, "filter", `{}`), "filter is given more than once"},
		{"bad escape", "/uapi/users/?filter=%zz", "malformed percent-encoding"},
		{"role unknown field", "/uapi/roles/" + query("filter", `{"users":{"$eq":"x"}}`), `unknown field "users"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call(http.MethodGet, tc.path, e.adminToken, "")
			wantText(t, r, http.StatusBadRequest, tc.want)
		})
	}

	// A non-administrator's malformed filter is rejected as malformed too.
	r := e.call(http.MethodGet, "/uapi/users/"+query("filter", `{"userName":{"$eq":{"$ne":""}}}`), e.userToken, "")
	wantText(t, r, http.StatusBadRequest, "must be a string")
}

func TestListCappedAtMaxResults(t *testing.T) {
	e := newEnv(t)
	// The default cap is 1000, so a second API on the same store shows the
	// cap without creating a thousand users.
	small := e.serveWith(admin.Options{MaxResults: 2})
	r := small.call(http.MethodGet, "/uapi/users/", e.adminToken, "")
	wantStatus(t, r, http.StatusOK)
	if got := userNames(t, r); len(got) != 2 {
		t.Errorf("returned %v, want 2 users", got)
	}
	// Users are sorted by creation time then id: root came first.
	if first := r.entities(t)[0]["userName"]; first != "root" {
		t.Errorf("first user = %v, want root", first)
	}
}

func TestCompositeKeys(t *testing.T) {
	e := newEnv(t)
	r := e.call(http.MethodPost, "/uapi/users/", e.adminToken,
		`{"userName":"dan","email":"dan@example.test","password":"Dan1dan1dan","roles":["viewer","editor"]}`)
	wantStatus(t, r, http.StatusCreated)
	dan := r.str("_id")
	r = e.call(http.MethodPut, "/uapi/users/"+dan, e.adminToken, `{"city":"Oslo"}`)
	wantStatus(t, r, http.StatusOK)

	// Names and ids without compositekeys.
	r = e.call(http.MethodGet, "/uapi/users/"+query("filter", `{"userName":"dan"}`), e.adminToken, "")
	wantStatus(t, r, http.StatusOK)
	got := r.entities(t)[0]
	if roles, _ := got["roles"].([]any); len(roles) != 2 || roles[0] != "viewer" || roles[1] != "editor" {
		t.Errorf("roles = %v, want [viewer editor]", got["roles"])
	}
	if got["createdBy"] != e.admin.ID {
		t.Errorf("createdBy = %v, want %s", got["createdBy"], e.admin.ID)
	}

	// Expanded, as the Averos user list requests.
	r = e.call(http.MethodGet, "/uapi/users/"+query("filter", `{"userName":"dan"}`,
		"compositekeys", "createdBy updatedBy roles"), e.adminToken, "")
	wantStatus(t, r, http.StatusOK)
	got = r.entities(t)[0]
	roles, _ := got["roles"].([]any)
	if len(roles) != 2 {
		t.Fatalf("roles = %v, want two role objects", got["roles"])
	}
	first, _ := roles[0].(map[string]any)
	if first["name"] != "viewer" || first["_id"] == "" || first["description"] != "viewer role" {
		t.Errorf("roles[0] = %v, want the viewer role object", roles[0])
	}
	for _, key := range []string{"createdBy", "updatedBy"} {
		ref, _ := got[key].(map[string]any)
		if ref["_id"] != e.admin.ID || ref["userName"] != "root" {
			t.Errorf("%s = %v, want {_id: %s, userName: root}", key, got[key], e.admin.ID)
		}
	}

	// The single GET expands too.
	r = e.call(http.MethodGet, "/uapi/users/"+dan+query("compositekeys", "roles"), e.adminToken, "")
	wantStatus(t, r, http.StatusOK)
	if roles, _ := r.body["roles"].([]any); len(roles) != 2 {
		t.Errorf("single GET roles = %v, want two role objects", r.body["roles"])
	} else if _, ok := roles[0].(map[string]any); !ok {
		t.Errorf("single GET roles[0] = %v, want an object", roles[0])
	}

	// Roles with their users, as the Averos role list requests.
	r = e.call(http.MethodGet, "/uapi/roles/"+query("compositekeys", "users_details createdBy updatedBy"),
		e.adminToken, "")
	wantStatus(t, r, http.StatusOK)
	members := map[string][]string{}
	for _, role := range r.entities(t) {
		users, ok := role["users"].([]any)
		if !ok {
			t.Errorf("role %v has no users array", role["name"])
			continue
		}
		for _, u := range users {
			members[role["name"].(string)] = append(members[role["name"].(string)], u.(map[string]any)["userName"].(string))
		}
	}
	if got := strings.Join(members["editor"], ","); got != "ada,dan" {
		t.Errorf("editor users = %s, want ada,dan", got)
	}
	if got := strings.Join(members["admin"], ","); got != "root" {
		t.Errorf("admin users = %s, want root", got)
	}
	if got := strings.Join(members["viewer"], ","); got != "dan" {
		t.Errorf("viewer users = %s, want dan", got)
	}
}

func TestResponsesHoldNoSecrets(t *testing.T) {
	e := newEnv(t)
	paths := []string{
		"/uapi/users/" + query("compositekeys", "createdBy updatedBy roles"),
		"/uapi/users/" + e.user.ID,
		"/uapi/roles/" + query("compositekeys", "users_details"),
		"/uapi/clients/",
		"/uapi/clients/" + consoleID,
	}
	stored := e.stored(e.user.ID)
	for _, path := range paths {
		r := e.call(http.MethodGet, path, e.adminToken, "")
		wantStatus(t, r, http.StatusOK)
		for _, leak := range []string{"passwordHash", "argon2id", stored.PasswordHash, "secretHash",
			"tokensValidAfter", "lockedUntil", "rtoken", "failed", e.userToken, e.consoleSecret} {
			if strings.Contains(r.raw, leak) {
				t.Errorf("GET %s: response contains %q", path, leak)
			}
		}
	}
}
