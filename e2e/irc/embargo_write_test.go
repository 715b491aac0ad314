// SPDX-License-Identifier: GPL-3.0-or-later

package e2eirc

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/internal/irctest"
)

// emailRe finds an e-mail address in a line.
var emailRe = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)

// writes returns the requests of bz that change something (not GET).
func writes(bz *bugzillatest.Server) []bugzillatest.Request {
	var out []bugzillatest.Request
	for _, r := range bz.Requests() {
		if r.Method != "GET" {
			out = append(out, r)
		}
	}
	return out
}

// TestEmbargoWrites: the write policy end to end, with the built binary on
// the real IRC server. A maintainer (listed in a tree, no security role)
// is refused !claim and !cc on a restricted bug and !cc of an outside
// login on a public one, and the Bugzilla test server records no write; a
// security member's !cc on the restricted bug goes through. !bug in a
// public channel shows no e-mail address.
func TestEmbargoWrites(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	// The bot's Bugzilla account is in the embargo group, as the docs ask.
	bz.AddUser(bugzillatest.User{Login: "ksecbot@gentoo.org", RealName: "ksecbot", APIKey: "key-ksecbot", Groups: []string{"editbugs", "security"}})
	bz.AddUser(bugzillatest.User{Login: "eve@example.com", RealName: "Eve"})

	maint, _ := irctest.Register(t, s.Addr, "ewm")
	sec, _ := irctest.Register(t, s.Addr, "ews")
	pub, priv := randName("#e2e-ewpub"), randName("#e2e-ewsec")
	m := newObserver(t, s.Addr, maint, maint) // logged in to the maintainer's account
	x := newObserver(t, s.Addr, sec, sec)     // the security member
	for _, o := range []*irctest.Observer{m, x} {
		o.Join(t, pub, "")
		o.Join(t, priv, "")
	}
	c := fastFlood(newConfig(t, bz, s.Addr, pub))
	// kernel@gentoo.org is gentoo-sources' login: the maintainer is a
	// tree maintainer by that, with no role of their own.
	c.Extra = fmt.Sprintf(`
[[irc.channel]]
name = %q
private = true

[[user]]
bugzilla = "kernel@gentoo.org"
irc_account = %q

[[user]]
bugzilla = "security@gentoo.org"
irc_account = %q
roles = ["security"]
`, priv, maint, sec)
	bot := startBot(t, c)
	bot.ready(t, m, pub, priv)

	restricted := bz.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: embargoed flaw in af_packet", Severity: "critical",
		Groups: []string{"security"}})
	public := bz.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: public flaw in ext4", Severity: "major"})
	for _, id := range []int{restricted, public} {
		m.WaitFor(t, 15*time.Second, fmt.Sprintf("announcement of bug %d in %s", id, priv), privmsgFrom(bot.nick, priv, fmt.Sprintf("bug %d", id)))
	}
	before := writes(bz)
	rb, _ := bz.Bug(restricted)
	pb, _ := bz.Bug(public)

	// ask says text in ch as o and returns the bot's reply that contains want.
	ask := func(o *irctest.Observer, ch, text, want string) string {
		t.Helper()
		o.Say(t, ch, text)
		msg, _ := o.WaitFor(t, 15*time.Second, text+" reply", func(msg ircmsg.Message) bool {
			return from("PRIVMSG", bot.nick, ch)(msg) && strings.Contains(plainText(msg.Params[1]), want)
		})
		txt := plainText(msg.Params[1])
		t.Logf("%s says %q in %s: %q", o.Nick(), text, ch, txt)
		return txt
	}
	r, p := strconv.Itoa(restricted), strconv.Itoa(public)
	ask(m, priv, "!claim "+r, "restricted")
	ask(m, priv, "!cc hardened "+r, "restricted")
	ask(m, pub, "!cc eve@example.com "+p, "may !cc only")
	ask(m, priv, "!unclaim "+r, "restricted")
	if w := writes(bz); len(w) != len(before) {
		t.Fatalf("Bugzilla recorded writes for refused commands: %v", w[len(before):])
	}
	if b, _ := bz.Bug(restricted); b.AssignedTo != rb.AssignedTo || !sameStrings(b.CC, rb.CC) || len(b.Comments) != len(rb.Comments) {
		t.Errorf("restricted bug changed by refused commands: assignee %q -> %q, CC %v -> %v", rb.AssignedTo, b.AssignedTo, rb.CC, b.CC)
	}
	if b, _ := bz.Bug(public); !sameStrings(b.CC, pb.CC) {
		t.Errorf("public bug CC changed by a refused !cc: %v -> %v", pb.CC, b.CC)
	}
	t.Logf("refused: no Bugzilla write recorded (%d writes before and after)", len(before))

	// The security member's !cc of the same tree on the restricted bug is written.
	ask(x, priv, "!cc hardened "+r, "CC'd on")
	w := writes(bz)
	if len(w) != len(before)+1 || w[len(w)-1].Method != "PUT" || w[len(w)-1].Path != "/rest/bug/"+r {
		t.Errorf("security !cc: writes %v, want one PUT /rest/bug/%s", w[len(before):], r)
	}
	if b, _ := bz.Bug(restricted); !hasString(b.CC, "hardened@gentoo.org") {
		t.Errorf("security !cc: CC %v lacks hardened@gentoo.org", b.CC)
	}

	// !bug in the public channel: the assignee and CC as login names, no
	// e-mail address; in the private channel the addresses.
	txt := ask(m, pub, "!bug "+p, "Bug "+p)
	if e := emailRe.FindString(txt); e != "" {
		t.Errorf("!bug in a public channel shows the e-mail address %q: %q", e, txt)
	}
	if !strings.Contains(txt, "assigned to security") || !strings.Contains(txt, "CC kernel") {
		t.Errorf("!bug in a public channel = %q, want assignee and CC as login names", txt)
	}
	// (asked by the other user: the maintainer's command allowance, 5 in
	// a burst, is spent)
	if txt := ask(x, priv, "!bug "+p, "Bug "+p); !strings.Contains(txt, "security@gentoo.org") {
		t.Errorf("!bug in the private channel = %q, want the assignee's address", txt)
	}
}

