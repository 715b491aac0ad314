// SPDX-License-Identifier: GPL-3.0-or-later

package e2eirc

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/e2e/e2etest"
	"github.com/ksecbot/ksecbot/internal/irctest"
)

// ccAdds counts the history entries of a bug that added login to CC.
func ccAdds(b bugzillatest.Bug, login string) int {
	n := 0
	for _, h := range b.History {
		for _, c := range h.Changes {
			if c.Field == "cc" && slices.Contains(strings.Split(c.Added, ", "), login) {
				n++
			}
		}
	}
	return n
}

// TestRestrictedAutoCC: auto-CC on a restricted bug adds only [announce]
// restricted_auto_cc logins; the private channel is told which were held
// back; when the bug becomes public, the held-back logins are added, once.
func TestRestrictedAutoCC(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	// The bot's account is in the embargo group, or it would never see the bug.
	bz.AddUser(bugzillatest.User{Login: "ksecbot@gentoo.org", RealName: "ksecbot", APIKey: "key-ksecbot", Groups: []string{"editbugs", "security"}})
	obs := newObserver(t, s.Addr, "", "observer")
	private, public := randName("#e2e-sec"), randName("#e2e-pub")
	obs.Join(t, private, "")
	obs.Join(t, public, "")
	c := fastFlood(newConfig(t, bz, s.Addr, private, public))
	c.IRC.Private = []string{private}
	c.AutoCC = []string{"admin@gentoo.org"}
	c.RestrictedAutoCC = []string{"admin@gentoo.org"}
	c.Trees = []e2etest.Tree{
		{Name: "hardened", Packages: []string{"sys-kernel/hardened-sources"}, AutoCC: true,
			Bugzilla: []string{"hardened@gentoo.org"}, IRC: []string{"blueness", "zorry"}},
	}
	bot := startBot(t, c)
	bot.ready(t, obs, private, public)

	id := bz.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: embargoed local root in io_uring",
		Groups: []string{"security"}, Whiteboard: "A1 [embargoed]"})
	obs.WaitFor(t, 15*time.Second, "the full announcement in the private channel",
		privmsgFrom(bot.nick, private, fmt.Sprintf("bug %d", id), "embargoed local root"))
	m, _ := obs.WaitFor(t, 15*time.Second, "the held-back notice in the private channel",
		privmsgFrom(bot.nick, private, fmt.Sprintf("Bug %d", id), "not CC'd while restricted"))
	txt := plainText(m.Params[1])
	if !strings.Contains(txt, "hardened@") || strings.Contains(txt, "admin@") || !strings.Contains(txt, "a security member can !cc after review") {
		t.Errorf("held-back notice %q should name hardened@ (held), not admin@ (CC'd)", txt)
	}
	t.Logf("private channel got: %q", txt)
	waitBug(t, bz, id, "admin@gentoo.org in CC (restricted_auto_cc)", func(b bugzillatest.Bug) bool {
		return slices.Contains(b.CC, "admin@gentoo.org")
	})
	if b, _ := bz.Bug(id); slices.Contains(b.CC, "hardened@gentoo.org") {
		t.Fatalf("hardened@gentoo.org CC'd on the restricted bug: CC %v", b.CC)
	}

	// The embargo ends: the bug is made public.
	bz.UpdateBug(id, func(b *bugzillatest.Bug) { b.Groups = nil; b.Whiteboard = "A1" })
	waitBug(t, bz, id, "hardened@gentoo.org CC'd once the bug is public", func(b bugzillatest.Bug) bool {
		return slices.Contains(b.CC, "hardened@gentoo.org")
	})
	// Barrier: a later public bug's auto-CC is done, so a repeat of the
	// held-back one would have happened by now.
	next := bz.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: public follow-up"})
	waitBug(t, bz, next, "auto-CC of the next bug", func(b bugzillatest.Bug) bool {
		return slices.Contains(b.CC, "hardened@gentoo.org") && slices.Contains(b.CC, "admin@gentoo.org")
	})
	b, _ := bz.Bug(id)
	if n := ccAdds(b, "hardened@gentoo.org"); n != 1 {
		t.Errorf("hardened@gentoo.org added %d times, want once", n)
	}
	if n := ccAdds(b, "admin@gentoo.org"); n != 1 {
		t.Errorf("admin@gentoo.org added %d times, want once", n)
	}
	for _, hm := range obs.History() {
		if hm.Command == "PRIVMSG" && len(hm.Params) > 1 && hm.Params[0] == public && strings.Contains(hm.Params[1], "not CC'd") {
			t.Errorf("the public channel got the held-back notice: %q", hm.Params[1])
		}
	}
}

// waitBug polls the test Bugzilla until cond holds for bug id.
func waitBug(t *testing.T, bz *bugzillatest.Server, id int, what string, cond func(bugzillatest.Bug) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := bz.Bug(id)
		if cond(b) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; bug %d CC %v", what, id, b.CC)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
