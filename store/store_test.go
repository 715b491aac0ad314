// SPDX-License-Identifier: GPL-3.0-or-later

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/internal/fakeclock"
)

func openAt(t testing.TB, path string, c *fakeclock.Clock, opts ...Option) *Store {
	t.Helper()
	if c != nil {
		opts = append(opts, WithNow(c.Now))
	}
	s, err := Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newStore(t testing.TB, c *fakeclock.Clock) *Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "ksecbot.db"), c)
}

var t0 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

func kbug(id int) bugzilla.Bug {
	return bugzilla.Bug{
		ID: id, Summary: fmt.Sprintf("CVE-2025-%04d: kernel: use-after-free", id),
		Product: "Gentoo Security", Component: "Kernel", Status: "CONFIRMED",
		Severity: "normal", Whiteboard: "B3 [glsa]", AssignedTo: "security-kernel@gentoo.org",
		CC: []string{"kernel@gentoo.org"}, IsOpen: true,
		CreationTime: t0, LastChangeTime: t0,
	}
}

func pendingKinds(t *testing.T, s *Store) []string {
	t.Helper()
	evs, err := s.PendingEvents(context.Background(), 0)
	if err != nil {
		t.Fatalf("PendingEvents: %v", err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Kind+":"+e.Old+">"+e.New)
	}
	return out
}

func TestSaveBugsChangeEvents(t *testing.T) {
	tests := []struct {
		name   string
		change func(b *bugzilla.Bug)
		want   []string
	}{
		{"resolved", func(b *bugzilla.Bug) { b.Resolution = "FIXED"; b.IsOpen = false }, []string{"resolved:>FIXED"}},
		{"severity", func(b *bugzilla.Bug) { b.Severity = "critical" }, []string{"severity:normal>critical"}},
		{"whiteboard", func(b *bugzilla.Bug) { b.Whiteboard = "A1 [glsa]" }, []string{"whiteboard:B3 [glsa]>A1 [glsa]"}},
		{"restricted", func(b *bugzilla.Bug) { b.Groups = []string{"security"} }, []string{"restricted:public>restricted"}},
		{"assigned is not pending", func(b *bugzilla.Bug) { b.AssignedTo = "alice@gentoo.org" }, nil},
		{"cc is not pending", func(b *bugzilla.Bug) { b.CC = append(b.CC, "hardened@gentoo.org") }, nil},
		{"summary only", func(b *bugzilla.Bug) { b.Summary = "new summary" }, nil},
		{"several at once", func(b *bugzilla.Bug) { b.Severity = "major"; b.Whiteboard = "A2" },
			[]string{"severity:normal>major", "whiteboard:B3 [glsa]>A2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := newStore(t, newClock())
			b := kbug(100)
			if err := s.SaveBugs(ctx, []bugzilla.Bug{b}, nil, true); err != nil {
				t.Fatal(err)
			}
			tt.change(&b)
			b.LastChangeTime = b.LastChangeTime.Add(time.Minute)
			if err := s.SaveBugs(ctx, []bugzilla.Bug{b}, nil, false); err != nil {
				t.Fatal(err)
			}
			if got := pendingKinds(t, s); !slices.Equal(got, tt.want) {
				t.Errorf("events = %q, want %q", got, tt.want)
			}
			got, ok, err := s.Bug(ctx, 100)
			if err != nil || !ok {
				t.Fatalf("Bug: %v %v", ok, err)
			}
			if got.Summary != b.Summary || got.Severity != b.Severity || !slices.Equal(got.CC, b.CC) {
				t.Errorf("mirror = %+v, want %+v", got, b)
			}
		})
	}
}

func TestSaveBugsReopened(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, newClock())
	b := kbug(7)
	b.Resolution = "FIXED"
	if err := s.SaveBugs(ctx, []bugzilla.Bug{b}, nil, true); err != nil {
		t.Fatal(err)
	}
	b.Resolution = ""
	b.LastChangeTime = b.LastChangeTime.Add(time.Hour)
	if err := s.SaveBugs(ctx, []bugzilla.Bug{b}, nil, false); err != nil {
		t.Fatal(err)
	}
	if got, want := pendingKinds(t, s), []string{"reopened:FIXED>"}; !slices.Equal(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
}

