// SPDX-License-Identifier: GPL-3.0-or-later

package e2eirc

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/e2e/e2etest"
	"github.com/ksecbot/ksecbot/internal/irctest"
)

// 3. The IRC server dies (own instance) while a bug is filed: ksecbot
// reconnects with backoff, rejoins, and announces that bug exactly once.
func TestServerOutageAnnouncesOnce(t *testing.T) {
	t.Parallel()
	irctest.Need(t)
	srv := irctest.StartServer(t, irctest.ServerOptions{})
	addr := srv.Addr
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	ch := randName("#e2e-out")
	obs := newObserver(t, addr, "", "observer")
	obs.Join(t, ch, "")
	bot := startBot(t, fastFlood(newConfig(t, bz, addr, ch)), "--log-level", "debug")
	bot.ready(t, obs, ch)

	srv.Run(t, "stop-ircd")
	down := bot.Log.WaitFor(t, 10*time.Second, 0, "the disconnect", e2etest.Contains("msg=\"disconnected, reconnecting\" component=irc"))
	id := bz.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: filed while IRC was down"})
	polled := bot.Log.WaitFor(t, 10*time.Second, down, "the poll that stored the new bug", e2etest.Contains("poll stored bugs"))
	t.Logf("IRC server killed; bug %d filed and stored by ksecbot while disconnected", id)

	// Let the backoff grow until the next attempt is far enough away for a
	// fresh observer to connect and join first (else it could miss the line).
	var delays []time.Duration
	next := polled
	for {
		i := bot.Log.WaitFor(t, 30*time.Second, next, "a reconnect with a longer delay", e2etest.Contains("reconnecting"))
		d, ok := irctest.ReconnectDelay(bot.Log.Lines()[i])
		if !ok {
			t.Fatalf("cannot read the delay of %q", bot.Log.Lines()[i])
		}
		delays = append(delays, d)
		next = i + 1
		if d >= 3*time.Second {
			break
		}
	}
	all := allDelays(bot.Log.Lines())
	t.Logf("reconnect delays so far: %v", all)
	for i := 1; i < len(all); i++ {
		if all[i] < all[i-1]/2 {
			t.Errorf("backoff does not grow: %v", all)
		}
	}
	if len(all) > 8 {
		t.Errorf("%d reconnect attempts within the outage: a storm, not a backoff", len(all))
	}

	srv.Run(t, "start-ircd")
	obs2 := newObserver(t, addr, "", "")
	if err := obs2.Conn.Join(ch); err != nil {
		t.Fatal(err)
	}
	names, _ := obs2.WaitFor(t, 10*time.Second, "NAMES of "+ch, func(m ircmsg.Message) bool { return m.Command == "353" })
	if strings.Contains(strings.ToLower(names.Params[len(names.Params)-1]), strings.ToLower(bot.nick)) {
		t.Fatalf("ksecbot was back in %s before the observer (delays %v): the test cannot see the line", ch, delays)
	}
	obs2.WaitFor(t, 30*time.Second, "ksecbot rejoining "+ch, from("JOIN", bot.nick, ch))
	t.Logf("ksecbot reconnected and rejoined %s", ch)
	first, _ := obs2.WaitFor(t, 15*time.Second, fmt.Sprintf("the announcement of bug %d", id),
		privmsgFrom(bot.nick, ch, fmt.Sprintf("bug %d:", id)))
	t.Logf("delivered after the outage: %q", plainText(first.Params[1]))

	// A second bug after the reconnect: once it is announced, any repeat
	// of the first (the outbox is in order) would have come already.
	id2 := bz.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: filed after the reconnect"})
	_, between := obs2.WaitFor(t, 15*time.Second, fmt.Sprintf("the announcement of bug %d", id2),
		privmsgFrom(bot.nick, ch, fmt.Sprintf("bug %d:", id2)))
	for _, m := range between {
		if privmsgFrom(bot.nick, ch, fmt.Sprintf("bug %d:", id))(m) {
			t.Errorf("bug %d announced again: %q", id, m.Params[1])
		}
	}
	if n := bot.Log.Count("msg=connected component=irc"); n != 2 {
		t.Errorf("ksecbot connected %d times, want 2 (start and one reconnect)", n)
	}
}

func allDelays(lines []string) []time.Duration {
	var out []time.Duration
	for _, l := range lines {
		if d, ok := irctest.ReconnectDelay(l); ok {
			out = append(out, d)
		}
	}
	return out
}

// 4. A burst of bugs through the whole bot on the strict port (Libera-like
// flood limits) with the default flood settings: every line arrives, in
// order, and ksecbot is never disconnected.
func TestBurstOnStrictServer(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	if s.Strict == "" {
		t.Fatal("KSECBOT_IRC_STRICT_ADDR not set")
	}
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	ch := randName("#e2e-burst")
	obs := newObserver(t, s.Addr, "", "observer")
	obs.Join(t, ch, "")
	c := newConfig(t, bz, s.Strict, ch)
	c.DigestAfter = 0
	bot := startBot(t, c)
	bot.ready(t, obs, ch)

	const n = 10
	var ids []int
	for i := range n {
		ids = append(ids, bz.CreateBug(bugzillatest.NewBug{Summary: fmt.Sprintf("sys-kernel/gentoo-sources: burst bug %02d", i)}))
	}
	start := time.Now()
	var got []int
	for len(got) < n {
		m, _ := obs.WaitFor(t, 20*time.Second, fmt.Sprintf("announcement %d of %d", len(got)+1, n), func(m ircmsg.Message) bool {
			return strings.EqualFold(m.Nick(), bot.nick) && (m.Command == "PRIVMSG" || m.Command == "QUIT" || m.Command == "PART")
		})
		if m.Command != "PRIVMSG" {
			t.Fatalf("ksecbot left after %d lines: %s %q", len(got), m.Command, m.Params)
		}
		var id int
		if _, err := fmt.Sscanf(plainText(m.Params[1]), "New kernel security bug %d:", &id); err != nil {
			t.Fatalf("unexpected line %q", m.Params[1])
		}
		got = append(got, id)
	}
	elapsed := time.Since(start)
	for i := range ids {
		if got[i] != ids[i] {
			t.Fatalf("announcements in order %v, want %v", got, ids)
		}
	}
	t.Logf("%d announcements on the strict port in %v (default flood: burst 4, one line per 2 s), in order", n, elapsed.Round(time.Millisecond))
	if c := bot.Log.Count("msg=connected component=irc"); c != 1 || bot.Log.Count("reconnecting") != 0 {
		t.Errorf("ksecbot was disconnected during the burst (%d connects)", c)
	}
}
