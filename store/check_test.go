// SPDX-License-Identifier: GPL-3.0-or-later

package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/internal/dbdamage"
)

// filledStore makes a database with 200 bugs at path and closes it (the
// WAL is checkpointed into the file).
func filledStore(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var bugs []bugzilla.Bug
	for i := 1; i <= 200; i++ {
		bugs = append(bugs, kbug(i))
	}
	if err := s.SaveBugs(ctx, bugs, nil, true); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// A database with corrupted pages is refused at Open with ErrCorrupt and
// a message that says how to recover; so is a file that is no database.
func TestOpenRefusesCorruptedDatabase(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ksecbot.db")
	filledStore(t, path)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	if len(data) < 6*page {
		t.Fatalf("database only %d bytes", len(data))
	}
	// Overwrite the b-tree page headers of every page but the first
	// (schema) with garbage.
	for off := page; off+64 <= len(data); off += page {
		for i := 0; i < 64; i++ {
			data[off+i] = 0xA5
		}
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open(context.Background(), path)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open of a corrupted database: %v, want ErrCorrupt", err)
	}
	for _, want := range []string{path, ".recover", "stop ksecbot"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	t.Logf("corrupted pages: %v", err)

	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, []byte(strings.Repeat("this is not an SQLite database\n", 300)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), junk); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Open of a text file: %v, want ErrCorrupt", err)
	}

	// A sound database passes the check.
	good := filepath.Join(dir, "good.db")
	filledStore(t, good)
	s, err := Open(context.Background(), good)
	if err != nil {
		t.Fatalf("Open of a sound database: %v", err)
	}
	s.Close()
}

// CheckFile notices the database file being removed (with its directory)
// or replaced; SaveCopy rescues the open database to its path again.
// stateWithBug7 opens a store in its own state directory, with bug 7.
func stateWithBug7(t *testing.T) (s *Store, dir, path string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "state")
	path = filepath.Join(dir, "ksecbot.db")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path, nil)
	if err := s.SaveBugs(context.Background(), []bugzilla.Bug{kbug(7)}, nil, true); err != nil {
		t.Fatal(err)
	}
	return s, dir, path
}

func TestCheckFileAndSaveCopy(t *testing.T) {
	ctx := context.Background()
	s, dir, path := stateWithBug7(t)
	if err := s.CheckFile(); err != nil {
		t.Fatalf("CheckFile on an untouched file: %v", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	err := s.CheckFile()
	if !errors.Is(err, ErrVanished) {
		t.Fatalf("CheckFile after the directory was removed: %v, want ErrVanished", err)
	}
	t.Logf("removed: %v", err)
	if err := s.SaveCopy(ctx, path); err != nil {
		t.Fatal(err)
	}
	copyStore := openAt(t, path, nil)
	if _, ok, err := copyStore.Bug(ctx, 7); err != nil || !ok {
		t.Errorf("bug 7 not in the saved copy: %v %v", ok, err)
	}
	// The copy is another file than the one s has open: still vanished.
	if err := s.CheckFile(); !errors.Is(err, ErrVanished) || !strings.Contains(err.Error(), "replaced") {
		t.Errorf("CheckFile with another file at the path: %v, want ErrVanished (replaced)", err)
	}
}

// While the database file is gone (its directory removed, then made again
// as SaveCopy does), a connection the pool opens anew must fail instead of
// creating an empty database at the path: the bot would have taken that
// one for its own (a new baseline, every open bug announced again), and
// SaveCopy could not save the real one there ("output file already
// exists"). The e2e fault suite saw this as a repeated announcement.
func TestNewConnectionNeverCreatesTheFile(t *testing.T) {
	ctx := context.Background()
	s, dir, path := stateWithBug7(t)
	// Hold one connection (to the real file) for the save below.
	keep, err := s.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	// Every other connection the pool may open now is a new one.
	var conns []interface{ Close() error }
	for range 3 {
		c, err := s.db.Conn(ctx)
		if err != nil {
			break
		}
		conns = append(conns, c)
		var n int
		if err := c.QueryRowContext(ctx, "SELECT COUNT(*) FROM bugs").Scan(&n); err == nil {
			t.Errorf("a new connection read %d bugs from a file that is gone", n)
		}
	}
	for _, c := range conns {
		c.Close()
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a new connection created %s: %v", path, err)
	}
	if err := keep.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveCopy(ctx, path); err != nil {
		t.Fatalf("SaveCopy: %v", err)
	}
	copyStore := openAt(t, path, nil)
	if _, ok, err := copyStore.Bug(ctx, 7); err != nil || !ok {
		t.Errorf("bug 7 not in the saved copy: %v %v", ok, err)
	}
}

// An empty file at the path is no database, and not a fresh one either:
// refused (ErrCorrupt) with what to do; only a missing file is fresh.
func TestOpenRefusesEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ksecbot.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), path)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open of an empty file: %v, want ErrCorrupt", err)
	}
	for _, want := range []string{path, "empty (0 bytes)", "delete " + path, "catch_up"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
		t.Errorf("the empty file was changed: %v %v", fi, err)
	}
	t.Log(err)
	// A missing file is a fresh database, never left empty.
	fresh := filepath.Join(t.TempDir(), "fresh.db")
	s := openAt(t, fresh, nil)
	if v, err := s.SchemaVersion(context.Background()); err != nil || v == 0 {
		t.Errorf("fresh database at schema version %d (%v)", v, err)
	}
	if fi, err := os.Stat(fresh); err != nil || fi.Size() == 0 {
		t.Errorf("fresh database file: %v %v", fi, err)
	}
}

