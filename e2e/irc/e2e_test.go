// SPDX-License-Identifier: GPL-3.0-or-later

package e2eirc

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/internal/irctest"
)

// linkedUsers links the observer's services account to alice@gentoo.org
// and carol's to bob@gentoo.org, both maintainers.
const linkedUsers = `
[[user]]
bugzilla = "alice@gentoo.org"
irc_account = "observer"
roles = ["maintainer"]

[[user]]
bugzilla = "bob@gentoo.org"
irc_account = "carol"
roles = ["maintainer"]
`

// 1. SASL, two channels (one +k), a new bug announced in both with only
// the named tree's maintainers highlighted.
func TestAnnounceNewBugInTwoChannels(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	obs := newObserver(t, s.Addr, "", "observer")
	open, keyed := randName("#e2e-open"), randName("#e2e-key")
	obs.Join(t, open, "")
	key := randName("k3y")
	obs.Join(t, keyed, key)
	c := newConfig(t, bz, s.Addr, open, keyed)
	c.IRC.ChannelKeys = map[string]string{keyed: key}
	bot := startBot(t, c)
	bot.ready(t, obs, open, keyed)
	t.Logf("ksecbot joined %s and the +k channel %s, logged in by SASL as ksecbot", open, keyed)

	id := bz.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: use-after-free in net/sched", Severity: "major"})
	for _, ch := range []string{open, keyed} {
		m, _ := obs.WaitFor(t, 10*time.Second, fmt.Sprintf("announcement of bug %d in %s", id, ch),
			privmsgFrom(bot.nick, ch, fmt.Sprintf("bug %d", id)))
		txt := plainText(m.Params[1])
		if !strings.Contains(txt, "hardened: blueness zorry") {
			t.Errorf("%s: %q does not highlight the hardened maintainers", ch, txt)
		}
		if strings.Contains(txt, "mpagano") || strings.Contains(txt, "alicef") {
			t.Errorf("%s: %q highlights gentoo-sources, which the bug does not name", ch, txt)
		}
		if !strings.Contains(txt, "use-after-free in net/sched") || !strings.Contains(txt, "show_bug.cgi?id="+strconv.Itoa(id)) {
			t.Errorf("%s: %q lacks the summary or the link", ch, txt)
		}
		if _, acct := m.GetTag("account"); acct != "ksecbot" {
			t.Errorf("%s: the announcement carries account %q, want ksecbot", ch, acct)
		}
		t.Logf("%s got: %q", ch, txt)
	}
}

