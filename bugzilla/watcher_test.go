// SPDX-License-Identifier: GPL-3.0-or-later

package bugzilla_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/internal/fakeclock"
)

// memStore is an in-memory WatchStore with the contract of package store:
// bugs are de-duplicated by (id, last_change_time), and the cursors are set
// together with the bugs.
type memStore struct {
	mu        sync.Mutex
	cursors   map[string]bugzilla.Cursor
	bugs      map[int]bugzilla.Bug
	versions  map[string]bool
	baseline  map[int]bool // bug ids stored by a baseline
	announced []int        // ids of new bugs outside a baseline, in order
	saves     int
	failSave  error
	saved     chan struct{} // receives after every successful save
}

func newMemStore() *memStore {
	return &memStore{
		cursors: map[string]bugzilla.Cursor{}, bugs: map[int]bugzilla.Bug{},
		versions: map[string]bool{}, baseline: map[int]bool{}, saved: make(chan struct{}, 100),
	}
}

func (m *memStore) Cursor(ctx context.Context, watch string) (bugzilla.Cursor, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.cursors[watch]
	return c, ok, nil
}

func (m *memStore) SaveWatched(ctx context.Context, bugs []bugzilla.Bug, cursors map[string]bugzilla.Cursor, o bugzilla.SaveOptions) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failSave != nil {
		return m.failSave
	}
	for _, b := range bugs {
		data, _ := json.Marshal(b) // like package store: same time, other content is a change
		k := fmt.Sprint(b.ID, "@", b.LastChangeTime.Unix(), "@", string(data))
		if m.versions[k] {
			continue
		}
		m.versions[k] = true
		_, known := m.bugs[b.ID]
		m.bugs[b.ID] = b
		if o.Baseline {
			m.baseline[b.ID] = true
		}
		if !known && o.IsNew(&b) {
			m.announced = append(m.announced, b.ID)
		}
	}
	for w, c := range cursors {
		m.cursors[w] = c
	}
	m.saves++
	m.saved <- struct{}{}
	return nil
}

func (m *memStore) ids() []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []int
	for id := range m.bugs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (m *memStore) news() []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(slices.Values(m.announced))
}

func (m *memStore) bug(id int) bugzilla.Bug {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bugs[id]
}

func (m *memStore) cursor(w string) bugzilla.Cursor {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cursors[w]
}

// env is a test Bugzilla behind a recorder of response statuses.
type env struct {
	srv      *bugzillatest.Server
	clk      *fakeclock.Clock
	mu       sync.Mutex
	statuses []int // of searches
	url      string
	logs     *bytes.Buffer
	logger   *slog.Logger
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(s int) { r.status = s; r.ResponseWriter.WriteHeader(s) }

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{clk: fakeclock.New(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)), logs: &bytes.Buffer{}}
	e.srv = bugzillatest.NewHandler(bugzillatest.WithNow(e.clk.Now))
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		e.srv.Handler().ServeHTTP(rec, r)
		if r.Method == "GET" && r.URL.Path == "/rest/bug" {
			e.mu.Lock()
			e.statuses = append(e.statuses, rec.status)
			e.mu.Unlock()
		}
	}))
	t.Cleanup(func() { hs.Close(); e.srv.Close() })
	e.url = hs.URL
	e.logger = slog.New(slog.NewTextHandler(&syncWriter{w: e.logs}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	return e
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (e *env) searchStatuses() []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.statuses)
}

func (e *env) client(t *testing.T, key string) *bugzilla.Client {
	t.Helper()
	c, err := bugzilla.New(bugzilla.Options{BaseURL: e.url, APIKey: key, Retries: -1, Timeout: 10 * time.Second, Logger: e.logger})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) watcher(t *testing.T, st bugzilla.WatchStore, pageSize int, overlap time.Duration, watches ...bugzilla.Watch) *bugzilla.Watcher {
	return bugzilla.NewWatcher(e.client(t, "key-security"), st, bugzilla.WatcherOptions{
		Watches: watches, Interval: time.Hour, Overlap: overlap, PageSize: pageSize, Logger: e.logger, Now: e.clk.Now,
	})
}

var kernel = bugzilla.Watch{Product: "Gentoo Security", Component: "Kernel"}

