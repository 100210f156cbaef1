// Package accounts holds the rules for creating and changing users, roles
// and OAuth clients, shared by the CLI, the Averos adapter and the admin API:
// input validation (go-playground/validator), the password policy, password
// hashing, and client secret generation.
//
// Files: validate.go turns validator failures into messages that name the
// field; users.go, roles.go and clients.go hold one service each.
package accounts
