// SPDX-License-Identifier: GPL-3.0-or-later

// What a Watcher hands to its store: the watches, their cursors, the
// WatchStore interface (implemented by package store) and the options that
// decide which unseen bugs are new.

package bugzilla

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Watch is one product/component pair to watch.
type Watch struct{ Product, Component string }

// Name is the watch's stable name, used as the cursor key.
func (w Watch) Name() string { return w.Product + "/" + w.Component }

// Cursor is a watch's polling position: the newest last_change_time seen
// (a server timestamp) and the ETag of the last single-page poll.
type Cursor struct {
	Time time.Time
	ETag string
}

// WatchStore persists bugs and cursors (implemented by package store).
type WatchStore interface {
	Cursor(ctx context.Context, watch string) (Cursor, bool, error)
	// SaveWatched stores bugs (skipping ones whose (id,last_change_time) it already has), records what changed, and
	// then sets the cursor of each named watch, all in one transaction. A bug it has not stored before is recorded
	// as new only when o.IsNew says so; o.Baseline: mirror only, no other events.
	SaveWatched(ctx context.Context, bugs []Bug, cursors map[string]Cursor, o SaveOptions) error
}

// ErrStore marks, in what a Watcher returns, the errors of its
// WatchStore (ksecbot's database): a poll that failed there is no
// Bugzilla trouble and is not reported as one.
var ErrStore = errors.New("the local store failed")

// markedStore wraps the errors of a WatchStore with ErrStore.
type markedStore struct{ st WatchStore }

func (m markedStore) Cursor(ctx context.Context, watch string) (Cursor, bool, error) {
	c, ok, err := m.st.Cursor(ctx, watch)
	return c, ok, markStore(err)
}

func (m markedStore) SaveWatched(ctx context.Context, bugs []Bug, cursors map[string]Cursor, o SaveOptions) error {
	return markStore(m.st.SaveWatched(ctx, bugs, cursors, o))
}

func markStore(err error) error {
	if err == nil || errors.Is(err, ErrStore) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrStore, err)
}

// SaveOptions tell a WatchStore how to treat what it stores.
type SaveOptions struct {
	// Baseline: mirror only; no events except "new" for the bugs IsNew
	// accepts (the catch-up of a fresh database).
	Baseline bool
	// CheckNew applies "new means new": a bug not stored before is new
	// only if it is open and was created at or after NewSince; any other
	// unseen bug is stored silently. Without CheckNew every unseen bug is
	// new outside a baseline (the plain SaveBugs of package store).
	CheckNew bool
	NewSince time.Time
	// Entered: the bugs are in a watch whose baseline is done, so an
	// unseen open bug that IsNew rejects has entered the watch (moved in
	// from another component, or made visible to ksecbot) and is recorded
	// as moved in, to be announced like a new bug.
	Entered bool
	// ReadAt is when the read that returned the bugs was sent (zero:
	// unknown). A copy read before ksecbot's own write of the same second
	// is stale and not stored over it.
	ReadAt time.Time
}

// MovedIn reports whether b, not stored before, has moved into a watch:
// open, not new, and stored with Entered outside a baseline.
func (o SaveOptions) MovedIn(b *Bug) bool {
	return o.Entered && !o.Baseline && b.Open() && !o.IsNew(b)
}

// IsNew reports whether b, not stored before, is to be announced as new.
func (o SaveOptions) IsNew(b *Bug) bool {
	if !o.CheckNew {
		return !o.Baseline
	}
	return b.Open() && !b.CreationTime.Before(o.NewSince)
}

// Silent are the options for storing bugs read outside polling (after a
// write, for a command): unseen bugs are never new.
func Silent() SaveOptions { return SaveOptions{CheckNew: true, NewSince: farFuture} }

// farFuture is after every creation time.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// SightStore is implemented by a WatchStore that keeps track of how
// ksecbot sees its mirrored bugs (package store); the watcher's
// reconciliation by id and its handling of API key outages use it.
// Watch names are Watch.Name ("product/component").
type SightStore interface {
	// SightIDs returns the open bugs of the watches that are in sight
	// or gone: those reconciliation reads again.
	SightIDs(ctx context.Context, watches []string) ([]int, error)
	// Confirm records that a read returned the bugs as mirrored (same
	// last_change_time, in sight): they are confirmed now. It returns the
	// others (changed since, out of sight, or not mirrored). Unconfirm
	// records that an anonymous read did not return bugs (they are not
	// public now).
	Confirm(ctx context.Context, bugs []Bug) (changed []int, err error)
	Unconfirm(ctx context.Context, ids []int) error
	// Gone records that a read with the key did not return the bugs;
	// LeftWatches that it returned them outside the watches. Both act
	// only on bugs mirrored in sight in a watch, and return those.
	Gone(ctx context.Context, ids []int, watches []string) ([]int, error)
	LeftWatches(ctx context.Context, bugs []Bug, watches []string) ([]int, error)
	// BeginOutage records that reads go without the key from the cursor
	// since on (once per outage; every mirrored bug is unconfirmed until
	// read again; baseline: a fresh database's baseline was read so);
	// Outage returns what it recorded; EndOutage ends it.
	BeginOutage(ctx context.Context, since time.Time, baseline bool) (bool, error)
	Outage(ctx context.Context) (since time.Time, baseline, ok bool, err error)
	EndOutage(ctx context.Context) error
	// RewindCursors moves every cursor later than to back to it.
	RewindCursors(ctx context.Context, to time.Time) error
}
