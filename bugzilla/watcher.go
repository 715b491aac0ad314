// SPDX-License-Identifier: GPL-3.0-or-later

package bugzilla

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// WatcherOptions configure a Watcher.
type WatcherOptions struct {
	Watches  []Watch       // default: Gentoo Security/Kernel
	Interval time.Duration // poll interval; default 60s
	Overlap  time.Duration // re-read window behind the cursor; default 2m
	// CatchUp: the baseline of a watch (a fresh database) announces the
	// open bugs created within CatchUp before it; 0: none.
	CatchUp  time.Duration
	PageSize int // search page size; default 500
	Logger   *slog.Logger
	Now      func() time.Time // for durations only; cursors come from the server
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

	pollMu sync.Mutex // one poll at a time

	seen   map[int]version   // id -> version stored by the last polls (guarded by pollMu)
	future map[int]time.Time // bugs logged as stamped in the future (guarded by pollMu)

	mu       sync.Mutex
	stats    WatcherStats
	downFrom time.Time // start of the current outage
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
	return &Watcher{
		c: c, st: st, watches: ws, o: o,
		log:    o.Logger.With("component", "watcher"),
		poke:   make(chan struct{}, 1),
		seen:   map[int]version{},
		future: map[int]time.Time{},
	}
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
func (w *Watcher) Run(ctx context.Context) error {
	for {
		err := w.PollOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := w.o.Interval
		if err != nil {
			wait = w.retryWait()
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-w.poke:
			t.Stop()
		case <-t.C:
		}
	}
}

// retryWait is the wait after a failed poll.
func (w *Watcher) retryWait() time.Duration {
	w.mu.Lock()
	n := w.stats.ConsecutiveFailures
	w.mu.Unlock()
	maxWait := max(10*time.Minute, w.o.Interval)
	d := w.o.Interval << min(max(n-1, 0), 16)
	if d > maxWait || d <= 0 {
		d = maxWait
	}
	return d/2 + rand.N(d/2+1)
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
// or are invisible are ignored. An unseen bug is new only if it is open and
// was created after the watches' cursor (minus the overlap), so a push
// naming an old bug announces nothing. Before the first baseline it only
// pokes the poller.
func (w *Watcher) Fetch(ctx context.Context, ids []int) error {
	if len(ids) == 0 {
		return nil
	}
	var since time.Time
	for i, wa := range w.watches {
		cur, ok, err := w.st.Cursor(ctx, wa.Name())
		if err != nil {
			return fmt.Errorf("failed to read cursor of %s: %w", wa.Name(), err)
		}
		if !ok || cur.Time.IsZero() {
			w.Poke() // the baseline reads these bugs
			return nil
		}
		if i == 0 || cur.Time.Before(since) {
			since = cur.Time
		}
	}
	bugs, err := w.c.Bugs(ctx, ids)
	if err != nil {
		return fmt.Errorf("failed to fetch bugs %v: %w", ids, err)
	}
	matched := w.filter(bugs)
	if len(matched) == 0 {
		return nil
	}
	if err := w.st.SaveWatched(ctx, matched, nil, SaveOptions{CheckNew: true, NewSince: since.Add(-w.o.Overlap), Entered: true}); err != nil {
		return fmt.Errorf("failed to store fetched bugs: %w", err)
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
