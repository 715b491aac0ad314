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
)

func ask(t *testing.T, h interface {
	Handle(context.Context, chat.Incoming) []chat.Outgoing
}, ch chat.Channel, sender chat.Identity, text string) string {
	t.Helper()
	var lines []string
	for _, o := range h.Handle(context.Background(), chat.Incoming{Channel: ch, Target: ch.Name, Sender: sender, Text: text, ID: fmt.Sprint(time.Now().UnixNano())}) {
		lines = append(lines, o.Plain("irc")...)
	}
	return strings.Join(lines, "\n")
}

func TestStatsAndSnoozeCommands(t *testing.T) {
	h := newHarness(t, `
[[user]]
bugzilla = "alice@gentoo.org"
irc_account = "alice"
roles = ["maintainer"]
`)
	rec := newRecorder("test", "#gentoo-kernel")
	b, _ := h.start(rec)
	waitPolls(t, b, 1)
	ch := rec.channels[0]
	alice := chat.Identity{Network: "irc", Account: "alice", Nick: "alice"}
	anon := chat.Identity{Network: "test", Nick: "mallory"}

	if got := ask(t, b.Live.Router(), ch, anon, "!stats"); !strings.Contains(got, "No bugs in the last 30 days") {
		t.Errorf("!stats before any bug = %q", got)
	}
	id := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: overflow"})
	rec.waitFor(t, 5*time.Second, "the announcement", func(m []chat.Outgoing) bool {
		return count(m, fmt.Sprintf("announce/%d/test:#gentoo-kernel", id)) == 1
	})
	waitUntil(t, 5*time.Second, "stats to count the announcement", func() bool {
		return strings.Contains(ask(t, b.Live.Router(), ch, chat.Identity{Network: "test", Nick: "watcher"}, "!stats 7"), "creation to announcement: median")
	})
	// (each sender may send 5 commands at once, then one per 2 s)
	if got := ask(t, b.Live.Router(), ch, anon, "!stats 0"); !strings.Contains(got, "'0' is not a number of days") || !strings.Contains(got, "usage: !stats [days]") {
		t.Errorf("!stats 0 = %q, want what is wrong and the usage", got)
	}

	// !snooze: only linked users with a role; bad input gets usage.
	if got := ask(t, b.Live.Router(), ch, anon, fmt.Sprintf("!snooze %d 2h", id)); strings.Contains(got, "OK") {
		t.Errorf("an unidentified user could snooze: %q", got)
	}
	for _, bad := range []string{"!snooze", fmt.Sprintf("!snooze %d forever", id), fmt.Sprintf("!snooze %d 90d", id), "!snooze abc 2h"} {
		if got := ask(t, b.Live.Router(), ch, alice, bad); strings.Contains(got, "OK") {
			t.Errorf("%q accepted: %q", bad, got)
		}
	}
	if got := ask(t, b.Live.Router(), ch, alice, fmt.Sprintf("!snooze %d 2h", id)); !strings.Contains(got, "OK: I will remind about bug") {
		t.Errorf("!snooze by a maintainer = %q", got)
	}
	if got := ask(t, b.Live.Router(), ch, chat.Identity{Network: "test", Nick: "newcomer"}, "!help"); !strings.Contains(got, "snooze") || !strings.Contains(got, "stats") {
		t.Errorf("!help does not list snooze and stats: %q", got)
	}
}
