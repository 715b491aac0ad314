// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bot"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/fakeclock"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/transport"
)

// startAt is harness.start with an injected clock (nil: the real one). It
// also returns the bot's store, for assertions on the outbox and mirror.
func (h *harness) startAt(clock *fakeclock.Clock, ts ...transport.Transport) (*bot.Bot, *store.Store, func()) {
	h.t.Helper()
	now := time.Now
	if clock != nil {
		now = clock.Now
		h.srv.SetNow(clock.Now)
	}
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, h.dbPath, store.WithNow(now))
	if err != nil {
		h.t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{h.t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if h.infoLog != nil {
		log = slog.New(slog.NewTextHandler(h.infoLog, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	var clientLog *slog.Logger
	if h.debugLog != nil {
		debug := slog.NewTextHandler(h.debugLog, &slog.HandlerOptions{Level: slog.LevelDebug})
		log = slog.New(slog.NewMultiHandler(log.Handler(), debug))
		clientLog = slog.New(debug)
	}
	bz, err := bugzilla.New(bugzilla.Options{BaseURL: h.cfg.Bugzilla.URL, APIKey: h.cfg.Bugzilla.APIKey.Reveal(), Timeout: 5 * time.Second, Logger: clientLog})
	if err != nil {
		h.t.Fatal(err)
	}
	b, err := bot.Wire(bot.Options{Config: h.cfg, Store: st, Bugzilla: bz, Transports: ts, Logger: log, Now: now, KeyRetry: h.keyRetry, DefaultsRefresh: h.defaultsRefresh})
	if err != nil {
		h.t.Fatal(err)
	}
	h.bot = b
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				h.t.Errorf("bot.Run: %v", err)
			}
			st.Close()
		})
	}
	h.t.Cleanup(stop)
	return b, st, stop
}

// waitDelivered waits until the outbox is empty: everything queued so far
// has reached the transports.
func waitDelivered(t *testing.T, st *store.Store) {
	t.Helper()
	// No event left for the announcer (a bug stored just now is queued a
	// moment later), and nothing left in the outbox.
	waitUntil(t, 10*time.Second, "no pending event and an empty outbox", func() bool {
		evs, err := st.PendingEvents(context.Background(), 1)
		if err != nil || len(evs) > 0 {
			return false
		}
		n, err := st.OutboxDepth(context.Background(), nil)
		return err == nil && n == 0
	})
}

// fileAndFetch files bugs in Bugzilla and makes the bot poll once for them.
func fileAndFetch(t *testing.T, h *harness, b *bot.Bot, bugs ...bugzillatest.NewBug) []int {
	t.Helper()
	polls := b.Intake.Watcher().Stats().Polls
	var ids []int
	for _, nb := range bugs {
		ids = append(ids, h.srv.CreateBug(nb))
	}
	if err := b.Intake.Poke(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitPolls(t, b, int(polls)+1)
	return ids
}

func ofKind(msgs []chat.Outgoing, kind chat.Kind) []chat.Outgoing {
	var out []chat.Outgoing
	for _, m := range msgs {
		if m.Kind == kind {
			out = append(out, m)
		}
	}
	return out
}

// reminded returns, per bug, the channels that got its reminder.
func reminded(rec *recorder) map[int][]string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := map[int][]string{}
	for _, m := range ofKind(rec.sent, chat.KindRemind) {
		for _, id := range m.BugIDs {
			out[id] = append(out[id], m.Channel)
		}
	}
	return out
}

