// SPDX-License-Identifier: GPL-3.0-or-later

// One poll: the baseline of a watch without a cursor, the incremental
// search behind the cursors, and keyset paging through the results.

package bugzilla

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"runtime/debug"
	"time"
)

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
	if err := w.keyBack(ctx, cursors); err != nil {
		return fmt.Errorf("failed to rewind the cursors after a key outage: %w", err)
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
	open, err := w.collect(ctx, q, "opendate,bug_id", func(b *Bug) time.Time { return b.CreationTime },
		func(q *SearchQuery, t time.Time) { q.CreatedSince = t })
	if err != nil {
		return Cursor{}, fmt.Errorf("failed to read baseline of %s: %w", wa.Name(), err)
	}
	bugs := open.bugs
	// Also mirror what changed within the overlap window before t0, closed
	// bugs included: the next incremental search re-reads that window, and
	// those bugs must not look new then.
	q = SearchQuery{Products: []string{wa.Product}, Components: []string{wa.Component}, ChangedSince: t0.Add(-w.o.Overlap)}
	changed, err := w.collect(ctx, q, "changeddate,bug_id", func(b *Bug) time.Time { return b.LastChangeTime },
		func(q *SearchQuery, t time.Time) { q.ChangedSince = t })
	if err != nil {
		return Cursor{}, fmt.Errorf("failed to read baseline of %s: %w", wa.Name(), err)
	}
	recent := changed.bugs
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
	if open.anonymous || changed.anonymous {
		if err := w.beginOutage(ctx, true); err != nil {
			return Cursor{}, err
		}
	}
	caught := 0
	for i := range bugs {
		if opts.IsNew(&bugs[i]) {
			caught++
		}
	}
	// The baseline is the one bulk read: every open bug decoded, encoded
	// for the store and compared, at once. Hand those pages back to the
	// system now instead of leaving them to the background scavenger
	// (10 000 bugs: RSS 39 -> 24 MiB right after the baseline).
	stored := len(bugs)
	bugs, recent = nil, nil
	debug.FreeOSMemory()
	w.log.Info("baseline stored", "watch", wa.Name(), "open_bugs", stored, "catch_up_new", caught, "cursor", FormatTime(t0))
	return cur, nil
}

// rebaseline reads the open bugs of every watch again with the key, after
// a key outage during which a fresh database's baseline (cursor t0) was
// read anonymously and so missed the restricted ones, and stores them as
// that baseline would have: mirrored, those filed within CatchUp before
// t0 announced.
func (w *Watcher) rebaseline(ctx context.Context, t0 time.Time) error {
	opts := SaveOptions{Baseline: true, CheckNew: true, NewSince: farFuture}
	if w.o.CatchUp > 0 {
		opts.NewSince = t0.Add(-w.o.CatchUp)
	}
	for _, wa := range w.watches {
		q := SearchQuery{Products: []string{wa.Product}, Components: []string{wa.Component}, OpenOnly: true}
		f, err := w.collect(ctx, q, "opendate,bug_id", func(b *Bug) time.Time { return b.CreationTime },
			func(q *SearchQuery, t time.Time) { q.CreatedSince = t })
		if err != nil {
			return fmt.Errorf("failed to read the baseline of %s again: %w", wa.Name(), err)
		}
		if f.anonymous {
			return fmt.Errorf("failed to read the baseline of %s again: %w", wa.Name(), ErrKeyRefused)
		}
		if err := w.st.SaveWatched(ctx, w.filter(f.bugs), nil, opts); err != nil {
			return fmt.Errorf("failed to store the baseline of %s again: %w", wa.Name(), err)
		}
		w.log.Info("baseline read again with the API key", "watch", wa.Name(), "open_bugs", len(f.bugs))
	}
	return nil
}

// incremental reads everything changed since the oldest cursor (minus the
// overlap) for all watches in one search (more only when paging). The
// cursors never move past the server's own time (the answer's Date, else
// /rest/time): a bug stamped in the future is stored and announced like
// any other, logged once, and cannot make the watcher skip what changes
// until then.
func (w *Watcher) incremental(ctx context.Context, cursors map[string]Cursor) error {
	for {
		since, etag := w.since(cursors)
		q := SearchQuery{Products: w.products(), Components: w.components(), ChangedSince: since, IfNoneMatch: etag}
		f, err := w.collect(ctx, q, "changeddate,bug_id", func(b *Bug) time.Time { return b.LastChangeTime },
			func(q *SearchQuery, t time.Time) { q.ChangedSince = t })
		if err != nil {
			return fmt.Errorf("failed to search changed bugs: %w", err)
		}
		if !f.date.IsZero() && w.rewindFuture(cursors, f.date) {
			continue // searched from a cursor ahead of Bugzilla's clock: again from its time
		}
		if f.bugs == nil && f.etag == etag && etag != "" {
			return nil // 304: nothing changed
		}
		return w.store(ctx, cursors, since, f)
	}
}

// since returns where the next search starts (the oldest cursor minus the
// overlap) and the ETag to send (when all cursors agree on one).
func (w *Watcher) since(cursors map[string]Cursor) (since time.Time, etag string) {
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
	return since.Add(-w.o.Overlap), etag
}

