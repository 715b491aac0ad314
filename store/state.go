// SPDX-License-Identifier: GPL-3.0-or-later

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Episode is the state of one thing that can be in trouble (a channel, a
// network, the Bugzilla API key) as told to the private channels: the
// state of its last episode ("" before the first, "trouble", "down",
// "refused", "ok") and how many episodes were told. Kept so a restart
// neither repeats an alert nor loses its recovery line.
type Episode struct {
	State  string
	Number int
}

// Episode kinds.
const (
	EpisodeChannelTrouble = "channel_trouble" // a channel the bot cannot join; subject: its key
	EpisodeChannelRefuses = "channel_refuses" // a channel that refuses lines; subject: its key
	EpisodeNetworkDown    = "network_down"    // a network refused for good; subject: its name
	EpisodeBugzillaKey    = "bugzilla_key"    // the API key refused; subject ""
)

// Episode returns the episode state of subject of the kind (the zero
// Episode when none was recorded).
func (s *Store) Episode(ctx context.Context, kind, subject string) (Episode, error) {
	var e Episode
	err := s.db.QueryRowContext(ctx, "SELECT state, number FROM episodes WHERE kind = ? AND subject = ?", kind, subject).Scan(&e.State, &e.Number)
	if errors.Is(err, sql.ErrNoRows) {
		return Episode{}, nil
	}
	if err != nil {
		return Episode{}, fmt.Errorf("failed to read the %s state of %q: %w", kind, subject, err)
	}
	return e, nil
}

// SetEpisode records the episode state of subject of the kind.
func (s *Store) SetEpisode(ctx context.Context, kind, subject string, e Episode) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO episodes(kind, subject, state, number) VALUES (?, ?, ?, ?)
			ON CONFLICT(kind, subject) DO UPDATE SET state = excluded.state, number = excluded.number`,
			kind, subject, e.State, e.Number)
		if err != nil {
			return fmt.Errorf("failed to record the %s state of %q: %w", kind, subject, err)
		}
		return nil
	})
}

// HoldAutoCC records logins auto-CC held back from a restricted bug, to
// be added once the bug is public (replacing any earlier record).
func (s *Store) HoldAutoCC(ctx context.Context, bugID int, logins []string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM autocc_held WHERE bug_id = ?", bugID); err != nil {
			return fmt.Errorf("failed to hold back auto-CC of bug %d: %w", bugID, err)
		}
		for i, l := range logins {
			if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO autocc_held(bug_id, pos, login) VALUES (?, ?, ?)", bugID, i+1, l); err != nil {
				return fmt.Errorf("failed to hold back auto-CC of bug %d: %w", bugID, err)
			}
		}
		return nil
	})
}

// HeldAutoCC returns the held-back auto-CC logins by bug, in the order
// they were held.
func (s *Store) HeldAutoCC(ctx context.Context) (map[int][]string, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT bug_id, login FROM autocc_held ORDER BY bug_id, pos")
	if err != nil {
		return nil, fmt.Errorf("failed to list held-back auto-CC: %w", err)
	}
	defer rows.Close()
	out := map[int][]string{}
	for rows.Next() {
		var id int
		var login string
		if err := rows.Scan(&id, &login); err != nil {
			return nil, fmt.Errorf("failed to list held-back auto-CC: %w", err)
		}
		out[id] = append(out[id], login)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to list held-back auto-CC: %w", err)
	}
	return out, nil
}

// ReleaseHeldAutoCC forgets a bug's held-back logins (they were added, or
// will never be).
func (s *Store) ReleaseHeldAutoCC(ctx context.Context, bugID int) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM autocc_held WHERE bug_id = ?", bugID); err != nil {
			return fmt.Errorf("failed to release held-back auto-CC of bug %d: %w", bugID, err)
		}
		return nil
	})
}
