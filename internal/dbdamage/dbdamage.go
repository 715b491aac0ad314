// SPDX-License-Identifier: GPL-3.0-or-later

// Package dbdamage damages SQLite databases the way failing disks and
// careless hands do, for the tests of ksecbot's storage faults, and tells
// whether a file was left alone.
package dbdamage

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"os"
	"testing"

	_ "github.com/mattn/go-sqlite3" // the "sqlite3" database/sql driver
)

// MisIndex damages index (of table, on columns) so that it holds
// entries for builtOn instead: with builtOn differing from columns for one
// row only (a CASE on its id), that row's entry holds wrong values, as
// after a torn write. The index still has one entry per row, so PRAGMA
// quick_check passes, while integrity_check reports the row missing from
// the index; an UPDATE or DELETE of the row fails with "database disk
// image is malformed". The index is rebuilt on builtOn, then its schema
// entry set back to columns (writable_schema), and the schema version
// moved so that connections already open (a running ksecbot) read the
// damaged schema too. The database may be in use.
func MisIndex(ctx context.Context, path, index, table, columns, builtOn string) error {
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000")
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx) // writable_schema belongs to one connection
	if err != nil {
		return err
	}
	defer conn.Close()
	var version int
	steps := []string{
		"DROP INDEX " + index,
		fmt.Sprintf("CREATE INDEX %s ON %s(%s)", index, table, builtOn),
		"PRAGMA writable_schema = ON",
		fmt.Sprintf("UPDATE sqlite_schema SET sql = 'CREATE INDEX %s ON %s(%s)' WHERE name = '%s'", index, table, columns, index),
		"PRAGMA writable_schema = OFF",
	}
	for _, q := range steps {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	if err := conn.QueryRowContext(ctx, "PRAGMA schema_version").Scan(&version); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA schema_version = %d", version+1)); err != nil {
		return fmt.Errorf("PRAGMA schema_version: %w", err)
	}
	return nil
}

// Check runs a check pragma ("quick_check", "integrity_check") on the
// database at path and returns its first line ("ok" when sound).
func Check(ctx context.Context, path, pragma string) (string, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=10000")
	if err != nil {
		return "", err
	}
	defer db.Close()
	var line string
	err = db.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&line)
	return line, err
}

// Digest returns the SHA-256 of the file at path, to show that a file
// was left as it was.
func Digest(t testing.TB, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}
