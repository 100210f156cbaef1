// Package admin serves the administration API under /uapi: users and roles
// for the Averos admin and profile screens, and OAuth clients.
//
// Every request passes authenticate (auth.go): a valid bearer access token
// of an existing, enabled, unlocked and verified user, whose roles are read
// from storage. Administration needs the configured administrator role. A
// user without it may only read their own record, change their own profile
// fields, and list users with the filter on their own user name that the
// profile screen sends.
//
// Request bodies and query parameters are decoded member by member with a
// check of each JSON type (jsonvalue.go), so an object never stands where a
// string is expected, then validated with go-playground/validator. The
// filter parameter (filter.go, dates.go) is translated into a new MongoDB
// query from a whitelist of fields and operators, never passed through.
//
// Files: api.go mounts the routes; users.go, userinput.go, roles.go and
// clients.go hold the handlers; render.go builds the response entities and
// expands the relations named by compositekeys; query.go reads the query
// string; respond.go maps errors to statuses.
package admin
