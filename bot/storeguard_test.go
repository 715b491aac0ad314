// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bot"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/internal/dbdamage"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/transport"
)

// Another process holds the database's write lock while announcements
// wait in the outbox: the first message of each channel goes out but
// cannot be recorded as sent, so the channel pauses (no resend loop), one
// ERROR says why and /healthz answers 503; after the lock is released
// every announcement is delivered exactly once and health is back.
func TestHeldWriteLockPausesDeliveryWithoutRepeats(t *testing.T) {
	h := newHarness(t, "")
	logs := &syncBuffer{}
	h.logOut = logs
	rec := newRecorder("test", "#gentoo-kernel", "#gentoo-dev")
	rec.mu.Lock()
	rec.down = true
	rec.mu.Unlock()
	b, _ := h.start(rec)
	srv := httptest.NewServer(b.HTTP.Handler())
	defer srv.Close()
	waitPolls(t, b, 1)

	ctx := context.Background()
	var ids []int
	for _, s := range []string{"first", "second", "third"} {
		ids = append(ids, h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: " + s + " bug while the store is locked"}))
	}
	if err := b.Intake.Poke(ctx, ids...); err != nil {
		t.Fatal(err)
	}
	other, err := store.Open(ctx, h.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	want := len(ids) * len(rec.channels)
	waitUntil(t, 20*time.Second, "the announcements in the outbox", func() bool {
		n, err := other.OutboxDepth(ctx, nil)
		return err == nil && n >= want
	})

	// Another connection takes the write lock and keeps it.
	db, err := sql.Open("sqlite3", "file:"+h.dbPath+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	locked := time.Now()
	rec.mu.Lock()
	rec.down = false
	rec.mu.Unlock()

	waitUntil(t, 30*time.Second, "/healthz 503 while sent messages cannot be recorded", func() bool {
		code, _ := health(t, srv.URL)
		return code == 503
	})
	if v := metricGauge(t, b, "ksecbot_store_unrecorded_messages"); v < 1 {
		t.Errorf("ksecbot_store_unrecorded_messages = %v during the fault, want at least 1", v)
	}
	_, body := health(t, srv.URL)
	t.Logf("/healthz during the fault: %q", strings.TrimSpace(body))
	if !strings.Contains(body, "cannot record sent messages") {
		t.Errorf("/healthz does not say what is wrong: %q", body)
	}
	// Several delivery rounds pass under the lock (one every 1-5 s).
	deadline := time.Now().Add(12 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond) // letting the fault last is the scenario
		for key, n := range perKey(rec.sentCopy()) {
			if n > 1 {
				t.Fatalf("%s sent %d times while the store is locked", key, n)
			}
		}
	}
	during := len(rec.sentCopy())
	if during > len(rec.channels) {
		t.Errorf("%d messages went out under the lock, want at most one per channel (then the channel pauses)", during)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	t.Logf("lock held %v; %d message(s) went out meanwhile", time.Since(locked).Round(time.Second), during)

	rec.waitFor(t, 60*time.Second, "every announcement after the lock", func(m []chat.Outgoing) bool {
		n := 0
		for _, o := range m {
			if o.Kind == chat.KindAnnounce {
				n++
			}
		}
		return n >= want
	})
	waitUntil(t, 20*time.Second, "/healthz 200 after the fault", func() bool {
		code, _ := health(t, srv.URL)
		return code == 200
	})
	if v := metricGauge(t, b, "ksecbot_store_unrecorded_messages"); v != 0 {
		t.Errorf("ksecbot_store_unrecorded_messages = %v after recovery, want 0", v)
	}
	for key, n := range perKey(rec.sentCopy()) {
		if n != 1 {
			t.Errorf("%s sent %d times, want exactly once", key, n)
		}
	}
	// The deliverer records a message as sent just after the network took
	// it: wait for the record rather than race it.
	waitUntil(t, 20*time.Second, "every sent message recorded (outbox depth 0)", func() bool {
		n, err := other.OutboxDepth(ctx, nil)
		return err == nil && n == 0
	})
	out := logs.String()
	if n := strings.Count(out, "level=ERROR"); n != 1 || !strings.Contains(out, "the database cannot be written") {
		t.Errorf("%d ERROR lines, want exactly one saying the database cannot be written:\n%s", n, grepLines(out, "level=ERROR"))
	}
	if !strings.Contains(out, "the database is writable again") {
		t.Error("no line says the database is writable again")
	}
}

// perKey counts the recorded messages per outbox key.
func perKey(msgs []chat.Outgoing) map[string]int {
	c := map[string]int{}
	for _, m := range msgs {
		c[m.Key]++
	}
	return c
}

// grepLines returns the lines of s containing sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// guarded is a bot run by the test itself, to see how it ends.
type guarded struct {
	b    *bot.Bot
	rec  *recorder
	logs *syncBuffer
	done chan error // Run's result
}

// startGuarded runs a bot on h's store at dir/ksecbot.db and waits until
// it announced one bug, whose id it returns.
func startGuarded(t *testing.T, h *harness, dir string) (*guarded, int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	h.dbPath = filepath.Join(dir, "ksecbot.db")
	g := &guarded{rec: newRecorder("test", "#gentoo-kernel"), logs: &syncBuffer{}, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st, err := store.Open(ctx, h.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bz, err := bugzilla.New(bugzilla.Options{BaseURL: h.cfg.Bugzilla.URL, APIKey: "key-ksecbot", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	g.b, err = bot.Wire(bot.Options{Config: h.cfg, Store: st, Bugzilla: bz, Transports: []transport.Transport{g.rec},
		Logger: slog.New(slog.NewTextHandler(g.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	go func() { g.done <- g.b.Run(ctx) }()
	id := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: stored before the database fails"})
	if err := g.b.Intake.Poke(ctx, id); err != nil {
		t.Fatal(err)
	}
	g.rec.waitFor(t, 20*time.Second, "the announcement", func(m []chat.Outgoing) bool { return anyAnnounces(m, id) })
	return g, id
}

// end waits for Run to return, at most 30 s after since.
func (g *guarded) end(t *testing.T, since time.Time, what string) error {
	t.Helper()
	select {
	case err := <-g.done:
		t.Logf("stopped %v after %s: %v", time.Since(since).Round(time.Millisecond), what, err)
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("the bot still runs 30 s after %s", what)
		return nil
	}
}

// The database directory is removed while the bot runs: it says so, stops
// delivering, saves the open database to its path again and stops with
// store.ErrVanished (the service manager restarts it on the saved copy),
// instead of running on on a file nobody can open again.
func TestVanishedDatabaseIsSavedAndTheBotStops(t *testing.T) {
	h := newHarness(t, "")
	dir := filepath.Join(t.TempDir(), "state")
	g, id := startGuarded(t, h, dir)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	err := g.end(t, time.Now(), "the removal")
	if !errors.Is(err, store.ErrVanished) {
		t.Fatalf("Run returned %v, want store.ErrVanished", err)
	}
	if n := strings.Count(g.logs.String(), "level=ERROR"); n != 1 {
		t.Errorf("%d ERROR lines, want one:\n%s", n, grepLines(g.logs.String(), "level=ERROR"))
	}
	saved, err := store.Open(context.Background(), h.dbPath)
	if err != nil {
		t.Fatalf("the saved database does not open: %v", err)
	}
	defer saved.Close()
	if _, ok, err := saved.Bug(context.Background(), id); err != nil || !ok {
		t.Errorf("bug %d is not in the saved database: %v %v", id, ok, err)
	}
	if n, err := saved.OutboxDepth(context.Background(), nil); err != nil || n != 0 {
		t.Errorf("saved outbox has %d unsent messages (%v), want 0: the announcement was recorded", n, err)
	}
}

// SQLite finds corruption while the bot runs (a damaged index: the
// update of a bug Bugzilla changed fails with "database disk image is
// malformed"): the bot says so once at ERROR with the recovery steps,
// answers /healthz 503 naming the database, and stops with
// store.ErrCorrupt (exit 65), instead of warning on every poll that
// Bugzilla is failing while it announces nothing.
func TestCorruptionWhileRunningStopsTheBot(t *testing.T) {
	h := newHarness(t, "")
	g, id := startGuarded(t, h, filepath.Join(t.TempDir(), "state"))
	ctx := context.Background()
	if err := dbdamage.MisIndex(ctx, h.dbPath, "bugs_filter", "bugs", "product, component, resolution, assigned_to, creation_time, id",
		fmt.Sprintf("product, component, resolution, assigned_to, CASE WHEN id = %d THEN creation_time + 1 ELSE creation_time END, id", id)); err != nil {
		t.Fatal(err)
	}
	h.srv.UpdateBug(id, func(b *bugzillatest.Bug) { b.Whiteboard = "A1 [upstream]" })
	changed := time.Now()
	_ = g.b.Intake.Poke(ctx, id) // fails: the store is corrupted
	err := g.end(t, changed, "the change of the bug")
	if !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("Run returned %v, want store.ErrCorrupt", err)
	}
	for _, want := range []string{h.dbPath, "REINDEX", ".recover"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	logs := g.logs.String()
	if n := strings.Count(logs, "level=ERROR msg=\"the database is corrupted"); n != 1 {
		t.Errorf("%d ERROR lines about the corrupted database, want one:\n%s", n, grepLines(logs, "level=ERROR"))
	}
	if bz := grepLines(strings.ToLower(logs), "bugzilla poll"); bz != "" {
		t.Errorf("the corruption was reported as Bugzilla trouble:\n%s", bz)
	}
	if warn := grepLines(logs, "level=WARN"); warn != "" {
		t.Logf("warnings:\n%s", warn)
	}
	rr := httptest.NewRecorder()
	g.b.HTTP.Handler().ServeHTTP(rr, httptest.NewRequest("GET", "/healthz", nil))
	if rr.Code != 503 || !strings.Contains(rr.Body.String(), "store: the database is corrupted: "+h.dbPath) {
		t.Errorf("/healthz: %d %q, want 503 naming the corrupted database", rr.Code, rr.Body.String())
	}
}

// metricGauge reads an unlabelled gauge from the bot's registry.
func metricGauge(t *testing.T, b *bot.Bot, name string) float64 {
	t.Helper()
	mfs, err := b.Metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.Metric) == 1 {
			return mf.Metric[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}
