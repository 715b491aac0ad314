// SPDX-License-Identifier: GPL-3.0-or-later

package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
)

// A database of version 2 holds rendered text in the outbox. After the
// upgrade, queued announcements, digests, reminders and change lines are
// intents rendered at send time (their old text is gone), other rows keep
// their text, sent rows and their announcements are kept, and sent keys
// still block a second delivery.
func TestMigrateV2OutboxToIntents(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v2.db")
	db, err := sql.Open("sqlite3", dsn(path, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	v2 := &Store{db: db, now: time.Now, write: make(chan struct{}, 1)}
	if err := v2.migrate(ctx, 2); err != nil {
		t.Fatal(err)
	}
	line := `"lines":[[{"t":"New kernel security bug 5: secret summary | hardened: blueness"}]]`
	stmts := []string{
		`INSERT INTO events(id, bug_id, kind, old, new, bug, at, processed_at) VALUES (41, 5, 'severity', 'normal', 'critical', '{}', 1, 2)`,
		`INSERT INTO outbox(key, channel, kind, msg, created_at) VALUES ('announce/5/irc:#k', 'irc:#k', 'announce',
			'{"key":"announce/5/irc:#k","kind":"announce","channel":"irc:#k","target":"#k",` + line + `,"bugs":[5]}', 1)`,
		`INSERT INTO outbox(key, channel, kind, msg, created_at) VALUES ('change/41/irc:#k', 'irc:#k', 'change',
			'{"key":"change/41/irc:#k","kind":"change","channel":"irc:#k","target":"#k",` + line + `,"bugs":[5]}', 1)`,
		`INSERT INTO outbox(key, channel, kind, msg, created_at) VALUES ('change/99/irc:#k', 'irc:#k', 'change',
			'{"key":"change/99/irc:#k","kind":"change","channel":"irc:#k","target":"#k",` + line + `,"bugs":[5]}', 1)`,
		`INSERT INTO outbox(key, channel, kind, msg, created_at) VALUES ('digest/7/irc:#k', 'irc:#k', 'digest',
			'{"key":"digest/7/irc:#k","kind":"digest","channel":"irc:#k","target":"#k",` + line + `,"detail":[[{"t":"x"}]],"bugs":[5,6]}', 1)`,
		`INSERT INTO outbox(key, channel, kind, msg, created_at, sent_at, network_id) VALUES ('announce/4/irc:#k', 'irc:#k', 'announce',
			'{"key":"announce/4/irc:#k","kind":"announce","channel":"irc:#k","target":"#k",` + line + `,"bugs":[4]}', 1, 2, '$e')`,
		`INSERT INTO announcements(bug_id, channel, kind, at, network_id, outbox_id) VALUES (4, 'irc:#k', 'announce', 2, '$e', 5)`,
	}
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s := openAt(t, path, newClock())
	if v, _ := s.SchemaVersion(ctx); v != latestSchema {
		t.Fatalf("schema version = %d, want %d", v, latestSchema)
	}
	items, err := s.NextOutbox(ctx, nil, 0)
	if err != nil || len(items) != 4 {
		t.Fatalf("NextOutbox = %+v %v, want the 4 unsent rows", items, err)
	}
	byKey := map[string]Intent{}
	for _, it := range items {
		byKey[it.Msg.Key] = it.Msg
	}
	if in := byKey["announce/5/irc:#k"]; in.Lines != nil || in.Kind != chat.KindAnnounce || !slices.Equal(in.BugIDs, []int{5}) {
		t.Errorf("announcement = %+v, want an intent without text", in)
	}
	if in := byKey["digest/7/irc:#k"]; in.Lines != nil || in.Detail != nil || !slices.Equal(in.BugIDs, []int{5, 6}) {
		t.Errorf("digest = %+v, want an intent without text", in)
	}
	if in := byKey["change/41/irc:#k"]; in.Lines != nil || in.Event == nil || *in.Event != (EventData{ID: 41, Kind: "severity", Old: "normal", New: "critical"}) {
		t.Errorf("change = %+v (event %+v), want an intent with its event", in, in.Event)
	}
	if in := byKey["change/99/irc:#k"]; len(in.Lines) != 1 || in.Event != nil {
		t.Errorf("change without its event = %+v, want its text kept (sent only if the channel may see it)", in)
	}
	// The sent row still blocks its key, and its announcement is there.
	if err := s.EnqueueIntents(ctx, Intent{Key: "announce/4/irc:#k", Kind: chat.KindAnnounce, Channel: "irc:#k", BugIDs: []int{4}}); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.OutboxDepth(ctx, nil); n != 4 {
		t.Errorf("depth = %d after re-queueing a sent key, want 4", n)
	}
	if chans, err := s.AnnouncedChannels(ctx, 4); err != nil || !slices.Equal(chans, []string{"irc:#k"}) {
		t.Errorf("AnnouncedChannels(4) = %v %v", chans, err)
	}
	if bugs, ok, err := s.MessageBugs(ctx, "irc:#k", "$e"); err != nil || !ok || !slices.Equal(bugs, []int{4}) {
		t.Errorf("MessageBugs = %v %v %v", bugs, ok, err)
	}
}

// Prune removes sent intents and processed events older than the cutoff,
// keeps everything else, and a pruned key is never queued again.
func TestPruneKeepsExactlyOnce(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s := newStore(t, c)
	if err := s.SaveBugs(ctx, []bugzilla.Bug{kbug(1), kbug(2)}, nil, false); err != nil {
		t.Fatal(err)
	}
	evs, _ := s.PendingEvents(ctx, 0)
	old := Intent{Key: "announce/1/irc:#k", Kind: chat.KindAnnounce, Channel: "irc:#k", BugIDs: []int{1}}
	if err := s.QueueAnnouncements(ctx, Queued{Events: []int64{evs[0].ID}, Intents: []Intent{old}}); err != nil {
		t.Fatal(err)
	}
	items, _ := s.NextOutbox(ctx, nil, 0)
	if err := s.MarkSent(ctx, items[0].ID, "$old"); err != nil {
		t.Fatal(err)
	}
	c.Advance(100 * 24 * time.Hour)
	unsent := Intent{Key: "announce/2/irc:#k", Kind: chat.KindAnnounce, Channel: "irc:#k", BugIDs: []int{2}}
	if err := s.EnqueueIntents(ctx, unsent); err != nil {
		t.Fatal(err)
	}
	if err := s.Audit(ctx, AuditEntry{Command: "claim", BugID: 1, Result: "ok"}); err != nil {
		t.Fatal(err)
	}

	p, err := s.Prune(ctx, c.Now().Add(-90*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if p.Outbox != 1 || p.Events != 1 {
		t.Errorf("Prune = %+v, want 1 outbox row and 1 event", p)
	}
	if evs, _ := s.PendingEvents(ctx, 0); len(evs) != 1 || evs[0].BugID != 2 {
		t.Errorf("pending events after prune = %+v, want bug 2's", evs)
	}
	if n, _ := s.OutboxDepth(ctx, nil); n != 1 {
		t.Errorf("unsent after prune = %d, want 1", n)
	}
	if err := s.EnqueueIntents(ctx, old); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.OutboxDepth(ctx, nil); n != 1 {
		t.Errorf("a pruned key was queued again: depth %d, want 1", n)
	}
	if chans, _ := s.AnnouncedChannels(ctx, 1); !slices.Equal(chans, []string{"irc:#k"}) {
		t.Errorf("announcements pruned: %v", chans)
	}
	if log, _ := s.AuditLog(ctx, 10); len(log) != 1 {
		t.Errorf("audit log has %d entries after prune, want 1", len(log))
	}
	if _, ok, _ := s.Bug(ctx, 1); !ok {
		t.Error("the mirror lost bug 1")
	}
}
