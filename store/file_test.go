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

// A database file moved over the store's path while it is open is left
// as it is: no connection opens it, and SetAside empties the store's WAL
// and removes its -wal and -shm files before anyone could replay them
// into the new file (SQLite finds them by name: the replacement used to
// be overwritten with the old database at the next open), then saves the
// store's own database next to it. The file that came in then opens with
// its own content only.
func TestReplacedDatabaseLeftAsItIs(t *testing.T) {
	ctx := context.Background()
	var err error
	s, dir, path := stateWithBug7(t)
	for id := 100; id < 150; id++ { // a WAL with plenty in it
		if err = s.SaveBugs(ctx, []bugzilla.Bug{kbug(id)}, nil, false); err != nil {
			t.Fatal(err)
		}
	}
	// Two connections in the pool: one will be kept busy, the other
	// serves the writes.
	var conns [2]*sql.Conn
	for i := range conns {
		if conns[i], err = s.db.Conn(ctx); err != nil {
			t.Fatal(err)
		}
	}
	conns[1].Close()
	held := conns[0]

	in := filepath.Join(dir, "restored.db")
	db, err := sql.Open("sqlite3", "file:"+in)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"CREATE TABLE marker(what TEXT)", "INSERT INTO marker VALUES ('the replacement')"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	want := dbdamage.Digest(t, in)
	if err := os.Rename(in, path); err != nil {
		t.Fatal(err)
	}

	// Until it is noticed, the store goes on in its own (renamed) file.
	if err := s.SaveBugs(ctx, []bugzilla.Bug{kbug(200)}, nil, false); err != nil {
		t.Fatalf("write after the replacement: %v", err)
	}
	if err := s.CheckFile(); !errors.Is(err, ErrVanished) || !strings.Contains(err.Error(), "replaced") {
		t.Fatalf("CheckFile: %v, want ErrVanished (replaced)", err)
	}
	// A new connection is refused, and that is a fault of the store.
	other, err := s.db.Conn(ctx) // the second pooled one
	if err != nil {
		t.Fatal(err)
	}
	if c, err := s.db.Conn(ctx); err == nil {
		var n int
		err = c.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_schema").Scan(&n)
		c.Close()
		if err == nil {
			t.Fatal("a new connection opened the replacement")
		}
	}
	if !errors.Is(s.Fault(), ErrVanished) {
		t.Errorf("Fault() = %v, want ErrVanished", s.Fault())
	}
	held.Close()
	other.Close()

	now := time.Date(2026, 12, 8, 3, 15, 0, 0, time.UTC)
	dest, err := s.SetAside(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := path + ".replaced-20261208T031500Z"; dest != want {
		t.Errorf("saved as %s, want %s", dest, want)
	}
	if err := s.SaveBugs(ctx, []bugzilla.Bug{kbug(201)}, nil, false); !errors.Is(err, ErrVanished) {
		t.Errorf("a write after SetAside: %v, want ErrVanished", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if dbdamage.Digest(t, path) != want {
		t.Fatal("the replacement's bytes changed")
	}
	for _, side := range []string{path + "-wal", path + "-shm"} {
		if fi, err := os.Stat(side); err == nil {
			t.Errorf("%s (%d bytes) left next to the replacement", side, fi.Size())
		}
	}

	// Opened as the restarted ksecbot would: its own table, none of ours.
	db, err = sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var what string
	var tables int
	if err := db.QueryRowContext(ctx, "SELECT what FROM marker").Scan(&what); err != nil || what != "the replacement" {
		t.Errorf("the replacement's row: %q %v", what, err)
	}
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'bugs'").Scan(&tables); err != nil || tables != 0 {
		t.Errorf("the replacement has ksecbot's tables (%d, %v): the old WAL was replayed into it", tables, err)
	}

	saved := openAt(t, dest, nil)
	for _, id := range []int{7, 149, 200} {
		if _, ok, err := saved.Bug(ctx, id); err != nil || !ok {
			t.Errorf("bug %d is not in the saved database: %v %v", id, ok, err)
		}
	}
}
