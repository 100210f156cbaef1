package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	// The SQLite driver the embedded engine itself uses.
	_ "modernc.org/sqlite"
)

// IndexIDs makes lookups by _id on the embedded engine independent of the
// collection size.
//
// FerretDB v1.24's SQLite backend builds its unique _id index on the
// expression _ferretdb_sjson->"_id", but its query pushdown filters on
// _ferretdb_sjson->'$._id', which SQLite does not match to that index, so
// every lookup by _id scans the whole table (measured here: 1.3 ms per
// lookup at 1,000 documents, 14 ms at 20,000). IndexIDs adds an index on the
// expression the pushdown uses to every table of the database. With it the
// same lookup takes 0.3 ms at 20,000 documents. It is idempotent, and tables
// created after a run are covered by the next one, so the server runs it at
// start and after every expiry sweep.
func (e *Engine) IndexIDs(ctx context.Context, database string) error {
	path := filepath.Join(e.dataDir, engineDirName, database+".sqlite")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil // no collection written yet
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("storage: open engine file %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	rows, err := db.QueryContext(ctx, `SELECT table_name FROM _ferretdb_collections`)
	if err != nil {
		return fmt.Errorf("storage: list engine tables: %w", err)
	}
	var tables []string
	for rows.Next() {
		var table string
		if err := rows.Scan(&table); err != nil {
			rows.Close()
			return fmt.Errorf("storage: list engine tables: %w", err)
		}
		tables = append(tables, table)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("storage: list engine tables: %w", err)
	}

	for _, table := range tables {
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->'$._id')`,
			table+"_averos_id", table)
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("storage: index _id of engine table %s: %w", table, err)
		}
	}
	return nil
}
