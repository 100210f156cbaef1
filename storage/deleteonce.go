package storage

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// DeleteOnce deletes the document with id from coll for one of the callers
// that read the same version of it, and reports whether this caller did.
//
// A delete filtered on more than _id is not conditional on the embedded
// engine: it reads the matching documents, then deletes their _ids, whatever
// was written under them meanwhile. So each caller first inserts tombstone,
// a document whose _id names the version read (for example the document's
// _id and a random generation set when it was written). Only the caller whose
// insert succeeds deletes. While that version exists no one can write
// another under its _id, so the delete by _id removes that version and never
// a later one. The tombstone must carry an expiry for the sweep.
func DeleteOnce(ctx context.Context, coll *mongo.Collection, id string, tombstone any) (bool, error) {
	if _, err := coll.InsertOne(ctx, tombstone); err != nil {
		if isDuplicateKey(err) {
			return false, nil
		}
		return false, wrap("insert tombstone of "+id, err)
	}
	if _, err := coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
		return false, wrap("delete "+id, err)
	}
	return true, nil
}
