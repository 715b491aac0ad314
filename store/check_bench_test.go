// SPDX-License-Identifier: GPL-3.0-or-later

package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
)

// largeStore writes, at path, the database of a busy ksecbot: bugs
// mirrored bugs, each announced (and its announcement sent) in channels
// channels, with their events processed, and closes it.
func largeStore(tb testing.TB, path string, bugs, channels int) {
	tb.Helper()
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	for first := 1; first <= bugs; first += 1000 {
		var batch []bugzilla.Bug
		for id := first; id < first+1000 && id <= bugs; id++ {
			b := kbug(id)
			b.Summary = fmt.Sprintf("sys-kernel/gentoo-sources: CVE-2025-%05d: use-after-free in the frobnicator when a crafted packet arrives", id)
			batch = append(batch, b)
		}
		if err := s.SaveBugs(ctx, batch, nil, false); err != nil {
			tb.Fatal(err)
		}
		evs, err := s.PendingEvents(ctx, 0)
		if err != nil {
			tb.Fatal(err)
		}
		q := Queued{}
		for _, ev := range evs {
			q.Events = append(q.Events, ev.ID)
			q.AutoCC = append(q.AutoCC, ev.BugID)
			q.Reminders = append(q.Reminders, Reminder{BugID: ev.BugID, Due: t0})
			for c := range channels {
				ch := chat.Channel{Key: "irc:#channel" + strconv.Itoa(c)}
				q.Intents = append(q.Intents, ChannelIntent(ch, chat.KindAnnounce, strconv.Itoa(ev.BugID), ev.BugID))
			}
		}
		if err := s.QueueAnnouncements(ctx, q); err != nil {
			tb.Fatal(err)
		}
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO announcements(bug_id, channel, kind, at, network_id, outbox_id)
			SELECT json_extract(msg, '$.bugs[0]'), channel, kind, created_at, 'msgid-' || id, id FROM outbox`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "UPDATE outbox SET sent_at = created_at, network_id = 'msgid-' || id")
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkStartCheck measures the database check at start on the
// database of a busy ksecbot (10,000 bugs announced in 5 channels: 50,000
// outbox rows and announcements, 36 MiB): PRAGMA quick_check alone (what
// Open ran before), and Open's check under integrityLimit (integrity_check)
// and over it (quick_check and integrity_check of the exactly-once
// tables). The figures chose integrityLimit (bench/README.md).
func BenchmarkStartCheck(b *testing.B) {
	path := filepath.Join(b.TempDir(), "ksecbot.db")
	largeStore(b, path, 10000, 5)
	if fi, err := os.Stat(path); err == nil {
		b.Logf("database: %.1f MiB", float64(fi.Size())/(1<<20))
	}
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.Run("quick_check", func(b *testing.B) {
		for b.Loop() {
			if p, err := s.pragmaProblems(ctx, "PRAGMA quick_check"); err != nil || len(p) > 0 {
				b.Fatal(p, err)
			}
		}
	})
	for _, tc := range []struct {
		name  string
		limit int64
	}{{"integrity_check", 1 << 40}, {"quick_check+exactly_once_tables", 0}} {
		b.Run(tc.name, func(b *testing.B) {
			defer func(l int64) { integrityLimit = l }(integrityLimit)
			integrityLimit = tc.limit
			for b.Loop() {
				if err := s.startCheck(ctx, path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
