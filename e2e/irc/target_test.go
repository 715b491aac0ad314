// SPDX-License-Identifier: GPL-3.0-or-later

package e2eirc

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/internal/irctest"
)

// Write targets on the real IRC server: after two announcements within a
// minute a bare !claim asks which bug, naming both, and Bugzilla gets no
// PUT; a !claim sent as a reply to the first announcement (the client's
// +draft/reply tag with the announcement's msgid) claims that bug, not
// the newer one.
func TestClaimWithoutNumber(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	ch := randName("#e2e-which")
	obs := newObserver(t, s.Addr, "", "observer")
	obs.Join(t, ch, "")
	c := fastFlood(newConfig(t, bz, s.Addr, ch))
	c.Extra = linkedUsers
	bot := startBot(t, c)
	bot.ready(t, obs, ch)

	var ids []int
	var msgids []string
	for i, summary := range []string{"sys-kernel/gentoo-sources: use-after-free in nf_tables", "sys-kernel/hardened-sources: overflow in ext4"} {
		id := bz.CreateBug(bugzillatest.NewBug{Summary: summary})
		m, _ := obs.WaitFor(t, 10*time.Second, fmt.Sprintf("announcement %d", i+1), privmsgFrom(bot.nick, ch, fmt.Sprintf("bug %d", id)))
		_, msgid := m.GetTag("msgid")
		if msgid == "" {
			t.Fatalf("announcement %q has no msgid: the server gives none", m.Params[1])
		}
		ids, msgids = append(ids, id), append(msgids, msgid)
	}
	puts := func() int {
		n := 0
		for _, r := range bz.Requests() {
			if r.Method == "PUT" {
				n++
			}
		}
		return n
	}
	before := puts()

	obs.Say(t, ch, "!claim")
	m, _ := obs.WaitFor(t, 10*time.Second, "the bare !claim's reply", privmsgFrom(bot.nick, ch, "Which bug?"))
	txt := plainText(m.Params[1])
	// The bot may not have the second announcement's echo yet when the
	// command comes (the observer saw the line first): it then asks
	// because a bug is being announced, naming the confirmed one.
	want := fmt.Sprintf("Which bug? %d, %d", ids[1], ids[0])
	flying := fmt.Sprintf("Which bug? %d — A bug is being announced here right now", ids[0])
	if !strings.Contains(txt, want) && !strings.Contains(txt, flying) || !strings.Contains(txt, "Nothing was changed") {
		t.Errorf("bare !claim reply %q, want it to ask %q (or %q) and say nothing was changed", txt, want, flying)
	}
	if n := puts() - before; n != 0 {
		t.Errorf("the bare !claim made %d PUT requests to Bugzilla, want none", n)
	}
	for _, id := range ids {
		if b, _ := bz.Bug(id); b.AssignedTo != "security@gentoo.org" {
			t.Errorf("bug %d is assigned to %q after the bare !claim, want it unchanged", id, b.AssignedTo)
		}
	}
	t.Logf("bare !claim after two announcements: %q; %d PUT requests", txt, puts()-before)

	if err := obs.Conn.SendWithTags(map[string]string{"+draft/reply": msgids[0]}, "PRIVMSG", ch, "!claim"); err != nil {
		t.Fatal(err)
	}
	m, _ = obs.WaitFor(t, 10*time.Second, "the reply !claim's answer", privmsgFrom(bot.nick, ch, "Claimed"))
	txt = plainText(m.Params[1])
	if !strings.Contains(txt, "bug "+strconv.Itoa(ids[0])) {
		t.Errorf("reply !claim answered %q, want bug %d claimed", txt, ids[0])
	}
	first, _ := bz.Bug(ids[0])
	second, _ := bz.Bug(ids[1])
	if first.AssignedTo != "alice@gentoo.org" || second.AssignedTo != "security@gentoo.org" {
		t.Errorf("after the reply !claim: bug %d assigned to %q (want alice@gentoo.org), bug %d to %q (want unchanged)",
			ids[0], first.AssignedTo, ids[1], second.AssignedTo)
	}
	if n := puts() - before; n != 1 {
		t.Errorf("%d PUT requests in all, want the reply !claim's one", n)
	}
	t.Logf("!claim in reply to the announcement of bug %d (msgid %s): %q", ids[0], msgids[0], txt)
}
