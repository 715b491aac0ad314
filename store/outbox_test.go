// SPDX-License-Identifier: GPL-3.0-or-later

package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/ksecbot/ksecbot/chat"
)

// countingConnector opens go-sqlite3 connections that count the SQL
// statements they run (direct Exec/Query and executions of prepared
// statements), so a test can see how many queries a method costs.
type countingConnector struct {
	dsn string
	n   atomic.Int64
}

func (c *countingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := (&sqlite3.SQLiteDriver{}).Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &countingConn{SQLiteConn: conn.(*sqlite3.SQLiteConn), n: &c.n}, nil
}

func (c *countingConnector) Driver() driver.Driver { return &sqlite3.SQLiteDriver{} }

type countingConn struct {
	*sqlite3.SQLiteConn
	n *atomic.Int64
}

func (c *countingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	c.n.Add(1)
	return c.SQLiteConn.ExecContext(ctx, q, args)
}

func (c *countingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	c.n.Add(1)
	return c.SQLiteConn.QueryContext(ctx, q, args)
}

func (c *countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	st, err := c.SQLiteConn.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	return &countingStmt{SQLiteStmt: st.(*sqlite3.SQLiteStmt), n: c.n}, nil
}

func (c *countingConn) Prepare(q string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), q)
}

type countingStmt struct {
	*sqlite3.SQLiteStmt
	n *atomic.Int64
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.n.Add(1)
	return s.SQLiteStmt.ExecContext(ctx, args)
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.n.Add(1)
	return s.SQLiteStmt.QueryContext(ctx, args)
}

// openCounting opens a migrated store whose statements are counted.
func openCounting(t *testing.T) (*Store, *countingConnector) {
	t.Helper()
	cn := &countingConnector{dsn: dsn(filepath.Join(t.TempDir(), "count.db"), time.Second)}
	db := sql.OpenDB(cn)
	t.Cleanup(func() { db.Close() })
	s := &Store{db: db, now: newClock().Now, write: make(chan struct{}, 1)}
	if err := s.migrate(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	return s, cn
}

func intents(prefix string, n int) []Intent {
	in := make([]Intent, n)
	for i := range in {
		in[i] = Intent{Key: fmt.Sprintf("announce/%s%d/irc:#k", prefix, i), Kind: chat.KindAnnounce, Channel: "irc:#k", BugIDs: []int{i + 1}}
	}
	return in
}

// Queueing a batch runs one statement per intent, not a look-up of the
// pruned keys and an insert: twice the batch costs twice the items, and
// nothing more.
func TestEnqueueOneStatementPerItem(t *testing.T) {
	ctx := context.Background()
	s, cn := openCounting(t)
	cost := func(prefix string, n int) int64 {
		before := cn.n.Load()
		if err := s.EnqueueIntents(ctx, intents(prefix, n)...); err != nil {
			t.Fatal(err)
		}
		return cn.n.Load() - before
	}
	ten, twenty := cost("a", 10), cost("b", 20)
	if per := (twenty - ten) / 10; per != 1 {
		t.Errorf("enqueueing costs %d statements per intent (10 intents: %d, 20: %d), want 1", per, ten, twenty)
	}
	if n, _ := s.OutboxDepth(ctx, nil); n != 30 {
		t.Errorf("outbox depth = %d, want 30", n)
	}
}

// An intent whose key is in sent_keys (sent, row pruned since) is never
// queued again, alone or in a batch with new ones; keyless intents are
// never de-duplicated.
func TestEnqueueSkipsPrunedKeys(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, newClock())
	batch := intents("p", 4)
	if _, err := s.db.ExecContext(ctx, "INSERT INTO sent_keys(key, sent_at) VALUES (?, 1), (?, 1)", batch[1].Key, batch[3].Key); err != nil {
		t.Fatal(err)
	}
	noKey := Intent{Kind: chat.KindSystem, Channel: "irc:#k"}
	if err := s.EnqueueIntents(ctx, append(batch, noKey, noKey)...); err != nil {
		t.Fatal(err)
	}
	if err := s.EnqueueIntents(ctx, batch...); err != nil { // again: no change
		t.Fatal(err)
	}
	items, err := s.NextOutbox(ctx, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, it := range items {
		keys = append(keys, it.Msg.Key)
	}
	want := []string{batch[0].Key, batch[2].Key, "", ""}
	if fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Errorf("queued %q, want %q", keys, want)
	}
}

