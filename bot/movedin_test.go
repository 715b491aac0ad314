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

// A wrangler moves old bugs from Gentoo Security/Vulnerabilities into the
// watched Kernel component after the baseline: the open ones are announced
// once per channel as moved in, with the trees' highlights and auto-CC like
// a new bug; a restricted one is withheld in the public channel; a closed
// one announces nothing.
func TestBugMovedIntoWatchAnnounced(t *testing.T) {
	h := newHarness(t, "")
	botInSecurityGroup(h)
	filed := time.Now().Add(-75 * time.Hour)
	vuln := func(nb bugzillatest.NewBug) int {
		nb.Component, nb.Created = "Vulnerabilities", filed
		return h.srv.CreateBug(nb)
	}
	open := vuln(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: out-of-bounds write in io_uring", Whiteboard: "B2 [upstream]"})
	closed := vuln(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: fixed long ago", Status: "RESOLVED"})
	secret := vuln(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: use-after-free in net/sched", Whiteboard: "A1 [embargoed]", Groups: []string{"security"}})

	rec := newRecorder("test", "#kernel-security", "#gentoo-kernel")
	b, _ := h.start(rec)
	waitPolls(t, b, 1)
	for _, id := range []int{open, closed, secret} {
		h.srv.UpdateBug(id, func(bug *bugzillatest.Bug) { bug.Component = "Kernel" })
	}

	const priv, pub = "test:#kernel-security", "test:#gentoo-kernel"
	key := func(id int, ch string) string { return fmt.Sprintf("announce/%d/%s", id, ch) }
	rec.waitFor(t, 10*time.Second, "the moved-in bugs announced in both channels", func(m []chat.Outgoing) bool {
		return count(m, key(open, priv)) == 1 && count(m, key(open, pub)) == 1 &&
			count(m, key(secret, priv)) == 1 && count(m, key(secret, pub)) == 1
	})
	waitPolls(t, b, int(b.Intake.Watcher().Stats().Polls)+3)

	rec.mu.Lock()
	sent := append([]chat.Outgoing(nil), rec.sent...)
	rec.mu.Unlock()
	for _, m := range sent {
		line := strings.Join(m.Plain("irc"), " ")
		t.Logf("%s: %s", m.Key, line)
		for _, id := range m.BugIDs {
			if id == closed {
				t.Errorf("a closed bug moved into the watch was announced: %q", line)
			}
		}
		switch m.Key {
		case key(open, priv), key(open, pub):
			want := fmt.Sprintf("Bug %d moved into Gentoo Security/Kernel (filed 3d ago) [B2]: ", open)
			if !strings.Contains(line, want) || !strings.Contains(line, "out-of-bounds write in io_uring") ||
				!strings.Contains(line, "hardened: blueness zorry") || strings.HasPrefix(line, "New") {
				t.Errorf("announcement %q should say %q, the summary, and highlight the hardened maintainers", line, want)
			}
		case key(secret, priv):
			if !strings.Contains(line, fmt.Sprintf("Bug %d moved into Gentoo Security/Kernel", secret)) ||
				!strings.Contains(line, "use-after-free") || !strings.Contains(line, "hardened: blueness zorry") {
				t.Errorf("the private channel should get the restricted bug in full: %q", line)
			}
		case key(secret, pub):
			if !strings.Contains(line, "details withheld") {
				t.Errorf("the public channel should get the withheld line: %q", line)
			}
			for _, s := range secretsOf {
				if strings.Contains(line, s) {
					t.Errorf("the public channel got %q of a restricted bug: %q", s, line)
				}
			}
		}
	}
	for _, k := range []string{key(open, priv), key(open, pub), key(secret, priv), key(secret, pub)} {
		if n := count(sent, k); n != 1 {
			t.Errorf("%s sent %d times, want once", k, n)
		}
	}
	waitUntil(t, 5*time.Second, "auto-CC of the moved-in bug", func() bool {
		bug, _ := h.srv.Bug(open)
		return contains(bug.CC, "kernel@gentoo.org") && contains(bug.CC, "hardened@gentoo.org")
	})
	if bug, _ := h.srv.Bug(closed); contains(bug.CC, "hardened@gentoo.org") || contains(bug.CC, "kernel@gentoo.org") {
		t.Errorf("the closed bug was auto-CC'd: %v", bug.CC)
	}
}
