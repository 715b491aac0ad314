// SPDX-License-Identifier: GPL-3.0-or-later

package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
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