func mustPoll(t *testing.T, w *bugzilla.Watcher) {
	t.Helper()
	if err := w.PollOnce(context.Background()); err != nil {
		t.Fatalf("PollOnce: %v", err)
	}
}

func TestBaseline(t *testing.T) {
	e := newEnv(t)
	open1 := e.srv.CreateBug(bugzillatest.NewBug{Summary: "open one"})
	restricted := e.srv.CreateBug(bugzillatest.NewBug{Summary: "embargoed", Groups: []string{"security"}})
	e.srv.CreateBug(bugzillatest.NewBug{Summary: "fixed long ago", Status: "RESOLVED"})
	e.srv.CreateBug(bugzillatest.NewBug{Summary: "other component", Component: "Vulnerabilities"})
	e.clk.Advance(time.Hour)
	open2 := e.srv.CreateBug(bugzillatest.NewBug{Summary: "open two"})
	// Closed within the overlap window: mirrored, so the overlap re-read
	// after the baseline does not take it for a new bug.
	recentlyFixed := e.srv.CreateBug(bugzillatest.NewBug{Summary: "fixed just now", Status: "RESOLVED"})
	e.clk.Advance(time.Minute)

	st := newMemStore()
	w := e.watcher(t, st, 2, 2*time.Minute, kernel)
	mustPoll(t, w)

	if got, want := st.ids(), []int{open1, restricted, open2, recentlyFixed}; !slices.Equal(got, want) {
		t.Errorf("mirrored bugs = %v, want the open Kernel bugs and the recent one %v", got, want)
	}
	if n := st.news(); len(n) != 0 {
		t.Errorf("baseline announced %v", n)
	}
	if b := st.bug(restricted); !b.Restricted() {
		t.Errorf("bug %d not marked restricted: groups %v", restricted, b.Groups)
	}
	if b := st.bug(open1); b.Restricted() {
		t.Errorf("public bug %d marked restricted", open1)
	}
	if c := st.cursor(kernel.Name()); !c.Time.Equal(e.clk.Now()) {
		t.Errorf("cursor = %v, want server time %v", c.Time, e.clk.Now())
	}
	// After the baseline, a new bug is announced.
	e.clk.Advance(time.Minute)
	nb := e.srv.CreateBug(bugzillatest.NewBug{Summary: "new"})
	mustPoll(t, w)
	if got := st.news(); !slices.Equal(got, []int{nb}) {
		t.Errorf("announced %v, want [%d]", got, nb)
	}
}

// TestNoBugMissed covers equal timestamps across polls, page boundaries
// inside one timestamp, pages full of one timestamp, and downtime.
func TestNoBugMissed(t *testing.T) {
	tests := []struct {
		name     string
		pageSize int
		overlap  time.Duration
		scenario func(e *env, w *bugzilla.Watcher, t *testing.T) []int
	}{
		{"same second before and after a poll", 10, -1, func(e *env, w *bugzilla.Watcher, t *testing.T) []int {
			e.clk.Advance(time.Minute) // all in one second from here on
			a := e.srv.CreateBug(bugzillatest.NewBug{Summary: "a"})
			mustPoll(t, w)
			b := e.srv.CreateBug(bugzillatest.NewBug{Summary: "b"}) // same second as a, after the poll
			mustPoll(t, w)
			return []int{a, b}
		}},
		{"page boundary inside equal timestamps", 3, -1, func(e *env, w *bugzilla.Watcher, t *testing.T) []int {
			var ids []int
			e.clk.Advance(time.Minute)
			ids = append(ids, e.srv.CreateBug(bugzillatest.NewBug{Summary: "early"}))
			e.clk.Advance(time.Second)
			for i := range 4 {
				ids = append(ids, e.srv.CreateBug(bugzillatest.NewBug{Summary: fmt.Sprint("same ", i)}))
			}
			e.clk.Advance(time.Second)
			ids = append(ids, e.srv.CreateBug(bugzillatest.NewBug{Summary: "late"}))
			mustPoll(t, w)
			return ids
		}},
		{"pages full of one timestamp", 3, -1, func(e *env, w *bugzilla.Watcher, t *testing.T) []int {
			var ids []int
			e.clk.Advance(time.Minute)
			for i := range 10 {
				ids = append(ids, e.srv.CreateBug(bugzillatest.NewBug{Summary: fmt.Sprint("burst ", i)}))
			}
			mustPoll(t, w)
			return ids
		}},
		{"hours of downtime", 4, 2 * time.Minute, func(e *env, w *bugzilla.Watcher, t *testing.T) []int {
			var ids []int
			for i := range 15 {
				e.clk.Advance(17 * time.Minute)
				ids = append(ids, e.srv.CreateBug(bugzillatest.NewBug{Summary: fmt.Sprint("while down ", i)}))
				if i%4 == 0 { // and same-second bursts now and then
					ids = append(ids, e.srv.CreateBug(bugzillatest.NewBug{Summary: fmt.Sprint("burst ", i)}))
				}
			}
			mustPoll(t, w)
			return ids
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			st := newMemStore()
			w := e.watcher(t, st, tt.pageSize, tt.overlap, kernel)
			mustPoll(t, w) // empty baseline
			want := tt.scenario(e, w, t)
			if got := st.news(); !slices.Equal(got, want) {
				t.Errorf("announced %v, want %v", got, want)
			}
		})
	}
}

