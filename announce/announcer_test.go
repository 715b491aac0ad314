// SPDX-License-Identifier: GPL-3.0-or-later

package announce

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/internal/fakeclock"
	"github.com/ksecbot/ksecbot/store"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var t0 = time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)

// step files bugs at t0+at and says what each channel must get.
type step struct {
	at         time.Duration
	whiteboard []string // one new bug per entry
	singles    []int    // bug ids announced one by one (per channel)
	digest     []int    // bug ids in the channel's one digest (nil: no digest)
}

func TestAnnouncerBurstDigest(t *testing.T) {
	n := func(k int) []string { return slices.Repeat([]string{"B2 [upstream]"}, k) }
	tests := []struct {
		name        string
		digestAfter int
		steps       []step
	}{
		{"exactly digest_after: one by one", 3, []step{{0, n(3), []int{1, 2, 3}, nil}}},
		{"digest_after+1: one digest", 3, []step{{0, n(4), nil, []int{1, 2, 3, 4}}}},
		{"A0-A2 one by one inside a burst", 3, []step{{0,
			[]string{"B1", "A0 [ebuild]", "C3", "A1", "~2", "A2 [upstream]", "A3"},
			[]int{2, 4, 6}, []int{1, 3, 5, 7}}}},
		{"urgent bugs count toward the burst", 3, []step{{0,
			[]string{"A1", "B2", "A2", "C1"}, []int{1, 3}, []int{2, 4}}}},
		{"only urgent bugs: never a digest", 3, []step{{0,
			[]string{"A0", "A1", "A2", "A1", "A0"}, []int{1, 2, 3, 4, 5}, nil}}},
		{"a burst leaving one ordinary bug announces it alone", 3, []step{{0,
			[]string{"A1", "A1", "A1", "B2"}, []int{1, 2, 3, 4}, nil}}},
		{"a burst over two batches inside the window", 3, []step{
			{0, n(2), []int{1, 2}, nil},
			{10 * time.Second, n(2), nil, []int{3, 4}},
		}},
		{"the window expires", 3, []step{
			{0, n(3), []int{1, 2, 3}, nil},
			{31 * time.Second, n(3), []int{4, 5, 6}, nil},
		}},
		{"digest_after 0 disables digests", 0, []step{{0, n(12), []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, nil}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			clock := fakeclock.New(t0)
			st := openStore(t, clock)
			chans := []chat.Channel{public, private}
			a := &Announcer{
				Store: st, Render: testRenderer(), Channels: func() []chat.Channel { return chans },
				DigestAfter: tc.digestAfter, DigestWindow: 30 * time.Second, Now: clock.Now, Logger: quiet,
			}
			next := 1
			for i, s := range tc.steps {
				clock.Set(t0.Add(s.at))
				var bugs []bugzilla.Bug
				for _, wb := range s.whiteboard {
					bugs = append(bugs, testBug(next, wb, clock.Now()))
					next++
				}
				if err := st.SaveBugs(ctx, bugs, nil, false); err != nil {
					t.Fatal(err)
				}
				if _, err := a.Process(ctx); err != nil {
					t.Fatal(err)
				}
				items := drain(t, st, a.Render, chans, clock.Now())
				for _, ch := range chans {
					var singles []int
					var digests [][]int
					for _, it := range items {
						if it.Channel != ch.Key {
							continue
						}
						switch it.Kind {
						case chat.KindAnnounce:
							singles = append(singles, it.BugIDs...)
						case chat.KindDigest:
							digests = append(digests, it.BugIDs)
							checkDigestLine(t, it, s.digest)
						default:
							t.Errorf("unexpected %s message %q", it.Kind, it.Key)
						}
					}
					if !slices.Equal(singles, s.singles) {
						t.Errorf("step %d, %s: bugs announced one by one = %v, want %v", i, ch.Name, singles, s.singles)
					}
					switch {
					case s.digest == nil && len(digests) > 0:
						t.Errorf("step %d, %s: unexpected digest(s) %v", i, ch.Name, digests)
					case s.digest != nil && (len(digests) != 1 || !slices.Equal(digests[0], s.digest)):
						t.Errorf("step %d, %s: digests %v, want exactly one of %v", i, ch.Name, digests, s.digest)
					}
				}
			}
		})
	}
}

// checkDigestLine checks what a reader of the digest line sees: the count,
// every id, a buglist link and each affected tree highlighted once.
func checkDigestLine(t *testing.T, it chat.Outgoing, ids []int) {
	t.Helper()
	line := strings.Join(it.Plain("irc"), " ")
	strs := make([]string, len(ids))
	for i, id := range ids {
		strs[i] = fmt.Sprint(id)
	}
	for _, want := range []string{
		fmt.Sprintf("%d new kernel security bugs", len(ids)),
		strings.Join(strs, ", "),
		"https://bugs.gentoo.org/buglist.cgi?bug_id=" + strings.Join(strs, "%2C"),
	} {
		if !strings.Contains(line, want) {
			t.Errorf("digest %q lacks %q", line, want)
		}
	}
	// testBug: odd ids name hardened, even ids gentoo-sources.
	want := map[string]int{"mpagano": 0, "blueness": 0, "zorry": 0}
	for _, id := range ids {
		if id%2 == 1 {
			want["blueness"], want["zorry"] = 1, 1
		} else {
			want["mpagano"] = 1
		}
	}
	for nick, n := range want {
		if c := strings.Count(line, nick); c != n {
			t.Errorf("digest %q highlights %s %d times, want %d", line, nick, c, n)
		}
	}
}

