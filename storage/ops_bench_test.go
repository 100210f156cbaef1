package storage_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/averos/averos-auth/storage"
)

// BenchmarkEngineOps measures one round trip of each kind of operation the
// token endpoint uses, on the embedded engine with opsDocs documents.
// opsDocs is the size of the collection the operations run on.
const opsDocs = 10_000

func BenchmarkEngineOps(b *testing.B) {
	e, _ := startEngine(b)
	c := context.Background()
	s, err := storage.Open(storage.Options{URI: e.URI(), Database: "ops"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(c)

	coll := s.Database().Collection("docs")
	for i := range opsDocs {
		if _, err := coll.InsertOne(c, bson.D{{Key: "_id", Value: fmt.Sprintf("d%06d", i)}, {Key: "n", Value: i}, {Key: "at", Value: time.Now()}}); err != nil {
			b.Fatal(err)
		}
	}
	if err := e.IndexIDs(c, "ops"); err != nil {
		b.Fatal(err)
	}

	b.Run("find", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			var out bson.M
			if err := coll.FindOne(c, bson.D{{Key: "_id", Value: fmt.Sprintf("d%06d", i%opsDocs)}}).Decode(&out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("update", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := coll.UpdateOne(c, bson.D{{Key: "_id", Value: fmt.Sprintf("d%06d", i%opsDocs)}},
				bson.D{{Key: "$set", Value: bson.D{{Key: "at", Value: time.Now()}}}}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("replace", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			id := fmt.Sprintf("d%06d", i%opsDocs)
			if _, err := coll.ReplaceOne(c, bson.D{{Key: "_id", Value: id}},
				bson.D{{Key: "_id", Value: id}, {Key: "n", Value: i}, {Key: "at", Value: time.Now()}}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("insert+delete", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			id := fmt.Sprintf("x%07d", i)
			if _, err := coll.InsertOne(c, bson.D{{Key: "_id", Value: id}, {Key: "at", Value: time.Now()}}); err != nil {
				b.Fatal(err)
			}
			if _, err := coll.DeleteOne(c, bson.D{{Key: "_id", Value: id}}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("insertMany2", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := coll.InsertMany(c, []any{bson.D{{Key: "_id", Value: fmt.Sprintf("y%07d", i)}}, bson.D{{Key: "_id", Value: fmt.Sprintf("z%07d", i)}}}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("insert", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := coll.InsertOne(c, bson.D{{Key: "_id", Value: fmt.Sprintf("w%07d", i)}}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
