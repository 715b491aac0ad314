// SPDX-License-Identifier: GPL-3.0-or-later

// Reconciliation: the watch's search returns only what changed and what
// ksecbot may see, so a bug restricted into a group ksecbot's account is
// not in, deleted, or moved to another product simply stops coming back.
// Reading every open mirrored bug again by id notices it. And API key
// outages: reads without the key see only public bugs, so when the key
// works again the cursors go back to where the outage began.

package bugzilla

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// ReconcileStats describe the last reconciliation.
type ReconcileStats struct {
	Runs         int64
	Last         time.Time     // when the last one started
	LastDuration time.Duration // how long it took
	LastBugs     int           // bugs it read again
	LastRequests int64         // HTTP requests of the client while it ran (its own, in a quiet moment)
	LastError    string        // "" after a successful one
}

// PokeReconcile asks Run for a reconciliation now. It never blocks.
func (w *Watcher) PokeReconcile() {
	select {
	case w.pokeReconcile <- struct{}{}:
	default:
	}
}

// ReconcileOnce reads every open mirrored bug of the watches again by id
// (see reconcile). Polls, pushes and reconciliations are serialised.
func (w *Watcher) ReconcileOnce(ctx context.Context) error {
	w.pollMu.Lock()
	defer w.pollMu.Unlock()
	start, req0 := w.o.Now(), w.c.Stats().Requests
	n, err := w.reconcile(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	r := &w.rstats
	r.Runs++
	r.Last, r.LastDuration, r.LastBugs = start, w.o.Now().Sub(start), n
	r.LastRequests = w.c.Stats().Requests - req0
	r.LastError = ""
	if err != nil {
		r.LastError = err.Error()
	}
	return err
}

// ReconcileStats returns a snapshot of the reconciliation statistics.
func (w *Watcher) ReconcileStats() ReconcileStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rstats
}

// reconcileFields are what reconciliation reads of each bug: whether it
// is still there and where, and whether it changed since the mirror's
// copy (a bug that did is read again whole).
var reconcileFields = []string{"id", "product", "component", "groups", "resolution", "last_change_time"}

// reconcile reads the open bugs of the watches that the mirror has in
// sight or gone, 200 ids per search (reconcileFields), and stores what it
// finds: a bug in a watch unchanged since the mirror's copy is confirmed;
// one that changed, or that was gone or moved out and is back, is read
// again whole and stored as a poll would (the one back is announced like
// a bug that moved in); a bug in another product/component has moved out
// of the watch, and a bug not returned is gone. A batch read without the
// key (Bugzilla refuses it) cannot tell gone from restricted: the bugs it
// did not return are unconfirmed. After a key outage, the first
// reconciliation made entirely with the key ends it. It returns how many
// bugs it read.
func (w *Watcher) reconcile(ctx context.Context) (int, error) {
	if w.sight == nil {
		return 0, nil
	}
	since, ok, err := w.newSince(ctx)
	if err != nil || !ok {
		return 0, err // no baseline yet: nothing to reconcile
	}
	ids, err := w.sight.SightIDs(ctx, w.names())
	if err != nil {
		return 0, err
	}
	anonymous := false
	var gone, left []int
	for start := 0; start < len(ids); start += idBatch {
		batch := ids[start:min(start+idBatch, len(ids))]
		res, err := w.c.Search(ctx, SearchQuery{IDs: batch, Order: "bug_id", Fields: reconcileFields})
		if err != nil {
			return start, fmt.Errorf("failed to read bugs by id: %w", err)
		}
		g, l, err := w.applyRead(ctx, batch, res, since, false)
		if err != nil {
			return start, err
		}
		anonymous = anonymous || w.refused(res)
		gone, left = append(gone, g...), append(left, l...)
	}
	if len(gone) > 0 || len(left) > 0 {
		w.log.Info("reconciliation: bugs out of sight", "gone", gone, "moved_out", left)
	}
	if !anonymous && w.rewound {
		if err := w.sight.EndOutage(ctx); err != nil {
			return len(ids), err
		}
		w.rewound = false
		w.log.Info("the mirror is confirmed with the API key again: the key outage is over")
	}
	w.log.Debug("reconciled", "bugs", len(ids), "anonymous", anonymous)
	return len(ids), nil
}

// applyRead stores what one search by id (of ids) found, with all the
// fields ksecbot uses (whole) or reconcileFields; see reconcile. It
// returns the bugs that went out of sight and those that left the
// watches.
func (w *Watcher) applyRead(ctx context.Context, ids []int, res SearchResult, since time.Time, whole bool) (gone, left []int, err error) {
	refused := w.refused(res)
	if refused {
		if err := w.beginOutage(ctx, false); err != nil {
			return nil, nil, err
		}
	}
	in := w.filter(res.Bugs)
	var out []Bug
	returned := map[int]bool{}
	for _, b := range res.Bugs {
		returned[b.ID] = true
		if !w.watched(&b) {
			out = append(out, b)
		}
	}
	if len(in) > 0 && !whole {
		if in, err = w.readChanged(ctx, in); err != nil {
			return nil, nil, err
		}
	}
	if len(in) > 0 {
		// The batch's send time: a whole re-read (readChanged) came later,
		// so this errs on the side of "read before our write".
		if err := w.st.SaveWatched(ctx, in, nil, SaveOptions{CheckNew: true, NewSince: since, Entered: true, ReadAt: res.Sent}); err != nil {
			return nil, nil, fmt.Errorf("failed to store bugs read by id: %w", err)
		}
	}
	if left, err = w.sight.LeftWatches(ctx, out, w.names()); err != nil {
		return nil, nil, err
	}
	var missing []int
	for _, id := range ids {
		if !returned[id] {
			missing = append(missing, id)
		}
	}
	if refused {
		// Missing from an anonymous read: not public now, but only the
		// key can tell restricted from gone.
		return nil, left, w.sight.Unconfirm(ctx, missing)
	}
	gone, err = w.sight.Gone(ctx, missing, w.names())
	return gone, left, err
}

