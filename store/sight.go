// SPDX-License-Identifier: GPL-3.0-or-later

// How ksecbot sees its mirrored bugs: which ones reconciliation re-reads,
// what a read by id found (in sight, gone, moved out of the watches), and
// API key outages, during which a bug not read since the refusal began is
// unconfirmed.

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
)

// watchCond is the SQL condition "in one of these watches" (names
// "product/component") and its arguments.
func watchCond(watches []string) (string, []any) {
	if len(watches) == 0 {
		return "0", nil
	}
	var or []string
	var args []any
	for _, w := range watches {
		p, c, _ := strings.Cut(w, "/")
		or = append(or, "(product = ? AND component = ?)")
		args = append(args, p, c)
	}
	return "(" + strings.Join(or, " OR ") + ")", args
}

// SightIDs returns, ascending, the bugs reconciliation re-reads by id:
// the open bugs of the watches, in sight or gone (to notice them visible
// again).
func (s *Store) SightIDs(ctx context.Context, watches []string) ([]int, error) {
	cond, args := watchCond(watches)
	rows, err := s.db.QueryContext(ctx, "SELECT id FROM bugs WHERE "+cond+
		" AND resolution = '' AND sight IN ('', 'gone') ORDER BY id", args...)
	if err != nil {
		return nil, fmt.Errorf("failed to list bugs to reconcile: %w", err)
	}
	defer rows.Close()
	var ids []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("failed to list bugs to reconcile: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to list bugs to reconcile: %w", err)
	}
	return ids, nil
}

// Confirm records that a read (with the key, or an anonymous one: then
// the bugs are public) returned these bugs as they are mirrored, in sight
// and with the same last_change_time, groups and resolution: they are
// confirmed now, and no longer unconfirmed. It returns the others: changed since, out of sight,
// or not mirrored (to be read again whole).
func (s *Store) Confirm(ctx context.Context, bugs []bugzilla.Bug) (changed []int, err error) {
	if len(bugs) == 0 {
		return nil, nil
	}
	now := s.now()
	defer s.mirrorWrite()()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		changed = changed[:0]
		for _, b := range bugs {
			// The groups and resolution read must be the mirror's too: a
			// copy ksecbot's own write updated (ApplyUpdate) has the
			// write's last_change_time but the other fields as they were
			// mirrored, perhaps before the bug was restricted.
			groups, err := json.Marshal(b.Groups)
			if err != nil || b.Groups == nil {
				groups = []byte("[]")
			}
			res, err := tx.ExecContext(ctx, `UPDATE bugs SET confirmed_at = ?, unconfirmed = 0
				WHERE id = ? AND last_change_time = ? AND sight = '' AND resolution = ?
				AND json(COALESCE(json_extract(data, '$.groups'), '[]')) = json(?)`,
				ts(now), b.ID, ts(b.LastChangeTime), b.Resolution, string(groups))
			if err != nil {
				return fmt.Errorf("failed to confirm bug %d: %w", b.ID, err)
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				changed = append(changed, b.ID)
			}
		}
		return nil
	})
	return changed, err
}

// Unconfirm records that an anonymous read by id (Bugzilla refuses the
// key) did not return these bugs: they are not public now (restricted,
// perhaps, or deleted; only the key could tell), so they are unconfirmed
// until a read returns them.
func (s *Store) Unconfirm(ctx context.Context, ids []int) error {
	if len(ids) == 0 {
		return nil
	}
	defer s.mirrorWrite()()
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, "UPDATE bugs SET unconfirmed = 1 WHERE id = ? AND sight = ''", id); err != nil {
				return fmt.Errorf("failed to unconfirm bug %d: %w", id, err)
			}
		}
		return nil
	})
}

// Gone records that a read by id with the API key did not return these
// bugs: those mirrored in one of the watches and in sight go out of sight
// (treated as restricted, out of !pending and reminders), with a "gone"
// event for the private channels. It returns the bugs that went.
func (s *Store) Gone(ctx context.Context, ids []int, watches []string) ([]int, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	now := s.now()
	var gone []int
	defer s.mirrorWrite()()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		gone = gone[:0]
		cond, wargs := watchCond(watches)
		for _, id := range ids {
			b, err := scanBug(tx.QueryRowContext(ctx, "SELECT "+bugColumns+" FROM bugs WHERE id = ? AND sight = '' AND "+cond, append([]any{id}, wargs...)...))
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return fmt.Errorf("failed to read bug %d: %w", id, err)
			}
			if err := leaveSight(ctx, tx, b, sightGone, EventGone, watchName(b), "", now); err != nil {
				return err
			}
			gone = append(gone, id)
		}
		return nil
	})
	return gone, err
}