func TestAnnouncerSchedulesRemindersByGrade(t *testing.T) {
	ctx := context.Background()
	clock := fakeclock.New(t0)
	st := openStore(t, clock)
	a := &Announcer{
		Store: st, Render: testRenderer(), Channels: func() []chat.Channel { return []chat.Channel{public} },
		Now: clock.Now, Logger: quiet,
		RemindAfter: func(b *bugzilla.Bug) time.Duration {
			switch Grade(b.Whiteboard)[:1] {
			case "A":
				return 2 * time.Hour
			case "C":
				return 0 // never
			}
			return 4 * time.Hour
		},
	}
	created := t0.Add(-30 * time.Minute) // filed before ksecbot saw it
	bugs := []bugzilla.Bug{testBug(1, "A1", created), testBug(2, "B2", created), testBug(3, "C3", created)}
	if err := st.SaveBugs(ctx, bugs, nil, false); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Process(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at   time.Time
		want []int
	}{
		{created.Add(2*time.Hour - time.Second), nil},
		{created.Add(2 * time.Hour), []int{1}},
		{created.Add(4 * time.Hour), []int{1, 2}},
		{created.Add(1000 * time.Hour), []int{1, 2}},
	} {
		if got := dueBugs(t, st, tc.at); !slices.Equal(got, tc.want) {
			t.Errorf("due at creation+%s: %v, want %v", tc.at.Sub(created), got, tc.want)
		}
	}
}

// A bug moved into the watch is reminded of the delay after it arrived,
// not after it was filed: filed 3 days ago, it must not be reminded at
// once, right after its announcement.
func TestAnnouncerRemindsMovedInBugsFromArrival(t *testing.T) {
	ctx := context.Background()
	clock := fakeclock.New(t0)
	st := openStore(t, clock)
	a := &Announcer{
		Store: st, Render: testRenderer(), Channels: func() []chat.Channel { return []chat.Channel{public} },
		Now: clock.Now, Logger: quiet,
		RemindAfter: func(*bugzilla.Bug) time.Duration { return 4 * time.Hour },
	}
	old := testBug(7, "B2", t0.Add(-72*time.Hour))
	o := bugzilla.SaveOptions{CheckNew: true, NewSince: t0.Add(-time.Hour), Entered: true}
	if err := st.SaveWatched(ctx, []bugzilla.Bug{old}, nil, o); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Process(ctx); err != nil {
		t.Fatal(err)
	}
	out := drain(t, st, a.Render, []chat.Channel{public}, t0)
	if len(out) != 1 || !strings.Contains(strings.Join(out[0].Plain("irc"), " "), "moved into") {
		t.Fatalf("announced %v, want the one moved-in line", out)
	}
	for _, tc := range []struct {
		at   time.Time
		want []int
	}{
		{t0, nil},
		{t0.Add(4*time.Hour - time.Second), nil},
		{t0.Add(4 * time.Hour), []int{7}},
	} {
		if got := dueBugs(t, st, tc.at); !slices.Equal(got, tc.want) {
			t.Errorf("due at arrival+%s: %v, want %v", tc.at.Sub(t0), got, tc.want)
		}
	}
}