func TestRemindersWithFakeClock(t *testing.T) {
	h := newHarness(t, "")
	h.cfg.Bugzilla.PollInterval.Duration = time.Hour // only the first poll and pokes
	h.cfg.Announce.DigestAfter = 0
	h.cfg.Announce.RemindAfter.Duration = 4 * time.Hour
	h.cfg.Announce.RemindGrade = map[string]config.Duration{
		"A": {Duration: time.Hour}, "A0": {Duration: 10 * time.Minute}, "C": {Duration: 72 * time.Hour},
	}
	clock := fakeclock.New(time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC))
	rec := newRecorder("test", "#gentoo-kernel", "#gentoo-dev")
	b, st, _ := h.startAt(clock, rec)
	waitPolls(t, b, 1)

	filed := clock.Now()
	ids := fileAndFetch(t, h, b,
		bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: B-grade, stays unclaimed", Whiteboard: "B2 [upstream]"},
		bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: A-grade, stays unclaimed", Whiteboard: "A1 [upstream]"},
		bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: claimed before the reminder", Whiteboard: "B2"},
		bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: C-grade", Whiteboard: "C3"},
		bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: fixed before the reminder", Whiteboard: "B1"},
		bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: A0 beats A", Whiteboard: "A0"},
	)
	unclaimedB, unclaimedA, claimed, gradeC, fixed, gradeA0 := ids[0], ids[1], ids[2], ids[3], ids[4], ids[5]
	rec.waitFor(t, 5*time.Second, "12 announcements (6 bugs, 2 channels)", func(m []chat.Outgoing) bool {
		return len(ofKind(m, chat.KindAnnounce)) == 12
	})

	// One bug is claimed and one fixed in Bugzilla; ksecbot reads both.
	clock.Set(filed.Add(time.Minute))
	h.srv.UpdateBug(claimed, func(bg *bugzillatest.Bug) { bg.AssignedTo = "alice@gentoo.org" })
	h.srv.UpdateBug(fixed, func(bg *bugzillatest.Bug) { bg.Status, bg.Resolution = "RESOLVED", "FIXED" })
	fileAndFetch(t, h, b)
	waitUntil(t, 5*time.Second, "the claim and the fix in the mirror", func() bool {
		c, _, _ := st.Bug(context.Background(), claimed)
		f, _, _ := st.Bug(context.Background(), fixed)
		return c != nil && c.AssignedTo == "alice@gentoo.org" && f != nil && f.Resolution == "FIXED"
	})

	both := []string{"test:#gentoo-dev", "test:#gentoo-kernel"}
	steps := []struct {
		at   time.Duration
		want map[int][]string
	}{
		{9 * time.Minute, map[int][]string{}},
		{10 * time.Minute, map[int][]string{gradeA0: both}},
		{59 * time.Minute, map[int][]string{gradeA0: both}},
		{time.Hour, map[int][]string{gradeA0: both, unclaimedA: both}},
		{4 * time.Hour, map[int][]string{gradeA0: both, unclaimedA: both, unclaimedB: both}},
		{72 * time.Hour, map[int][]string{gradeA0: both, unclaimedA: both, unclaimedB: both, gradeC: both}},
		{30 * 24 * time.Hour, map[int][]string{gradeA0: both, unclaimedA: both, unclaimedB: both, gradeC: both}},
	}
	for _, s := range steps {
		clock.Set(filed.Add(s.at))
		if err := b.Reminders.RemindDue(context.Background()); err != nil {
			t.Fatal(err)
		}
		waitDelivered(t, st)
		got := reminded(rec)
		for id, chans := range got {
			slices.Sort(chans)
			if strings.Join(chans, " ") != strings.Join(s.want[id], " ") {
				t.Errorf("at +%s: bug %d reminded in %v, want %v", s.at, id, chans, s.want[id])
			}
		}
		for id := range s.want {
			if _, ok := got[id]; !ok {
				t.Errorf("at +%s: bug %d not reminded, want a reminder in %v", s.at, id, s.want[id])
			}
		}
	}

	// What the maintainers read: the age, the bug, its trees' nicks.
	for _, m := range ofKind(rec.sentCopy(), chat.KindRemind) {
		if m.BugIDs[0] != unclaimedA {
			continue
		}
		line := strings.Join(m.Plain("irc"), " ")
		for _, want := range []string{"Still unclaimed after 1h", fmt.Sprintf("bug %d", unclaimedA), "hardened: blueness zorry"} {
			if !strings.Contains(line, want) {
				t.Errorf("reminder %q lacks %q", line, want)
			}
		}
	}
}

func TestReminderSurvivesRestart(t *testing.T) {
	h := newHarness(t, "")
	h.cfg.Bugzilla.PollInterval.Duration = time.Hour
	h.cfg.Announce.RemindAfter.Duration = 4 * time.Hour
	clock := fakeclock.New(time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC))
	rec := newRecorder("test", "#gentoo-kernel", "#gentoo-dev")
	b, st, stop := h.startAt(clock, rec)
	waitPolls(t, b, 1)
	filed := clock.Now()
	id := fileAndFetch(t, h, b, bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: nobody picks this up"})[0]
	rec.waitFor(t, 5*time.Second, "the announcement in both channels", func(m []chat.Outgoing) bool {
		return len(ofKind(m, chat.KindAnnounce)) == 2
	})
	waitDelivered(t, st)
	stop()

	// ksecbot is down while the reminder falls due; after the restart it
	// has one more channel, which never got the announcement.
	clock.Set(filed.Add(5 * time.Hour))
	rec2 := newRecorder("test", "#gentoo-kernel", "#gentoo-dev", "#gentoo-new")
	b2, st2, _ := h.startAt(clock, rec2)
	if err := b2.Reminders.RemindDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitDelivered(t, st2)
	got := reminded(rec2)[id]
	slices.Sort(got)
	if want := "test:#gentoo-dev test:#gentoo-kernel"; strings.Join(got, " ") != want {
		t.Errorf("after a restart, bug %d reminded in %v, want exactly %s", id, got, want)
	}
	// Once only, however often the due reminders are checked.
	clock.Set(filed.Add(50 * time.Hour))
	if err := b2.Reminders.RemindDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitDelivered(t, st2)
	if n := len(reminded(rec2)[id]); n != 2 {
		t.Errorf("bug %d got %d reminder lines, want 2 (once per channel)", id, n)
	}
	if n := len(ofKind(rec2.sentCopy(), chat.KindAnnounce)); n != 0 {
		t.Errorf("the restart announced %d bugs again", n)
	}
}

func (r *recorder) sentCopy() []chat.Outgoing {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]chat.Outgoing(nil), r.sent...)
}

