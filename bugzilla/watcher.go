// SPDX-License-Identifier: GPL-3.0-or-later

package bugzilla

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
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

	seen map[int]version // id -> version stored by the last polls (guarded by pollMu)

	mu       sync.Mutex
	stats    WatcherStats
	downFrom time.Time // start of the current outage
}

// version identifies what the watcher stored of a bug: its
// last_change_time and a hash of its content. Bugzilla times have
// one-second precision, so a second change within the same second (a
// human edit right after ksecbot's auto-CC) has the same time but other
// content, and must not be skipped.
type version struct {
	lct time.Time
	sum uint64
}

func versionOf(b *Bug) version {
	h := fnv.New64a()
	_ = json.NewEncoder(h).Encode(b)
	return version{lct: b.LastChangeTime, sum: h.Sum64()}
}

// maxPages bounds one poll's paging (PageSize*maxPages bugs).
const maxPages = 2000

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
		log:  o.Logger.With("component", "watcher"),
		poke: make(chan struct{}, 1),
		seen: map[int]version{},
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

func (w *Watcher) poll(ctx context.Context) error {
	cursors := make(map[string]Cursor, len(w.watches))
	for _, wa := range w.watches {
		cur, ok, err := w.st.Cursor(ctx, wa.Name())
		if err != nil {
			return fmt.Errorf("failed to read cursor of %s: %w", wa.Name(), err)
		}
		if !ok || cur.Time.IsZero() {
			if cur, err = w.baseline(ctx, wa); err != nil {
				return err
			}
		}
		cursors[wa.Name()] = cur
	}
	return w.incremental(ctx, cursors)
}

// baseline mirrors all open bugs of a new watch, and all bugs changed
// within the overlap window, without announcing them, and sets its cursor
// to the server time taken before reading.
func (w *Watcher) baseline(ctx context.Context, wa Watch) (Cursor, error) {
	t0, err := w.c.ServerTime(ctx)
	if err != nil {
		return Cursor{}, fmt.Errorf("failed to read server time for baseline of %s: %w", wa.Name(), err)
	}
	q := SearchQuery{Products: []string{wa.Product}, Components: []string{wa.Component}, OpenOnly: true}
	bugs, _, err := w.collect(ctx, q, "opendate,bug_id", func(b *Bug) time.Time { return b.CreationTime },
		func(q *SearchQuery, t time.Time) { q.CreatedSince = t })
	if err != nil {
		return Cursor{}, fmt.Errorf("failed to read baseline of %s: %w", wa.Name(), err)
	}
	// Also mirror what changed within the overlap window before t0, closed
	// bugs included: the next incremental search re-reads that window, and
	// those bugs must not look new then.
	q = SearchQuery{Products: []string{wa.Product}, Components: []string{wa.Component}, ChangedSince: t0.Add(-w.o.Overlap)}
	recent, _, err := w.collect(ctx, q, "changeddate,bug_id", func(b *Bug) time.Time { return b.LastChangeTime },
		func(q *SearchQuery, t time.Time) { q.ChangedSince = t })
	if err != nil {
		return Cursor{}, fmt.Errorf("failed to read baseline of %s: %w", wa.Name(), err)
	}
	have := make(map[int]bool, len(bugs))
	for _, b := range bugs {
		have[b.ID] = true
	}
	for _, b := range recent {
		if !have[b.ID] {
			bugs = append(bugs, b)
		}
	}
	bugs = w.filter(bugs)
	cur := Cursor{Time: t0}
	opts := SaveOptions{Baseline: true, CheckNew: true, NewSince: farFuture}
	if w.o.CatchUp > 0 {
		opts.NewSince = t0.Add(-w.o.CatchUp)
	}
	if err := w.st.SaveWatched(ctx, bugs, map[string]Cursor{wa.Name(): cur}, opts); err != nil {
		return Cursor{}, fmt.Errorf("failed to store baseline of %s: %w", wa.Name(), err)
	}
	caught := 0
	for i := range bugs {
		if opts.IsNew(&bugs[i]) {
			caught++
		}
	}
	w.log.Info("baseline stored", "watch", wa.Name(), "open_bugs", len(bugs), "catch_up_new", caught, "cursor", FormatTime(t0))
	return cur, nil
}

