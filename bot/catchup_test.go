// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/internal/fakeclock"
)

// highlights counts, per bug, the lines that highlighted its tree's
// maintainers in a channel.
func highlights(msgs []chat.Outgoing, channel string) map[int]int {
	out := map[int]int{}
	for _, m := range msgs {
		if m.Channel != channel || len(m.BugIDs) != 1 {
			continue
		}
		if strings.Contains(strings.Join(m.Plain("irc"), " "), "hardened: blueness zorry") {
			out[m.BugIDs[0]]++
		}
	}
	return out
}

// TestCatchUpHighlightedOnce: a fresh database catches up on the open
// bugs filed within [bugzilla] catch_up, 20 h and 2 h ago. Each is
// highlighted once, by its announcement: its reminder counts from the
// announcement (remind_after 4 h), not from its filing, so the 20-hour-old
// one is not reminded 30 s later. !stats leaves the caught-up bugs out of
// creation-to-announcement times: only the bug filed after the start
// counts.
func TestCatchUpHighlightedOnce(t *testing.T) {
	h := newHarness(t, "")
	h.cfg.Bugzilla.PollInterval.Duration = time.Hour // polls only when poked
	start := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	clock := fakeclock.New(start)
	h.srv.SetNow(clock.Now)
	old := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: filed 20 hours ago", Created: start.Add(-20 * time.Hour)})
	recent := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: filed 2 hours ago", Created: start.Add(-2 * time.Hour)})
	before := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: filed 2 days ago", Created: start.Add(-48 * time.Hour)})
	rec := newRecorder("test", "#gentoo-kernel")
	b, st, _ := h.startAt(clock, rec)
	waitPolls(t, b, 1)
	ch := "test:#gentoo-kernel"
	rec.waitFor(t, 10*time.Second, "the caught-up bugs announced", func(m []chat.Outgoing) bool {
		return count(m, fmt.Sprintf("announce/%d/%s", old, ch)) == 1 && count(m, fmt.Sprintf("announce/%d/%s", recent, ch)) == 1
	})

	// 30 s later the reminders are looked at: none is due.
	clock.Advance(30 * time.Second)
	if err := b.Reminders.RemindDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitDelivered(t, st)
	hl := highlights(rec.sentCopy(), ch)
	for _, id := range []int{old, recent} {
		if hl[id] != 1 {
			t.Errorf("caught-up bug %d highlighted %d times in its first minute, want once (the announcement)", id, hl[id])
		}
	}
	if hl[before] != 0 {
		t.Errorf("bug %d, older than catch_up, was highlighted", before)
	}

	// A bug filed after the start, announced 2 s after it was filed.
	clock.Advance(time.Minute)
	filed := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: filed after the start"})
	clock.Advance(2 * time.Second)
	b.Intake.Watcher().Poke()
	rec.waitFor(t, 10*time.Second, "the new bug announced", func(m []chat.Outgoing) bool {
		return count(m, fmt.Sprintf("announce/%d/%s", filed, ch)) == 1
	})
	waitDelivered(t, st)
	got := ask(t, b.Live.Router(), rec.channels[0], chat.Identity{Network: "test", Nick: "watcher"}, "!stats 7")
	if m := regexp.MustCompile(`creation to announcement: median ([^,]+), p90 ([^ ]+) \(n=(\d+)\)`).FindStringSubmatch(got); m == nil || m[3] != "1" || strings.Contains(m[1], "h") {
		t.Errorf("!stats = %q, want creation to announcement over the one bug filed after the start (seconds, n=1)", got)
	}

	// remind_after (4 h) after the announcement, each is reminded once.
	clock.Advance(4 * time.Hour)
	if err := b.Reminders.RemindDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, 10*time.Second, "the reminders 4 h after the announcement", func([]chat.Outgoing) bool {
		r := reminded(rec)
		return len(r[old]) == 1 && len(r[recent]) == 1
	})
}
