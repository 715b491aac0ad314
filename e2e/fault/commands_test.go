// SPDX-License-Identifier: GPL-3.0-or-later

package fault

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/e2e/e2etest"
	"github.com/ksecbot/ksecbot/internal/irctest"
)

// botSays matches a line of the bot in the channel containing every one
// of want.
func botSays(nick, channel string, want ...string) func(ircmsg.Message) bool {
	return func(m ircmsg.Message) bool {
		if (m.Command != "PRIVMSG" && m.Command != "NOTICE") || !strings.EqualFold(m.Nick(), nick) ||
			len(m.Params) < 2 || !strings.EqualFold(m.Params[0], channel) {
			return false
		}
		txt := irctest.PlainText(m.Params[1])
		for _, w := range want {
			if !strings.Contains(txt, w) {
				return false
			}
		}
		return true
	}
}

// countMatching counts the observer's messages matching pred.
func countMatching(o *irctest.Observer, pred func(ircmsg.Message) bool) int {
	n := 0
	for _, m := range o.History() {
		if pred(m) {
			n++
		}
	}
	return n
}

// Bugzilla hangs on a !claim: !help and !pending from another user are
// answered meanwhile, the caller is told Bugzilla is slow, and the claim's
// result is posted when Bugzilla answers.
func TestHungClaimDoesNotHoldUpCommands(t *testing.T) {
	t.Parallel()
	addr := e2etest.Env(t, ircHint, "KSECBOT_IRC_ADDR")[0]
	b := startIRCBot(t, addr, func(c *e2etest.Config) {
		c.Timeout = 2 * time.Minute // the hang outlasts the test's part of it
		c.Extra = "[commands]\nslow_after = \"3s\"\n\n[[user]]\nbugzilla = \"alice@gentoo.org\"\nirc_account = \"alice\"\nroles = [\"security\"]\n"
	})
	ch, nick := b.obs.channel, b.cfg.IRC.Nick
	alice := irctest.NewObserver(t, addr, irctest.Options{Nick: randName("alice"), Account: "alice"})
	alice.Join(t, ch, "")
	bob := irctest.NewObserver(t, addr, irctest.Options{Nick: randName("bob")})
	bob.Join(t, ch, "")

	id := fileBugs(b.bz, 1, "the claim of this bug hangs")[0]
	b.obs.waitBugs(t, 30*time.Second, []int{id})

	b.bz.SetFault(bugzillatest.Fault{Mode: bugzillatest.FaultHang, Path: fmt.Sprintf("/rest/bug/%d", id)})
	log := b.proc.Log
	from := len(b.bz.Requests())
	alice.Say(t, ch, fmt.Sprintf("!claim %d", id))
	hangUntil := time.Now().Add(30 * time.Second)
	for !hasRequest(b.bz, from, fmt.Sprintf("/rest/bug/%d", id)) {
		if time.Now().After(hangUntil) {
			t.Fatal("the claim never reached Bugzilla")
		}
		time.Sleep(50 * time.Millisecond) // polling the fake Bugzilla's request log
	}
	hung := time.Now()

	bob.Say(t, ch, "!help")
	sentHelp := time.Now()
	_, _ = b.obs.WaitFor(t, 20*time.Second, "the answer to !help", botSays(nick, ch, "!pending", "!claim"))
	helpTook := time.Since(sentHelp)
	bob.Say(t, ch, "!pending")
	sentPending := time.Now()
	_, _ = b.obs.WaitFor(t, 20*time.Second, "the answer to !pending", botSays(nick, ch, fmt.Sprintf("Bug %d (", id)))
	pendingTook := time.Since(sentPending)
	if n := countMatching(b.obs.Observer, botSays(nick, ch, "Claimed")); n != 0 {
		t.Fatal("the claim has a result although Bugzilla hangs")
	}
	if got, _ := b.bz.Bug(id); got.AssignedTo == "alice@gentoo.org" {
		t.Fatal("the bug is assigned already: Bugzilla did not hang")
	}
	t.Logf("while the claim hangs in Bugzilla: !help answered in %v, !pending in %v", helpTook.Round(time.Millisecond), pendingTook.Round(time.Millisecond))

	b.obs.WaitFor(t, 30*time.Second, "the claim's slow notice", botSays(nick, ch, "Bugzilla is slow, I will tell you when it is done"))
	t.Logf("slow notice %v after the claim reached Bugzilla", time.Since(hung).Round(time.Millisecond))
	b.bz.ClearFault() // Bugzilla answers at last
	cleared := time.Now()
	b.obs.WaitFor(t, 60*time.Second, "the claim's result", botSays(nick, ch, fmt.Sprintf("Claimed: bug %d is now assigned to", id)))
	t.Logf("claim result posted %v after Bugzilla answered (hang lasted %v)", time.Since(cleared).Round(time.Millisecond), cleared.Sub(hung).Round(time.Millisecond))
	if got, _ := b.bz.Bug(id); got.AssignedTo != "alice@gentoo.org" {
		t.Errorf("bug %d assigned to %q, want alice@gentoo.org", id, got.AssignedTo)
	}
	if n := log.Count("write command slow, caller told"); n != 1 {
		t.Errorf("%d log lines about the slow write, want 1", n)
	}
}