// rewindFuture brings cursors that are ahead of the server's time back to
// it (a database written by a ksecbot that let a future-stamped bug move
// its cursor). It reports whether any moved.
func (w *Watcher) rewindFuture(cursors map[string]Cursor, now time.Time) bool {
	moved := false
	for name, cur := range cursors {
		if cur.Time.After(now) {
			w.log.Warn("watch cursor is ahead of Bugzilla's clock; searching from Bugzilla's time instead", "watch", name,
				"cursor", FormatTime(cur.Time), "bugzilla_time", FormatTime(now))
			cursors[name] = Cursor{Time: now}
			moved = true
		}
	}
	return moved
}

// store saves what a search found and moves the cursors to the newest
// last_change_time seen, bounded by the server's time.
func (w *Watcher) store(ctx context.Context, cursors map[string]Cursor, since time.Time, f found) error {
	if f.anonymous {
		// before the cursors move: the outage begins where they are now
		if err := w.beginOutage(ctx, false); err != nil {
			return err
		}
	}
	newest := time.Time{}
	for _, b := range f.bugs {
		if b.LastChangeTime.After(newest) {
			newest = b.LastChangeTime
		}
	}
	bound := f.date
	if bound.IsZero() && newest.After(since) {
		// No Date header: ask the server's clock (only when the cursor
		// would move).
		t, err := w.c.ServerTime(ctx)
		if err != nil {
			return fmt.Errorf("failed to read the server time to bound the cursor: %w", err)
		}
		bound = t
	}
	if newest.After(bound) {
		w.warnFuture(f.bugs, bound)
		newest = bound
	}
	next := make(map[string]Cursor, len(cursors))
	changed := false
	for name, cur := range cursors {
		n := Cursor{Time: cur.Time, ETag: f.etag}
		if newest.After(n.Time) {
			n.Time = newest
		}
		if n != cur {
			changed = true
		}
		next[name] = n
	}
	var matched []Bug
	for _, b := range w.filter(f.bugs) {
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
	if err := w.st.SaveWatched(ctx, matched, next, SaveOptions{CheckNew: true, NewSince: since, Entered: true, ReadAt: f.sent}); err != nil {
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

// futureSlack is how far ahead of the server's clock a last_change_time
// may be before it is logged (Date and the database clock may differ by a
// second).
const futureSlack = 2 * time.Second

// warnFuture logs, once per bug and time, the bugs stamped after now.
func (w *Watcher) warnFuture(bugs []Bug, now time.Time) {
	for id, at := range w.future {
		if !at.After(now) {
			delete(w.future, id) // its time has come
		}
	}
	for _, b := range bugs {
		if b.LastChangeTime.After(now.Add(futureSlack)) && !w.future[b.ID].Equal(b.LastChangeTime) {
			w.future[b.ID] = b.LastChangeTime
			w.log.Warn("bug changed in the future by Bugzilla's own clock; the watch cursor stays at Bugzilla's time (a bad database row, or its clock was stepped back)",
				"bug", b.ID, "last_change_time", FormatTime(b.LastChangeTime), "bugzilla_time", FormatTime(now))
		}
	}
}

// collect pages through a search ordered by a server timestamp (key):
// keyset paging (the next page starts at the last bug's timestamp, with
// >= and de-duplication) and, when a whole page shares one timestamp,
// offset paging within it with overlapping pages. It returns the bugs
// de-duplicated by id (newest version kept) and, when the result fit one
// page, the first page's ETag; a 304 returns nil bugs and the same ETag.
func (w *Watcher) collect(ctx context.Context, q SearchQuery, order string, key func(*Bug) time.Time, setSince func(*SearchQuery, time.Time)) (found, error) {
	n := w.o.PageSize
	step := max(n-n/10, 1) // overlap offset pages a little, in case bugs move meanwhile
	q.Limit, q.Order = n, order
	byID := map[int]int{}
	var out []Bug
	var f found
	for page := 0; ; page++ {
		if page >= maxPages {
			return found{}, fmt.Errorf("more than %d pages: %w", maxPages, ErrInvalid)
		}
		res, err := w.c.Search(ctx, q)
		if err != nil {
			return found{}, err
		}
		if res.NotModified {
			return found{etag: q.IfNoneMatch, date: res.Date, anonymous: res.Anonymous}, nil
		}
		if page == 0 {
			f.etag, f.date, f.sent = res.ETag, res.Date, res.Sent
		}
		f.anonymous = f.anonymous || res.Anonymous
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
		f.etag = "" // multi-page: a later page could change while the first does not
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
	f.bugs = out
	return f, nil
}

// found is what collect read: the bugs (nil after a 304), the ETag to
// send next time, the server's time at the first answer, and whether any
// page was read without the API key.
type found struct {
	bugs      []Bug
	etag      string
	date      time.Time
	anonymous bool
	sent      time.Time // when the first page was asked for
}

// sinceOf returns the keyset position of q.
func sinceOf(q SearchQuery, order string) time.Time {
	if order == "opendate,bug_id" {
		return q.CreatedSince
	}
	return q.ChangedSince
}
