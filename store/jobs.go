// SPDX-License-Identifier: GPL-3.0-or-later

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AutoCCJob is a pending "add the configured CCs to a new bug" job.
type AutoCCJob struct {
	BugID, Attempts int
	NextAt          time.Time
}

// DueAutoCC returns up to limit unfinished auto-CC jobs due at now, most
// overdue first (limit <= 0: all).
func (s *Store) DueAutoCC(ctx context.Context, now time.Time, limit int) ([]AutoCCJob, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT bug_id, attempts, next_at FROM autocc_jobs
		WHERE done_at = 0 AND next_at <= ? ORDER BY next_at, bug_id LIMIT ?`, ts(now), limit)
	if err != nil {
		return nil, fmt.Errorf("failed to list auto-cc jobs: %w", err)
	}
	defer rows.Close()
	var jobs []AutoCCJob
	for rows.Next() {
		var j AutoCCJob
		var next int64
		if err := rows.Scan(&j.BugID, &j.Attempts, &next); err != nil {
			return nil, fmt.Errorf("failed to list auto-cc jobs: %w", err)
		}
		j.NextAt = fromTS(next)
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to list auto-cc jobs: %w", err)
	}
	return jobs, nil
}

// FinishAutoCC marks the bug's auto-CC job done for good, with a short
// result for the record.
func (s *Store) FinishAutoCC(ctx context.Context, bugID int, result string) error {
	now := s.now()
	return s.execOne(ctx, fmt.Sprintf("auto-cc job of bug %d", bugID),
		"UPDATE autocc_jobs SET done_at = ?, result = ? WHERE bug_id = ?", ts(now), result, bugID)
}

// RetryAutoCC records a failed auto-CC attempt and when to try again.
func (s *Store) RetryAutoCC(ctx context.Context, bugID int, next time.Time, errText string) error {
	return s.execOne(ctx, fmt.Sprintf("auto-cc job of bug %d", bugID),
		"UPDATE autocc_jobs SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE bug_id = ? AND done_at = 0",
		ts(next), errText, bugID)
}

// ScheduleReminder creates the bug's reminder, due at due. A bug has at
// most one reminder ever: an existing one (even done) is kept unchanged.
func (s *Store) ScheduleReminder(ctx context.Context, bugID int, due time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return scheduleReminder(ctx, tx, bugID, due) })
}

func scheduleReminder(ctx context.Context, tx *sql.Tx, bugID int, due time.Time) error {
	if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO reminders(bug_id, due_at) VALUES (?, ?)", bugID, ts(due)); err != nil {
		return fmt.Errorf("failed to schedule reminder of bug %d: %w", bugID, err)
	}
	return nil
}

// Reminder is a due "still unclaimed" reminder of a bug.
type Reminder struct {
	BugID int
	Due   time.Time // the due time; a snoozed reminder has a new one
}

// DueReminders returns the reminders due at now, most overdue first. A
// reminder is settled automatically when SaveBugs sees the bug claimed or
// resolved; callers still check the bug before reminding.
func (s *Store) DueReminders(ctx context.Context, now time.Time) ([]Reminder, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT bug_id, due_at FROM reminders
		WHERE done_at = 0 AND due_at <= ? ORDER BY due_at, bug_id`, ts(now))
	if err != nil {
		return nil, fmt.Errorf("failed to list due reminders: %w", err)
	}
	defer rows.Close()
	var out []Reminder
	for rows.Next() {
		var r Reminder
		var due int64
		if err := rows.Scan(&r.BugID, &due); err != nil {
			return nil, fmt.Errorf("failed to list due reminders: %w", err)
		}
		r.Due = fromTS(due)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to list due reminders: %w", err)
	}
	return out, nil
}

