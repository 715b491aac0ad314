// SPDX-License-Identifier: GPL-3.0-or-later

// Reading what was announced where: the bugs recently announced in a
// channel, the bugs a sent message was about, the channels a bug was
// announced in.

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Announced is one bug announced in a channel and when it last was.
type Announced struct {
	BugID int
	At    time.Time
}

// maxRecentAnnounced bounds RecentAnnouncements: a write without a bug
// number never needs more candidates than a person can read in one line.
const maxRecentAnnounced = 20

// RecentAnnouncements returns the bugs announced (new, in a digest, or
// reminded) in the channel after since, each once with its latest time,
// newest first, at most 20: the candidates of a write command without a
// bug number.
func (s *Store) RecentAnnouncements(ctx context.Context, channelKey string, since time.Time) ([]Announced, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT bug_id, MAX(at) AS last FROM announcements
		WHERE channel = ? AND at > ? AND kind IN ('announce', 'digest', 'remind')
		GROUP BY bug_id ORDER BY last DESC, bug_id DESC LIMIT ?`, channelKey, ts(since), maxRecentAnnounced)
	if err != nil {
		return nil, fmt.Errorf("failed to find recent announcements in %s: %w", channelKey, err)
	}
	defer rows.Close()
	var out []Announced
	for rows.Next() {
		var a Announced
		var at int64
		if err := rows.Scan(&a.BugID, &at); err != nil {
			return nil, fmt.Errorf("failed to find recent announcements in %s: %w", channelKey, err)
		}
		a.At = fromTS(at)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to find recent announcements in %s: %w", channelKey, err)
	}
	return out, nil
}

// AnnouncingNow returns the bugs whose announcement (new, digest or
// reminder) to the channel is queued or on its way but not yet confirmed
// by the network: people may be reading it already, so a write without a
// bug number must not take "the last bug" while one is in flight.
func (s *Store) AnnouncingNow(ctx context.Context, channelKey string) ([]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT j.value FROM outbox o, json_each(o.msg, '$.bugs') j
		WHERE o.channel = ? AND o.sent_at = 0 AND o.skipped_at = 0 AND o.kind IN ('announce', 'digest', 'remind')
`, channelKey)
	if err != nil {
		return nil, fmt.Errorf("failed to find announcements on their way to %s: %w", channelKey, err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("failed to find announcements on their way to %s: %w", channelKey, err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to find announcements on their way to %s: %w", channelKey, err)
	}
	return out, nil
}

// MessageBugs returns the bugs a message ksecbot sent to the channel was
// about, given the network ID of the message (a Matrix event ID, or the
// msgid of one of an IRC message's lines: an IRC message records the
// msgids of its lines separated by spaces). found is false when no sent
// message has that ID; bugs is empty for a message about no bug (a reply,
// a notice) and has several for a digest.
func (s *Store) MessageBugs(ctx context.Context, channelKey, networkID string) (bugs []int, found bool, err error) {
	if networkID == "" || strings.ContainsRune(networkID, ' ') {
		return nil, false, nil
	}
	// The index on (channel, network_id) answers the exact match; a
	// message of several IRC lines is found within the channel's sent
	// messages by one of its IDs.
	var msg string
	err = s.db.QueryRowContext(ctx, `SELECT msg FROM outbox WHERE channel = ? AND network_id <> ''
		AND (network_id = ? OR instr(' ' || network_id || ' ', ' ' || ? || ' ') > 0)
		ORDER BY id DESC LIMIT 1`, channelKey, networkID, networkID).Scan(&msg)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("failed to find message %s: %w", networkID, err)
	}
	var out Intent
	if err := json.Unmarshal([]byte(msg), &out); err != nil {
		return nil, false, fmt.Errorf("failed to decode message %s: %w", networkID, err)
	}
	for _, b := range out.BugIDs {
		if !slices.Contains(bugs, b) {
			bugs = append(bugs, b)
		}
	}
	return bugs, true, nil
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
