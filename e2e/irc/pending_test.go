// SPDX-License-Identifier: GPL-3.0-or-later

package e2eirc

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/internal/irctest"
)

// !pending hardened lists the bugs that concern hardened and still need
// it, not another tree's; !mine lists the caller's bugs; a bad argument is
// named in the answer. As a person in the channel sees it.
func TestPendingTreeAndMine(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	hardened := bz.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: overflow in the stack protector"})
	other := bz.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: leak in ext4"})
	mine := bz.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: alice's own", AssignedTo: "alice@gentoo.org"})
	ch := randName("#e2e-pend")
	obs := newObserver(t, s.Addr, "", "observer")
	obs.Join(t, ch, "")
	c := fastFlood(newConfig(t, bz, s.Addr, ch))
	c.Extra = linkedUsers
	bot := startBot(t, c)
	bot.ready(t, obs, ch)
	// the catch-up announces them first: wait, so that replies are not
	// taken for announcements
	for _, id := range []int{hardened, other, mine} {
		obs.WaitFor(t, 10*time.Second, fmt.Sprintf("announcement of bug %d", id), privmsgFrom(bot.nick, ch, fmt.Sprintf("bug %d", id)))
	}
	obs.Drain()

	ask := func(cmd, want string) string {
		t.Helper()
		obs.Say(t, ch, cmd)
		m, _ := obs.WaitFor(t, 10*time.Second, cmd+" reply", func(m ircmsg.Message) bool {
			return privmsgFrom(bot.nick, ch)(m) && strings.Contains(plainText(m.Params[1]), want)
		})
		return plainText(m.Params[1])
	}
	got := ask("!pending hardened", fmt.Sprintf("Bug %d (", hardened))
	t.Logf("!pending hardened: %q", got)
	got = ask("!mine", fmt.Sprintf("Bug %d (", mine))
	if !strings.Contains(got, "alice's own") {
		t.Errorf("!mine = %q, want bug %d with its summary", got, mine)
	}
	t.Logf("!mine: %q", got)
	// every line of the !pending answer came before the !mine answer
	if obs.ArrivedAt(privmsgFrom(bot.nick, ch, fmt.Sprintf("Bug %d (", other))) != (time.Time{}) {
		t.Errorf("!pending hardened listed bug %d, which names gentoo-sources only", other)
	}
	got = ask("!bug ３", "is not a bug number")
	if want := "'３' is not a bug number: write it with the digits 0-9; usage: !bug <id>."; got != want {
		t.Errorf("!bug ３ = %q, want %q", got, want)
	}
	t.Logf("!bug ３: %q", got)
}
