// SPDX-License-Identifier: GPL-3.0-or-later

// The database's check at start, and what a corrupted database is.

package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// ErrCorrupt is returned by Open for a database that fails its check, an
// empty file or a file that is no database at all, and is the store's
// fault (Store.Fault) when SQLite finds corruption while it runs. ksecbot
// refuses to run on it; the error text says how to recover.
var ErrCorrupt = errors.New("the database is corrupted")

// integrityLimit is the largest database (file and WAL) that Open checks
// with PRAGMA integrity_check, which also finds index entries that do not
// match their rows (quick_check does not). It reads every index entry:
// measured on a loaded 2-core machine (BenchmarkStartCheck;
// bench/README.md), 0.1 to 0.35 s for 36 MiB (10,000 bugs, 50,000 sent
// messages) and 0.9 s for 203 MiB (100,000 bugs), so 1 to 2 s at this
// size, several times what a busy ksecbot keeps. A variable for tests.
var integrityLimit int64 = 256 << 20

// exactlyOnceTables are the tables that announcing each bug once per
// channel relies on. A database over integrityLimit gets quick_check and
// integrity_check of these tables and their indexes: a message key missing
// from the outbox's unique index would be queued, and sent, twice.
var exactlyOnceTables = []string{"outbox", "sent_keys", "announcements", "events", "reminders", "autocc_jobs"}

// isCorrupt reports whether err is SQLite's "database disk image is
// malformed" or "file is not a database".
func isCorrupt(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrCorrupt || se.Code == sqlite3.ErrNotADB)
}

// sqliteCorruptIndex is SQLITE_CORRUPT_INDEX: an index does not match its
// table.
var sqliteCorruptIndex = sqlite3.ErrCorrupt.Extend(3)

// hintOf tells whether err is damage to an index only, which REINDEX
// repairs.
func hintOf(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.ExtendedCode == sqliteCorruptIndex
}

// indexProblem reports whether an integrity_check line is about an index
// only (a row missing from it, an extra or duplicate entry).
func indexProblem(line string) bool {
	for _, s := range []string{"missing from index", "wrong # of entries in index", "non-unique entry in index"} {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

// corrupt builds the ErrCorrupt error for path, with the recovery steps;
// indexOnly: every problem found is in an index, which REINDEX rebuilds.
func corrupt(path, detail string, indexOnly bool) error {
	rebuild := fmt.Sprintf(`either rebuild it with "sqlite3 %[1]s .recover | sqlite3 %[1]s.new", delete %[1]s-wal and %[1]s-shm and move %[1]s.new to %[1]s; or move %[1]s away and start with an empty database (bugs created within [bugzilla] catch_up are announced again)`, path)
	steps := fmt.Sprintf("stop ksecbot and copy %s and its -wal and -shm files aside; then ", path)
	if indexOnly {
		steps += fmt.Sprintf(`run "sqlite3 %[1]s REINDEX" (only indexes are damaged) and check that "sqlite3 %[1]s 'PRAGMA integrity_check'" prints ok; if it does not, `, path)
	}
	return fmt.Errorf("%w: %s (%s). ksecbot will not run on it. To recover: %s", ErrCorrupt, path, detail, steps+rebuild)
}

// emptyFile is the error for a database file of 0 bytes: no database, and
// not to be taken for a fresh one (only a missing file is).
func emptyFile(path string) error {
	return fmt.Errorf(`%w: %s is empty (0 bytes): it holds no ksecbot database, and ksecbot does not take it for a fresh one (every bug filed within [bugzilla] catch_up would be announced again). To start with a fresh database, delete %[2]s; otherwise put the database back from a backup, or from a copy ksecbot saved next to it (%[2]s.replaced-...)`, ErrCorrupt, path)
}

// startCheck checks the database at Open: PRAGMA integrity_check up to
// integrityLimit, else quick_check and integrity_check of the exactly-once
// tables. It returns ErrCorrupt with the first problems reported.
func (s *Store) startCheck(ctx context.Context, path string) error {
	checks, label := []string{"PRAGMA integrity_check(10)"}, "PRAGMA integrity_check"
	if size(path)+size(path+"-wal") > integrityLimit {
		checks, label = []string{"PRAGMA quick_check(10)"}, "PRAGMA quick_check and integrity_check of "+strings.Join(exactlyOnceTables, ", ")
		for _, t := range exactlyOnceTables {
			var n int
			if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = ?", t).Scan(&n); err != nil {
				return s.checkFailed(path, err)
			}
			if n > 0 {
				checks = append(checks, "PRAGMA integrity_check("+t+")")
			}
		}
	}
	var problems []string
	for _, q := range checks {
		found, err := s.pragmaProblems(ctx, q)
		if err != nil {
			return s.checkFailed(path, err)
		}
		problems = append(problems, found...)
		if len(problems) >= 10 {
			break
		}
	}
	if len(problems) == 0 {
		return nil
	}
	indexOnly := true
	for _, p := range problems {
		indexOnly = indexOnly && indexProblem(p)
	}
	if len(problems) > 10 {
		problems = problems[:10]
	}
	return corrupt(path, label+": "+strings.Join(problems, "; "), indexOnly)
}

// pragmaProblems runs a check pragma and returns the lines that are not
// "ok".
func (s *Store) pragmaProblems(ctx context.Context, q string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, err
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	return problems, rows.Err()
}

// checkFailed turns a failure of the check itself into the error of Open.
func (s *Store) checkFailed(path string, err error) error {
	if isCorrupt(err) {
		return corrupt(path, err.Error(), hintOf(err))
	}
	return fmt.Errorf("failed to check the database %s: %w", path, err)
}

// size returns the size of the file at path, 0 if there is none.
func size(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