func TestSaveBugsNewBaselineDedup(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s := newStore(t, c)
	cur := map[string]bugzilla.Cursor{"Gentoo Security/Kernel": {Time: t0, ETag: `"abc"`}}
	if err := s.SaveBugs(ctx, []bugzilla.Bug{kbug(1), kbug(2)}, cur, true); err != nil {
		t.Fatal(err)
	}
	if got := pendingKinds(t, s); len(got) != 0 {
		t.Fatalf("baseline produced events %q", got)
	}
	got, ok, err := s.Cursor(ctx, "Gentoo Security/Kernel")
	if err != nil || !ok || !got.Time.Equal(t0) || got.ETag != `"abc"` {
		t.Fatalf("Cursor = %+v %v %v", got, ok, err)
	}
	if _, ok, _ := s.Cursor(ctx, "Other/Thing"); ok {
		t.Error("unknown watch has a cursor")
	}

	// A new bug, then the same poll again (overlap window): one event.
	b3 := kbug(3)
	for range 2 {
		if err := s.SaveBugs(ctx, []bugzilla.Bug{kbug(1), b3}, nil, false); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := s.PendingEvents(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Kind != EventNew || evs[0].BugID != 3 || evs[0].Bug.Summary != b3.Summary || !evs[0].At.Equal(c.Now()) {
		t.Fatalf("events = %+v, want one new event for bug 3", evs)
	}

	// A stale copy (older last_change_time) neither regresses nor fires.
	newer := kbug(3)
	newer.Severity = "critical"
	newer.LastChangeTime = t0.Add(time.Hour)
	stale := kbug(3)
	stale.Severity = "minor"
	if err := s.SaveBugs(ctx, []bugzilla.Bug{newer}, nil, false); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveBugs(ctx, []bugzilla.Bug{stale}, nil, false); err != nil {
		t.Fatal(err)
	}
	if got, want := pendingKinds(t, s), []string{"new:>" + b3.Summary, "severity:normal>critical"}; !slices.Equal(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
	if b, _, _ := s.Bug(ctx, 3); b.Severity != "critical" {
		t.Errorf("severity = %q after stale copy, want critical", b.Severity)
	}
}

func TestClaimAndCCStats(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s := newStore(t, c)
	if err := s.SetComponentDefault(ctx, "Gentoo Security/Kernel", "security-kernel@gentoo.org"); err != nil {
		t.Fatal(err)
	}
	if d, ok, err := s.ComponentDefault(ctx, "Gentoo Security/Kernel"); err != nil || !ok || d != "security-kernel@gentoo.org" {
		t.Fatalf("ComponentDefault = %q %v %v", d, ok, err)
	}
	b := kbug(10) // created t0, cc kernel@ at creation
	if err := s.SaveBugs(ctx, []bugzilla.Bug{b}, nil, false); err != nil {
		t.Fatal(err)
	}
	if err := s.ScheduleReminder(ctx, 10, t0.Add(4*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// 30 minutes later hardened is CC'd; 2 hours later alice claims; then
	// bob takes over (not a first claim).
	b.CC = append(b.CC, "Hardened@gentoo.org")
	b.LastChangeTime = t0.Add(30 * time.Minute)
	if err := s.SaveBugs(ctx, []bugzilla.Bug{b}, nil, false); err != nil {
		t.Fatal(err)
	}
	b.AssignedTo = "alice@gentoo.org"
	b.LastChangeTime = t0.Add(2 * time.Hour)
	if err := s.SaveBugs(ctx, []bugzilla.Bug{b}, nil, false); err != nil {
		t.Fatal(err)
	}
	b.AssignedTo = "bob@gentoo.org"
	b.LastChangeTime = t0.Add(3 * time.Hour)
	if err := s.SaveBugs(ctx, []bugzilla.Bug{b}, nil, false); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordClaim(ctx, 10, "carol@gentoo.org", t0.Add(5*time.Hour)); err != nil {
		t.Fatal(err)
	}
	d, err := s.ReactionTimes(ctx, t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if want := []time.Duration{2 * time.Hour}; !slices.Equal(d.FirstClaim, want) {
		t.Errorf("FirstClaim = %v, want %v", d.FirstClaim, want)
	}
	if got := d.CCByLogin["hardened@gentoo.org"]; !slices.Equal(got, []time.Duration{30 * time.Minute}) {
		t.Errorf("CC hardened = %v, want [30m]", got)
	}
	if got := d.CCByLogin["kernel@gentoo.org"]; !slices.Equal(got, []time.Duration{0}) {
		t.Errorf("CC kernel = %v, want [0s]", got)
	}
	// The claim settled the reminder.
	if due, _ := s.DueReminders(ctx, t0.Add(5*time.Hour)); len(due) != 0 {
		t.Errorf("due reminders after claim = %v, want none", due)
	}
	// Bugs created before since are left out.
	if d, _ := s.ReactionTimes(ctx, t0.Add(time.Minute)); len(d.FirstClaim) != 0 || len(d.CCByLogin) != 0 {
		t.Errorf("ReactionTimes after creation = %+v, want empty", d)
	}
}

func TestBugsFilter(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, newClock())
	var bugs []bugzilla.Bug
	for i := 1; i <= 6; i++ {
		b := kbug(i)
		b.CreationTime = t0.Add(time.Duration(10-i) * time.Hour) // bug 6 is the oldest
		bugs = append(bugs, b)
	}
	bugs[0].Resolution = "FIXED"                                      // 1 closed
	bugs[1].AssignedTo = "alice@gentoo.org"                           // 2 claimed
	bugs[2].CC = []string{"kernel@gentoo.org", "hardened@gentoo.org"} // 3 cc hardened
	bugs[3].Component = "Other"                                       // 4 other component
	bugs[4].AssignedTo = "hardened@gentoo.org"                        // 5 assigned to hardened
	if err := s.SaveBugs(ctx, bugs, nil, true); err != nil {
		t.Fatal(err)
	}
	watch := BugFilter{Products: []string{"Gentoo Security"}, Components: []string{"Kernel"}}
	tests := []struct {
		name      string
		f         BugFilter
		ids       []int
		total     int
		wantError bool
	}{
		{"all", BugFilter{}, []int{6, 5, 4, 3, 2, 1}, 6, false},
		{"limit keeps total", BugFilter{Limit: 2}, []int{6, 5}, 6, false},
		{"watch", watch, []int{6, 5, 3, 2, 1}, 5, false},
		{"two watches", BugFilter{Products: []string{"Gentoo Security", "Gentoo Security"}, Components: []string{"Kernel", "Other"}}, []int{6, 5, 4, 3, 2, 1}, 6, false},
		{"open unclaimed", BugFilter{Products: watch.Products, Components: watch.Components, OpenOnly: true,
			AssignedTo: []string{"SECURITY-kernel@gentoo.org"}}, []int{6, 3}, 2, false},
		{"not cc'd hardened", BugFilter{OpenOnly: true, NotCC: []string{"hardened@gentoo.org"}}, []int{6, 4, 2}, 3, false},
		{"nothing", BugFilter{AssignedTo: []string{"nobody@example.org"}}, nil, 0, false},
		{"unpaired", BugFilter{Products: []string{"x"}}, nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total, err := s.Bugs(ctx, tt.f)
			if (err != nil) != tt.wantError {
				t.Fatalf("err = %v, want error %v", err, tt.wantError)
			}
			var ids []int
			for _, b := range got {
				ids = append(ids, b.ID)
			}
			if !slices.Equal(ids, tt.ids) || total != tt.total {
				t.Errorf("Bugs = %v (total %d), want %v (total %d)", ids, total, tt.ids, tt.total)
			}
		})
	}
}

func msg(key, channel string, kind chat.Kind, bugs ...int) chat.Outgoing {
	return chat.Outgoing{Key: key, Kind: kind, Channel: channel, Target: strings.TrimPrefix(channel, "irc:"),
		Lines: []chat.Line{chat.Line{}.Bold(key).Text(" text")}, BugIDs: bugs}
}

func TestOutboxExactlyOnceAcrossReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ksecbot.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	a := msg("announce/1/irc:#k", "irc:#k", chat.KindAnnounce, 1)
	if err := s.Enqueue(ctx, a, a); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, path, nil)
	steps := []struct {
		name  string
		do    func() error
		depth int
	}{
		{"after reopen, same key", func() error { return s.Enqueue(ctx, a) }, 1},
		{"reply without key is never merged", func() error {
			return s.Enqueue(ctx, msg("", "irc:#k", chat.KindReply), msg("", "irc:#k", chat.KindReply))
		}, 3},
		{"sent", func() error {
			items, err := s.NextOutbox(ctx, nil, 0)
			if err != nil {
				return err
			}
			for _, it := range items {
				if err := s.MarkSent(ctx, it.ID, ""); err != nil {
					return err
				}
			}
			return nil
		}, 0},
		{"sent key is not queued again", func() error { return s.QueueAnnouncements(ctx, Queued{Intents: []Intent{TextIntent(a)}}) }, 0},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if n, err := s.OutboxDepth(ctx, nil); err != nil || n != st.depth {
			t.Fatalf("%s: depth = %d (%v), want %d", st.name, n, err, st.depth)
		}
	}
}

func TestOutboxFIFOAndAttempts(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s := newStore(t, c)
	for i := range 5 {
		ch := "irc:#a"
		if i%2 == 1 {
			ch = "matrix:!b:x"
		}
		if err := s.Enqueue(ctx, msg(fmt.Sprintf("m%d", i), ch, chat.KindReply)); err != nil {
			t.Fatal(err)
		}
		c.Advance(time.Second)
	}
	keys := func(items []OutboxItem) []string {
		var k []string
		for _, it := range items {
			k = append(k, it.Msg.Key)
		}
		return k
	}
	tests := []struct {
		chans []string
		limit int
		want  []string
	}{
		{nil, 0, []string{"m0", "m1", "m2", "m3", "m4"}},
		{[]string{"irc:#a"}, 0, []string{"m0", "m2", "m4"}},
		{[]string{"matrix:!b:x"}, 1, []string{"m1"}},
		{[]string{"irc:#a", "matrix:!b:x"}, 3, []string{"m0", "m1", "m2"}},
		{[]string{"irc:#none"}, 0, nil},
	}
	for _, tt := range tests {
		items, err := s.NextOutbox(ctx, tt.chans, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if got := keys(items); !slices.Equal(got, tt.want) {
			t.Errorf("NextOutbox(%v, %d) = %v, want %v", tt.chans, tt.limit, got, tt.want)
		}
	}
	items, _ := s.NextOutbox(ctx, []string{"irc:#a"}, 1)
	first := items[0]
	if !first.CreatedAt.Equal(t0.Add(2*time.Hour)) || first.Msg.Lines[0].Plain("irc") != "m0 text" {
		t.Errorf("first item = %+v", first)
	}
	if err := s.MarkAttempt(ctx, first.ID, "not connected"); err != nil {
		t.Fatal(err)
	}
	items, _ = s.NextOutbox(ctx, []string{"irc:#a"}, 1)
	if items[0].ID != first.ID || items[0].Attempts != 1 {
		t.Errorf("after a failed attempt head = %+v, want the same item with 1 attempt", items[0])
	}
	if err := s.MarkSent(ctx, 9999, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("MarkSent(unknown) = %v, want ErrNotFound", err)
	}
	if n, _ := s.OutboxDepth(ctx, []string{"irc:#a"}); n != 3 {
		t.Errorf("depth irc:#a = %d, want 3", n)
	}
}

// send enqueues and marks one message sent at the clock's time.
func send(t *testing.T, s *Store, m chat.Outgoing, netID string) {
	t.Helper()
	ctx := context.Background()
	if err := s.Enqueue(ctx, m); err != nil {
		t.Fatal(err)
	}
	items, err := s.NextOutbox(ctx, []string{m.Channel}, 0)
	if err != nil || len(items) == 0 {
		t.Fatalf("NextOutbox: %v %v", items, err)
	}
	it := items[len(items)-1]
	if err := s.MarkSent(ctx, it.ID, netID); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSent(ctx, it.ID, netID); err != nil { // idempotent
		t.Fatal(err)
	}
}

func TestAnnouncements(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s := newStore(t, c)
	start := c.Now()
	send(t, s, msg("announce/1/irc:#k", "irc:#k", chat.KindAnnounce, 1), "")
	c.Advance(time.Minute)
	send(t, s, msg("announce/1/matrix:!r", "matrix:!r", chat.KindAnnounce, 1), "$ev1")
	c.Advance(time.Minute)
	send(t, s, msg("digest/x/irc:#k", "irc:#k", chat.KindDigest, 2, 3), "m-digest-1 m-digest-2")
	c.Advance(time.Minute)
	send(t, s, msg("change/1/irc:#s", "irc:#s", chat.KindChange, 1), "")
	send(t, s, msg("", "matrix:!r", chat.KindReply, 4), "$ev2")
	c.Advance(time.Minute)
	send(t, s, msg("remind/5/irc:#k", "irc:#k", chat.KindRemind, 5), "")
	send(t, s, msg("notice/x/irc:#k", "irc:#k", chat.KindSystem), "m-notice")

	recent := []struct {
		ch    string
		since time.Time
		want  []int // newest first
	}{
		{"irc:#k", start.Add(-time.Minute), []int{5, 3, 2, 1}}, // the reminder is newest; both bugs of the digest count
		{"irc:#k", start.Add(2 * time.Minute), []int{5}},       //
		{"irc:#k", start.Add(4 * time.Minute), nil},            // window ends before
		{"matrix:!r", start.Add(-time.Second), []int{1}},       // replies do not count
		{"irc:#s", start, nil},                                 // changes do not count
		{"irc:#none", start.Add(-time.Hour), nil},
	}
	for _, tt := range recent {
		got, err := s.RecentAnnouncements(ctx, tt.ch, tt.since)
		var ids []int
		for _, a := range got {
			ids = append(ids, a.BugID)
		}
		if err != nil || !slices.Equal(ids, tt.want) {
			t.Errorf("RecentAnnouncements(%s, %v) = %v %v, want %v", tt.ch, tt.since, ids, err, tt.want)
		}
	}
	if got, _ := s.RecentAnnouncements(ctx, "irc:#k", start.Add(-time.Minute)); len(got) == 4 &&
		(!got[0].At.Equal(start.Add(4*time.Minute)) || !got[1].At.Equal(start.Add(2*time.Minute)) || !got[3].At.Equal(start)) {
		t.Errorf("RecentAnnouncements times = %+v, want the reminder at +4m, the digest at +2m, bug 1 at the start", got)
	}
	byMsg := []struct {
		ch, id string
		bugs   []int
		found  bool
	}{
		{"matrix:!r", "$ev1", []int{1}, true},
		{"matrix:!r", "$ev2", []int{4}, true},
		{"irc:#k", "m-digest-2", []int{2, 3}, true}, // a line of a message of several IRC lines
		{"irc:#k", "m-digest-1", []int{2, 3}, true},
		{"irc:#k", "m-digest", nil, false}, // a part of an ID is not an ID
		{"irc:#k", "m-digest-1 m-digest-2", nil, false},
		{"irc:#k", "m-notice", nil, true}, // ours, about no bug
		{"matrix:!other", "$ev1", nil, false},
		{"matrix:!r", "$nope", nil, false},
		{"matrix:!r", "", nil, false},
	}
	for _, tt := range byMsg {
		bugs, found, err := s.MessageBugs(ctx, tt.ch, tt.id)
		if err != nil || !slices.Equal(bugs, tt.bugs) || found != tt.found {
			t.Errorf("MessageBugs(%s, %s) = %v %v %v, want %v %v", tt.ch, tt.id, bugs, found, err, tt.bugs, tt.found)
		}
	}
	chans := map[int][]string{1: {"irc:#k", "matrix:!r"}, 3: {"irc:#k"}, 4: nil, 5: nil}
	for bug, want := range chans {
		got, err := s.AnnouncedChannels(ctx, bug)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("AnnouncedChannels(%d) = %v %v, want %v", bug, got, err, want)
		}
	}
	// Reaction time to announcement: bug 1 created at t0, first announced at start.
	b := kbug(1)
	if err := s.SaveBugs(ctx, []bugzilla.Bug{b}, nil, true); err != nil {
		t.Fatal(err)
	}
	d, err := s.ReactionTimes(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []time.Duration{start.Sub(t0)}; !slices.Equal(d.Announced, want) {
		t.Errorf("Announced = %v, want %v", d.Announced, want)
	}
}

func TestQueueAnnouncementsAndAutoCC(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s := newStore(t, c)
	if err := s.SaveBugs(ctx, []bugzilla.Bug{kbug(1), kbug(2)}, nil, false); err != nil {
		t.Fatal(err)
	}
	evs, _ := s.PendingEvents(ctx, 1)
	if len(evs) != 1 || evs[0].BugID != 1 {
		t.Fatalf("PendingEvents(1) = %+v", evs)
	}
	items := []Intent{TextIntent(msg("announce/1/irc:#k", "irc:#k", chat.KindAnnounce, 1))}
	if err := s.QueueAnnouncements(ctx, Queued{Events: []int64{evs[0].ID}, Intents: items, AutoCC: []int{1}}); err != nil {
		t.Fatal(err)
	}
	if evs, _ := s.PendingEvents(ctx, 0); len(evs) != 1 || evs[0].BugID != 2 {
		t.Fatalf("pending after queue = %+v, want bug 2 only", evs)
	}
	if n, _ := s.OutboxDepth(ctx, nil); n != 1 {
		t.Errorf("outbox depth = %d, want 1", n)
	}

	jobs, err := s.DueAutoCC(ctx, c.Now(), 10)
	if err != nil || len(jobs) != 1 || jobs[0].BugID != 1 || jobs[0].Attempts != 0 {
		t.Fatalf("DueAutoCC = %+v %v", jobs, err)
	}
	next := c.Now().Add(time.Minute)
	if err := s.RetryAutoCC(ctx, 1, next, "bugzilla 503"); err != nil {
		t.Fatal(err)
	}
	if jobs, _ := s.DueAutoCC(ctx, c.Now(), 10); len(jobs) != 0 {
		t.Errorf("job due before its retry time: %+v", jobs)
	}
	jobs, _ = s.DueAutoCC(ctx, next, 10)
	if len(jobs) != 1 || jobs[0].Attempts != 1 || !jobs[0].NextAt.Equal(next) {
		t.Fatalf("DueAutoCC at retry = %+v", jobs)
	}
	if err := s.FinishAutoCC(ctx, 1, "cc added"); err != nil {
		t.Fatal(err)
	}
	// Once ever: queueing the bug again creates no new job.
	if err := s.QueueAnnouncements(ctx, Queued{AutoCC: []int{1}}); err != nil {
		t.Fatal(err)
	}
	if jobs, _ := s.DueAutoCC(ctx, next.Add(time.Hour), 10); len(jobs) != 0 {
		t.Errorf("auto-cc job came back: %+v", jobs)
	}
	if err := s.FinishAutoCC(ctx, 42, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("FinishAutoCC(unknown) = %v, want ErrNotFound", err)
	}
}

func TestReminders(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, newClock())
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	steps := []struct {
		name string
		do   func() error
		at   time.Time
		want []int
	}{
		{"scheduled", func() error { return s.ScheduleReminder(ctx, 1, h(4)) }, h(3), nil},
		{"due", func() error { return s.ScheduleReminder(ctx, 2, h(2)) }, h(4), []int{2, 1}},
		{"schedule keeps the first", func() error { return s.ScheduleReminder(ctx, 1, h(10)) }, h(4), []int{2, 1}},
		{"snoozed", func() error { return s.SnoozeReminder(ctx, 2, h(8)) }, h(5), []int{1}},
		{"done", func() error { return s.DoneReminder(ctx, 1) }, h(9), []int{2}},
		{"done is not re-scheduled", func() error { return s.ScheduleReminder(ctx, 1, h(1)) }, h(9), []int{2}},
		{"snooze re-arms", func() error { return s.SnoozeReminder(ctx, 1, h(9)) }, h(9), []int{2, 1}},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		due, err := s.DueReminders(ctx, st.at)
		got := reminderBugs(due)
		if err != nil || !slices.Equal(got, st.want) {
			t.Fatalf("%s: DueReminders = %v %v, want %v", st.name, got, err, st.want)
		}
	}
}

func reminderBugs(rs []Reminder) []int {
	var ids []int
	for _, r := range rs {
		ids = append(ids, r.BugID)
	}
	return ids
}

func TestResolvedSettlesReminder(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, newClock())
	b := kbug(1)
	if err := s.SaveBugs(ctx, []bugzilla.Bug{b}, nil, false); err != nil {
		t.Fatal(err)
	}
	if err := s.ScheduleReminder(ctx, 1, t0); err != nil {
		t.Fatal(err)
	}
	b.Resolution, b.LastChangeTime = "FIXED", t0.Add(time.Minute)
	if err := s.SaveBugs(ctx, []bugzilla.Bug{b}, nil, false); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueReminders(ctx, t0.Add(time.Hour)); len(due) != 0 {
		t.Errorf("resolved bug still due: %v", due)
	}
}

func TestAuditAndKV(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s := newStore(t, c)
	entries := []AuditEntry{
		{Network: "irc", Channel: "irc:#k", Account: "alice", Login: "alice@gentoo.org", Command: "claim", BugID: 1, Result: "ok"},
		{At: t0, Network: "matrix", Channel: "matrix:!r", Account: "@bob:x", Command: "cc", BugID: 2, Result: "refused", ErrCode: "unauthorized"},
	}
	for _, e := range entries {
		if err := s.Audit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.AuditLog(ctx, 0)
	if err != nil || len(got) != 2 {
		t.Fatalf("AuditLog = %+v %v", got, err)
	}
	want0 := entries[1]
	want1 := entries[0]
	want1.At = c.Now()
	if got[0] != want0 || got[1] != want1 {
		t.Errorf("AuditLog = %+v, want %+v then %+v", got, want0, want1)
	}
	if got, _ := s.AuditLog(ctx, 1); len(got) != 1 || got[0].BugID != 2 {
		t.Errorf("AuditLog(1) = %+v", got)
	}

	if _, ok, err := s.getKV(ctx, "matrix/next_batch"); ok || err != nil {
		t.Errorf("getKV(missing) = %v %v", ok, err)
	}
	for _, v := range []string{"s1", "s2"} {
		if err := s.setKV(ctx, "matrix/next_batch", v); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := s.getKV(ctx, "matrix/next_batch"); got != v || !ok || err != nil {
			t.Errorf("getKV = %q %v %v, want %q", got, ok, err, v)
		}
	}
}

// latestSchema is the schema version this ksecbot writes.
const latestSchema = 9

func TestMigrateFromV1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite3", dsn(path, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	v1 := &Store{db: db, now: time.Now, write: make(chan struct{}, 1)}
	if err := v1.migrate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if v, _ := v1.SchemaVersion(ctx); v != 1 {
		t.Fatalf("v1 schema version = %d", v)
	}
	// Data as ksecbot v1 wrote it, with plain SQL against the v1 schema.
	stmts := []string{
		`INSERT INTO bugs(id, product, component, resolution, assigned_to, creation_time, last_change_time, data)
			VALUES (5, 'Gentoo Security', 'Kernel', '', 'security-kernel@gentoo.org', 1, 2,
			'{"id":5,"summary":"old bug","product":"Gentoo Security","component":"Kernel","creation_time":"2024-01-01T00:00:00Z","last_change_time":"2024-01-02T00:00:00Z"}')`,
		`INSERT INTO bug_cc(bug_id, login) VALUES (5, 'kernel@gentoo.org')`,
		`INSERT INTO cursors(watch, time, etag) VALUES ('Gentoo Security/Kernel', 1700000000000000000, 'e1')`,
		`INSERT INTO outbox(key, channel, kind, msg, created_at) VALUES ('announce/5/irc:#k', 'irc:#k', 'announce',
			'{"key":"announce/5/irc:#k","kind":"announce","channel":"irc:#k","target":"#k","lines":[[{"t":"bug 5"}]],"bugs":[5]}', 1)`,
		`INSERT INTO kv(key, value) VALUES ('k', 'v')`,
	}
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s := openAt(t, path, newClock())
	if v, _ := s.SchemaVersion(ctx); v != latestSchema {
		t.Fatalf("schema version after Open = %d, want %d", v, latestSchema)
	}
	if b, ok, err := s.Bug(ctx, 5); err != nil || !ok || b.Summary != "old bug" {
		t.Errorf("Bug(5) = %+v %v %v", b, ok, err)
	}
	if bugs, total, err := s.Bugs(ctx, BugFilter{NotCC: []string{"kernel@gentoo.org"}}); err != nil || total != 0 || len(bugs) != 0 {
		t.Errorf("NotCC on migrated bug = %v %d %v", bugs, total, err)
	}
	if c, ok, err := s.Cursor(ctx, "Gentoo Security/Kernel"); err != nil || !ok || c.ETag != "e1" || c.Time.Unix() != 1700000000 {
		t.Errorf("Cursor = %+v %v %v", c, ok, err)
	}
	items, err := s.NextOutbox(ctx, nil, 0)
	// The queued v1 announcement became an intent: rendered when sent.
	if err != nil || len(items) != 1 || items[0].Msg.Key != "announce/5/irc:#k" || items[0].Msg.Lines != nil ||
		!slices.Equal(items[0].Msg.BugIDs, []int{5}) || items[0].Msg.Kind != chat.KindAnnounce {
		t.Fatalf("NextOutbox = %+v %v", items, err)
	}
	if err := s.EnqueueIntents(ctx, items[0].Msg); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.OutboxDepth(ctx, nil); n != 1 {
		t.Errorf("depth = %d after re-enqueue of a v1 key, want 1", n)
	}
	if v, ok, _ := s.getKV(ctx, "k"); !ok || v != "v" {
		t.Errorf("getKV = %q %v", v, ok)
	}
	// Tables of version 2 work.
	if err := s.ScheduleReminder(ctx, 5, t0); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueReminders(ctx, t0); !slices.Equal(reminderBugs(due), []int{5}) {
		t.Errorf("DueReminders = %v", due)
	}
	// Opening again is a no-op.
	s.Close()
	s2 := openAt(t, path, nil)
	if v, _ := s2.SchemaVersion(ctx); v != latestSchema {
		t.Errorf("schema version after reopen = %d", v)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "new.db")
	s := openAt(t, path, nil)
	if _, err := s.db.ExecContext(ctx, "PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(ctx, path); err == nil {
		s.Close()
		t.Fatal("Open accepted a database from a newer ksecbot")
	}
}

// holdLock takes the write lock from another connection, as another process
// would, and returns a function that releases it.
func holdLock(t *testing.T, path string) func() {
	t.Helper()
	other, err := sql.Open("sqlite3", "file:"+path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	tx, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO kv(key, value) VALUES ('other', 'process')"); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := tx.Commit(); err != nil {
			t.Error(err)
		}
		other.Close()
	}
}