func TestChangesDuringDowntimeAndCursorFromServer(t *testing.T) {
	e := newEnv(t)
	old := e.srv.CreateBug(bugzillatest.NewBug{Summary: "old"})
	st := newMemStore()
	w := e.watcher(t, st, 5, 0, kernel)
	mustPoll(t, w)
	e.clk.Advance(5 * time.Hour)
	e.srv.UpdateBug(old, func(b *bugzillatest.Bug) { b.Whiteboard = "A1" })
	mustPoll(t, w)
	if got := st.bug(old).Whiteboard; got != "A1" {
		t.Errorf("change during downtime not seen: whiteboard %q", got)
	}
	if c := st.cursor(kernel.Name()); !c.Time.Equal(e.clk.Now()) {
		t.Errorf("cursor = %v, want the bug's last_change_time %v", c.Time, e.clk.Now())
	}
}

func TestOneSearchPerPollAnd304(t *testing.T) {
	e := newEnv(t)
	watches := []bugzilla.Watch{kernel, {Product: "Gentoo Security", Component: "Vulnerabilities"}, {Product: "Gentoo Linux", Component: "Current packages"}}
	st := newMemStore()
	w := e.watcher(t, st, 100, 2*time.Minute, watches...)
	mustPoll(t, w) // baselines (one search each)

	e.clk.Advance(time.Minute)
	var want []int
	for _, wa := range watches {
		want = append(want, e.srv.CreateBug(bugzillatest.NewBug{Product: wa.Product, Component: wa.Component, Summary: "x"}))
	}
	// A pair of the union that no watch names: filtered client-side.
	e.srv.CreateBug(bugzillatest.NewBug{Product: "Gentoo Linux", Component: "Kernel", Summary: "not watched"})

	before := e.srv.SearchCount()
	mustPoll(t, w)
	if n := e.srv.SearchCount() - before; n != 1 {
		t.Errorf("%d searches for 3 watches, want 1", n)
	}
	if got := st.news(); !slices.Equal(got, want) {
		t.Errorf("announced %v, want %v", got, want)
	}
	saves := st.saves
	for range 3 {
		before = e.srv.SearchCount()
		mustPoll(t, w)
		if n := e.srv.SearchCount() - before; n != 1 {
			t.Errorf("steady state: %d searches, want 1", n)
		}
	}
	s := e.searchStatuses()
	if last := s[len(s)-3:]; !slices.Equal(last, []int{304, 304, 304}) {
		t.Errorf("steady-state search statuses %v, want 304s", last)
	}
	if st.saves != saves {
		t.Errorf("steady state stored %d times", st.saves-saves)
	}
	// A change after steady state is still seen.
	e.clk.Advance(time.Minute)
	e.srv.UpdateBug(want[0], func(b *bugzillatest.Bug) { b.Status = "IN_PROGRESS" })
	mustPoll(t, w)
	if got := st.bug(want[0]).Status; got != "IN_PROGRESS" {
		t.Errorf("status after change = %q", got)
	}
}

