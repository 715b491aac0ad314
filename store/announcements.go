// SPDX-License-Identifier: GPL-3.0-or-later

// Reading what was announced where: the last bug announced in a
// channel, the bug a sent message was about, the channels a bug was
// announced in.

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// LastAnnounced returns the bug of the newest announce or remind message
// sent to the channel after since (for "!claim" without a number).
func (s *Store) LastAnnounced(ctx context.Context, channelKey string, since time.Time) (int, bool, error) {
	var bug int
	err := s.db.QueryRowContext(ctx, `SELECT bug_id FROM announcements
		WHERE channel = ? AND at > ? AND kind IN ('announce', 'remind')
		ORDER BY at DESC, rowid DESC LIMIT 1`, channelKey, ts(since)).Scan(&bug)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("failed to find last announcement in %s: %w", channelKey, err)
	}
	return bug, true, nil
}

// BugForMessage returns the bug a sent message was about, given its
// network ID (a Matrix event ID), when it was about exactly one bug.
func (s *Store) BugForMessage(ctx context.Context, channelKey, networkID string) (int, bool, error) {
	if networkID == "" {
		return 0, false, nil
	}
	var msg string
	err := s.db.QueryRowContext(ctx, "SELECT msg FROM outbox WHERE channel = ? AND network_id = ? ORDER BY id DESC LIMIT 1",
		channelKey, networkID).Scan(&msg)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("failed to find message %s: %w", networkID, err)
	}
	var out Intent
	if err := json.Unmarshal([]byte(msg), &out); err != nil {
		return 0, false, fmt.Errorf("failed to decode message %s: %w", networkID, err)
	}
	if len(out.BugIDs) == 0 {
		return 0, false, nil
	}
	for _, b := range out.BugIDs[1:] {
		if b != out.BugIDs[0] {
			return 0, false, nil // a digest: ambiguous
		}
	}
	return out.BugIDs[0], true, nil
}

// AnnouncedChannels returns, sorted, the channels where the bug was
// announced as new (alone or in a digest).
func (s *Store) AnnouncedChannels(ctx context.Context, bugID int) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT channel FROM announcements
		WHERE bug_id = ? AND kind IN ('announce', 'digest') ORDER BY channel`, bugID)
	if err != nil {
		return nil, fmt.Errorf("failed to list channels of bug %d: %w", bugID, err)
	}
	defer rows.Close()
	var chans []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("failed to list channels of bug %d: %w", bugID, err)
		}
		chans = append(chans, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to list channels of bug %d: %w", bugID, err)
	}
	return chans, nil
}
