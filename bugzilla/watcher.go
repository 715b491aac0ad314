// SPDX-License-Identifier: GPL-3.0-or-later

package bugzilla

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ksecbot/ksecbot/internal/backoff"
)

// WatcherOptions configure a Watcher.
type WatcherOptions struct {
	Watches  []Watch       // default: Gentoo Security/Kernel
	Interval time.Duration // poll interval; default 60s
	Overlap  time.Duration // re-read window behind the cursor; default 2m
	// CatchUp: the baseline of a watch (a fresh database) announces the
	// open bugs created within CatchUp before it; 0: none.
	CatchUp time.Duration
	// Reconcile: how often every open mirrored bug is read again by id
	// (ReconcileOnce); 0: never. Needs a store that is a SightStore.
	Reconcile time.Duration
	PageSize  int // search page size; default 500
	Logger    *slog.Logger
	Now       func() time.Time // for durations only; cursors come from the server
}

// WatcherStats describe the polling health.
type WatcherStats struct {
	Polls               int64
	Requests            int64 // HTTP requests of the client so far
	LastPoll            time.Time
	LastPollDuration    time.Duration
	LastSuccess         time.Time
	LastError           string // "" after a successful poll
	ConsecutiveFailures int
}

// Watcher polls Bugzilla for changed bugs of its watches and hands them to
// a WatchStore. Its methods are safe for concurrent use; polls are
// serialised.
type Watcher struct {
	c       *Client
	st      WatchStore
	watches []Watch
	o       WatcherOptions
	log     *slog.Logger
	poke    chan struct{}
	sight   SightStore // st, when it keeps track of sight; else nil

	pokeReconcile chan struct{}

	// pollMu serialises polls, pushes and reconciliations (they all
	// write the mirror from reads made at different times).
	pollMu sync.Mutex

	seen    map[int]version   // id -> version stored by the last polls (guarded by pollMu)
	future  map[int]time.Time // bugs logged as stamped in the future (guarded by pollMu)
	rewound bool              // the cursors went back after a key outage (guarded by pollMu)

	mu       sync.Mutex
	stats    WatcherStats
	rstats   ReconcileStats
	downFrom time.Time // start of the current outage
	storeErr int       // polls in a row that failed in the WatchStore
}

// NewWatcher returns a watcher of o.Watches reading through c and storing
// into st.
func NewWatcher(c *Client, st WatchStore, o WatcherOptions) *Watcher {
	if len(o.Watches) == 0 {
		o.Watches = []Watch{{Product: "Gentoo Security", Component: "Kernel"}}
	}
	if o.Interval <= 0 {
		o.Interval = 60 * time.Second
	}
	if o.Overlap < 0 {
		o.Overlap = 0
	} else if o.Overlap == 0 {
		o.Overlap = 2 * time.Minute
	}
	if o.PageSize <= 0 {
		o.PageSize = 500
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	var ws []Watch
	for _, w := range o.Watches {
		if !slices.Contains(ws, w) {
			ws = append(ws, w)
		}
	}
	w := &Watcher{
		c: c, st: markedStore{st}, watches: ws, o: o,
		log:           o.Logger.With("component", "watcher"),
		poke:          make(chan struct{}, 1),
		pokeReconcile: make(chan struct{}, 1),
		seen:          map[int]version{},
		future:        map[int]time.Time{},
	}
	w.sight, _ = st.(SightStore)
	return w
}

// Poke asks Run for an immediate poll. It never blocks; pokes that arrive
// while one is pending are coalesced.
func (w *Watcher) Poke() {
	select {
	case w.poke <- struct{}{}:
	default:
	}
}

// Stats returns a snapshot of the polling statistics.
func (w *Watcher) Stats() WatcherStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.stats
	s.Requests = w.c.Stats().Requests
	return s
}

// Run polls now, then every Interval and at once after Poke, until ctx is
// done; then it returns nil. After failures it waits longer (exponential
// backoff with jitter, at most 10 minutes or Interval if that is longer).
// With Reconcile set it also reconciles after the first poll (a start),
// then every Reconcile and at once after PokeReconcile.
func (w *Watcher) Run(ctx context.Context) error {
	now := time.Now()
	pollAt, reconcileAt := now, now
	polled := false
	for {
		if !time.Now().Before(pollAt) {
			err := w.PollOnce(ctx)
			if ctx.Err() != nil {
				return nil
			}
			pollAt = time.Now().Add(w.o.Interval)
			if err != nil {
				pollAt = time.Now().Add(w.retryWait())
			}
			polled = polled || err == nil
		}
		if w.o.Reconcile > 0 && polled && !time.Now().Before(reconcileAt) {
			err := w.ReconcileOnce(ctx)
			if ctx.Err() != nil {
				return nil
			}
			reconcileAt = time.Now().Add(w.o.Reconcile)
			if err != nil {
				w.log.Warn("reconciliation failed; trying again later", "err", err)
				reconcileAt = time.Now().Add(min(w.o.Reconcile, w.retryWait()))
			}
		}
		next := pollAt
		if w.o.Reconcile > 0 && polled && reconcileAt.Before(next) {
			next = reconcileAt
		}
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-w.poke:
			pollAt = time.Now()
		case <-w.pokeReconcile:
			reconcileAt = time.Now()
		case <-t.C:
		}
		t.Stop()
	}
}