// TestHostileSummaryPingsNobody: a summary that names the members of the
// channel as words, in punctuation and behind a crafted prefix pings none
// of them (checked as WeeChat, irssi and HexChat match a nick: a whole
// word); each whole-word nick got one chat.NoPing after its first letter,
// and every other byte is as Bugzilla has it ("x<nick>" is another word).
func TestHostileSummaryPingsNobody(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	ch := randName("#e2e-ping")
	a := newObserver(t, s.Addr, randName("ana"), "")
	b := newObserver(t, s.Addr, randName("ben"), "")
	a.Join(t, ch, "")
	b.Join(t, ch, "")
	c := fastFlood(newConfig(t, bz, s.Addr, ch))
	bot := startBot(t, c)
	bot.ready(t, a, ch)
	nicks := []string{a.Nick(), b.Nick()}
	summary := fmt.Sprintf("sys-kernel/hardened-sources: %s %s: ping %s, x%s <%s> (%s) @%s", nicks[0], nicks[1], nicks[0], nicks[1], nicks[0], nicks[1], nicks[0])
	id := bz.CreateBug(bugzillatest.NewBug{Summary: summary})
	for _, o := range []*irctest.Observer{a, b} {
		msg, _ := o.WaitFor(t, 15*time.Second, "the announcement", privmsgFrom(bot.nick, ch, fmt.Sprintf("bug %d", id)))
		raw := msg.Params[1]
		for _, n := range nicks {
			if client := irctest.Highlighter(raw, n); client != "" {
				t.Errorf("%s received %q: %s would highlight %s", o.Nick(), raw, client, n)
			}
		}
		if txt := plainText(raw); !strings.Contains(txt, summary) || !strings.Contains(txt, "hardened: blueness zorry") {
			t.Errorf("%s received %q: want the summary as written and the hardened highlight", o.Nick(), txt)
		}
		if n := strings.Count(raw, string(chat.NoPing)); n != 6 {
			t.Errorf("%s received %q: %d characters added, want one in each of the 6 whole-word nicks", o.Nick(), raw, n)
		}
		if !strings.Contains(raw, "x"+nicks[1]) {
			t.Errorf("%s received %q: x%s is not as written", o.Nick(), raw, nicks[1])
		}
		t.Logf("%s received %q", o.Nick(), raw)
	}
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