// 2. !pending and !whoami in the channel and in private; replies come back
// where they were asked; a client using a linked account's nick without
// being logged in is not taken for that account.
func TestCommandsAndIdentity(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	pending := bz.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: stack overflow in ext4 (pending example)"})
	ch := randName("#e2e-cmd")
	obs := newObserver(t, s.Addr, "", "observer")
	obs.Join(t, ch, "")
	c := fastFlood(newConfig(t, bz, s.Addr, ch))
	c.Extra = linkedUsers
	bot := startBot(t, c)
	bot.ready(t, obs, ch)

	want := strconv.Itoa(pending)
	tests := []struct {
		name   string
		to     string // where the observer sends it
		text   string
		replTo string // where the reply must arrive
		want   []string
	}{
		{"pending in channel", ch, "!pending", ch, []string{"pending example", "Bug " + want}},
		{"whoami in channel", ch, "!whoami", ch, []string{"observer", "login alice;", "maintainer"}}, // no e-mail address in public
		{"pending in private", bot.nick, "!pending", obs.Nick(), []string{"pending example", "Bug " + want}},
		{"whoami in private", bot.nick, "!whoami", obs.Nick(), []string{"observer", "login alice;", "maintainer"}}, // a private message is not a private channel
	}
	for _, tc := range tests {
		obs.Say(t, tc.to, tc.text)
		// every wanted word: the catch-up announcement of the same bug
		// may arrive meanwhile
		m, _ := obs.WaitFor(t, 10*time.Second, tc.name+" reply", privmsgFrom(bot.nick, "", tc.want...))
		txt := plainText(m.Params[1])
		if !strings.EqualFold(m.Params[0], tc.replTo) {
			t.Errorf("%s: reply went to %s, want %s", tc.name, m.Params[0], tc.replTo)
		}
		for _, w := range tc.want {
			if !strings.Contains(txt, w) {
				t.Errorf("%s: reply %q lacks %q", tc.name, txt, w)
			}
		}
		t.Logf("%s: reply to %s: %q", tc.name, m.Params[0], txt)
	}

	// carol is a services account linked to bob@gentoo.org; this client
	// takes the nick carol without logging in.
	imp := newObserver(t, s.Addr, "carol", "")
	if imp.Nick() != "carol" {
		t.Fatalf("the impostor got nick %q, want carol (is another client using it?)", imp.Nick())
	}
	imp.Join(t, ch, "")
	before, _ := bz.Bug(pending)
	imp.Say(t, ch, "!whoami")
	m, _ := imp.WaitFor(t, 10*time.Second, "impostor !whoami reply", privmsgFrom(bot.nick, ch, "carol"))
	if txt := plainText(m.Params[1]); !strings.Contains(txt, "not identified") || strings.Contains(txt, "bob@gentoo.org") {
		t.Errorf("impostor !whoami = %q, want 'not identified' and no Bugzilla login", txt)
	} else {
		t.Logf("impostor !whoami: %q", txt)
	}
	for _, target := range []string{ch, bot.nick} {
		imp.Say(t, target, "!claim "+want)
		replyTo := ch
		if target == bot.nick {
			replyTo = "carol"
		}
		m, _ := imp.WaitFor(t, 10*time.Second, "impostor !claim reply", privmsgFrom(bot.nick, replyTo, "Sorry"))
		if txt := plainText(m.Params[1]); !strings.Contains(txt, "not identified") {
			t.Errorf("impostor !claim in %s = %q, want a refusal naming services identification", target, txt)
		} else {
			t.Logf("impostor !claim in %s refused: %q", target, txt)
		}
	}
	after, _ := bz.Bug(pending)
	if after.AssignedTo != before.AssignedTo || len(after.Comments) != len(before.Comments) || len(after.History) != len(before.History) {
		t.Errorf("the impostor's !claim changed the bug: assignee %q -> %q, comments %d -> %d",
			before.AssignedTo, after.AssignedTo, len(before.Comments), len(after.Comments))
	} else {
		t.Logf("bug %d unchanged in Bugzilla: assigned to %s", pending, after.AssignedTo)
	}
}