// retryWait is the wait after a failed poll: Interval doubling with the
// failed polls in a row (counted in the stats), with jitter.
func (w *Watcher) retryWait() time.Duration {
	w.mu.Lock()
	n := w.stats.ConsecutiveFailures
	w.mu.Unlock()
	return backoff.Delay(max(n-1, 0), w.o.Interval, max(10*time.Minute, w.o.Interval), nil)
}

// PollOnce runs one poll: a baseline for every watch without a cursor,
// then one incremental search for all watches together.
func (w *Watcher) PollOnce(ctx context.Context) error {
	w.pollMu.Lock()
	defer w.pollMu.Unlock()
	start := w.o.Now()
	err := w.poll(ctx)
	w.record(start, err)
	return err
}

// record updates the stats and logs an outage when it starts, at warning
// level again each time the count of failed polls doubles, and once when
// it ends.
func (w *Watcher) record(start time.Time, err error) {
	now := w.o.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stats.Polls++
	w.stats.LastPoll = start
	w.stats.LastPollDuration = now.Sub(start)
	if err == nil {
		w.storeErr = 0
		if w.stats.ConsecutiveFailures > 0 {
			w.log.Info("bugzilla polling recovered", "failed_polls", w.stats.ConsecutiveFailures, "down_for", now.Sub(w.downFrom).Round(time.Second))
		}
		w.stats.ConsecutiveFailures = 0
		w.stats.LastError = ""
		w.stats.LastSuccess = now
		return
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	if errors.Is(err, ErrStore) {
		// ksecbot's database failed, not Bugzilla: the store's owner
		// reports it at error level; a warning here at first and each
		// time the count doubles.
		w.storeErr++
		if n := w.storeErr; n&(n-1) == 0 {
			w.log.Warn("storing what Bugzilla returned failed (the database, not Bugzilla)", "err", err, "failures", n)
		}
		return
	}
	w.storeErr = 0
	w.stats.ConsecutiveFailures++
	w.stats.LastError = err.Error()
	n := w.stats.ConsecutiveFailures
	switch {
	case n == 1:
		w.downFrom = start
		w.log.Warn("bugzilla polling failing; backing off", "err", err, "temporary", Temporary(err))
	case n&(n-1) == 0:
		// A warning each time the number of failed polls doubles (2, 4,
		// 8, ...): a long outage stays visible at warning level without a
		// line per poll.
		w.log.Warn("bugzilla poll failed again", "err", err, "failures", n, "down_for", now.Sub(w.downFrom).Round(time.Second))
	default:
		w.log.Debug("bugzilla poll failed again", "err", err, "failures", n)
	}
}

// Fetch reads the named bugs now (one search by id) and stores those that
// belong to a watch; it does not move any cursor. Bugs that do not exist
// or are invisible are not stored. An unseen bug is new only if it is open and
// was created after the watches' cursor (minus the overlap), so a push
// naming an old bug announces nothing. Before the first baseline it only
// pokes the poller.
//
// With a SightStore it reads the bugs like a reconciliation does: a
// mirrored bug that comes back in another product/component leaves the
// watch, one that does not come back (read with the key) is gone, and
// then a whole reconciliation follows at once.
func (w *Watcher) Fetch(ctx context.Context, ids []int) error {
	if len(ids) == 0 {
		return nil
	}
	w.pollMu.Lock()
	defer w.pollMu.Unlock()
	since, ok, err := w.newSince(ctx)
	if err != nil {
		return err
	}
	if !ok {
		w.Poke() // the baseline reads these bugs
		return nil
	}
	for start := 0; start < len(ids); start += idBatch {
		batch := ids[start:min(start+idBatch, len(ids))]
		res, err := w.c.Search(ctx, SearchQuery{IDs: batch, Order: "bug_id"})
		if err != nil {
			return fmt.Errorf("failed to fetch bugs %v: %w", batch, err)
		}
		if w.sight != nil {
			gone, left, err := w.applyRead(ctx, batch, res, since, true)
			if err != nil {
				return err
			}
			if len(gone) > 0 || len(left) > 0 {
				w.log.Info("a push named bugs that are out of sight now; reconciling", "gone", gone, "moved_out", left)
				w.PokeReconcile()
			}
			continue
		}
		if matched := w.filter(res.Bugs); len(matched) > 0 {
			if err := w.st.SaveWatched(ctx, matched, nil, SaveOptions{CheckNew: true, NewSince: since, Entered: true, ReadAt: res.Sent}); err != nil {
				return fmt.Errorf("failed to store fetched bugs: %w", err)
			}
		}
	}
	return nil
}

// filter keeps bugs whose exact product/component pair is watched.
func (w *Watcher) filter(bugs []Bug) []Bug {
	out := make([]Bug, 0, len(bugs))
	for _, b := range bugs {
		if slices.Contains(w.watches, Watch{Product: b.Product, Component: b.Component}) {
			out = append(out, b)
		}
	}
	return out
}

func (w *Watcher) products() []string {
	var ps []string
	for _, wa := range w.watches {
		if !slices.Contains(ps, wa.Product) {
			ps = append(ps, wa.Product)
		}
	}
	return ps
}

func (w *Watcher) components() []string {
	var cs []string
	for _, wa := range w.watches {
		if !slices.Contains(cs, wa.Component) {
			cs = append(cs, wa.Component)
		}
	}
	return cs
}
