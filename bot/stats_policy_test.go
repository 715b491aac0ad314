// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
)

// TestStatsPerTreeOnlyInPrivate: which trees were CC'd can tell which tree
// a restricted bug concerns, so !stats gives per-tree CC times only in
// private channels.
func TestStatsPerTreeOnlyInPrivate(t *testing.T) {
	h := newHarness(t, "")
	rec := newRecorder("test", "#gentoo-security", "#gentoo-kernel")
	b, _ := h.start(rec)
	waitPolls(t, b, 1)
	priv, pub := rec.channels[0], rec.channels[1]
	if !priv.Private || pub.Private {
		t.Fatalf("channels %+v", rec.channels)
	}
	id := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: overflow"})
	rec.waitFor(t, 5*time.Second, "the announcement", func(m []chat.Outgoing) bool {
		return count(m, fmt.Sprintf("announce/%d/test:#gentoo-security", id)) == 1
	})
	n := 0
	waitUntil(t, 10*time.Second, "per-tree CC times in the private channel", func() bool {
		n++
		return strings.Contains(ask(t, b.Live.Router(), priv, chat.Identity{Network: "test", Nick: fmt.Sprint("p", n)}, "!stats"), "To CC per tree: gentoo-sources")
	})
	got := ask(t, b.Live.Router(), pub, chat.Identity{Network: "test", Nick: "watcher"}, "!stats")
	if strings.Contains(got, "gentoo-sources") || !strings.Contains(got, "private channels only") {
		t.Errorf("!stats in a public channel = %q, want no per-tree figures", got)
	}
}
