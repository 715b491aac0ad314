// SPDX-License-Identifier: GPL-3.0-or-later

package fault

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/e2e/e2etest"
	"github.com/ksecbot/ksecbot/internal/dbdamage"
)

// exitCode waits up to timeout for ksecbot to end and returns its exit
// code.
func (b *ircBot) exitCode(t *testing.T, timeout time.Duration, after string) int {
	t.Helper()
	since := time.Now()
	select {
	case <-b.proc.Done():
	case <-time.After(timeout):
		t.Fatalf("ksecbot still runs %v after %s", timeout, after)
	}
	var exit *exec.ExitError
	if err := b.proc.Err(); !errors.As(err, &exit) {
		t.Fatalf("ksecbot ended with %v, want an exit code", err)
	}
	t.Logf("ksecbot exited with code %d %v after %s", exit.ExitCode(), time.Since(since).Round(time.Millisecond), after)
	return exit.ExitCode()
}

// queryOne reads one value from the SQLite file at path (read-only).
func queryOne(t *testing.T, path, q string, args ...any) (string, error) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v string
	err = db.QueryRow(q, args...).Scan(&v)
	return v, err
}

// The operator moves a database (a backup) over [store] path while
// ksecbot runs. ksecbot must neither write into it nor let its own WAL be
// replayed into it (that used to turn the file back into ksecbot's old
// database at the restart): it sets its own database aside next to it,
// exits with 75 saying where it went and what to do, and the file that
// came in is byte for byte what the operator put there. Restarted,
// ksecbot runs on it.
func TestDatabaseReplacedWhileRunning(t *testing.T) {
	t.Parallel()
	addr := e2etest.Env(t, ircHint, "KSECBOT_IRC_ADDR")[0]
	b := startIRCBot(t, addr, nil)
	path := b.cfg.StorePath()
	first := fileBugs(b.bz, 1, "announced before the backup")
	b.obs.waitBugs(t, 30*time.Second, first)

	// A backup, taken while ksecbot runs (next to the database, on its
	// file system), then marked.
	in := filepath.Join(filepath.Dir(path), "restore.db")
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("VACUUM INTO ?", in); err != nil {
		t.Fatal(err)
	}
	db.Close()
	marked, err := sql.Open("sqlite3", "file:"+in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := marked.Exec("CREATE TABLE restored(note TEXT); INSERT INTO restored VALUES ('put back by the operator')"); err != nil {
		t.Fatal(err)
	}
	marked.Close()
	second := fileBugs(b.bz, 1, "announced after the backup")
	b.obs.waitBugs(t, 30*time.Second, second)

	want := dbdamage.Digest(t, in)
	if err := os.Rename(in, path); err != nil {
		t.Fatal(err)
	}
	if code := b.exitCode(t, 60*time.Second, "the replacement"); code != 75 {
		t.Fatalf("exit code %d, want 75", code)
	}
	if dbdamage.Digest(t, path) != want {
		t.Fatal("the database moved in was changed")
	}
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		t.Errorf("ksecbot's WAL (%d bytes) left next to the file moved in: it would be replayed into it", fi.Size())
	}
	saved, _ := filepath.Glob(path + ".replaced-*")
	if len(saved) != 1 {
		t.Fatalf("ksecbot's own database saved as %v, want one %s.replaced-<time>", saved, path)
	}
	lines := b.proc.Log.Lines()
	last := lines[len(lines)-1]
	for _, w := range []string{"replaced by another file", saved[0], "left the file now at " + path + " as it is", "move " + saved[0] + " to " + path} {
		if !strings.Contains(last, w) {
			t.Errorf("the last line does not say %q: %s", w, last)
		}
	}
	if n := b.proc.Log.Count("level=ERROR", "removed or replaced"); n != 1 {
		t.Errorf("%d ERROR lines about the replaced database, want 1", n)
	}
	if got, err := queryOne(t, saved[0], "SELECT COUNT(*) FROM announcements WHERE bug_id = ?", second[0]); err != nil || got != "1" {
		t.Errorf("ksecbot's saved database: %s announcements of bug %d (%v), want its one announcement", got, second[0], err)
	}

	// What the service manager does: ksecbot runs on the file moved in.
	b.proc = e2etest.Start(t, "ksecbot", bin, "--config", b.cfg.Write(t), "--log-level", "debug")
	b.proc.Log.WaitFor(t, 30*time.Second, 0, "the join", e2etest.Contains("msg=joined component=irc"))
	if n := b.proc.Log.Count("baseline stored"); n != 0 {
		t.Error("the restart took a new baseline: the file moved in was not used")
	}
	if got, err := queryOne(t, path, "SELECT note FROM restored"); err != nil || got != "put back by the operator" {
		t.Errorf("the file moved in, after the restart: %q %v", got, err)
	}
}

// SQLite finds the database damaged while ksecbot runs (an index that
// quick_check at start could not see has a wrong entry for a bug; the
// next change of that bug fails with "database disk image is
// malformed"). That is a database fault, not Bugzilla trouble: one ERROR
// with the recovery steps and exit code 65 (the service files do not
// restart on it), where ksecbot used to warn on every poll that Bugzilla
// was failing while it announced nothing.
func TestDatabaseCorruptedWhileRunning(t *testing.T) {
	t.Parallel()
	addr := e2etest.Env(t, ircHint, "KSECBOT_IRC_ADDR")[0]
	b := startIRCBot(t, addr, nil)
	id := fileBugs(b.bz, 1, "in the damaged index")[0]
	b.obs.waitBugs(t, 30*time.Second, []int{id})
	err := dbdamage.MisIndex(context.Background(), b.cfg.StorePath(), "bugs_filter", "bugs",
		"product, component, resolution, assigned_to, creation_time, id",
		fmt.Sprintf("product, component, resolution, assigned_to, CASE WHEN id = %d THEN creation_time + 1 ELSE creation_time END, id", id))
	if err != nil {
		t.Fatal(err)
	}
	from := len(b.proc.Log.Lines())
	b.bz.UpdateBug(id, func(bug *bugzillatest.Bug) { bug.Whiteboard = "A1 [upstream]" })
	if code := b.exitCode(t, 60*time.Second, "the change of the bug"); code != 65 {
		t.Fatalf("exit code %d, want 65", code)
	}
	lines := b.proc.Log.Lines()[from:]
	var errs, bugzilla int
	for _, l := range lines {
		if strings.Contains(l, "level=ERROR") && strings.Contains(l, "the database is corrupted") {
			errs++
		}
		if strings.Contains(strings.ToLower(l), "bugzilla poll") {
			bugzilla++
			t.Errorf("reported as Bugzilla trouble: %s", l)
		}
	}
	if errs != 1 {
		t.Errorf("%d ERROR lines about the corrupted database, want 1", errs)
	}
	last := lines[len(lines)-1]
	for _, w := range []string{"ksecbot: ", "the database is corrupted", b.cfg.StorePath(), "malformed", "REINDEX"} {
		if !strings.Contains(last, w) {
			t.Errorf("the last line does not say %q: %s", w, last)
		}
	}
}
