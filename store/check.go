// SPDX-License-Identifier: GPL-3.0-or-later

package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// ErrCorrupt is returned by Open for a database that fails SQLite's
// integrity check (or is not a database at all). ksecbot refuses to run
// on it; the error text says how to recover.
var ErrCorrupt = errors.New("the database is corrupted")

// ErrVanished is returned by CheckFile when the database file was removed
// or replaced while the store is open.
var ErrVanished = errors.New("the database file vanished")

// isCorrupt reports whether err is SQLite's "database disk image is
// malformed" or "file is not a database".
func isCorrupt(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrCorrupt || se.Code == sqlite3.ErrNotADB)
}

// corrupt builds the ErrCorrupt error for path, with the recovery steps.
func corrupt(path, detail string) error {
	return fmt.Errorf(`%w: %s (%s). ksecbot will not run on it. To recover: stop ksecbot, copy %[2]s and its -wal and -shm files aside, then either rebuild it with "sqlite3 %[2]s .recover | sqlite3 %[2]s.new", delete %[2]s-wal and %[2]s-shm and move %[2]s.new to %[2]s; or move %[2]s away and start with an empty database (bugs created within [bugzilla] catch_up are announced again)`,
		ErrCorrupt, path, detail)
}

// quickCheck runs PRAGMA quick_check and returns ErrCorrupt with the first
// problems it reports.
func (s *Store) quickCheck(ctx context.Context, path string) error {
	rows, err := s.db.QueryContext(ctx, "PRAGMA quick_check(5)")
	if err != nil {
		if isCorrupt(err) {
			return corrupt(path, err.Error())
		}
		return fmt.Errorf("failed to check the database %s: %w", path, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("failed to check the database %s: %w", path, err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		if isCorrupt(err) {
			return corrupt(path, err.Error())
		}
		return fmt.Errorf("failed to check the database %s: %w", path, err)
	}
	if len(problems) > 0 {
		return corrupt(path, "PRAGMA quick_check: "+strings.Join(problems, "; "))
	}
	return nil
}

// fileID remembers which file the store opened, to notice it vanishing.
type fileID struct {
	path string
	info os.FileInfo
}

// CheckFile reports ErrVanished when the database file (or its directory)
// was removed, or replaced by another file, since Open: the store would go
// on writing to a file nobody can open again. Nil for in-memory stores.
func (s *Store) CheckFile() error {
	if s.file.info == nil {
		return nil
	}
	info, err := os.Stat(s.file.path)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrVanished, s.file.path, err)
	}
	if !os.SameFile(info, s.file.info) {
		return fmt.Errorf("%w: %s was replaced by another file", ErrVanished, s.file.path)
	}
	return nil
}

// Path returns the database file's path ("" for an in-memory store).
func (s *Store) Path() string { return s.file.path }

// SaveCopy writes a consistent copy of the open database to path (VACUUM
// INTO), creating its directory. It works from the open connection, so it
// also saves a database whose file was removed while open. path must not
// exist.
func (s *Store) SaveCopy(ctx context.Context, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("failed to create the directory of %s: %w", path, err)
	}
	if _, err := s.db.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		return fmt.Errorf("failed to save a copy of the database to %s: %w", path, err)
	}
	return nil
}