func TestWriterWaitsForLock(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ksecbot.db")
	s := openAt(t, path, nil)
	release := holdLock(t, path)

	const hold = 300 * time.Millisecond
	started := make(chan struct{})
	done := make(chan error, 1)
	var took time.Duration
	go func() {
		close(started)
		begin := time.Now()
		err := s.setKV(ctx, "mine", "1")
		took = time.Since(begin)
		done <- err
	}()
	<-started
	select {
	case err := <-done:
		t.Fatalf("write finished while another connection held the lock: %v", err)
	case <-time.After(hold):
	}
	release()
	if err := <-done; err != nil {
		t.Fatalf("write after the lock was released: %v", err)
	}
	if took < hold {
		t.Errorf("write took %v, less than the %v the lock was held", took, hold)
	}
	for _, k := range []string{"mine", "other"} {
		if _, ok, _ := s.getKV(ctx, k); !ok {
			t.Errorf("key %q missing", k)
		}
	}
}

func TestWriterGivesUpAfterBusyTimeout(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ksecbot.db")
	s := openAt(t, path, nil, WithBusyTimeout(50*time.Millisecond))
	release := holdLock(t, path)
	defer release()
	if err := s.setKV(ctx, "mine", "1"); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("setKV under a held lock = %v, want a 'database is locked' error", err)
	}
}

