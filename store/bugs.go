// SPDX-License-Identifier: GPL-3.0-or-later

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

	"github.com/ksecbot/ksecbot/bugzilla"
)

// Event kinds derived by SaveBugs.
const (
	EventNew        = "new"        // a bug seen for the first time (not in a baseline)
	EventMovedIn    = "moved_in"   // an old open bug seen for the first time after the baseline: it entered the watch (New: product/component)
	EventReopened   = "reopened"   // resolution went from set to ""
	EventResolved   = "resolved"   // resolution went from "" to set
	EventSeverity   = "severity"   // severity changed
	EventWhiteboard = "whiteboard" // whiteboard changed
	EventRestricted = "restricted" // groups went empty <-> non-empty; Old/New are "public"/"restricted"
	EventAssigned   = "assigned"   // assignee changed; recorded for stats, never pending
	EventCC         = "cc"         // CC list changed; recorded for stats, never pending
)

// Event is a change of a mirrored bug that the announcer may act on.
type Event struct {
	ID    int64
	BugID int
	Kind  string // one of the Event* constants
	Old   string
	New   string
	Bug   bugzilla.Bug // state when recorded
	At    time.Time
}

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
// (watch is "product/component", config.Watch.Name). A bug whose assignee
// is not the default is claimed.
func (s *Store) SetComponentDefault(ctx context.Context, watch, assignee string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO component_defaults(watch, assignee) VALUES (?, ?)
			ON CONFLICT(watch) DO UPDATE SET assignee = excluded.assignee`, watch, assignee)
		if err != nil {
			return fmt.Errorf("failed to set component default of %q: %w", watch, err)
		}
		return nil
	})
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
	return s.tx(ctx, func(tx *sql.Tx) error {
		defaults, err := loadDefaults(ctx, tx)
		if err != nil {
			return err
		}
		for i := range bugs {
			if err := saveBug(ctx, tx, &bugs[i], defaults, o, now); err != nil {
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

func loadDefaults(ctx context.Context, tx *sql.Tx) (map[string]string, error) {
	rows, err := tx.QueryContext(ctx, "SELECT watch, assignee FROM component_defaults")
	if err != nil {
		return nil, fmt.Errorf("failed to read component defaults: %w", err)
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var w, a string
		if err := rows.Scan(&w, &a); err != nil {
			return nil, fmt.Errorf("failed to read component defaults: %w", err)
		}
		m[w] = a
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to read component defaults: %w", err)
	}
	return m, nil
}

// watchName is config.Watch.Name for a bug's product and component.
func watchName(b *bugzilla.Bug) string { return b.Product + "/" + b.Component }

func saveBug(ctx context.Context, tx *sql.Tx, b *bugzilla.Bug, defaults map[string]string, o bugzilla.SaveOptions, now time.Time) error {
	var oldData string
	var oldLCT int64
	err := tx.QueryRowContext(ctx, "SELECT data, last_change_time FROM bugs WHERE id = ?", b.ID).Scan(&oldData, &oldLCT)
	exists := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("failed to read bug %d: %w", b.ID, err)
	}
	if exists && oldLCT > ts(b.LastChangeTime) {
		return nil // a stale copy
	}
	data, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("failed to encode bug %d: %w", b.ID, err)
	}
	// Bugzilla times have one-second precision: the same last_change_time
	// with different content is a second change within that second (e.g.
	// auto-CC right after filing), not a duplicate.
	if exists && oldLCT == ts(b.LastChangeTime) && oldData == string(data) {
		return nil // seen already
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO bugs(id, product, component, resolution, assigned_to, creation_time, last_change_time, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET product = excluded.product, component = excluded.component,
			resolution = excluded.resolution, assigned_to = excluded.assigned_to,
			creation_time = excluded.creation_time, last_change_time = excluded.last_change_time, data = excluded.data`,
		b.ID, b.Product, b.Component, b.Resolution, b.AssignedTo, ts(b.CreationTime), ts(b.LastChangeTime), string(data))
	if err != nil {
		return fmt.Errorf("failed to save bug %d: %w", b.ID, err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM bug_cc WHERE bug_id = ?", b.ID); err != nil {
		return fmt.Errorf("failed to save cc of bug %d: %w", b.ID, err)
	}
	for _, login := range b.CC {
		if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO bug_cc(bug_id, login) VALUES (?, ?)", b.ID, login); err != nil {
			return fmt.Errorf("failed to save cc of bug %d: %w", b.ID, err)
		}
	}

	def, haveDef := defaults[watchName(b)]
	claimed := b.AssignedTo != "" && haveDef && !bugzilla.SameLogin(b.AssignedTo, def)
	if claimed || b.Resolution != "" {
		if _, err := tx.ExecContext(ctx, "UPDATE reminders SET done_at = ? WHERE bug_id = ? AND done_at = 0", ts(now), b.ID); err != nil {
			return fmt.Errorf("failed to settle reminder of bug %d: %w", b.ID, err)
		}
	}
	ev := eventWriter{ctx: ctx, tx: tx, bug: b, data: string(data), now: now}
	isNew := !exists && o.IsNew(b)
	if o.Baseline {
		if isNew { // catch-up of a fresh database
			ev.add(EventNew, "", b.Summary, true)
		}
		return ev.err
	}
	at := b.LastChangeTime
	if at.IsZero() {
		at = now
	}
	if !exists {
		if !isNew {
			if o.MovedIn(b) { // an old open bug that entered the watch after its baseline
				ev.add(EventMovedIn, "", watchName(b), true)
				return ev.err
			}
			return nil // an old or closed bug seen for the first time: mirror only
		}
		ev.add(EventNew, "", b.Summary, true)
		if claimed {
			if err := recordClaim(ctx, tx, b.ID, b.AssignedTo, at); err != nil {
				return err
			}
		}
		for _, login := range b.CC {
			if err := recordCC(ctx, tx, b.ID, login, at); err != nil {
				return err
			}
		}
		return ev.err
	}

	var old bugzilla.Bug
	if err := json.Unmarshal([]byte(oldData), &old); err != nil {
		return fmt.Errorf("failed to decode stored bug %d: %w", b.ID, err)
	}
	switch {
	case old.Resolution != "" && b.Resolution == "":
		ev.add(EventReopened, old.Resolution, "", true)
	case old.Resolution == "" && b.Resolution != "":
		ev.add(EventResolved, "", b.Resolution, true)
	}
	if old.Severity != b.Severity {
		ev.add(EventSeverity, old.Severity, b.Severity, true)
	}
	if old.Whiteboard != b.Whiteboard {
		ev.add(EventWhiteboard, old.Whiteboard, b.Whiteboard, true)
	}
	if old.Restricted() != b.Restricted() {
		ev.add(EventRestricted, restrictedWord(&old), restrictedWord(b), true)
	}
	if !strings.EqualFold(old.AssignedTo, b.AssignedTo) {
		ev.add(EventAssigned, old.AssignedTo, b.AssignedTo, false)
		// Without a known default, any first change of assignee counts.
		if claimed || (!haveDef && b.AssignedTo != "") {
			if err := recordClaim(ctx, tx, b.ID, b.AssignedTo, at); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "UPDATE reminders SET done_at = ? WHERE bug_id = ? AND done_at = 0", ts(now), b.ID); err != nil {
				return fmt.Errorf("failed to settle reminder of bug %d: %w", b.ID, err)
			}
		}
	}
	if added, changed := ccDiff(old.CC, b.CC); changed {
		ev.add(EventCC, strings.Join(old.CC, ", "), strings.Join(b.CC, ", "), false)
		for _, login := range added {
			if err := recordCC(ctx, tx, b.ID, login, at); err != nil {
				return err
			}
		}
	}
	return ev.err
}

