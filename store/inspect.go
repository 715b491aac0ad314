// SPDX-License-Identifier: GPL-3.0-or-later

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
)

// Inspect checks the database at path as Open does at start, without
// creating or changing it, so that check-config can say whether the
// daemon would start: an empty file or one that is no SQLite database,
// and a database that fails its check, are ErrCorrupt with what to do; a
// schema newer than this ksecbot is an error too. A missing file is fine
// (Open creates a fresh database there).
func Inspect(ctx context.Context, path string) error {
	if !plainFile(path) {
		return nil
	}
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to check the database %s: %w", path, err)
	}
	if info.Size() == 0 {
		return emptyFile(path)
	}
	q := url.Values{"mode": {"ro"}, "_busy_timeout": {"10000"}}
	// A connection in WAL mode keeps the -wal file while it has the
	// database open. Without one nobody writes the file now, and an
	// immutable read leaves no -wal or -shm file behind; with one, the
	// read goes through the running daemon's WAL.
	if _, err := os.Lstat(path + "-wal"); errors.Is(err, fs.ErrNotExist) {
		q.Set("immutable", "1")
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("failed to check the database %s: %w", path, err)
	}
	defer db.Close()
	s := &Store{db: db}
	if err := s.startCheck(ctx, path); err != nil {
		return err
	}
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return s.checkFailed(path, err)
	}
	ms, err := migrations()
	if err != nil {
		return err
	}
	if version > len(ms) {
		return fmt.Errorf("database schema version %d is newer than this ksecbot (%d)", version, len(ms))
	}
	return nil
}