// 7. A linked maintainer claims, CCs a tree and unclaims from the channel;
// Bugzilla changes accordingly and the replies name the result.
func TestActFromChat(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	ch := randName("#e2e-act")
	obs := newObserver(t, s.Addr, "", "observer")
	obs.Join(t, ch, "")
	c := fastFlood(newConfig(t, bz, s.Addr, ch))
	c.Extra = linkedUsers
	bot := startBot(t, c)
	bot.ready(t, obs, ch)
	id := bz.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: out-of-bounds write in io_uring"})
	obs.WaitFor(t, 10*time.Second, "the announcement", privmsgFrom(bot.nick, ch, fmt.Sprintf("bug %d", id)))
	n := strconv.Itoa(id)

	tests := []struct {
		cmd   string
		reply []string
		check func(b bugzillatest.Bug) error
	}{
		{"!claim " + n, []string{"Claimed", "bug " + n, "assigned to alice."}, func(b bugzillatest.Bug) error {
			if b.AssignedTo != "alice@gentoo.org" {
				return fmt.Errorf("assignee %q, want alice@gentoo.org", b.AssignedTo)
			}
			return lastComment(b, "Claimed", "observer")
		}},
		{"!cc hardened " + n, []string{"CC'd on", "bug " + n, ": hardened ", "blueness", "zorry"}, func(b bugzillatest.Bug) error {
			if !hasString(b.CC, "hardened@gentoo.org") {
				return fmt.Errorf("CC %v lacks hardened@gentoo.org", b.CC)
			}
			return nil
		}},
		{"!unclaim " + n, []string{"Unclaimed", "bug " + n}, func(b bugzillatest.Bug) error {
			if b.AssignedTo != "security@gentoo.org" {
				return fmt.Errorf("assignee %q, want the component default security@gentoo.org", b.AssignedTo)
			}
			return lastComment(b, "Unclaimed", "observer")
		}},
	}
	for _, tc := range tests {
		obs.Say(t, ch, tc.cmd)
		m, _ := obs.WaitFor(t, 10*time.Second, tc.cmd+" reply", privmsgFrom(bot.nick, ch, tc.reply[0]))
		txt := plainText(m.Params[1])
		for _, w := range tc.reply {
			if !strings.Contains(txt, w) {
				t.Errorf("%s: reply %q lacks %q", tc.cmd, txt, w)
			}
		}
		b, _ := bz.Bug(id)
		if err := tc.check(b); err != nil {
			t.Errorf("%s: Bugzilla: %v", tc.cmd, err)
		}
		t.Logf("%s: reply %q; Bugzilla: assignee %s, CC %v, %d comments", tc.cmd, txt, b.AssignedTo, b.CC, len(b.Comments))
	}
}

func lastComment(b bugzillatest.Bug, want ...string) error {
	if len(b.Comments) < 2 {
		return fmt.Errorf("no comment was added")
	}
	c := b.Comments[len(b.Comments)-1].Text
	for _, w := range want {
		if !strings.Contains(c, w) {
			return fmt.Errorf("last comment %q lacks %q", c, w)
		}
	}
	return nil
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// 5. Hostile summaries become exactly one well-formed PRIVMSG each (or the
// documented wrapped continuation), and ksecbot stays connected.
func TestHostileSummaries(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	ch := randName("#e2e-hos")
	obs := newObserver(t, s.Addr, "", "observer")
	obs.Join(t, ch, "")
	c := fastFlood(newConfig(t, bz, s.Addr, ch))
	c.DigestAfter = 0
	bot := startBot(t, c)
	bot.ready(t, obs, ch)

	hostile := []struct{ name, summary, want string }{
		{"CR/LF QUIT", "x\r\nQUIT :pwned\r\nPRIVMSG #x :y", "QUIT :pwned PRIVMSG #x :y"},
		{"CTCP DCC", "\x01DCC SEND evil 0 0 0\x01", "DCC SEND evil 0 0 0"},
		{"600 bytes multibyte", strings.Repeat("ä€😀", 67), "ä€😀ä€😀"},
		{"formatting codes", "\x0304red\x03 \x02bold\x0f \x1funderline\x16", "red bold underline"},
		{"NUL", "nul\x00byte", "nul"},
		{"invalid UTF-8", "bad\xff\xfebytes", "bytes"},
	}
	ids := map[int]string{}
	var order []int
	for _, h := range hostile {
		id := bz.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: " + h.summary})
		ids[id] = h.name
		order = append(order, id)
	}
	last := order[len(order)-1]
	lastLine, seen := obs.WaitFor(t, 30*time.Second, "the last hostile announcement", privmsgFrom(bot.nick, ch, fmt.Sprintf("bug %d", last)))
	// the last announcement may itself wrap: read until 2 s of silence
	seen = append(seen, lastLine)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		m, _, _, err := obs.Next(ctx, func(ircmsg.Message) bool { return true })
		cancel()
		if err != nil {
			break
		}
		seen = append(seen, m)
	}
	lines := map[int][]string{}
	cur := 0
	for _, m := range seen {
		if !strings.EqualFold(m.Nick(), bot.nick) {
			continue
		}
		if m.Command != "PRIVMSG" || len(m.Params) != 2 || m.Params[0] != ch {
			t.Fatalf("observer saw %s %q from ksecbot, want only PRIVMSGs to %s", m.Command, m.Params, ch)
		}
		txt := m.Params[1]
		if wire := len(m.Source) + len(" PRIVMSG  :") + len(ch) + len(txt) + 3; wire > 512 {
			t.Errorf("a line of %d bytes on the wire (limit 512)", wire)
		}
		if !utf8.ValidString(txt) {
			t.Errorf("invalid UTF-8 in %q", txt)
		}
		for _, r := range txt {
			if (r < 0x20 && r != 0x02) || r == 0x7f {
				t.Errorf("control character %U in %q", r, txt)
			}
		}
		if strings.HasPrefix(plainText(txt), "New kernel security bug ") {
			f := strings.Fields(strings.TrimPrefix(plainText(txt), "New kernel security bug "))
			cur, _ = strconv.Atoi(strings.TrimSuffix(f[0], ":"))
		}
		if _, ok := ids[cur]; !ok {
			t.Fatalf("a line that belongs to no hostile bug: %q", txt)
		}
		lines[cur] = append(lines[cur], plainText(txt))
	}
	for i, id := range order {
		h := hostile[i]
		got := lines[id]
		maxLines := 1
		if h.name == "600 bytes multibyte" {
			maxLines = 4 // transport/irc.MaxWrapLines: wrapped, never a second command
		}
		if len(got) == 0 || len(got) > maxLines {
			t.Errorf("%s: bug %d became %d PRIVMSGs, want 1..%d: %q", h.name, id, len(got), maxLines, got)
			continue
		}
		if all := strings.Join(got, ""); !strings.Contains(all, h.want) {
			t.Errorf("%s: %q lacks %q", h.name, all, h.want)
		}
		t.Logf("%s: bug %d -> %d PRIVMSG(s): %q", h.name, id, len(got), got)
	}
	if n := bot.Log.Count("msg=connected component=irc"); n != 1 {
		t.Errorf("ksecbot connected %d times, want 1 (it was disconnected)", n)
	}
}

