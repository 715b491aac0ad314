// SPDX-License-Identifier: GPL-3.0-or-later

package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
)

// BugTimes is one bug with the moments ksecbot first acted on it: the
// per-bug form of ReactionTimes, for views that group reaction times by
// week and by tree (the status page).
type BugTimes struct {
	Bug       bugzilla.Bug
	Matches   bool                 // the bug matches the filter given to BugTimes
	Announced time.Time            // first announcement or digest; zero: none yet
	CaughtUp  bool                 // announced by a fresh database's catch-up: Announced is no reaction time
	Claimed   time.Time            // first claim; zero: none yet
	CC        map[string]time.Time // first time each login (lower case) was in CC
}

// BugTimes returns, in one pass over the mirror, the bugs that match f
// (Matches set; f.Limit is ignored) and those created at or after since,
// oldest first, each with its first announcement, first claim and first
// CC times.
func (s *Store) BugTimes(ctx context.Context, f BugFilter, since time.Time) ([]BugTimes, error) {
	cond, args, err := f.where()
	if err != nil {
		return nil, err
	}
	if cond == "" {
		cond = "1"
	}
	q := `SELECT ` + bugColumns + `, (` + cond + `),
		COALESCE((SELECT MIN(a.at) FROM announcements a WHERE a.bug_id = bugs.id AND a.kind IN ('announce', 'digest')), 0),
		COALESCE((SELECT cl.at FROM claims cl WHERE cl.bug_id = bugs.id), 0),
		EXISTS (SELECT 1 FROM catch_up c WHERE c.bug_id = bugs.id)
		FROM bugs WHERE (` + cond + `) OR bugs.creation_time >= ? ORDER BY bugs.creation_time, bugs.id`
	args = append(append(append([]any(nil), args...), args...), ts(since))
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("failed to read reaction times: %w", err)
	}
	defer rows.Close()
	var out []BugTimes
	index := map[int]int{}
	for rows.Next() {
		var ann, claim int64
		var bt BugTimes
		var b *bugzilla.Bug
		b, err := scanBug(rowScanner(func(dest ...any) error {
			return rows.Scan(append(dest, &bt.Matches, &ann, &claim, &bt.CaughtUp)...)
		}))
		if err != nil {
			return nil, fmt.Errorf("failed to read reaction times: %w", err)
		}
		bt.Bug = *b
		bt.Announced, bt.Claimed = fromTS(ann), fromTS(claim)
		index[bt.Bug.ID] = len(out)
		out = append(out, bt)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to read reaction times: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	ccRows, err := s.db.QueryContext(ctx, `SELECT c.bug_id, lower(c.login), c.at FROM cc_first c
		JOIN bugs b ON b.id = c.bug_id WHERE b.creation_time >= ?`, ts(since))
	if err != nil {
		return nil, fmt.Errorf("failed to read CC times: %w", err)
	}
	defer ccRows.Close()
	for ccRows.Next() {
		var id int
		var login string
		var at int64
		if err := ccRows.Scan(&id, &login, &at); err != nil {
			return nil, fmt.Errorf("failed to read CC times: %w", err)
		}
		i, ok := index[id]
		if !ok {
			continue // created between the two statements
		}
		if out[i].CC == nil {
			out[i].CC = map[string]time.Time{}
		}
		out[i].CC[login] = fromTS(at)
	}
	if err := ccRows.Err(); err != nil {
		return nil, fmt.Errorf("failed to read CC times: %w", err)
	}
	return out, nil
}
