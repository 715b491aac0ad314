// SPDX-License-Identifier: GPL-3.0-or-later

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ksecbot/ksecbot/chat"
)

// ErrNotFound is returned when a row named by id does not exist.
var ErrNotFound = errors.New("store: not found")

// PendingEvents returns up to limit unprocessed announceable events, oldest
// first (limit <= 0: all).
func (s *Store) PendingEvents(ctx context.Context, limit int) ([]Event, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, bug_id, kind, old, new, bug, at FROM events
		WHERE processed_at = 0 ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("failed to list pending events: %w", err)
	}
	defer rows.Close()
	var evs []Event
	for rows.Next() {
		var e Event
		var data string
		var at int64
		if err := rows.Scan(&e.ID, &e.BugID, &e.Kind, &e.Old, &e.New, &data, &at); err != nil {
			return nil, fmt.Errorf("failed to list pending events: %w", err)
		}
		if err := json.Unmarshal([]byte(data), &e.Bug); err != nil {
			return nil, fmt.Errorf("failed to decode bug of event %d: %w", e.ID, err)
		}
		e.At = fromTS(at)
		evs = append(evs, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to list pending events: %w", err)
	}
	return evs, nil
}

// Queued is what one pass of the announcer stores, all in one
// transaction: a crash leaves either all of it or none (the events still
// pending, to be handled again).
type Queued struct {
	Events  []int64  // events handled: marked processed
	Intents []Intent // outbox rows (a Key queued before, sent or not, is ignored)
	AutoCC  []int    // bugs to auto-CC: a job each, unless one was ever made
	// Reminders are the bugs' first "still unclaimed" reminders; a bug
	// has at most one, ever (see ScheduleReminder).
	Reminders []Reminder
}

// QueueAnnouncements stores q in one transaction: it puts the intents in
// the outbox (exactly once), marks the events processed, creates the
// auto-CC jobs and schedules the reminders.
func (s *Store) QueueAnnouncements(ctx context.Context, q Queued) error {
	now := s.now()
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := enqueue(ctx, tx, now, q.Intents); err != nil {
			return err
		}
		for _, id := range q.Events {
			if _, err := tx.ExecContext(ctx, "UPDATE events SET processed_at = ? WHERE id = ? AND processed_at = 0", ts(now), id); err != nil {
				return fmt.Errorf("failed to mark event %d processed: %w", id, err)
			}
		}
		for _, bug := range q.AutoCC {
			if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO autocc_jobs(bug_id, next_at) VALUES (?, ?)", bug, ts(now)); err != nil {
				return fmt.Errorf("failed to queue auto-cc of bug %d: %w", bug, err)
			}
		}
		for _, r := range q.Reminders {
			if err := scheduleReminder(ctx, tx, r.BugID, r.Due); err != nil {
				return err
			}
		}
		return nil
	})
}

// OutboxItem is an intent waiting in (or taken from) the outbox.
type OutboxItem struct {
	ID        int64
	Msg       Intent // what to send; the deliverer renders it
	Attempts  int
	CreatedAt time.Time
}

// Enqueue puts rendered messages in the outbox, as intents that carry
// their text (TextIntent). A message whose Key was queued before (sent or
// not) is ignored; an empty Key is never de-duplicated.
func (s *Store) Enqueue(ctx context.Context, items ...chat.Outgoing) error {
	in := make([]Intent, len(items))
	for i, m := range items {
		in[i] = TextIntent(m)
	}
	return s.EnqueueIntents(ctx, in...)
}

// EnqueueIntents puts intents in the outbox. An intent whose Key was queued
// before (sent or not, even when its row was pruned since) is ignored; an
// empty Key is never de-duplicated.
func (s *Store) EnqueueIntents(ctx context.Context, items ...Intent) error {
	now := s.now()
	return s.tx(ctx, func(tx *sql.Tx) error { return enqueue(ctx, tx, now, items) })
}

// enqueueSQL inserts one intent unless its key was queued before: its row
// is still in the outbox (ON CONFLICT) or was pruned after it was sent
// (sent_keys). The sent_keys check is part of the insert, so a batch costs
// one statement per intent. A NULL key matches neither, so keyless intents
// are always queued.
const enqueueSQL = `INSERT INTO outbox(key, channel, kind, msg, created_at)
	SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS (SELECT 1 FROM sent_keys WHERE key = ?1)
	ON CONFLICT(key) DO NOTHING`

func enqueue(ctx context.Context, tx *sql.Tx, now time.Time, items []Intent) error {
	if len(items) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, enqueueSQL)
	if err != nil {
		return fmt.Errorf("failed to prepare enqueueing: %w", err)
	}
	defer stmt.Close()
	for _, it := range items {
		msg, err := json.Marshal(it)
		if err != nil {
			return fmt.Errorf("failed to encode message %q: %w", it.Key, err)
		}
		var key any
		if it.Key != "" {
			key = it.Key
		}
		if _, err := stmt.ExecContext(ctx, key, it.Channel, string(it.Kind), string(msg), ts(now)); err != nil {
			return fmt.Errorf("failed to enqueue message %q: %w", it.Key, err)
		}
	}
	return nil
}