// incremental reads everything changed since the oldest cursor (minus the
// overlap) for all watches in one search (more only when paging).
func (w *Watcher) incremental(ctx context.Context, cursors map[string]Cursor) error {
	var since time.Time
	etag := ""
	for i, wa := range w.watches {
		cur := cursors[wa.Name()]
		if i == 0 || cur.Time.Before(since) {
			since = cur.Time
		}
		switch {
		case i == 0:
			etag = cur.ETag
		case etag != cur.ETag:
			etag = "" // the cursors disagree: ask unconditionally
		}
	}
	since = since.Add(-w.o.Overlap)
	q := SearchQuery{Products: w.products(), Components: w.components(), ChangedSince: since, IfNoneMatch: etag}
	bugs, newETag, err := w.collect(ctx, q, "changeddate,bug_id", func(b *Bug) time.Time { return b.LastChangeTime },
		func(q *SearchQuery, t time.Time) { q.ChangedSince = t })
	if err != nil {
		return fmt.Errorf("failed to search changed bugs: %w", err)
	}
	if bugs == nil && newETag == etag && etag != "" {
		return nil // 304: nothing changed
	}
	newest := time.Time{}
	for _, b := range bugs {
		if b.LastChangeTime.After(newest) {
			newest = b.LastChangeTime
		}
	}
	next := make(map[string]Cursor, len(cursors))
	changed := false
	for name, cur := range cursors {
		n := Cursor{Time: cur.Time, ETag: newETag}
		if newest.After(n.Time) {
			n.Time = newest
		}
		if n != cur {
			changed = true
		}
		next[name] = n
	}
	var matched []Bug
	for _, b := range w.filter(bugs) {
		if v, ok := w.seen[b.ID]; !ok || v != versionOf(&b) {
			matched = append(matched, b)
		}
	}
	if len(matched) == 0 && !changed {
		return nil
	}
	// New means new: only open bugs created after the cursor (minus the
	// overlap) are announced; an unseen old or closed bug (a comment on an
	// old resolved bug) is stored silently.
	if err := w.st.SaveWatched(ctx, matched, next, SaveOptions{CheckNew: true, NewSince: since, Entered: true}); err != nil {
		return fmt.Errorf("failed to store changed bugs: %w", err)
	}
	for id, v := range w.seen {
		if v.lct.Before(since) {
			delete(w.seen, id)
		}
	}
	for _, b := range matched {
		w.seen[b.ID] = versionOf(&b)
	}
	if len(matched) > 0 {
		w.log.Debug("poll stored bugs", "bugs", len(matched), "since", FormatTime(since))
	}
	return nil
}

// collect pages through a search ordered by a server timestamp (key):
// keyset paging (the next page starts at the last bug's timestamp, with
// >= and de-duplication) and, when a whole page shares one timestamp,
// offset paging within it with overlapping pages. It returns the bugs
// de-duplicated by id (newest version kept) and, when the result fit one
// page, the first page's ETag; a 304 returns nil bugs and the same ETag.
func (w *Watcher) collect(ctx context.Context, q SearchQuery, order string, key func(*Bug) time.Time, setSince func(*SearchQuery, time.Time)) ([]Bug, string, error) {
	n := w.o.PageSize
	step := max(n-n/10, 1) // overlap offset pages a little, in case bugs move meanwhile
	q.Limit, q.Order = n, order
	byID := map[int]int{}
	var out []Bug
	etag := ""
	for page := 0; ; page++ {
		if page >= maxPages {
			return nil, "", fmt.Errorf("more than %d pages: %w", maxPages, ErrInvalid)
		}
		res, err := w.c.Search(ctx, q)
		if err != nil {
			return nil, "", err
		}
		if res.NotModified {
			return nil, q.IfNoneMatch, nil
		}
		if page == 0 {
			etag = res.ETag
		}
		q.IfNoneMatch = ""
		for _, b := range res.Bugs {
			if i, ok := byID[b.ID]; ok {
				if !b.LastChangeTime.Before(out[i].LastChangeTime) {
					out[i] = b
				}
				continue
			}
			byID[b.ID] = len(out)
			out = append(out, b)
		}
		if len(res.Bugs) < n {
			break
		}
		etag = "" // multi-page: a later page could change while the first does not
		last := key(&res.Bugs[len(res.Bugs)-1])
		since := sinceOf(q, order)
		if last.After(since) {
			setSince(&q, last)
			q.Offset = 0
		} else {
			q.Offset += step
		}
	}
	if out == nil {
		out = []Bug{}
	}
	return out, etag, nil
}

// sinceOf returns the keyset position of q.
func sinceOf(q SearchQuery, order string) time.Time {
	if order == "opendate,bug_id" {
		return q.CreatedSince
	}
	return q.ChangedSince
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
