// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/internal/fakeclock"
)

// TestUnclaimedAcrossADefaultChange: the component's default assignee
// changes from security@ to kernel@ and ksecbot restarts. A bug filed
// before the change and still with security@ stays unclaimed (in
// !pending, reminded), as does one filed after it with kernel@; a bug
// filed after the change that someone gave to security@ is claimed.
func TestUnclaimedAcrossADefaultChange(t *testing.T) {
	h := newHarness(t, "")
	h.cfg.Bugzilla.PollInterval.Duration = time.Hour
	h.cfg.Announce.RemindAfter.Duration = time.Hour
	clock := fakeclock.New(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
	rec := newRecorder("test", "#gentoo-kernel")
	b, st, stop := h.startAt(clock, rec)
	waitPolls(t, b, 1)
	waitUntil(t, 10*time.Second, "the default assignee read", func() bool {
		a, _, _ := st.ComponentDefault(context.Background(), "Gentoo Security/Kernel")
		return a == "security@gentoo.org"
	})
	clock.Advance(time.Minute)
	before := fileAndFetch(t, h, b, bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: filed under the old default"})[0]
	announcementIn(t, rec, before, "test:#gentoo-kernel")
	stop()

	clock.Advance(time.Hour)
	h.srv.AddComponent("Gentoo Security", "Kernel", "kernel@gentoo.org", nil)
	b, st, _ = h.startAt(clock, rec)
	waitPolls(t, b, 1)
	waitUntil(t, 10*time.Second, "the new default read at the restart", func() bool {
		a, _, _ := st.ComponentDefault(context.Background(), "Gentoo Security/Kernel")
		return a == "kernel@gentoo.org"
	})
	clock.Advance(time.Minute)
	ids := fileAndFetch(t, h, b,
		bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: filed under the new default"},
		bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: given to the old default's login", AssignedTo: "security@gentoo.org"})
	after, given := ids[0], ids[1]
	for _, id := range ids {
		announcementIn(t, rec, id, "test:#gentoo-kernel")
	}

	got := ask(t, b.Live.Router(), rec.channels[0], chat.Identity{Network: "test", Nick: "watcher"}, "!pending")
	for id, want := range map[int]bool{before: true, after: true, given: false} {
		if listed := strings.Contains(got, fmt.Sprintf("Bug %d ", id)); listed != want {
			t.Errorf("!pending lists bug %d: %v, want %v: %q", id, listed, want, got)
		}
	}
	clock.Advance(2 * time.Hour)
	if err := b.Reminders.RemindDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, 10*time.Second, "the reminders of the unclaimed bugs", func([]chat.Outgoing) bool {
		r := reminded(rec)
		return len(r[before]) == 1 && len(r[after]) == 1
	})
	if r := reminded(rec); len(r[given]) != 0 {
		t.Errorf("bug %d, claimed, was reminded", given)
	}
}