// NextOutbox returns up to limit unsent intents for the given channels
// (none given: all channels), oldest first (limit <= 0: all).
func (s *Store) NextOutbox(ctx context.Context, channelKeys []string, limit int) ([]OutboxItem, error) {
	if limit <= 0 {
		limit = -1
	}
	q := "SELECT id, msg, attempts, created_at FROM outbox WHERE sent_at = 0 AND skipped_at = 0"
	var args []any
	if len(channelKeys) > 0 {
		q += " AND channel IN (" + placeholders(len(channelKeys)) + ")"
		for _, c := range channelKeys {
			args = append(args, c)
		}
	}
	q += " ORDER BY id LIMIT ?"
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("failed to read outbox: %w", err)
	}
	defer rows.Close()
	var items []OutboxItem
	for rows.Next() {
		var it OutboxItem
		var msg string
		var created int64
		if err := rows.Scan(&it.ID, &msg, &it.Attempts, &created); err != nil {
			return nil, fmt.Errorf("failed to read outbox: %w", err)
		}
		if err := json.Unmarshal([]byte(msg), &it.Msg); err != nil {
			return nil, fmt.Errorf("failed to decode outbox item %d: %w", it.ID, err)
		}
		it.CreatedAt = fromTS(created)
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to read outbox: %w", err)
	}
	return items, nil
}

// announcedKinds are the message kinds recorded as announcements.
var announcedKinds = map[chat.Kind]bool{
	chat.KindAnnounce: true, chat.KindDigest: true, chat.KindChange: true, chat.KindRemind: true,
}

// MarkSent records that the network accepted outbox item id (networkID:
// its network message ID, or ""). For announce, digest, change and remind
// messages it records an announcement of each of Msg.BugIDs in the
// channel. Marking an item sent twice, or sent after it was skipped, is
// harmless and changes nothing; an unknown id is ErrNotFound.
func (s *Store) MarkSent(ctx context.Context, id int64, networkID string) error {
	now := s.now()
	return s.tx(ctx, func(tx *sql.Tx) error {
		var msg string
		var sent, skipped int64
		err := tx.QueryRowContext(ctx, "SELECT msg, sent_at, skipped_at FROM outbox WHERE id = ?", id).Scan(&msg, &sent, &skipped)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("outbox item %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("failed to read outbox item %d: %w", id, err)
		}
		if sent != 0 || skipped != 0 {
			return nil
		}
		var out Intent
		if err := json.Unmarshal([]byte(msg), &out); err != nil {
			return fmt.Errorf("failed to decode outbox item %d: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE outbox SET sent_at = ?, network_id = ? WHERE id = ?", ts(now), networkID, id); err != nil {
			return fmt.Errorf("failed to mark outbox item %d sent: %w", id, err)
		}
		if !announcedKinds[out.Kind] {
			return nil
		}
		for _, bug := range out.BugIDs {
			_, err := tx.ExecContext(ctx, `INSERT INTO announcements(bug_id, channel, kind, at, network_id, outbox_id)
				VALUES (?, ?, ?, ?, ?, ?)`, bug, out.Channel, string(out.Kind), ts(now), networkID, id)
			if err != nil {
				return fmt.Errorf("failed to record announcement of bug %d: %w", bug, err)
			}
		}
		return nil
	})
}

// MarkAttempt records a failed delivery attempt of outbox item id; the
// item stays queued.
func (s *Store) MarkAttempt(ctx context.Context, id int64, errText string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?", errText, id)
		if err != nil {
			return fmt.Errorf("failed to record attempt of outbox item %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("outbox item %d: %w", id, ErrNotFound)
		}
		return nil
	})
}

// MarkSkipped records that outbox item id is done without being sent: the
// channel may see nothing of it now (policy.Nothing). The row leaves the
// queue as skipped, not sent (its skipped_at is set, its sent_at stays 0,
// and last_error says "skipped: " and the reason); no announcement is
// recorded, and its key is never queued again. Marking an item skipped
// twice, or after it was sent, is harmless and changes nothing; an
// unknown id is ErrNotFound.
func (s *Store) MarkSkipped(ctx context.Context, id int64, reason string) error {
	now := s.now()
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE outbox SET skipped_at = ?, last_error = ? WHERE id = ? AND sent_at = 0 AND skipped_at = 0",
			ts(now), "skipped: "+reason, id)
		if err != nil {
			return fmt.Errorf("failed to mark outbox item %d skipped: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		var one int
		err = tx.QueryRowContext(ctx, "SELECT 1 FROM outbox WHERE id = ?", id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("outbox item %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("failed to read outbox item %d: %w", id, err)
		}
		return nil // already sent or skipped
	})
}

// OutboxDepth returns how many messages for the given channels (none
// given: all) are still waiting: neither sent nor skipped.
func (s *Store) OutboxDepth(ctx context.Context, channelKeys []string) (int, error) {
	q := "SELECT COUNT(*) FROM outbox WHERE sent_at = 0 AND skipped_at = 0"
	var args []any
	if len(channelKeys) > 0 {
		q += " AND channel IN (" + placeholders(len(channelKeys)) + ")"
		for _, c := range channelKeys {
			args = append(args, c)
		}
	}
	var n int
	if err := s.db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("failed to count outbox: %w", err)
	}
	return n, nil
}