func TestCursorOnlyAfterStore(t *testing.T) {
	e := newEnv(t)
	st := newMemStore()
	w := e.watcher(t, st, 10, 0, kernel)
	mustPoll(t, w)
	c0 := st.cursor(kernel.Name())
	e.clk.Advance(time.Minute)
	id := e.srv.CreateBug(bugzillatest.NewBug{Summary: "x"})
	st.mu.Lock()
	st.failSave = errors.New("disk full")
	st.mu.Unlock()
	err := w.PollOnce(context.Background())
	if err == nil || !strings.Contains(err.Error(), "disk full") || !errors.Is(err, bugzilla.ErrStore) {
		t.Fatalf("PollOnce = %v, want the store error, marked bugzilla.ErrStore", err)
	}
	// The database failed, not Bugzilla: no Bugzilla outage on record.
	if ws := w.Stats(); ws.ConsecutiveFailures != 0 || ws.LastError != "" {
		t.Errorf("a store failure counted as a Bugzilla failure: %+v", ws)
	}
	if c := st.cursor(kernel.Name()); c != c0 {
		t.Errorf("cursor moved to %v although storing failed", c)
	}
	st.mu.Lock()
	st.failSave = nil
	st.mu.Unlock()
	e.clk.Advance(time.Hour)
	mustPoll(t, w)
	if got := st.news(); !slices.Equal(got, []int{id}) {
		t.Errorf("announced %v after the store recovered, want [%d]", got, id)
	}
}

// TestOutageLoggedOnce checks that an outage is logged once when it starts
// and once at the recovery, with a warning each time the count of failed
// polls doubles in between.
func TestOutageLoggedOnce(t *testing.T) {
	e := newEnv(t)
	st := newMemStore()
	w := e.watcher(t, st, 10, 0, kernel)
	mustPoll(t, w)
	e.srv.SetFault(bugzillatest.Fault{Mode: bugzillatest.Fault500, Status: 503})
	for range 9 {
		e.clk.Advance(time.Minute)
		if err := w.PollOnce(context.Background()); !bugzilla.Temporary(err) {
			t.Fatalf("PollOnce during outage = %v, want a temporary error", err)
		}
	}
	if s := w.Stats(); s.ConsecutiveFailures != 9 || s.LastError == "" {
		t.Errorf("stats during outage = %+v", s)
	}
	e.srv.ClearFault()
	id := e.srv.CreateBug(bugzillatest.NewBug{Summary: "filed during the outage"})
	mustPoll(t, w)
	mustPoll(t, w)
	logs := e.logs.String()
	if n := strings.Count(logs, "bugzilla polling failing"); n != 1 {
		t.Errorf("outage logged %d times, want once:\n%s", n, logs)
	}
	// Then a warning each time the failures double: after 2, 4 and 8
	// failed polls (not after 3, 5, 6, 7 or 9, which are debug lines).
	var again []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "level=WARN") && strings.Contains(l, "bugzilla poll failed again") {
			again = append(again, l)
		}
	}
	for i, want := range []string{"failures=2 ", "failures=4 ", "failures=8 "} {
		if len(again) != 3 || !strings.Contains(again[i], want) {
			t.Fatalf("warnings while the outage goes on: %q; want one at 2, 4 and 8 failed polls", again)
		}
	}
	if n := strings.Count(logs, "bugzilla polling recovered"); n != 1 {
		t.Errorf("recovery logged %d times, want once:\n%s", n, logs)
	}
	if strings.Contains(logs, "key-security") {
		t.Errorf("logs contain the API key:\n%s", logs)
	}
	if s := w.Stats(); s.ConsecutiveFailures != 0 || s.LastError != "" || s.Polls != 12 {
		t.Errorf("stats after recovery = %+v", s)
	}
	if got := st.news(); !slices.Equal(got, []int{id}) {
		t.Errorf("announced %v, want [%d]", got, id)
	}
}