// 6. A wrong SASL password on the only network: no network can run, so
// ksecbot exits with the configuration status (78) and one clear error,
// after exactly one connection attempt.
func TestWrongSASLPassword(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	c := newConfig(t, bz, s.Addr, randName("#e2e-pw"))
	c.IRC.SASLPassword = "not-the-password"
	bot := startBot(t, c)
	start := time.Now()
	err := bot.waitExit(t, 30*time.Second)
	if err == nil {
		t.Fatal("ksecbot exited 0 after a rejected SASL password")
	}
	t.Logf("ksecbot exited after %v: %v", time.Since(start).Round(time.Millisecond), err)
	if err.Error() != "exit status 78" {
		t.Errorf("ksecbot ended with %v, want exit status 78 (a configuration problem)", err)
	}
	logs := bot.Log.Lines()
	final := logs[len(logs)-1]
	if !strings.HasPrefix(final, "ksecbot: ") || !strings.Contains(strings.ToLower(final), "sasl") {
		t.Errorf("last stderr line %q should be the error naming SASL", final)
	}
	errors := 0
	for _, l := range logs {
		if strings.Contains(l, "not-the-password") {
			t.Errorf("the password leaked into the log: %q", l)
		}
		if strings.Contains(l, "level=ERROR") || strings.HasPrefix(l, "ksecbot: ") {
			errors++
		}
	}
	if errors != 1 {
		t.Errorf("%d error lines, want exactly one", errors)
	}
	if n := bot.Log.Count("reconnecting"); n != 0 {
		t.Errorf("%d reconnect attempts after a permanent SASL failure, want 0", n)
	}
	t.Logf("final error line: %q", final)
}
