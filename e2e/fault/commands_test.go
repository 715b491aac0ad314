// SPDX-License-Identifier: GPL-3.0-or-later

package fault

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
	b.obs.WaitFor(t, 60*time.Second, "the claim's result", botSays(nick, ch, fmt.Sprintf("Claimed: bug %d is now assigned to alice@gentoo.org", id)))
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