// hasRequest reports whether the fake Bugzilla got a request for path
// since request number from.
func hasRequest(bz *bugzillatest.Server, from int, path string) bool {
	reqs := bz.Requests()
	for _, r := range reqs[min(from, len(reqs)):] {
		if r.Path == path {
			return true
		}
	}
	return false
}

// A flood of commands from 10 unidentified users (10 hosts) while ksecbot
// is on the strict (Libera-like) port with the default flood settings:
// every command is counted (accepted, busy or over the limit, adding up
// with ksecbot_commands_total); every accepted command is answered or its
// answer dropped as too late (ksecbot_command_replies_expired_total), so
// the flood's answers hold the channel for about a minute, not for
// minutes; a sender hears "busy" or "slow down" at most once per window;
// a bug filed during the flood is announced (the delay is logged:
// announcements go before replies); the bot stays connected.
func TestCommandFloodOnStrictServer(t *testing.T) {
	t.Parallel()
	addrs := e2etest.Env(t, ircHint, "KSECBOT_IRC_ADDR", "KSECBOT_IRC_STRICT_ADDR")
	addr, strict := addrs[0], addrs[1]
	listen := freeAddr(t)
	b := startIRCBot(t, strict, func(c *e2etest.Config) {
		c.IRC.FloodBurst, c.IRC.FloodInterval = 0, 0 // the defaults: burst 4, one line per 2 s
		c.PollInterval = 300 * time.Millisecond
		c.Extra = fmt.Sprintf("[http]\nlisten = %q\n", listen)
	})
	ch, nick := b.obs.channel, b.cfg.IRC.Nick

	const users, each = 10, 10
	var flooders []*irctest.Observer
	for u := range users {
		o := irctest.NewObserver(t, addr, irctest.Options{Nick: randName(fmt.Sprintf("fl%d_", u)), LocalIP: fmt.Sprintf("127.0.0.%d", 20+u)})
		o.Join(t, ch, "")
		flooders = append(flooders, o)
	}
	from := len(b.obs.History())
	start := time.Now()
	for i := range each {
		for _, o := range flooders {
			if err := o.Conn.Privmsg(ch, "!pending"); err != nil {
				t.Fatalf("flooder %d command %d: %v", i, each, err)
			}
		}
	}
	// Every command has reached ksecbot when the counters add up.
	var counts map[string]float64
	deadline := time.Now().Add(60 * time.Second)
	for {
		counts = scrapeMetric(t, listen, "ksecbot_commands_total", "result")
		if counts["accepted"]+counts["busy"]+counts["limited"] >= users*each {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s ksecbot counted %v of %d commands", counts, users*each)
		}
		time.Sleep(100 * time.Millisecond) // polling /metrics
	}
	lastCommand := time.Now()
	id := fileBugs(b.bz, 1, "filed during a command flood")[0]
	filed := time.Now()
	b.obs.waitBugs(t, 2*time.Minute, []int{id})
	announcedAt := b.obs.firstAt([]int{id})
	t.Logf("bug %d filed %v after the flood began, announced %v after it was filed (poll interval 300 ms)",
		id, filed.Sub(start).Round(time.Millisecond), announcedAt.Sub(filed).Round(time.Millisecond))

	accepted, busy, limited := int(counts["accepted"]), int(counts["busy"]), int(counts["limited"])
	if accepted+busy+limited != users*each {
		t.Fatalf("ksecbot counted %d accepted + %d busy + %d limited, want %d commands", accepted, busy, limited, users*each)
	}
	if counts["unanswered"] != 0 {
		t.Errorf("%v busy or slow-down replies could not be queued", counts["unanswered"])
	}
	isBot := func(m ircmsg.Message) bool {
		return (m.Command == "PRIVMSG" || m.Command == "NOTICE") && strings.EqualFold(m.Nick(), nick) &&
			len(m.Params) >= 2 && strings.EqualFold(m.Params[0], ch)
	}
	type line struct {
		at  time.Time
		txt string
	}
	var answers, notices []line
	tally := func() {
		answers, notices = nil, nil
		msgs, ats := b.obs.Arrivals()
		for i, m := range msgs[from:] {
			if !isBot(m) {
				continue
			}
			l := line{ats[from+i], irctest.PlainText(m.Params[1])}
			switch {
			case strings.Contains(l.txt, "New kernel security bug"):
			case strings.Contains(l.txt, "busy, try again in a minute"), strings.Contains(l.txt, "slow down"):
				notices = append(notices, l)
			default:
				answers = append(answers, l)
			}
		}
	}
	// Settled: every accepted command's answer went out or was dropped.
	var expired map[string]float64
	b.obs.Until(t, 3*time.Minute, "every answer of the flood sent or dropped as too late", func([]ircmsg.Message) bool {
		tally()
		expired = scrapeMetric(t, listen, "ksecbot_command_replies_expired_total", "reply")
		return len(answers)+int(expired["answer"]) >= accepted
	})
	if got := len(answers) + int(expired["answer"]); got != accepted {
		t.Errorf("%d answers sent + %v dropped as too late, want one for each of the %d accepted commands", len(answers), expired["answer"], accepted)
	}
	// Nothing begins to go out later than a minute after its command; a
	// line already on its way finishes (the strict server's pace: a line
	// per 2 s at worst), so the last one is out within about 70 s.
	var last time.Time
	for _, l := range append(answers, notices...) {
		if l.at.After(last) {
			last = l.at
		}
	}
	if held := last.Sub(lastCommand); held > 75*time.Second {
		t.Errorf("the flood's last reply came %v after the last command, want within about a minute", held.Round(time.Second))
	}
	// "busy" and "slow down": at most one per sender per 30 s window (the
	// lines do not name their sender, so counted over the whole flood).
	if windows := int(last.Sub(start)/(30*time.Second)) + 1; len(notices) > users*windows {
		t.Errorf("%d busy/slow-down lines in %v, want at most one per sender per 30 s (%d)", len(notices), last.Sub(start).Round(time.Second), users*windows)
	}
	// How many replies came after the announcement (it overtook them).
	later, seen := 0, false
	for _, m := range b.obs.History()[from:] {
		if !isBot(m) {
			continue
		}
		if n, ok := bugOf(m.Params[1]); ok && n == id {
			seen = true
		} else if seen {
			later++
		}
	}
	t.Logf("%d commands from %d hosts: %d accepted (%d answered, %v dropped as too late), %d busy, %d over the limit; %d notices sent, %v dropped; last reply %v after the last command, %d replies after the announcement",
		users*each, users, accepted, len(answers), expired["answer"], busy, limited, len(notices), expired["notice"], last.Sub(lastCommand).Round(time.Millisecond), later)
	if busy == 0 || limited == 0 {
		t.Errorf("the flood neither filled the queue (busy %d) nor hit the limit (limited %d)", busy, limited)
	}
	if c := b.proc.Log.Count("msg=connected component=irc"); c != 1 || b.proc.Log.Count("reconnecting") != 0 {
		t.Errorf("ksecbot was disconnected during the flood (%d connects)", c)
	}
}

// freeAddr returns a free 127.0.0.1 TCP address.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// scrapeMetric reads a counter from /metrics, summed by one label.
func scrapeMetric(t *testing.T, listen, name, label string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + listen + "/metrics")
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, l := range strings.Split(string(body), "\n") {
		series, val, ok := strings.Cut(l, " ")
		if !ok || !strings.HasPrefix(series, name+"{") {
			continue
		}
		_, rest, ok := strings.Cut(series, label+`="`)
		if !ok {
			continue
		}
		key, _, _ := strings.Cut(rest, `"`)
		if v, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			out[key] += v
		}
	}
	return out
}