// A reminder that falls due while its announcement is still in the outbox
// (the network is down) waits for the announcement instead of being lost.
func TestReminderWaitsForUndeliveredAnnouncement(t *testing.T) {
	h := newHarness(t, "")
	h.cfg.Bugzilla.PollInterval.Duration = time.Hour
	h.cfg.Announce.RemindAfter.Duration = time.Hour
	clock := fakeclock.New(time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC))
	rec := newRecorder("test", "#gentoo-kernel")
	rec.down = true
	b, st, _ := h.startAt(clock, rec)
	waitPolls(t, b, 1)
	filed := clock.Now()
	id := fileAndFetch(t, h, b, bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: filed while IRC is down"})[0]

	clock.Set(filed.Add(2 * time.Hour)) // due, but nothing was delivered yet
	if err := b.Reminders.RemindDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	rec.down = false
	rec.mu.Unlock()
	rec.waitFor(t, 10*time.Second, "the announcement after the network came back", func(m []chat.Outgoing) bool {
		return count(m, fmt.Sprintf("announce/%d/test:#gentoo-kernel", id)) == 1
	})
	waitDelivered(t, st)
	clock.Set(filed.Add(2*time.Hour + 2*time.Minute))
	if err := b.Reminders.RemindDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, 10*time.Second, "the reminder, once the announcement was out", func(m []chat.Outgoing) bool {
		return len(remindersOf(m, id, "test:#gentoo-kernel")) == 1
	})
}

// remindersOf returns the reminders of a bug sent to a channel.
func remindersOf(msgs []chat.Outgoing, id int, channel string) []chat.Outgoing {
	var out []chat.Outgoing
	for _, m := range ofKind(msgs, chat.KindRemind) {
		if m.Channel == channel && len(m.BugIDs) == 1 && m.BugIDs[0] == id {
			out = append(out, m)
		}
	}
	return out
}

// After a reminder, "!snooze" re-arms it: the bug is reminded again when
// the snooze is over (a second message with its own key, not a duplicate
// of the first that the outbox would drop), once, while the bot said OK.
func TestSnoozedBugIsRemindedAgain(t *testing.T) {
	h := newHarness(t, `
[[user]]
bugzilla = "alice@gentoo.org"
irc_account = "alice"
roles = ["maintainer"]
`)
	h.cfg.Bugzilla.PollInterval.Duration = time.Hour
	h.cfg.Announce.DigestAfter = 0
	h.cfg.Announce.RemindAfter.Duration = time.Hour
	clock := fakeclock.New(time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC))
	rec := newRecorder("test", "#gentoo-kernel")
	b, st, _ := h.startAt(clock, rec)
	waitPolls(t, b, 1)
	filed := clock.Now()
	id := fileAndFetch(t, h, b, bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: nobody picks this up"})[0]
	rec.waitFor(t, 5*time.Second, "the announcement", func(m []chat.Outgoing) bool {
		return len(ofKind(m, chat.KindAnnounce)) == 1
	})
	waitDelivered(t, st)
	const ch = "test:#gentoo-kernel"

	clock.Set(filed.Add(time.Hour))
	if err := b.Reminders.RemindDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, 10*time.Second, "the first reminder", func(m []chat.Outgoing) bool { return len(remindersOf(m, id, ch)) == 1 })

	alice := chat.Identity{Network: "irc", Account: "alice", Nick: "alice"}
	if got := ask(t, b.Live.Router(), rec.channels[0], alice, fmt.Sprintf("!snooze %d 2h", id)); !strings.Contains(got, "OK: I will remind about bug") {
		t.Fatalf("!snooze = %q", got)
	}
	clock.Set(filed.Add(2*time.Hour + 59*time.Minute)) // not yet
	if err := b.Reminders.RemindDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitDelivered(t, st)
	if n := len(remindersOf(rec.sentCopy(), id, ch)); n != 1 {
		t.Fatalf("%d reminders before the snooze is over, want 1", n)
	}
	clock.Set(filed.Add(3 * time.Hour))
	if err := b.Reminders.RemindDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	msgs := rec.waitFor(t, 10*time.Second, "the second reminder, after the snooze", func(m []chat.Outgoing) bool {
		return len(remindersOf(m, id, ch)) == 2
	})
	rs := remindersOf(msgs, id, ch)
	if rs[0].Key == rs[1].Key {
		t.Errorf("both reminders have the key %q: a Matrix homeserver would drop the second as a retry", rs[0].Key)
	}
	if line := strings.Join(rs[1].Plain("irc"), " "); !strings.Contains(line, "Still unclaimed after 3h") || !strings.Contains(line, "hardened: blueness zorry") {
		t.Errorf("second reminder = %q", line)
	}
	// Once: checking again later sends nothing more.
	clock.Set(filed.Add(10 * time.Hour))
	if err := b.Reminders.RemindDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitDelivered(t, st)
	if n := len(remindersOf(rec.sentCopy(), id, ch)); n != 2 {
		t.Errorf("%d reminders in the end, want 2", n)
	}
}
