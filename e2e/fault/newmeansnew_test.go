// SPDX-License-Identifier: GPL-3.0-or-later

package fault

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/e2e/e2etest"
)

// TestCommentOnClosedNeverSeenBug: a comment on a closed bug ksecbot never saw (an old RESOLVED
// FIXED kernel bug) announces nothing as new, highlights no one and
// auto-CCs nothing; a bug filed afterwards is announced and auto-CC'd.
func TestCommentOnClosedNeverSeenBug(t *testing.T) {
	t.Parallel()
	addr := e2etest.Env(t, ircHint, "KSECBOT_IRC_ADDR")[0]
	b := startIRCBot(t, addr, func(c *e2etest.Config) {
		c.PollInterval = 300 * time.Millisecond
		c.AutoCC = []string{"hardened@gentoo.org"}
	})
	// Filed and fixed a month ago: older than the cursor, never seen.
	old := b.bz.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: fixed a month ago",
		Status: "RESOLVED", Created: time.Now().Add(-30 * 24 * time.Hour)})
	b.bz.UpdateBug(old, func(bg *bugzillatest.Bug) {
		bg.Comments = append(bg.Comments, bugzillatest.Comment{Creator: "alice@gentoo.org", Text: "does this affect 6.12 too?", Time: time.Now()})
	})
	from := len(b.proc.Log.Lines())
	b.proc.Log.WaitFor(t, 20*time.Second, from, "a poll that stored the commented bug", e2etest.Contains("poll stored bugs"))

	fresh := fileBugs(b.bz, 1, "filed after the comment")
	b.obs.waitBugs(t, 20*time.Second, fresh)
	deadline := time.Now().Add(20 * time.Second)
	for {
		bug, _ := b.bz.Bug(fresh[0])
		if slices.Contains(bug.CC, "hardened@gentoo.org") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bug %d was not auto-CC'd: CC %v", fresh[0], bug.CC)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := b.obs.counts()[old]; n != 0 {
		t.Errorf("the closed, never-seen bug %d was announced %d times: %q", old, n, b.obs.lineOf(old))
	}
	for _, r := range b.bz.Requests() {
		if r.Method == "PUT" && r.Path == fmt.Sprintf("/rest/bug/%d", old) {
			t.Errorf("ksecbot wrote to the closed bug %d (%s %s)", old, r.Method, r.Path)
		}
	}
	if bug, _ := b.bz.Bug(old); slices.Contains(bug.CC, "hardened@gentoo.org") {
		t.Errorf("the closed bug %d was auto-CC'd: CC %v", old, bug.CC)
	}
	t.Logf("bug %d (new) announced and auto-CC'd; bug %d (closed, commented) silent: %v", fresh[0], old, b.obs.lines())
}