// Rows missing from an index pass PRAGMA quick_check; Open runs
// integrity_check, refuses the database with the REINDEX that repairs it,
// and opens it once repaired.
func TestOpenFindsRowsMissingFromAnIndex(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ksecbot.db")
	filledStore(t, path)
	if err := dbdamage.MisIndex(ctx, path, "bugs_created", "bugs", "creation_time, id", "CASE WHEN id = 7 THEN creation_time + 1 ELSE creation_time END, id"); err != nil {
		t.Fatal(err)
	}
	if line, err := dbdamage.Check(ctx, path, "quick_check"); err != nil || line != "ok" {
		t.Fatalf("quick_check: %q %v; the damage is meant to be the kind it misses", line, err)
	}
	_, err := Open(ctx, path)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open: %v, want ErrCorrupt", err)
	}
	for _, want := range []string{"missing from index bugs_created", "REINDEX", ".recover"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	t.Log(err)
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "REINDEX"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	openAt(t, path, nil)
}

// Above integrityLimit, Open checks the tables exactly-once delivery
// relies on with integrity_check: a row missing from an index of the
// announcements is found.
func TestOpenLargeChecksExactlyOnceTables(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ksecbot.db")
	largeStore(t, path, 20, 2)
	defer func(l int64) { integrityLimit = l }(integrityLimit)
	integrityLimit = 0
	openAt(t, path, nil).Close()
	if err := dbdamage.MisIndex(ctx, path, "announcements_bug", "announcements", "bug_id", "CASE WHEN bug_id = 3 THEN -3 ELSE bug_id END"); err != nil {
		t.Fatal(err)
	}
	_, err := Open(ctx, path)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "missing from index announcements_bug") {
		t.Fatalf("Open: %v, want ErrCorrupt naming announcements_bug", err)
	}
	if !strings.Contains(err.Error(), "quick_check and integrity_check of outbox") {
		t.Errorf("the error does not name the checks run: %v", err)
	}
}

// SQLite finding corruption while the store runs (an index missing the
// row an update must change) is the store's fault: Faulted is closed and
// Fault is ErrCorrupt with the path and the recovery steps.
func TestCorruptionWhileRunningIsAFault(t *testing.T) {
	ctx := context.Background()
	s, _, path := stateWithBug7(t)
	if s.Fault() != nil {
		t.Fatalf("fault before any damage: %v", s.Fault())
	}
	if err := dbdamage.MisIndex(ctx, path, "bugs_filter", "bugs", "product, component, resolution, assigned_to, creation_time, id",
		"product, component, resolution, assigned_to, CASE WHEN id = 7 THEN creation_time + 1 ELSE creation_time END, id"); err != nil {
		t.Fatal(err)
	}
	b := kbug(7)
	b.Summary += " (changed)"
	b.LastChangeTime = b.LastChangeTime.Add(time.Hour)
	err := s.SaveBugs(ctx, []bugzilla.Bug{b}, nil, false)
	if err == nil {
		t.Fatal("the update of a row missing from an index succeeded")
	}
	select {
	case <-s.Faulted():
	default:
		t.Fatalf("no fault after %v", err)
	}
	f := s.Fault()
	if !errors.Is(f, ErrCorrupt) {
		t.Fatalf("Fault() = %v, want ErrCorrupt", f)
	}
	for _, want := range []string{path, "malformed", "REINDEX"} {
		if !strings.Contains(f.Error(), want) {
			t.Errorf("the fault does not say %q: %v", want, f)
		}
	}
	t.Log(f)
}
