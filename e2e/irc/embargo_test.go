// SPDX-License-Identifier: GPL-3.0-or-later

package e2eirc

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/e2e/e2etest"
	"github.com/ksecbot/ksecbot/internal/irctest"
)

// embargoBugzilla is a Bugzilla test server where ksecbot's account is in
// the security group, as the operator must set it up: otherwise it never
// sees restricted bugs at all.
func embargoBugzilla(t *testing.T) *bugzillatest.Server {
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	bz.AddUser(bugzillatest.User{Login: "ksecbot@gentoo.org", RealName: "ksecbot", Groups: []string{"editbugs", "security"},
		APIKey: "key-ksecbot", Password: "password-ksecbot"})
	return bz
}

// embargoConfig: ksecbot in a private channel and a public one; the
// hardened tree's maintainer is the observer (so a highlight is a line
// with the observer's nick in it).
func embargoConfig(t *testing.T, bz *bugzillatest.Server, addr, maintainer, private, public string) e2etest.Config {
	c := fastFlood(newConfig(t, bz, addr, private, public))
	c.IRC.Private = []string{private}
	c.Trees = []e2etest.Tree{
		{Name: "gentoo-sources", Packages: []string{"sys-kernel/gentoo-sources"}, Bugzilla: []string{"kernel@gentoo.org"}, IRC: []string{"mpagano"}},
		{Name: "hardened", Packages: []string{"sys-kernel/hardened-sources"}, Bugzilla: []string{"hardened@gentoo.org"}, IRC: []string{maintainer}},
	}
	return c
}

// checkEmbargo checks what the maintainer sees of restricted bug id: the
// whole announcement with the highlight in the private channel, and in
// the public one exactly the withheld line, with no tree and no nick.
func checkEmbargo(t *testing.T, obs *irctest.Observer, botNick string, id int, summary, private, public string) {
	t.Helper()
	m, _ := obs.WaitFor(t, 30*time.Second, fmt.Sprintf("bug %d in %s", id, private), privmsgFrom(botNick, private, fmt.Sprintf("bug %d", id)))
	full := plainText(m.Params[1])
	if !strings.Contains(full, summary) || !strings.Contains(full, "hardened: "+obs.Nick()) {
		t.Errorf("private channel got %q, want the summary and the hardened maintainer %s highlighted", full, obs.Nick())
	}
	m, _ = obs.WaitFor(t, 30*time.Second, fmt.Sprintf("bug %d in %s", id, public), privmsgFrom(botNick, public, fmt.Sprintf("bug %d", id)))
	withheld := plainText(m.Params[1])
	want := fmt.Sprintf("New restricted kernel security bug %d, details withheld https://bugs.gentoo.org/show_bug.cgi?id=%d", id, id)
	if withheld != want {
		t.Errorf("public channel got %q, want %q", withheld, want)
	}
	for _, secret := range []string{summary, "hardened", obs.Nick(), "mpagano", "gentoo-sources"} {
		if strings.Contains(strings.ToLower(withheld), strings.ToLower(secret)) {
			t.Errorf("public line %q contains %q", withheld, secret)
		}
	}
	t.Logf("private: %q", full)
	t.Logf("public:  %q", withheld)
}

// A restricted bug: the private channel gets it in full with the
// maintainers highlighted, the public channel only "details withheld",
// naming no tree and highlighting no one.
func TestRestrictedBugPrivateFullPublicWithheld(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	bz := embargoBugzilla(t)
	maint := randName("mnt")
	obs := newObserver(t, s.Addr, maint, "observer")
	private, public := randName("#e2e-sec"), randName("#e2e-pub")
	obs.Join(t, private, "")
	obs.Join(t, public, "")
	bot := startBot(t, embargoConfig(t, bz, s.Addr, maint, private, public))
	bot.ready(t, obs, private, public)

	summary := "sys-kernel/hardened-sources: embargoed use-after-free in af_packet"
	// The log (info level) never holds a restricted bug's summary.
	bot.Log.Forbid("embargoed use-after-free in af_packet")
	id := bz.CreateBug(bugzillatest.NewBug{Summary: summary, Whiteboard: "A2 [embargoed]", Groups: []string{"security"}})
	checkEmbargo(t, obs, bot.nick, id, summary, private, public)
}

