// SPDX-License-Identifier: GPL-3.0-or-later

// Storing one bug in the mirror and deriving the events of its change
// (new, moved in, reopened, resolved, restricted, ...), with the first
// claim and CC times the stats need.

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
	EventGone       = "gone"       // a read by id with the key no longer returns it: out of sight (Old: its watch)
	EventMovedOut   = "moved_out"  // it left the watches (Old: its watch, New: product/component it went to)
)

// CaughtUp is the Old of a "new" event the baseline of a fresh database
// recorded (a bug filed within [bugzilla] catch_up before the first
// start): its reminder counts from its announcement, and its
// creation-to-announcement time is not a reaction time.
const CaughtUp = "catch_up"

// Sights of a mirrored bug (the bugs.sight column; bugzilla.Sight).
const (
	sightIn    = ""      // in sight
	sightGone  = "gone"  // EventGone
	sightMoved = "moved" // EventMovedOut
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

// saveBug stores one bug and derives the events of its change. A bug
// read from Bugzilla (read: not ksecbot's own write applied to the mirror)
// is confirmed in sight; one that was out of sight (gone, moved out) and
// comes back in a watch (o.Entered) is in sight again and, when open,
// announced like a bug that moved in.
func saveBug(ctx context.Context, tx *sql.Tx, b *bugzilla.Bug, defaults map[string][]string, o bugzilla.SaveOptions, now time.Time, read bool) error {
	var oldData, sight string
	var oldLCT, ownWrite int64
	err := tx.QueryRowContext(ctx, "SELECT data, last_change_time, sight, own_write_at FROM bugs WHERE id = ?", b.ID).Scan(&oldData, &oldLCT, &sight, &ownWrite)
	exists := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("failed to read bug %d: %w", b.ID, err)
	}
	if read && exists {
		if _, err := tx.ExecContext(ctx, "UPDATE bugs SET confirmed_at = ?, unconfirmed = 0 WHERE id = ?", ts(now), b.ID); err != nil {
			return fmt.Errorf("failed to confirm bug %d: %w", b.ID, err)
		}
	}
	if exists && sight != sightIn && read && o.Entered {
		return comeBack(ctx, tx, b, oldLCT, sight, now)
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
	// A copy read before ksecbot's own write of the same second: the
	// mirror already has that write; this copy would undo it (the next
	// poll reads the bug again, within its overlap).
	if exists && read && oldLCT == ts(b.LastChangeTime) && ownWrite != 0 && !o.ReadAt.IsZero() && o.ReadAt.UnixNano() < ownWrite {
		return nil
	}
	var confirmed, own int64
	if read {
		confirmed = ts(now)
	} else {
		// Real time, as the client's send time it is compared with.
		own = time.Now().UnixNano()
	}
	if err := writeBug(ctx, tx, b, string(data), confirmed, own); err != nil {
		return err
	}

	defs := defaults[watchName(b)]
	haveDef := len(defs) > 0
	claimed := b.AssignedTo != "" && haveDef && !bugzilla.LoginIn(b.AssignedTo, defs)
	if claimed || b.Resolution != "" {
		if _, err := tx.ExecContext(ctx, "UPDATE reminders SET done_at = ? WHERE bug_id = ? AND done_at = 0", ts(now), b.ID); err != nil {
			return fmt.Errorf("failed to settle reminder of bug %d: %w", b.ID, err)
		}
	}
	ev := eventWriter{ctx: ctx, tx: tx, bug: b, data: string(data), now: now}
	isNew := !exists && o.IsNew(b)
	if o.Baseline {
		if isNew { // catch-up of a fresh database
			ev.add(EventNew, CaughtUp, b.Summary, true)
			if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO catch_up(bug_id, at) VALUES (?, ?)", b.ID, ts(now)); err != nil {
				return fmt.Errorf("failed to record catch-up of bug %d: %w", b.ID, err)
			}
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

// writeBug writes a bug's row and CC list. confirmed (non-zero for a bug
// read from Bugzilla) is when it was seen; a new row without it was never
// confirmed.
func writeBug(ctx context.Context, tx *sql.Tx, b *bugzilla.Bug, data string, confirmed, ownWrite int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO bugs(id, product, component, resolution, assigned_to, creation_time, last_change_time, data, confirmed_at, own_write_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET product = excluded.product, component = excluded.component,
			resolution = excluded.resolution, assigned_to = excluded.assigned_to,
			creation_time = excluded.creation_time, last_change_time = excluded.last_change_time, data = excluded.data,
			own_write_at = excluded.own_write_at`,
		b.ID, b.Product, b.Component, b.Resolution, b.AssignedTo, ts(b.CreationTime), ts(b.LastChangeTime), data, confirmed, ownWrite)
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
	return nil
}

// comeBack stores a bug that was out of sight (gone, or moved out of the
// watches) and is back in a watch: in sight again and, when open,
// announced as moved in (Old says from where: "gone" or "moved"), with a
// new reminder and auto-CC (their old rows are dropped so that the
// announcer makes new ones).
func comeBack(ctx context.Context, tx *sql.Tx, b *bugzilla.Bug, oldLCT int64, sight string, now time.Time) error {
	data, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("failed to encode bug %d: %w", b.ID, err)
	}
	if ts(b.LastChangeTime) >= oldLCT {
		if err := writeBug(ctx, tx, b, string(data), ts(now), 0); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, "UPDATE bugs SET sight = ? WHERE id = ?", sightIn, b.ID); err != nil {
		return fmt.Errorf("failed to bring bug %d back in sight: %w", b.ID, err)
	}
	if !b.Open() {
		return nil
	}
	for _, q := range []string{"DELETE FROM reminders WHERE bug_id = ?", "DELETE FROM autocc_jobs WHERE bug_id = ?"} {
		if _, err := tx.ExecContext(ctx, q, b.ID); err != nil {
			return fmt.Errorf("failed to reset bug %d: %w", b.ID, err)
		}
	}
	ev := eventWriter{ctx: ctx, tx: tx, bug: b, data: string(data), now: now}
	ev.add(EventMovedIn, sight, watchName(b), true)
	return ev.err
}