// LeftWatches records bugs a read by id returned in a product/component
// that is none of the watches, while they are mirrored in sight in one of
// them: they leave the watches (out of !pending and reminders), with a
// "moved_out" event for the private channels. The mirror takes their new
// product, component, groups and resolution (a copy left public would be
// shown in full). It returns the bugs that left.
func (s *Store) LeftWatches(ctx context.Context, bugs []bugzilla.Bug, watches []string) ([]int, error) {
	if len(bugs) == 0 {
		return nil, nil
	}
	now := s.now()
	var left []int
	defer s.mirrorWrite()()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		left = left[:0]
		cond, wargs := watchCond(watches)
		for _, nb := range bugs {
			b, err := scanBug(tx.QueryRowContext(ctx, "SELECT "+bugColumns+" FROM bugs WHERE id = ? AND sight = '' AND "+cond, append([]any{nb.ID}, wargs...)...))
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return fmt.Errorf("failed to read bug %d: %w", nb.ID, err)
			}
			// Where it went, and who may see it there: the copy must not
			// stay public when the read says it is restricted now.
			from := watchName(b)
			b.Product, b.Component, b.Groups, b.Resolution = nb.Product, nb.Component, nb.Groups, nb.Resolution
			if err := leaveSight(ctx, tx, b, sightMoved, EventMovedOut, from, watchName(b), now); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "UPDATE bugs SET product = ?, component = ?, resolution = ?, confirmed_at = ?, unconfirmed = 0 WHERE id = ?",
				b.Product, b.Component, b.Resolution, ts(now), b.ID); err != nil {
				return fmt.Errorf("failed to move bug %d: %w", b.ID, err)
			}
			left = append(left, nb.ID)
		}
		return nil
	})
	return left, err
}

// leaveSight marks a bug out of sight, settles its reminder and records
// the event that tells the private channels (only for an open bug).
func leaveSight(ctx context.Context, tx *sql.Tx, b *bugzilla.Bug, sight, kind, old, new string, now time.Time) error {
	data, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("failed to encode bug %d: %w", b.ID, err)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE bugs SET sight = ?, data = ? WHERE id = ?", sight, string(data), b.ID); err != nil {
		return fmt.Errorf("failed to mark bug %d %s: %w", b.ID, sight, err)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE reminders SET done_at = ? WHERE bug_id = ? AND done_at = 0", ts(now), b.ID); err != nil {
		return fmt.Errorf("failed to settle reminder of bug %d: %w", b.ID, err)
	}
	if !b.Open() {
		return nil
	}
	ev := eventWriter{ctx: ctx, tx: tx, bug: b, data: string(data), now: now}
	ev.add(kind, old, new, true)
	return ev.err
}

// BeginOutage records that reads go without the API key (Bugzilla refuses
// it) from the watch cursor since on (baseline: the baseline of a fresh
// database was read so, and misses the restricted bugs): every mirrored
// bug becomes unconfirmed until a read returns it. A second call during
// the same outage changes nothing. It reports whether the outage began
// now.
func (s *Store) BeginOutage(ctx context.Context, since time.Time, baseline bool) (bool, error) {
	began := false
	defer s.mirrorWrite()()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		b := 0
		if baseline {
			b = 1
		}
		res, err := tx.ExecContext(ctx, "INSERT INTO key_outage(one, since, baseline) VALUES (1, ?, ?) ON CONFLICT DO NOTHING", ts(since), b)
		if err != nil {
			return fmt.Errorf("failed to record the key outage: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // the outage began earlier
		}
		if _, err := tx.ExecContext(ctx, "UPDATE bugs SET unconfirmed = 1 WHERE sight = ''"); err != nil {
			return fmt.Errorf("failed to mark the mirror unconfirmed: %w", err)
		}
		began = true
		return nil
	})
	return began, err
}

// Outage returns the cursor recorded when the current key outage began
// and whether a baseline was read during it, and false when there is no
// outage.
func (s *Store) Outage(ctx context.Context) (since time.Time, baseline, ok bool, err error) {
	var n int64
	err = s.db.QueryRowContext(ctx, "SELECT since, baseline FROM key_outage").Scan(&n, &baseline)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, false, nil
	}
	if err != nil {
		return time.Time{}, false, false, fmt.Errorf("failed to read the key outage: %w", err)
	}
	return fromTS(n), baseline, true, nil
}

// EndOutage ends the key outage: the reads with the key since it are done,
// and no bug is unconfirmed any more.
func (s *Store) EndOutage(ctx context.Context) error {
	defer s.mirrorWrite()()
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM key_outage"); err != nil {
			return fmt.Errorf("failed to end the key outage: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE bugs SET unconfirmed = 0 WHERE unconfirmed <> 0"); err != nil {
			return fmt.Errorf("failed to end the key outage: %w", err)
		}
		return nil
	})
}

// RewindCursors moves every watch cursor later than to back to it (and
// forgets their ETags), so the next poll reads again what changed since.
func (s *Store) RewindCursors(ctx context.Context, to time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE cursors SET time = MIN(time, ?), etag = ''", ts(to)); err != nil {
			return fmt.Errorf("failed to rewind the cursors: %w", err)
		}
		return nil
	})
}
