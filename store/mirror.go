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
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
)

// bugColumns are what a mirror read selects (scanBug decodes them).
const bugColumns = "data, sight, unconfirmed, confirmed_at"

// rowScanner adapts a Scan that reads more columns after bugColumns.
type rowScanner func(dest ...any) error

// Scan implements scanBug's row.
func (f rowScanner) Scan(dest ...any) error { return f(dest...) }

// scanBug decodes a row of bugColumns: the bug and its sight.
func scanBug(row interface{ Scan(...any) error }) (*bugzilla.Bug, error) {
	var data, sight string
	var unconfirmed bool
	var confirmed int64
	if err := row.Scan(&data, &sight, &unconfirmed, &confirmed); err != nil {
		return nil, err
	}
	var b bugzilla.Bug
	if err := json.Unmarshal([]byte(data), &b); err != nil {
		return nil, fmt.Errorf("failed to decode bug: %w", err)
	}
	b.Sight = bugzilla.Sight{Gone: sight == sightGone, Unconfirmed: unconfirmed, Confirmed: fromTS(confirmed)}
	return &b, nil
}

// Bug returns the mirrored bug with this id, with its sight.
func (s *Store) Bug(ctx context.Context, id int) (*bugzilla.Bug, bool, error) {
	b, err := scanBug(s.db.QueryRowContext(ctx, "SELECT "+bugColumns+" FROM bugs WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("failed to read bug %d: %w", id, err)
	}
	return b, true, nil
}

// BugFilter selects mirrored bugs. Empty fields select everything.
type BugFilter struct {
	// Products and Components are pairs: the i-th product with the i-th
	// component (the watches). Both empty: any product and component.
	Products, Components []string
	// OpenOnly: only bugs without a resolution that ksecbot still sees in
	// a watch (none gone out of its sight or moved out).
	OpenOnly   bool
	AssignedTo []string // assignee is one of these (case-insensitive)
	// NotCC keeps only bugs on which none of these logins is in CC or is
	// the assignee (a tree that has not been CC'd yet).
	NotCC []string
	// Names, when set, keeps only the bugs it accepts, judged from the
	// fields that name kernel trees and whether the bug is restricted: it
	// is given a Bug with only ID, Summary, Whiteboard, Alias, Keywords,
	// Groups and Sight filled in (so the mirror decodes whole bugs only for
	// the page it returns).
	Names func(b *bugzilla.Bug) bool
	// AssignedWithin, when set, keeps only the bugs that match one of
	// its windows (policy.UnclaimedWindows makes them for !pending).
	AssignedWithin []AssignedWindow
	Limit          int // at most this many bugs; 0: all
}

// AssignedWindow matches the bugs of a watch ("product/component")
// assigned to one of Logins (case-insensitive) and created within [From,
// Until) (zero: unbounded).
type AssignedWindow struct {
	Watch       string
	Logins      []string
	From, Until time.Time
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
		where = append(where, "resolution = ''", "sight = ''")
	}
	if len(f.AssignedWithin) > 0 {
		var or []string
		for _, w := range f.AssignedWithin {
			if len(w.Logins) == 0 {
				continue
			}
			p, c, _ := strings.Cut(w.Watch, "/")
			one := "(product = ? AND component = ? AND assigned_to IN (" + placeholders(len(w.Logins)) + ")"
			args = append(args, p, c)
			for _, l := range w.Logins {
				args = append(args, l)
			}
			if !w.From.IsZero() {
				one += " AND creation_time >= ?"
				args = append(args, ts(w.From))
			}
			if !w.Until.IsZero() {
				one += " AND creation_time < ?"
				args = append(args, ts(w.Until))
			}
			or = append(or, one+")")
		}
		if len(or) == 0 {
			or = []string{"0"}
		}
		where = append(where, "("+strings.Join(or, " OR ")+")")
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
	if f.Names != nil {
		return s.namedBugs(ctx, cond, args, f.Names, f.Limit)
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
	rows, err := s.db.QueryContext(ctx, "SELECT "+bugColumns+" FROM bugs WHERE id IN (SELECT id FROM bugs"+cond+
		" ORDER BY creation_time, id LIMIT ?) ORDER BY creation_time, id", append(args, limit)...)
	if err != nil {
		return nil, 0, fmt.Errorf("failed to list bugs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		b, err := scanBug(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("failed to list bugs: %w", err)
		}
		bugs = append(bugs, *b)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("failed to list bugs: %w", err)
	}
	return bugs, total, nil
}

// namedBugs is Bugs with a Names filter: it reads the tree-naming fields of
// every bug matching cond (with SQLite's JSON functions, not Go's decoder),
// keeps those names accepts, and decodes whole bugs for the first limit of
// them only.
func (s *Store) namedBugs(ctx context.Context, cond string, args []any, names func(*bugzilla.Bug) bool, limit int) (bugs []bugzilla.Bug, total int, err error) {
	// SQLite keeps the last parsed JSON: the five json_extract calls of a
	// row parse its data once.
	rows, err := s.db.QueryContext(ctx, `SELECT id, json_extract(data, '$.summary'), json_extract(data, '$.whiteboard'),
		json_extract(data, '$.alias'), json_extract(data, '$.keywords'), json_extract(data, '$.groups'), sight, unconfirmed
		FROM bugs`+cond+" ORDER BY creation_time, id", args...)
	if err != nil {
		return nil, 0, fmt.Errorf("failed to list bugs: %w", err)
	}
	var page []any
	for rows.Next() {
		var id int
		var summary, whiteboard, alias, keywords, groups sql.NullString
		var sight string
		var unconfirmed bool
		if err := rows.Scan(&id, &summary, &whiteboard, &alias, &keywords, &groups, &sight, &unconfirmed); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("failed to list bugs: %w", err)
		}
		b := bugzilla.Bug{ID: id, Summary: summary.String, Whiteboard: whiteboard.String,
			Sight: bugzilla.Sight{Gone: sight == sightGone, Unconfirmed: unconfirmed}}
		// A list that cannot be read names no tree, and its bug is never
		// taken for a public one.
		if !jsonList(alias, &b.Alias) || !jsonList(keywords, &b.Keywords) || !jsonList(groups, &b.Groups) {
			b.Groups = []string{"unreadable"}
		}
		if !names(&b) {
			continue
		}
		total++
		if limit <= 0 || len(page) < limit {
			page = append(page, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("failed to list bugs: %w", err)
	}
	// In chunks: SQLite bounds the number of parameters of a statement.
	for len(page) > 0 {
		chunk := page[:min(len(page), 500)]
		page = page[len(chunk):]
		if bugs, err = s.decodeBugs(ctx, bugs, chunk); err != nil {
			return nil, 0, err
		}
	}
	return bugs, total, nil
}

// decodeBugs appends the bugs with these ids to bugs, oldest creation first.
func (s *Store) decodeBugs(ctx context.Context, bugs []bugzilla.Bug, ids []any) ([]bugzilla.Bug, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+bugColumns+" FROM bugs WHERE id IN ("+placeholders(len(ids))+") ORDER BY creation_time, id", ids...)
	if err != nil {
		return nil, fmt.Errorf("failed to list bugs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		b, err := scanBug(rows)
		if err != nil {
			return nil, fmt.Errorf("failed to list bugs: %w", err)
		}
		bugs = append(bugs, *b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to list bugs: %w", err)
	}
	return bugs, nil
}

// jsonList decodes a JSON list of strings read by json_extract; NULL and
// "[]" (most bugs' aliases, keywords and groups) need no decoder.
func jsonList(v sql.NullString, dst *[]string) bool {
	if !v.Valid || v.String == "[]" {
		return true
	}
	return json.Unmarshal([]byte(v.String), dst) == nil
}