// readChanged confirms the bugs read (reconcileFields) that are as the
// mirror has them, and reads the others again whole (one search): those
// that changed since, and those back in sight.
func (w *Watcher) readChanged(ctx context.Context, read []Bug) ([]Bug, error) {
	changed, err := w.sight.Confirm(ctx, read)
	if err != nil || len(changed) == 0 {
		return nil, err
	}
	res, err := w.c.Search(ctx, SearchQuery{IDs: changed, Order: "bug_id"})
	if err != nil {
		return nil, fmt.Errorf("failed to read changed bugs by id: %w", err)
	}
	return w.filter(res.Bugs), nil
}

// refused reports whether res was read without the key because Bugzilla
// refuses it: it shows only public bugs, less than ksecbot may see.
// Without a key at all, anonymous reads are all ksecbot may see.
func (w *Watcher) refused(res SearchResult) bool { return res.Anonymous && w.c.HasAPIKey() }

// newSince is since for bugs a read by id finds (an unseen open bug is
// new when created after the oldest cursor minus the overlap). ok is false
// before the first baseline.
func (w *Watcher) newSince(ctx context.Context) (time.Time, bool, error) {
	var since time.Time
	for i, wa := range w.watches {
		cur, ok, err := w.st.Cursor(ctx, wa.Name())
		if err != nil {
			return time.Time{}, false, fmt.Errorf("failed to read cursor of %s: %w", wa.Name(), err)
		}
		if !ok || cur.Time.IsZero() {
			return time.Time{}, false, nil
		}
		if i == 0 || cur.Time.Before(since) {
			since = cur.Time
		}
	}
	return since.Add(-w.o.Overlap), true, nil
}

// beginOutage records, once per outage, that reads go without the key
// (Bugzilla refuses it), from the oldest cursor on; w.rewound is cleared,
// so the first poll with the key rewinds the cursors to there.
func (w *Watcher) beginOutage(ctx context.Context, baseline bool) error {
	if w.sight == nil || !w.c.HasAPIKey() {
		return nil
	}
	w.rewound = false
	since, ok, err := w.newSince(ctx)
	if err != nil || !ok {
		return err
	}
	began, err := w.sight.BeginOutage(ctx, since.Add(w.o.Overlap), baseline)
	if err != nil {
		return fmt.Errorf("failed to record the key outage: %w", err)
	}
	if began {
		w.log.Warn("reading Bugzilla without the API key: until it works again, public channels get no details of a bug not read since",
			"cursor", FormatTime(since.Add(w.o.Overlap)))
	}
	return nil
}

// KeyRefused records that Bugzilla began refusing the API key (see
// beginOutage), for when the refusal is noticed outside a read of the
// watcher (a write, a key check).
func (w *Watcher) KeyRefused(ctx context.Context) error {
	w.pollMu.Lock()
	defer w.pollMu.Unlock()
	return w.beginOutage(ctx, false)
}

// keyBack, at the first poll with the key after an outage, moves the
// cursors back to where the outage began (the poll subtracts the overlap)
// and asks for a reconciliation: what changed meanwhile, restricted bugs
// included, is read again with the key.
func (w *Watcher) keyBack(ctx context.Context, cursors map[string]Cursor) error {
	if w.sight == nil || w.rewound || !w.c.HasAPIKey() || w.c.KeyRefused() {
		return nil
	}
	since, baseline, ok, err := w.sight.Outage(ctx)
	if err != nil || !ok {
		return err
	}
	if baseline {
		if err := w.rebaseline(ctx, since); err != nil {
			return err
		}
	}
	if err := w.sight.RewindCursors(ctx, since); err != nil {
		return err
	}
	for name, cur := range cursors {
		if cur.Time.After(since) {
			cursors[name] = Cursor{Time: since}
		}
	}
	w.rewound = true
	w.log.Info("Bugzilla accepts the API key again: reading again what changed since the outage began", "since", FormatTime(since.Add(-w.o.Overlap)))
	if w.o.Reconcile <= 0 {
		// Nothing would confirm the mirror: the rewound poll is all
		// there is (reconciliation is off).
		return w.sight.EndOutage(ctx)
	}
	w.PokeReconcile()
	return nil
}

// watched reports whether b is in one of the watches.
func (w *Watcher) watched(b *Bug) bool {
	return slices.Contains(w.watches, Watch{Product: b.Product, Component: b.Component})
}

// names returns the watches' names.
func (w *Watcher) names() []string {
	out := make([]string, len(w.watches))
	for i, wa := range w.watches {
		out[i] = wa.Name()
	}
	return out
}
