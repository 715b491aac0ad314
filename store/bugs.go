// SPDX-License-Identifier: GPL-3.0-or-later

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
)

// Store implements the watcher's persistence.
var _ bugzilla.WatchStore = (*Store)(nil)

// Cursor returns the stored cursor of a watch (named by config.Watch.Name),
// and false when there is none yet.
func (s *Store) Cursor(ctx context.Context, watch string) (bugzilla.Cursor, bool, error) {
	var t int64
	var etag string
	err := s.db.QueryRowContext(ctx, "SELECT time, etag FROM cursors WHERE watch = ?", watch).Scan(&t, &etag)
	if errors.Is(err, sql.ErrNoRows) {
		return bugzilla.Cursor{}, false, nil
	}
	if err != nil {
		return bugzilla.Cursor{}, false, fmt.Errorf("failed to read cursor %q: %w", watch, err)
	}
	return bugzilla.Cursor{Time: fromTS(t), ETag: etag}, true, nil
}

// SetComponentDefault records the default assignee of a watch's component
// (watch is "product/component", config.Watch.Name) as it is now, and
// keeps it among the defaults seen (DefaultHistory) when it differs from
// the last one: a bug still with the default of when it was filed is
// unclaimed too.
func (s *Store) SetComponentDefault(ctx context.Context, watch, assignee string) error {
	now := s.now()
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO component_defaults(watch, assignee) VALUES (?, ?)
			ON CONFLICT(watch) DO UPDATE SET assignee = excluded.assignee`, watch, assignee)
		if err != nil {
			return fmt.Errorf("failed to set component default of %q: %w", watch, err)
		}
		var last string
		err = tx.QueryRowContext(ctx, "SELECT assignee FROM default_history WHERE watch = ? ORDER BY since DESC LIMIT 1", watch).Scan(&last)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("failed to read the defaults seen of %q: %w", watch, err)
		}
		if err == nil && last == assignee {
			return nil
		}
		if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO default_history(watch, assignee, since) VALUES (?, ?, ?)", watch, assignee, ts(now)); err != nil {
			return fmt.Errorf("failed to keep the default of %q: %w", watch, err)
		}
		return nil
	})
}

// DefaultSeen is one default assignee a watch's component had, from when
// ksecbot first saw it (zero: before it kept them).
type DefaultSeen struct {
	Login string
	Since time.Time
}

// DefaultHistory returns the default assignees seen of a watch's
// component, oldest first; the last is the default now.
func (s *Store) DefaultHistory(ctx context.Context, watch string) ([]DefaultSeen, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT assignee, since FROM default_history WHERE watch = ? ORDER BY since", watch)
	if err != nil {
		return nil, fmt.Errorf("failed to read the defaults seen of %q: %w", watch, err)
	}
	defer rows.Close()
	var out []DefaultSeen
	for rows.Next() {
		var d DefaultSeen
		var since int64
		if err := rows.Scan(&d.Login, &since); err != nil {
			return nil, fmt.Errorf("failed to read the defaults seen of %q: %w", watch, err)
		}
		d.Since = fromTS(since)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to read the defaults seen of %q: %w", watch, err)
	}
	return out, nil
}

// ComponentDefault returns the default assignee recorded for a watch.
func (s *Store) ComponentDefault(ctx context.Context, watch string) (string, bool, error) {
	var a string
	err := s.db.QueryRowContext(ctx, "SELECT assignee FROM component_defaults WHERE watch = ?", watch).Scan(&a)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("failed to read component default of %q: %w", watch, err)
	}
	return a, true, nil
}

// SaveBugs stores bugs in the mirror and the watches' cursors, and derives
// events, all in one transaction. A bug already stored with the same (or a
// newer) last_change_time is skipped, so overlapping polls are harmless.
// Baseline saves (the first poll of a watch) update the mirror but record
// no events and no statistics.
//
// Events "new", "reopened", "resolved", "severity", "whiteboard" and
// "restricted" are pending for the announcer. "assigned" and "cc" events
// are recorded already processed: they feed the statistics (first claim
// when the assignee first moves away from the component default, first
// time each login appears in CC) and settle the bug's reminder.
func (s *Store) SaveBugs(ctx context.Context, bugs []bugzilla.Bug, cursors map[string]bugzilla.Cursor, baseline bool) error {
	return s.SaveWatched(ctx, bugs, cursors, bugzilla.SaveOptions{Baseline: baseline})
}

// SaveWatched is SaveBugs with the watcher's rule for bugs not stored
// before: such a bug gets a "new" event only when o.IsNew accepts it (an
// open bug created after the watch's cursor, or within the catch-up window
// of a baseline); any other unseen bug (an old or closed one, say named by
// a comment or a forged push) is mirrored silently, with no event and no
// statistics.
func (s *Store) SaveWatched(ctx context.Context, bugs []bugzilla.Bug, cursors map[string]bugzilla.Cursor, o bugzilla.SaveOptions) error {
	now := s.now()
	if len(bugs) > 0 {
		defer s.mirrorWrite()() // counted after the commit (or the failure)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		defaults, err := loadDefaults(ctx, tx)
		if err != nil {
			return err
		}
		for i := range bugs {
			if err := saveBug(ctx, tx, &bugs[i], defaults, o, now, true); err != nil {
				return err
			}
		}
		for w, c := range cursors {
			_, err := tx.ExecContext(ctx, `INSERT INTO cursors(watch, time, etag) VALUES (?, ?, ?)
				ON CONFLICT(watch) DO UPDATE SET time = excluded.time, etag = excluded.etag`, w, ts(c.Time), c.ETag)
			if err != nil {
				return fmt.Errorf("failed to save cursor %q: %w", w, err)
			}
		}
		return nil
	})
}

// loadDefaults returns every default assignee seen of each watch (see
// DefaultHistory): saving a bug, the mirror settles its reminder and
// records its first claim only when it is surely claimed, assigned to a
// login that never was a default (package policy decides the rest).
func loadDefaults(ctx context.Context, tx *sql.Tx) (map[string][]string, error) {
	rows, err := tx.QueryContext(ctx, "SELECT watch, assignee FROM default_history UNION SELECT watch, assignee FROM component_defaults")
	if err != nil {
		return nil, fmt.Errorf("failed to read component defaults: %w", err)
	}
	defer rows.Close()
	m := map[string][]string{}
	for rows.Next() {
		var w, a string
		if err := rows.Scan(&w, &a); err != nil {
			return nil, fmt.Errorf("failed to read component defaults: %w", err)
		}
		m[w] = append(m[w], a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to read component defaults: %w", err)
	}
	return m, nil
}

// watchName is config.Watch.Name for a bug's product and component.
func watchName(b *bugzilla.Bug) string { return b.Product + "/" + b.Component }

// ApplyUpdate brings a mirrored bug up to date after a write of ksecbot's
// own, from Bugzilla's answer (the fields it changed and the new
// last_change_time), without reading the bug again. The answer is applied
// to the copy mirrored at this moment, in one transaction with the save:
// not to b, the copy the write was decided on, which may be stale by then
// (the watcher may have stored the bug made restricted meanwhile, and the
// stale copy would make the mirror public again). b is used only when the
// bug is not mirrored. Unseen bugs are never new (bugzilla.Silent). It
// returns the bug as it is now.
func (s *Store) ApplyUpdate(ctx context.Context, b bugzilla.Bug, res bugzilla.UpdateResult) (bugzilla.Bug, error) {
	now := s.now()
	defer s.mirrorWrite()() // counted after the commit (or the failure)
	var fresh bugzilla.Bug
	err := s.tx(ctx, func(tx *sql.Tx) error {
		base := b
		var data string
		err := tx.QueryRowContext(ctx, "SELECT data FROM bugs WHERE id = ?", b.ID).Scan(&data)
		switch {
		case err == nil:
			base = bugzilla.Bug{}
			if err := json.Unmarshal([]byte(data), &base); err != nil {
				return fmt.Errorf("failed to decode stored bug %d: %w", b.ID, err)
			}
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("failed to read bug %d: %w", b.ID, err)
		}
		fresh = res.Apply(base)
		defaults, err := loadDefaults(ctx, tx)
		if err != nil {
			return err
		}
		return saveBug(ctx, tx, &fresh, defaults, bugzilla.Silent(), now, false)
	})
	if err != nil {
		return bugzilla.Bug{}, err
	}
	return fresh, nil
}