// A bug filed public while the IRC server is down and restricted before
// ksecbot reconnects goes out withheld in the public channel: the outbox
// holds an intent, rendered when it is sent.
func TestQueuedDuringOutageThenRestrictedArrivesWithheld(t *testing.T) {
	t.Parallel()
	irctest.Need(t)
	srv := irctest.StartServer(t, irctest.ServerOptions{})
	addr := srv.Addr
	bz := embargoBugzilla(t)
	maint := randName("mnt")
	private, public := randName("#e2e-sec"), randName("#e2e-pub")
	obs := newObserver(t, addr, "", "observer")
	obs.Join(t, private, "")
	bot := startBot(t, embargoConfig(t, bz, addr, maint, private, public), "--log-level", "debug")
	bot.ready(t, obs, private)

	srv.Run(t, "stop-ircd")
	down := bot.Log.WaitFor(t, 10*time.Second, 0, "the disconnect", e2etest.Contains("msg=\"disconnected, reconnecting\" component=irc"))
	summary := "sys-kernel/hardened-sources: overflow found public, then embargoed"
	id := bz.CreateBug(bugzillatest.NewBug{Summary: summary, Whiteboard: "B2"})
	queued := bot.Log.WaitFor(t, 10*time.Second, down, "the announcements queued", e2etest.Contains("queued announcements"))
	// Restricted a minute later by Bugzilla's clock (its times have
	// one-second precision).
	bz.SetNow(func() time.Time { return time.Now().Add(time.Minute) })
	bz.UpdateBug(id, func(b *bugzillatest.Bug) { b.Groups = []string{"security"} })
	restricted := bot.Log.WaitFor(t, 10*time.Second, queued, "the restriction read by ksecbot", e2etest.Contains("queued announcements"))
	t.Logf("bug %d filed public and queued while IRC was down, then restricted (ksecbot read the change)", id)

	// Let the backoff grow so the observer is back in both channels before
	// ksecbot (else it could miss the lines).
	next := restricted
	for {
		i := bot.Log.WaitFor(t, 60*time.Second, next, "a reconnect with a longer delay", e2etest.Contains("reconnecting"))
		d, ok := irctest.ReconnectDelay(bot.Log.Lines()[i])
		if !ok {
			t.Fatalf("cannot read the delay of %q", bot.Log.Lines()[i])
		}
		next = i + 1
		if d >= 3*time.Second {
			break
		}
	}
	srv.Run(t, "start-ircd")
	obs2 := newObserver(t, addr, maint, "")
	for _, ch := range []string{private, public} {
		if err := obs2.Conn.Join(ch); err != nil {
			t.Fatal(err)
		}
		names, _ := obs2.WaitFor(t, 10*time.Second, "NAMES of "+ch, func(m ircmsg.Message) bool { return m.Command == "353" && m.Params[2] == ch })
		if strings.Contains(strings.ToLower(names.Params[len(names.Params)-1]), strings.ToLower(bot.nick)) {
			t.Fatalf("ksecbot was back in %s before the observer: the test cannot see the line", ch)
		}
	}
	checkEmbargo(t, obs2, bot.nick, id, summary, private, public)
}

// A channel made public by a SIGHUP reload gets withheld lines from then
// on, without a reconnect: the deliverer renders each line with the
// channel as configured when it is sent.
func TestChannelMadePublicByReloadGetsWithheldLines(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	bz := embargoBugzilla(t)
	maint := randName("mnt")
	obs := newObserver(t, s.Addr, maint, "observer")
	ch, other := randName("#e2e-sec"), randName("#e2e-pub")
	obs.Join(t, ch, "")
	obs.Join(t, other, "")
	c := embargoConfig(t, bz, s.Addr, maint, ch, other)
	bot := startBot(t, c)
	bot.ready(t, obs, ch, other)

	summary := "sys-kernel/hardened-sources: embargoed bug seen while the channel is private"
	id := bz.CreateBug(bugzillatest.NewBug{Summary: summary, Groups: []string{"security"}})
	m, _ := obs.WaitFor(t, 30*time.Second, fmt.Sprintf("bug %d in %s", id, ch), privmsgFrom(bot.nick, ch, fmt.Sprintf("bug %d", id)))
	if got := plainText(m.Params[1]); !strings.Contains(got, summary) || !strings.Contains(got, "hardened: "+maint) {
		t.Fatalf("while private, %s got %q, want the bug in full", ch, got)
	}

	// The operator makes the channel public and reloads.
	c.IRC.Private = nil
	from := len(bot.Log.Lines())
	c.Write(t)
	if err := bot.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	bot.Log.WaitFor(t, 10*time.Second, from, "the reload", e2etest.Contains("configuration reloaded"))

	summary2 := "sys-kernel/hardened-sources: embargoed bug filed after the reload"
	id2 := bz.CreateBug(bugzillatest.NewBug{Summary: summary2, Groups: []string{"security"}})
	checkWithheld := func(channel string) {
		m, _ := obs.WaitFor(t, 30*time.Second, fmt.Sprintf("bug %d in %s", id2, channel), privmsgFrom(bot.nick, channel, fmt.Sprintf("bug %d", id2)))
		want := fmt.Sprintf("New restricted kernel security bug %d, details withheld https://bugs.gentoo.org/show_bug.cgi?id=%d", id2, id2)
		if got := plainText(m.Params[1]); got != want {
			t.Errorf("after the reload, %s got %q, want %q", channel, got, want)
		}
	}
	checkWithheld(ch)
	checkWithheld(other)
	if n := bot.Log.Count("msg=connected component=irc"); n != 1 {
		t.Errorf("ksecbot connected %d times, want once (a reload does not reconnect)", n)
	}
}
