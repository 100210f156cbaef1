// Package storage keeps users, roles, OAuth clients, signing keys and token
// sessions in MongoDB through the official Go driver.
//
// The same code runs against a real MongoDB (a URI is configured) and against
// the embedded FerretDB engine (no URI; see embedded.go), so it relies only on
// what both guarantee:
//
//   - Inserting a document whose _id or unique key is taken, and deleteOne
//     with a filter on _id alone, are atomic: of many concurrent callers
//     exactly one wins. Every step that must be atomic (a name claim, a
//     refresh token rotation, a lockout slot) is built on one of these two
//     operations. A delete with any other filter is not conditional on the
//     embedded engine: it reads the matching documents, then deletes their
//     _ids, whatever has been written under them meanwhile.
//   - findAndModify and updateOne with a filter are not atomic on the embedded
//     engine, and neither engine offers transactions here. Plain updates are
//     therefore last-writer-wins and never guard a security decision. Even
//     an update that sets one field reads and writes back the whole document
//     on the embedded engine, so it can undo a concurrent write of another
//     field.
//   - User, role and client documents carry a revision number (rev).
//     Users.Update, Roles.Update and Clients.Update replace a document only
//     if rev is still the value they read, and otherwise read it again and
//     repeat the change. The other writes of users.go increment rev. On
//     MongoDB that filter is atomic, so concurrent writers in any number of
//     processes lose no update. On the embedded engine the filter is checked
//     before the write, not during it. There, every update and delete of a
//     user, role or client holds a striped lock of the Store (writelock.go).
//     That is enough because one server process, with one Store, owns the
//     data directory, and the CLI, which attaches to that server's engine,
//     only creates documents. The other collections have no revision.
//   - A lookup by _id is far cheaper than one by a secondary index on the
//     embedded engine, so every hot lookup goes by _id. User names and emails
//     are reached through claim documents whose _id is the normalised key
//     (claims.go).
//   - TTL indexes are not implemented by the embedded engine: documents with
//     an expiresAt field are removed by Store.Sweep, which runs periodically.
//
// Files: store.go opens the connection and creates indexes, and embedded.go
// runs the embedded engine behind a lock file. users.go, roles.go, clients.go
// and keys.go hold one repository each, and lockout.go counts failed logins.
// revision.go and writelock.go hold the revision filter and the striped lock
// of user, role and client writes.
package storage
