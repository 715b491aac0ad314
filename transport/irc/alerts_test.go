// SPDX-License-Identifier: GPL-3.0-or-later

package irc_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/internal/irctest"
	"github.com/ksecbot/ksecbot/internal/memnet"
	"github.com/ksecbot/ksecbot/transport"
	"github.com/ksecbot/ksecbot/transport/irc"
)

// An IRC channel the bot is banned from (kicked, the rejoin refused with
// 474 again and again) is told once to the private channels of every
// network: here the IRC private channel and a private channel on a second
// network (memnet, standing for the security team's Matrix room), never
// to a public channel of either; after the unban each private channel
// gets one "back in" line.
func TestBannedChannelAlertsEveryNetworksPrivateChannels(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	ch, priv := irctest.RandName("#aban"), irctest.RandName("#asec")
	op := irctest.NewObserver(t, s.Addr, irctest.Options{})
	op.Join(t, ch, "")
	op.Join(t, priv, "")
	mem := memnet.NewServer()
	team := memnet.New(mem, []chat.Channel{{Name: "#kernel-security", Private: true}, {Name: "#gentoo-kernel"}})
	opt := irc.Options{KickDelay: 200 * time.Millisecond, JoinRetryMin: 300 * time.Millisecond, JoinRetryMax: time.Second}
	cb := startCoreBotWith(t, s.Addr, lenient, opt, []transport.Transport{team},
		irc.Channel{Name: priv, Private: true}, irc.Channel{Name: ch})
	op.WaitFor(t, 20*time.Second, "bot JOIN "+ch, irctest.From("JOIN", cb.nick, ch))

	if err := op.Conn.Send("MODE", ch, "+b", cb.nick+"!*@*"); err != nil {
		t.Fatal(err)
	}
	if err := op.Conn.Send("KICK", ch, cb.nick, "alert test"); err != nil {
		t.Fatal(err)
	}
	cannot, back := "cannot join "+ch+" on irc", "back in "+ch+" on irc"
	until(t, 30*time.Second, "the alert in the other network's private channel", func() bool {
		return countIn(mem.Posted("#kernel-security"), cannot) > 0
	})
	until(t, 30*time.Second, "JOIN refused three more times", func() bool { return cb.log.count("join refused again", ch) >= 3 })
	if err := op.Conn.Send("MODE", ch, "-b", cb.nick+"!*@*"); err != nil {
		t.Fatal(err)
	}
	op.WaitFor(t, 30*time.Second, "bot JOIN after the unban", irctest.From("JOIN", cb.nick, ch))
	until(t, 30*time.Second, "the recovery line in the other network's private channel", func() bool {
		return countIn(mem.Posted("#kernel-security"), back) > 0
	})
	op.Until(t, 30*time.Second, "the recovery line in the IRC private channel", func([]ircmsg.Message) bool {
		return countIn(botLines(op, cb.nick, priv), back) > 0
	})

	got := mem.Posted("#kernel-security")
	if countIn(got, cannot) != 1 || countIn(got, back) != 1 {
		t.Errorf("the other network's private channel got %q, want one alert and one recovery line", got)
	}
	for _, l := range got {
		if strings.Contains(l, cannot) && !strings.Contains(l, "banned (474") && !strings.Contains(l, "unban the bot") {
			t.Errorf("the alert does not say what is wrong and what to do: %q", l)
		}
	}
	if got := mem.Posted("#gentoo-kernel"); len(got) != 0 {
		t.Errorf("the other network's public channel got %q", got)
	}
	ircPriv := botLines(op, cb.nick, priv)
	if countIn(ircPriv, cannot) != 1 || countIn(ircPriv, back) != 1 {
		t.Errorf("the IRC private channel got %q, want one alert and one recovery line", ircPriv)
	}
	if got := botLines(op, cb.nick, ch); len(got) != 0 {
		t.Errorf("the public IRC channel got %q", got)
	}
	if n := cb.log.count("cannot join channel", ch); n != 1 {
		t.Errorf("the refused join was logged %d times at ERROR, want once", n)
	}
}

func countIn(lines []string, sub string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}
