package storage_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/averos/averos-auth/storage"
)

// startEngine runs an embedded engine of the test's own, so the test can
// open its SQLite files.
func startEngine(tb testing.TB) (*storage.Engine, string) {
	tb.Helper()
	dir, err := os.MkdirTemp("", "aa-ix-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	e, err := storage.StartEmbedded(context.Background(), dir, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = e.Close() })
	return e, dir
}

// Every table of the database gets the _id index, and SQLite's plan for the
// engine's _id lookup uses it instead of scanning.
func TestIndexIDsCoversEveryCollection(t *testing.T) {
	e, dir := startEngine(t)
	c := context.Background()
	s, err := storage.Open(storage.Options{URI: e.URI(), Database: "ix"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(c)
	if err := s.EnsureIndexes(c); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Database().Collection("later").InsertOne(c, bson.D{{Key: "_id", Value: "a"}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // idempotent
		if err := e.IndexIDs(c, "ix"); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
	}

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "engine", "ix.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name, table_name FROM _ferretdb_collections`)
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string]string{}
	for rows.Next() {
		var name, table string
		if err := rows.Scan(&name, &table); err != nil {
			t.Fatal(err)
		}
		tables[name] = table
	}
	rows.Close()
	for _, want := range []string{"users", "unique_claims", "later"} {
		if tables[want] == "" {
			t.Errorf("collection %s has no table", want)
		}
	}
	for name, table := range tables {
		var detail string
		q := fmt.Sprintf(`EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM %q WHERE _ferretdb_sjson->'$._id' = ?`, table)
		if err := db.QueryRow(q, `"a"`).Scan(new(int), new(int), new(int), &detail); err != nil {
			t.Fatal(err)
		}
		if detail != fmt.Sprintf("SEARCH %s USING INDEX %s_averos_id (<expr>=?)", table, table) {
			t.Errorf("collection %s: plan %q, want a search with the _id index", name, detail)
		}
	}
}

// BenchmarkLookupByID reads documents by _id from collections of growing
// size; with IndexIDs the time per lookup does not grow with the size.
func BenchmarkLookupByID(b *testing.B) {
	for _, size := range []int{1_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("docs=%d", size), func(b *testing.B) {
			e, _ := startEngine(b)
			c := context.Background()
			s, err := storage.Open(storage.Options{URI: e.URI(), Database: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close(c)
			coll := s.Database().Collection("tokens")
			id := func(i int) string { return fmt.Sprintf("sig-%09d-0123456789abcdefghijklmnopqrstu", i) }
			const batch = 5000
			for start := 0; start < size; start += batch {
				docs := make([]any, 0, batch)
				for i := start; i < min(start+batch, size); i++ {
					docs = append(docs, bson.D{{Key: "_id", Value: id(i)}, {Key: "grantId", Value: "g"},
						{Key: "scopes", Value: bson.A{"openid", "offline_access"}}})
				}
				if _, err := coll.InsertMany(c, docs, options.InsertMany().SetOrdered(false)); err != nil {
					b.Fatal(err)
				}
			}
			if err := e.IndexIDs(c, "bench"); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var out bson.M
				if err := coll.FindOne(c, bson.D{{Key: "_id", Value: id((i * 7919) % size)}}).Decode(&out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