func TestFetch(t *testing.T) {
	e := newEnv(t)
	st := newMemStore()
	w := e.watcher(t, st, 10, 0, kernel)
	mustPoll(t, w)
	c0 := st.cursor(kernel.Name())
	e.clk.Advance(time.Minute)
	in := e.srv.CreateBug(bugzillatest.NewBug{Summary: "pushed"})
	out := e.srv.CreateBug(bugzillatest.NewBug{Summary: "elsewhere", Component: "Vulnerabilities"})
	before := e.srv.SearchCount()
	if err := w.Fetch(context.Background(), []int{in, out, 9999}); err != nil {
		t.Fatal(err)
	}
	if n := e.srv.SearchCount() - before; n != 1 {
		t.Errorf("Fetch made %d searches, want 1", n)
	}
	if got := st.news(); !slices.Equal(got, []int{in}) {
		t.Errorf("Fetch stored %v, want [%d]", got, in)
	}
	if c := st.cursor(kernel.Name()); c != c0 {
		t.Errorf("Fetch moved the cursor to %v", c)
	}
}

func TestRunPollsOnPoke(t *testing.T) {
	e := newEnv(t)
	st := newMemStore()
	w := e.watcher(t, st, 10, 0, kernel) // Interval is an hour: only pokes poll
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	<-st.saved // the baseline
	e.clk.Advance(time.Minute)
	id := e.srv.CreateBug(bugzillatest.NewBug{Summary: "poked"})
	w.Poke()
	w.Poke() // coalesced, never blocks
	// Saves that end polls begun before the Poke (Run may poll again
	// right after the baseline) can come first: wait for the bug itself.
	deadline := time.After(10 * time.Second)
	for !slices.Contains(st.news(), id) {
		select {
		case <-st.saved:
		case <-deadline:
			t.Fatalf("no poll after Poke: announced %v, want [%d]", st.news(), id)
		}
	}
	if got := st.news(); !slices.Equal(got, []int{id}) {
		t.Errorf("announced %v, want [%d]", got, id)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil after cancel", err)
	}
}

// TestNewMeansNew: a bug never seen before is new only if it is open and
// was created after the cursor (minus the overlap). A comment on an old
// resolved bug, an old open bug moved into the watch, and a push naming an
// old closed bug are mirrored silently.
func TestNewMeansNew(t *testing.T) {
	e := newEnv(t)
	oldFixed := e.srv.CreateBug(bugzillatest.NewBug{Summary: "fixed long ago", Status: "RESOLVED"})
	oldFixed2 := e.srv.CreateBug(bugzillatest.NewBug{Summary: "also fixed long ago", Status: "RESOLVED"})
	oldElsewhere := e.srv.CreateBug(bugzillatest.NewBug{Summary: "old, filed elsewhere", Component: "Vulnerabilities"})
	e.clk.Advance(24 * time.Hour)
	st := newMemStore()
	w := e.watcher(t, st, 10, 2*time.Minute, kernel)
	mustPoll(t, w) // baseline: none of them is open in Kernel and changed lately
	if ids := st.ids(); len(ids) != 0 {
		t.Fatalf("baseline mirrored %v, want nothing", ids)
	}

	e.clk.Advance(time.Hour)
	e.srv.UpdateBug(oldFixed, func(b *bugzillatest.Bug) {
		b.Comments = append(b.Comments, bugzillatest.Comment{Creator: "alice@gentoo.org", Text: "still broken?"})
	})
	e.srv.UpdateBug(oldElsewhere, func(b *bugzillatest.Bug) { b.Component = "Kernel" })
	fresh := e.srv.CreateBug(bugzillatest.NewBug{Summary: "really new"})
	freshClosed := e.srv.CreateBug(bugzillatest.NewBug{Summary: "filed and closed at once", Status: "RESOLVED"})
	mustPoll(t, w)
	if got := st.ids(); !slices.Equal(got, []int{oldFixed, oldElsewhere, fresh, freshClosed}) {
		t.Errorf("mirrored %v, want %v", got, []int{oldFixed, oldElsewhere, fresh, freshClosed})
	}
	if got := st.news(); !slices.Equal(got, []int{fresh}) {
		t.Errorf("announced as new %v, want only [%d]", got, fresh)
	}

	// A push (or forged bugmail) naming an old closed bug.
	if err := w.Fetch(context.Background(), []int{oldFixed2}); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(st.ids(), oldFixed2) {
		t.Errorf("pushed bug %d not mirrored", oldFixed2)
	}
	if got := st.news(); !slices.Equal(got, []int{fresh}) {
		t.Errorf("after the push, announced as new %v, want only [%d]", got, fresh)
	}
}

