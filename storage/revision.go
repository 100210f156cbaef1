package storage

import (
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// maxUpdateAttempts is how many times Users.Update, Roles.Update and
// Clients.Update read, change and write a document before they give up with
// ErrConflict. Inside one process the striped lock serialises these writes,
// so a conflict needs a writer in another process or a write outside the
// repositories.
const maxUpdateAttempts = 5

// revisionFilter matches the document id while its revision is still rev.
// Revision 0 stands for a document written by a build without revisions,
// which has no rev field. Create stores revision 1, and every write of the
// repositories then increments it.
func revisionFilter(id string, rev int64) bson.D {
	if rev == 0 {
		return bson.D{{Key: "_id", Value: id}, {Key: "rev", Value: bson.D{{Key: "$exists", Value: false}}}}
	}
	return bson.D{{Key: "_id", Value: id}, {Key: "rev", Value: rev}}
}

// incrementRevision is the update operator that a single-field write of a
// user or client document adds, so that an Update of another process that
// read the previous revision fails its filter and retries.
var incrementRevision = bson.E{Key: "$inc", Value: bson.D{{Key: "rev", Value: int64(1)}}}

// conflictError is the error of an Update of the kind's document id that
// lost the race in every one of its maxUpdateAttempts.
func conflictError(kind, id string) error {
	return fmt.Errorf("storage: update %s %s: %w in each of %d attempts, retry the request",
		kind, id, ErrConflict, maxUpdateAttempts)
}
