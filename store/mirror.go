// SPDX-License-Identifier: GPL-3.0-or-later

// Reading the mirror: one bug, and the filtered, counted and paged bug
// lists that !pending shows.

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ksecbot/ksecbot/bugzilla"
)

// Bug returns the mirrored bug with this id.
func (s *Store) Bug(ctx context.Context, id int) (*bugzilla.Bug, bool, error) {
	var data string
	err := s.db.QueryRowContext(ctx, "SELECT data FROM bugs WHERE id = ?", id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("failed to read bug %d: %w", id, err)
	}
	var b bugzilla.Bug
	if err := json.Unmarshal([]byte(data), &b); err != nil {
		return nil, false, fmt.Errorf("failed to decode bug %d: %w", id, err)
	}
	return &b, true, nil
}

// BugFilter selects mirrored bugs. Empty fields select everything.
type BugFilter struct {
	// Products and Components are pairs: the i-th product with the i-th
	// component (the watches). Both empty: any product and component.
	Products, Components []string
	OpenOnly             bool     // only bugs without a resolution
	AssignedTo           []string // assignee is one of these (case-insensitive)
	// NotCC keeps only bugs on which none of these logins is in CC or is
	// the assignee (a tree that has not been CC'd yet).
	NotCC []string
	Limit int // at most this many bugs; 0: all
}

// where returns the SQL condition (on table bugs, "" for all) and its
// arguments.
func (f BugFilter) where() (string, []any, error) {
	if len(f.Products) != len(f.Components) {
		return "", nil, fmt.Errorf("bug filter: %d products but %d components", len(f.Products), len(f.Components))
	}
	var where []string
	var args []any
	if len(f.Products) > 0 {
		var or []string
		for i := range f.Products {
			or = append(or, "(product = ? AND component = ?)")
			args = append(args, f.Products[i], f.Components[i])
		}
		where = append(where, "("+strings.Join(or, " OR ")+")")
	}
	if f.OpenOnly {
		where = append(where, "resolution = ''")
	}
	if len(f.AssignedTo) > 0 {
		where = append(where, "assigned_to IN ("+placeholders(len(f.AssignedTo))+")")
		for _, a := range f.AssignedTo {
			args = append(args, a)
		}
	}
	if len(f.NotCC) > 0 {
		p := placeholders(len(f.NotCC))
		where = append(where, "assigned_to NOT IN ("+p+")",
			"NOT EXISTS (SELECT 1 FROM bug_cc c WHERE c.bug_id = bugs.id AND c.login IN ("+p+"))")
		for range 2 {
			for _, l := range f.NotCC {
				args = append(args, l)
			}
		}
	}
	return strings.Join(where, " AND "), args, nil
}

// Bugs returns the mirrored bugs matching f, oldest creation first, and how
// many match in total (ignoring f.Limit). The count and the page are read
// by two statements, so a concurrent SaveBugs may make them differ by a bug.
func (s *Store) Bugs(ctx context.Context, f BugFilter) (bugs []bugzilla.Bug, total int, err error) {
	cond, args, err := f.where()
	if err != nil {
		return nil, 0, err
	}
	if cond != "" {
		cond = " WHERE " + cond
	}
	// Two statements rather than COUNT(*) OVER (): the count is answered
	// from the covering index bugs_filter without reading bug rows.
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM bugs"+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("failed to count bugs: %w", err)
	}
	if total == 0 {
		return nil, 0, nil
	}
	limit := -1
	if f.Limit > 0 {
		limit = f.Limit
	}
	// The inner query sorts small index entries, not whole bug rows.
	rows, err := s.db.QueryContext(ctx, "SELECT data FROM bugs WHERE id IN (SELECT id FROM bugs"+cond+
		" ORDER BY creation_time, id LIMIT ?) ORDER BY creation_time, id", append(args, limit)...)
	if err != nil {
		return nil, 0, fmt.Errorf("failed to list bugs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, 0, fmt.Errorf("failed to list bugs: %w", err)
		}
		var b bugzilla.Bug
		if err := json.Unmarshal([]byte(data), &b); err != nil {
			return nil, 0, fmt.Errorf("failed to decode bug: %w", err)
		}
		bugs = append(bugs, b)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("failed to list bugs: %w", err)
	}
	return bugs, total, nil
}