// TestCatchUp: the baseline of a fresh database announces the open bugs
// created within the catch-up window, and only those.
func TestCatchUp(t *testing.T) {
	e := newEnv(t)
	old := e.srv.CreateBug(bugzillatest.NewBug{Summary: "two days old"})
	e.clk.Advance(47 * time.Hour)
	recent := e.srv.CreateBug(bugzillatest.NewBug{Summary: "an hour old"})
	e.srv.CreateBug(bugzillatest.NewBug{Summary: "an hour old, fixed", Status: "RESOLVED"}) // not changed lately: not even mirrored
	e.clk.Advance(time.Hour)
	recentFixed2 := e.srv.CreateBug(bugzillatest.NewBug{Summary: "just now, fixed", Status: "RESOLVED"})
	e.clk.Advance(time.Minute)

	st := newMemStore()
	w := bugzilla.NewWatcher(e.client(t, "key-security"), st, bugzilla.WatcherOptions{
		Watches: []bugzilla.Watch{kernel}, Interval: time.Hour, Overlap: 2 * time.Minute, PageSize: 10,
		CatchUp: 24 * time.Hour, Logger: e.logger, Now: e.clk.Now,
	})
	mustPoll(t, w)
	if got := st.news(); !slices.Equal(got, []int{recent}) {
		t.Errorf("catch-up announced %v, want [%d] (open, within 24h)", got, recent)
	}
	if got := st.ids(); !slices.Equal(got, []int{old, recent, recentFixed2}) {
		t.Errorf("mirrored %v, want %v", got, []int{old, recent, recentFixed2})
	}
}

// TestBaselineWithNullDBTime: a Bugzilla whose /rest/time has "db_time":
// null (SQLite, web server not in UTC) is polled with web_time_utc.
func TestBaselineWithNullDBTime(t *testing.T) {
	clk := fakeclock.New(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC))
	srv := bugzillatest.New(bugzillatest.WithNow(clk.Now), bugzillatest.WithNullDBTime())
	t.Cleanup(srv.Close)
	open := srv.CreateBug(bugzillatest.NewBug{Summary: "open"})
	clk.Advance(time.Minute)
	c, err := bugzilla.New(bugzilla.Options{BaseURL: srv.URL(), APIKey: "key-security", Retries: -1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	st := newMemStore()
	w := bugzilla.NewWatcher(c, st, bugzilla.WatcherOptions{Watches: []bugzilla.Watch{kernel}, Interval: time.Hour, Logger: slog.New(slog.DiscardHandler), Now: clk.Now})
	mustPoll(t, w)
	if got := st.cursor(kernel.Name()); !got.Time.Equal(clk.Now()) {
		t.Errorf("cursor = %v, want web_time_utc %v", got.Time, clk.Now())
	}
	clk.Advance(time.Minute)
	nb := srv.CreateBug(bugzillatest.NewBug{Summary: "new"})
	mustPoll(t, w)
	if got := st.ids(); !slices.Equal(got, []int{open, nb}) || !slices.Equal(st.news(), []int{nb}) {
		t.Errorf("mirrored %v, new %v; want [%d %d], new [%d]", got, st.news(), open, nb, nb)
	}
}

// TestSecondChangeInTheSameSecond: a change with the same
// last_change_time as the version already stored (Bugzilla has one-second
// precision: a human edit right after ksecbot's auto-CC) is not skipped.
func TestSecondChangeInTheSameSecond(t *testing.T) {
	e := newEnv(t)
	st := newMemStore()
	w := e.watcher(t, st, 10, 2*time.Minute, kernel)
	mustPoll(t, w)
	e.clk.Advance(time.Minute)
	id := e.srv.CreateBug(bugzillatest.NewBug{Summary: "embargoed", Groups: []string{"security"}})
	mustPoll(t, w)
	e.srv.UpdateBug(id, func(b *bugzillatest.Bug) { b.Groups = nil }) // same second
	mustPoll(t, w)
	if b := st.bug(id); b.Restricted() {
		t.Errorf("bug %d still restricted in the mirror: the same-second change was skipped", id)
	}
}