// SnoozeReminder postpones the bug's reminder to until ("!snooze"),
// creating or re-arming it.
func (s *Store) SnoozeReminder(ctx context.Context, bugID int, until time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO reminders(bug_id, due_at) VALUES (?, ?)
			ON CONFLICT(bug_id) DO UPDATE SET due_at = excluded.due_at, done_at = 0`, bugID, ts(until))
		if err != nil {
			return fmt.Errorf("failed to snooze reminder of bug %d: %w", bugID, err)
		}
		return nil
	})
}

// DoneReminder marks the bug's reminder done (sent or no longer needed).
func (s *Store) DoneReminder(ctx context.Context, bugID int) error {
	now := s.now()
	return s.execOne(ctx, fmt.Sprintf("reminder of bug %d", bugID),
		"UPDATE reminders SET done_at = ? WHERE bug_id = ?", ts(now), bugID)
}

// execOne runs one write statement that must change exactly one row; zero
// rows is ErrNotFound.
func (s *Store) execOne(ctx context.Context, what, q string, args ...any) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("failed to update %s: %w", what, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return fmt.Errorf("%s: %w", what, ErrNotFound)
		}
		return nil
	})
}

// AuditEntry is one command that tried to change something.
type AuditEntry struct {
	At                                        time.Time // zero: now
	Network, Channel, Account, Login, Command string
	BugID                                     int
	Result, ErrCode                           string
}

// Audit appends an entry to the command audit log.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO audit(at, network, channel, account, login, command, bug_id, result, err_code)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			ts(e.At), e.Network, e.Channel, e.Account, e.Login, e.Command, e.BugID, e.Result, e.ErrCode)
		if err != nil {
			return fmt.Errorf("failed to write audit log: %w", err)
		}
		return nil
	})
}

// AuditLog returns the newest limit audit entries, newest first (limit
// <= 0: all).
func (s *Store) AuditLog(ctx context.Context, limit int) ([]AuditEntry, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT at, network, channel, account, login, command, bug_id, result, err_code
		FROM audit ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("failed to read audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&at, &e.Network, &e.Channel, &e.Account, &e.Login, &e.Command, &e.BugID, &e.Result, &e.ErrCode); err != nil {
			return nil, fmt.Errorf("failed to read audit log: %w", err)
		}
		e.At = fromTS(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to read audit log: %w", err)
	}
	return out, nil
}

// Durations are reaction times measured from bug creation (!stats, the
// status page).
type Durations struct {
	Announced  []time.Duration // to the first announcement in any channel
	FirstClaim []time.Duration // to the first claim
	// CCByLogin maps a login to the times until it was first CC'd (or
	// first seen in CC) on each bug; callers group logins into trees.
	CCByLogin map[string][]time.Duration
}

// ReactionTimes returns the reaction times of the bugs created at or after
// since. Durations are sorted ascending and never negative.
func (s *Store) ReactionTimes(ctx context.Context, since time.Time) (Durations, error) {
	d := Durations{CCByLogin: map[string][]time.Duration{}}
	var err error
	d.Announced, err = s.durations(ctx, `SELECT MIN(a.at) - b.creation_time, '' FROM announcements a
		JOIN bugs b ON b.id = a.bug_id
		WHERE b.creation_time >= ? AND a.kind IN ('announce', 'digest')
		AND NOT EXISTS (SELECT 1 FROM catch_up c WHERE c.bug_id = a.bug_id) GROUP BY a.bug_id`, since, nil)
	if err != nil {
		return d, err
	}
	d.FirstClaim, err = s.durations(ctx, `SELECT c.at - b.creation_time, '' FROM claims c
		JOIN bugs b ON b.id = c.bug_id WHERE b.creation_time >= ?`, since, nil)
	if err != nil {
		return d, err
	}
	_, err = s.durations(ctx, `SELECT c.at - b.creation_time, lower(c.login) FROM cc_first c
		JOIN bugs b ON b.id = c.bug_id WHERE b.creation_time >= ?`, since, d.CCByLogin)
	return d, err
}

// durations runs a query yielding (nanoseconds, login) rows. With byLogin
// nil it returns the durations; otherwise it files them by login.
func (s *Store) durations(ctx context.Context, q string, since time.Time, byLogin map[string][]time.Duration) ([]time.Duration, error) {
	rows, err := s.db.QueryContext(ctx, q, ts(since))
	if err != nil {
		return nil, fmt.Errorf("failed to compute reaction times: %w", err)
	}
	defer rows.Close()
	var out []time.Duration
	for rows.Next() {
		var n int64
		var login string
		if err := rows.Scan(&n, &login); err != nil {
			return nil, fmt.Errorf("failed to compute reaction times: %w", err)
		}
		d := max(time.Duration(n), 0)
		if byLogin != nil {
			byLogin[login] = insertSorted(byLogin[login], d)
		} else {
			out = insertSorted(out, d)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to compute reaction times: %w", err)
	}
	return out, nil
}

func insertSorted(l []time.Duration, d time.Duration) []time.Duration {
	i := len(l)
	for i > 0 && l[i-1] > d {
		i--
	}
	l = append(l, 0)
	copy(l[i+1:], l[i:])
	l[i] = d
	return l
}

// RecordClaim records the first claim of a bug (later claims are ignored).
func (s *Store) RecordClaim(ctx context.Context, bugID int, login string, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return recordClaim(ctx, tx, bugID, login, at) })
}

// getKV returns the value stored under key. kv holds single values only
// (the CVE watch's basis); state with a structure has its own table.
func (s *Store) getKV(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := s.db.QueryRowContext(ctx, "SELECT value FROM kv WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("failed to read %q: %w", key, err)
	}
	return v, true, nil
}

// setKV stores value under key, replacing any previous value.
func (s *Store) setKV(ctx context.Context, key, value string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO kv(key, value) VALUES (?, ?)
			ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
		if err != nil {
			return fmt.Errorf("failed to write %q: %w", key, err)
		}
		return nil
	})
}