// BenchmarkEnqueue queues batches of 100 intents (10 of them sent long
// ago and pruned, so only their key is left) into an outbox that has
// 20,000 pruned keys. One op is one batch.
func BenchmarkEnqueue(b *testing.B) {
	ctx := context.Background()
	s := newStore(b, nil)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 20000 {
		if _, err := tx.ExecContext(ctx, "INSERT INTO sent_keys(key, sent_at) VALUES (?, 1)", fmt.Sprintf("announce/old%d/irc:#k", i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	batch := 0
	for b.Loop() {
		in := intents(fmt.Sprintf("b%d-", batch), 100)
		for i := 0; i < len(in); i += 10 {
			in[i].Key = fmt.Sprintf("announce/old%d/irc:#k", batch*10+i/10)
		}
		batch++
		if err := s.EnqueueIntents(ctx, in...); err != nil {
			b.Fatal(err)
		}
	}
}

// count runs a COUNT(*) query, as someone reading the database would.
func count(t *testing.T, s *Store, q string, args ...any) int {
	t.Helper()
	var n int
	if err := s.db.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// A skipped message is done but not sent: it leaves the queue, counts as
// neither sent nor waiting, records no announcement, is never queued
// again, and marking it (or a sent one) again changes nothing.
func TestSkippedIsNotSent(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s := newStore(t, c)
	in := intents("s", 3)
	if err := s.EnqueueIntents(ctx, in...); err != nil {
		t.Fatal(err)
	}
	items, err := s.NextOutbox(ctx, nil, 0)
	if err != nil || len(items) != 3 {
		t.Fatalf("NextOutbox = %v %v", items, err)
	}
	sent, skipped := items[0], items[1]
	if err := s.MarkSent(ctx, sent.ID, "$sent"); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Minute)
	if err := s.MarkSkipped(ctx, skipped.ID, "the channel may not see it"); err != nil {
		t.Fatal(err)
	}

	if n, _ := s.OutboxDepth(ctx, nil); n != 1 {
		t.Errorf("OutboxDepth = %d, want 1 (the third message)", n)
	}
	if next, _ := s.NextOutbox(ctx, nil, 0); len(next) != 1 || next[0].ID != items[2].ID {
		t.Errorf("NextOutbox = %+v, want only the third message", next)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM outbox WHERE sent_at <> 0"); n != 1 {
		t.Errorf("%d messages have a sent time, want 1: a skipped message was not sent", n)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM outbox WHERE id = ? AND skipped_at = ? AND sent_at = 0", skipped.ID, ts(c.Now())); n != 1 {
		t.Error("the skipped message is not marked skipped at the time it was skipped")
	}
	if chans, _ := s.AnnouncedChannels(ctx, skipped.Msg.BugIDs[0]); len(chans) != 0 {
		t.Errorf("the skipped bug counts as announced in %v", chans)
	}
	if chans, _ := s.AnnouncedChannels(ctx, sent.Msg.BugIDs[0]); len(chans) != 1 {
		t.Errorf("the sent bug is announced in %v, want one channel", chans)
	}

	// Marking again, either way, changes nothing.
	if err := s.MarkSkipped(ctx, sent.ID, "late"); err != nil {
		t.Errorf("MarkSkipped of a sent message: %v", err)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM outbox WHERE id = ? AND sent_at <> 0 AND skipped_at = 0 AND last_error = ''", sent.ID); n != 1 {
		t.Error("MarkSkipped relabelled a sent message as skipped")
	}
	if err := s.MarkSkipped(ctx, skipped.ID, "again"); err != nil {
		t.Errorf("MarkSkipped twice: %v", err)
	}
	if err := s.MarkSent(ctx, skipped.ID, "$late"); err != nil {
		t.Errorf("MarkSent of a skipped message: %v", err)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM outbox WHERE sent_at <> 0"); n != 1 {
		t.Errorf("%d messages sent after marking again, want 1", n)
	}
	if chans, _ := s.AnnouncedChannels(ctx, skipped.Msg.BugIDs[0]); len(chans) != 0 {
		t.Errorf("the skipped bug counts as announced in %v after MarkSent", chans)
	}
	if err := s.MarkSkipped(ctx, 999, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("MarkSkipped of an unknown id = %v, want ErrNotFound", err)
	}

	// A skipped key is never queued again.
	if err := s.EnqueueIntents(ctx, in[1]); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.OutboxDepth(ctx, nil); n != 1 {
		t.Errorf("a skipped key was queued again: depth %d", n)
	}
}

// Retention prunes a skipped message by the time it was skipped, keeps
// its key, and never prunes a waiting one.
func TestPruneSkipped(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s := newStore(t, c)
	in := intents("r", 3)
	if err := s.EnqueueIntents(ctx, in...); err != nil {
		t.Fatal(err)
	}
	items, _ := s.NextOutbox(ctx, nil, 0)
	if err := s.MarkSkipped(ctx, items[0].ID, "old"); err != nil {
		t.Fatal(err)
	}
	c.Advance(48 * time.Hour)
	if err := s.MarkSkipped(ctx, items[1].ID, "recent"); err != nil {
		t.Fatal(err)
	}
	p, err := s.Prune(ctx, c.Now().Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if p.Outbox != 1 {
		t.Errorf("pruned %d outbox rows, want 1 (the old skip)", p.Outbox)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM outbox"); n != 2 {
		t.Errorf("%d outbox rows left, want 2 (the recent skip and the waiting one)", n)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM sent_keys WHERE key = ?", in[0].Key); n != 1 {
		t.Error("the key of the pruned skipped message was not kept")
	}
	if err := s.EnqueueIntents(ctx, in[0]); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.OutboxDepth(ctx, nil); n != 1 {
		t.Errorf("a pruned skipped key was queued again: depth %d, want 1", n)
	}
}

// A version 3 database marked skipped rows sent (sent_at set, last_error
// "skipped: ..."). The upgrade makes them skipped and leaves sent ones
// sent, including a sent one that a later MarkSkipped relabelled (it has
// a network message ID).
func TestMigrateV3SkippedRows(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v3.db")
	db, err := sql.Open("sqlite3", dsn(path, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	v3 := &Store{db: db, now: time.Now, write: make(chan struct{}, 1)}
	if err := v3.migrate(ctx, 3); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO outbox(id, key, channel, kind, msg, created_at, sent_at, last_error) VALUES
			(1, 'announce/1/irc:#k', 'irc:#k', 'announce', '{"key":"announce/1/irc:#k","kind":"announce","channel":"irc:#k","bugs":[1]}', 1, 5, 'skipped: the channel may not see it')`,
		`INSERT INTO outbox(id, key, channel, kind, msg, created_at, sent_at) VALUES
			(2, 'announce/2/irc:#k', 'irc:#k', 'announce', '{"key":"announce/2/irc:#k","kind":"announce","channel":"irc:#k","bugs":[2]}', 1, 6)`,
		`INSERT INTO announcements(bug_id, channel, kind, at, outbox_id) VALUES (2, 'irc:#k', 'announce', 6, 2)`,
		`INSERT INTO outbox(id, key, channel, kind, msg, created_at, sent_at, network_id, last_error) VALUES
			(3, 'announce/3/mx:!r', 'mx:!r', 'announce', '{"key":"announce/3/mx:!r","kind":"announce","channel":"mx:!r","bugs":[3]}', 1, 7, '$e', 'skipped: relabelled')`,
		`INSERT INTO outbox(id, key, channel, kind, msg, created_at) VALUES
			(4, 'announce/4/irc:#k', 'irc:#k', 'announce', '{"key":"announce/4/irc:#k","kind":"announce","channel":"irc:#k","bugs":[4]}', 1)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s := openAt(t, path, newClock())
	if n := count(t, s, "SELECT COUNT(*) FROM outbox WHERE sent_at <> 0"); n != 2 {
		t.Errorf("%d rows sent after the upgrade, want 2", n)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM outbox WHERE id = 1 AND sent_at = 0 AND skipped_at = 5"); n != 1 {
		t.Error("the skipped row is not skipped at its old time after the upgrade")
	}
	if next, _ := s.NextOutbox(ctx, nil, 0); len(next) != 1 || next[0].ID != 4 {
		t.Errorf("NextOutbox = %+v, want only row 4", next)
	}
	p, err := s.Prune(ctx, fromTS(100))
	if err != nil || p.Outbox != 3 {
		t.Errorf("Prune = %+v %v, want the 3 done rows", p, err)
	}
	if err := s.EnqueueIntents(ctx, Intent{Key: "announce/1/irc:#k", Kind: chat.KindAnnounce, Channel: "irc:#k", BugIDs: []int{1}}); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.OutboxDepth(ctx, nil); n != 1 {
		t.Errorf("depth = %d after re-enqueueing the pruned skipped key, want 1", n)
	}
}