// The reminders of new bugs are part of the transaction that marks their
// events processed: when their write fails (here a trigger refuses it, as
// a full disk or a crash between two transactions would), nothing of the
// pass is kept, the events stay pending, and the next pass schedules the
// reminders with the announcements. (The announcer used to write the
// reminders after that transaction, only logging a failure: the bugs were
// announced and never reminded.)
func TestAnnouncerRemindersInTheEventsTransaction(t *testing.T) {
	ctx := context.Background()
	clock := fakeclock.New(t0)
	path := filepath.Join(t.TempDir(), "ksecbot.db")
	st, err := store.Open(ctx, path, store.WithNow(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a := &Announcer{
		Store: st, Render: testRenderer(), Channels: func() []chat.Channel { return []chat.Channel{public} },
		Now: clock.Now, Logger: quiet, AutoCC: true,
		RemindAfter: func(*bugzilla.Bug) time.Duration { return 4 * time.Hour },
	}
	bugs := []bugzilla.Bug{testBug(1, "B2", t0), testBug(2, "B2", t0)}
	if err := st.SaveBugs(ctx, bugs, nil, false); err != nil {
		t.Fatal(err)
	}

	other, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.ExecContext(ctx, `CREATE TRIGGER no_reminders BEFORE INSERT ON reminders
		BEGIN SELECT RAISE(ABORT, 'reminders cannot be written'); END`); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Process(ctx); err == nil || !strings.Contains(err.Error(), "reminders cannot be written") {
		t.Fatalf("Process with reminders unwritable: %v, want the failure", err)
	}
	if evs, err := st.PendingEvents(ctx, 0); err != nil || len(evs) != 2 {
		t.Fatalf("pending events after the failed pass: %d (%v), want both still pending", len(evs), err)
	}
	if n, _ := st.OutboxDepth(ctx, nil); n != 0 {
		t.Errorf("%d announcements queued by the failed pass, want none", n)
	}
	if jobs, _ := st.DueAutoCC(ctx, t0, 0); len(jobs) != 0 {
		t.Errorf("auto-CC jobs made by the failed pass: %+v", jobs)
	}

	if _, err := other.ExecContext(ctx, "DROP TRIGGER no_reminders"); err != nil {
		t.Fatal(err)
	}
	if n, err := a.Process(ctx); err != nil || n != 2 {
		t.Fatalf("Process = %d, %v; want both events", n, err)
	}
	if got := dueBugs(t, st, t0.Add(4*time.Hour)); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("reminders due 4h after filing: %v, want [1 2]", got)
	}
	if out := drain(t, st, a.Render, []chat.Channel{public}, t0); len(out) != 2 {
		t.Errorf("%d announcements, want 2", len(out))
	}
	if jobs, _ := st.DueAutoCC(ctx, t0, 0); len(jobs) != 2 {
		t.Errorf("auto-CC jobs: %+v, want one per bug", jobs)
	}
}

// dueBugs returns the bugs whose reminders are due at the time.
func dueBugs(t *testing.T, st *store.Store, at time.Time) []int {
	t.Helper()
	due, err := st.DueReminders(context.Background(), at)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, r := range due {
		got = append(got, r.BugID)
	}
	return got
}

func openStore(t *testing.T, clock *fakeclock.Clock) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "ksecbot.db"), store.WithNow(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// testBug names hardened (odd ids) or gentoo-sources (even ids).
func testBug(id int, whiteboard string, created time.Time) bugzilla.Bug {
	pkg := "sys-kernel/gentoo-sources"
	if id%2 == 1 {
		pkg = "sys-kernel/hardened-sources"
	}
	return bugzilla.Bug{
		ID: id, Product: "Gentoo Security", Component: "Kernel", Summary: pkg + ": bug " + fmt.Sprint(id),
		Whiteboard: whiteboard, Status: "CONFIRMED", Severity: "normal", AssignedTo: "security@gentoo.org",
		CreationTime: created, LastChangeTime: created,
	}
}

// drain renders the unsent outbox for the channels as the deliverer does
// (from the mirror, at send time), returns what would be sent and marks it
// all done.
func drain(t *testing.T, st *store.Store, r *Renderer, chans []chat.Channel, now time.Time) []chat.Outgoing {
	t.Helper()
	ctx := context.Background()
	items, err := st.NextOutbox(ctx, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []chat.Outgoing
	for _, it := range items {
		bugs := map[int]*bugzilla.Bug{}
		for _, id := range it.Msg.BugIDs {
			if b, ok, err := st.Bug(ctx, id); err != nil {
				t.Fatal(err)
			} else if ok {
				bugs[id] = b
			}
		}
		for _, ch := range chans {
			if ch.Key != it.Msg.Channel {
				continue
			}
			if msg, ok := r.Intent(it.Msg, bugs, ch, now); ok {
				out = append(out, msg)
			}
		}
		if err := st.MarkSent(ctx, it.ID, ""); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// Gather holds the announcer when bugs come fast and a digest is near, or
// during a burst, and never when digests are off or bugs trickle in.
func TestGather(t *testing.T) {
	clk := fakeclock.New(t0)
	a := &Announcer{DigestAfter: 5, DigestWindow: 30 * time.Second, Now: clk.Now}
	arrive := func(after time.Duration, n int) {
		clk.Set(clk.Now().Add(after))
		a.burst(n)
	}
	if a.Gather() {
		t.Error("holds with no bug at all")
	}
	arrive(0, 1)
	if a.Gather() {
		t.Error("holds after one bug")
	}
	arrive(10*time.Second, 1) // slow: 10 s apart
	if a.Gather() {
		t.Error("holds for bugs 10 s apart")
	}
	arrive(200*time.Millisecond, 1) // fast, and 3 in the window (>= 5/2)
	if !a.Gather() {
		t.Error("does not hold for fast bugs near a digest")
	}
	arrive(time.Minute, 0)
	if a.Gather() {
		t.Error("still holds after the window")
	}
	arrive(0, 6) // a burst
	if !a.Gather() {
		t.Error("does not hold during a burst")
	}
	off := &Announcer{DigestAfter: 0, DigestWindow: 30 * time.Second, Now: clk.Now}
	off.burst(50)
	if off.Gather() {
		t.Error("holds with digests off")
	}
}