type eventWriter struct {
	ctx  context.Context
	tx   *sql.Tx
	bug  *bugzilla.Bug
	data string
	now  time.Time
	err  error
}

// add records one event; announceable events stay pending, the others are
// stored as processed already.
func (w *eventWriter) add(kind, old, new string, pending bool) {
	if w.err != nil {
		return
	}
	var processed int64
	if !pending {
		processed = ts(w.now)
	}
	_, err := w.tx.ExecContext(w.ctx, `INSERT INTO events(bug_id, kind, old, new, bug, at, processed_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		w.bug.ID, kind, old, new, w.data, ts(w.now), processed)
	if err != nil {
		w.err = fmt.Errorf("failed to record %s event of bug %d: %w", kind, w.bug.ID, err)
	}
}

func restrictedWord(b *bugzilla.Bug) string {
	if b.Restricted() {
		return "restricted"
	}
	return "public"
}

// ccDiff returns the logins in cur not in old (case-insensitively) and
// whether the two sets differ.
func ccDiff(old, cur []string) (added []string, changed bool) {
	norm := func(l []string) []string {
		out := make([]string, len(l))
		for i, s := range l {
			out[i] = strings.ToLower(s)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	o, c := norm(old), norm(cur)
	for _, login := range cur {
		if _, found := slices.BinarySearch(o, strings.ToLower(login)); !found {
			added = append(added, login)
		}
	}
	return added, !slices.Equal(o, c)
}

func recordClaim(ctx context.Context, tx *sql.Tx, bugID int, login string, at time.Time) error {
	if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO claims(bug_id, login, at) VALUES (?, ?, ?)", bugID, login, ts(at)); err != nil {
		return fmt.Errorf("failed to record claim of bug %d: %w", bugID, err)
	}
	return nil
}

func recordCC(ctx context.Context, tx *sql.Tx, bugID int, login string, at time.Time) error {
	if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO cc_first(bug_id, login, at) VALUES (?, ?, ?)", bugID, login, ts(at)); err != nil {
		return fmt.Errorf("failed to record cc of bug %d: %w", bugID, err)
	}
	return nil
}

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

// Bugs returns the mirrored bugs matching f, oldest creation first, and how
// many match in total (ignoring f.Limit). The count and the page are read
// by two statements, so a concurrent SaveBugs may make them differ by a bug.
func (s *Store) Bugs(ctx context.Context, f BugFilter) (bugs []bugzilla.Bug, total int, err error) {
	if len(f.Products) != len(f.Components) {
		return nil, 0, fmt.Errorf("bug filter: %d products but %d components", len(f.Products), len(f.Components))
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
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
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
		return saveBug(ctx, tx, &fresh, defaults, bugzilla.Silent(), now)
	})
	if err != nil {
		return bugzilla.Bug{}, err
	}
	return fresh, nil
}