func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, newClock())
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				id := w*each + i + 1
				b := kbug(id)
				if err := s.SaveBugs(ctx, []bugzilla.Bug{b}, map[string]bugzilla.Cursor{"w": {Time: t0}}, false); err != nil {
					errs <- err
					return
				}
				m := msg(fmt.Sprintf("announce/%d/irc:#k", id), "irc:#k", chat.KindAnnounce, id)
				if err := s.Enqueue(ctx, m, m); err != nil {
					errs <- err
					return
				}
				if _, err := s.NextOutbox(ctx, nil, 5); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n, _ := s.OutboxDepth(ctx, nil); n != workers*each {
		t.Errorf("outbox depth = %d, want %d", n, workers*each)
	}
	if evs, _ := s.PendingEvents(ctx, 0); len(evs) != workers*each {
		t.Errorf("%d events, want %d", len(evs), workers*each)
	}
}

func BenchmarkBugs(b *testing.B) {
	ctx := context.Background()
	s := newStore(b, nil)
	if err := s.SetComponentDefault(ctx, "Gentoo Security/Kernel", "security-kernel@gentoo.org"); err != nil {
		b.Fatal(err)
	}
	var bugs []bugzilla.Bug
	for i := 1; i <= 10000; i++ {
		bg := kbug(i)
		bg.CreationTime = t0.Add(time.Duration(i) * time.Minute)
		if i%3 != 0 {
			bg.Resolution = "FIXED" // most of a mirror is closed
		}
		if i%7 == 0 {
			bg.AssignedTo = "alice@gentoo.org"
		}
		if i%5 == 0 {
			bg.CC = append(bg.CC, "hardened@gentoo.org")
		}
		bugs = append(bugs, bg)
	}
	if err := s.SaveBugs(ctx, bugs, nil, true); err != nil {
		b.Fatal(err)
	}
	watch := BugFilter{Products: []string{"Gentoo Security"}, Components: []string{"Kernel"}, OpenOnly: true, Limit: 5}
	filters := map[string]BugFilter{
		"unclaimed": {Products: watch.Products, Components: watch.Components, OpenOnly: true,
			AssignedTo: []string{"security-kernel@gentoo.org"}, Limit: 5},
		"not-cc": {Products: watch.Products, Components: watch.Components, OpenOnly: true,
			NotCC: []string{"hardened@gentoo.org"}, Limit: 5},
	}
	for name, f := range filters {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, total, err := s.Bugs(ctx, f); err != nil || total == 0 {
					b.Fatal(total, err)
				}
			}
		})
	}
}

func TestConnectionSettings(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, nil)
	tests := []struct {
		pragma, want string
	}{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"busy_timeout", "10000"},
	}
	for _, tt := range tests {
		var got string
		if err := s.db.QueryRowContext(ctx, "PRAGMA "+tt.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("PRAGMA %s = %q, want %q", tt.pragma, got, tt.want)
		}
	}
}

func newClock() *fakeclock.Clock { return fakeclock.New(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)) }
