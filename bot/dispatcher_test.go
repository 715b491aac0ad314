// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bot"
	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/internal/fakeclock"
	"github.com/ksecbot/ksecbot/transport"
)

// say hands a message to the bot as a transport's read loop would.
func say(b *bot.Bot, t transport.Transport, ch chat.Channel, who chat.Identity, id, text string) {
	b.Commands.Receive(context.Background(), t, chat.Incoming{Channel: ch, Target: ch.Name, Sender: who, Text: text, ID: id})
}

// replyTo returns the plain text of the messages replying to message id
// (key "reply/<id>" and its "/slow", "/busy", "/slow-down" variants).
func replyTo(msgs []chat.Outgoing, id string) []string {
	var out []string
	for _, m := range msgs {
		if m.Key == "reply/"+id || strings.HasPrefix(m.Key, "reply/"+id+"/") {
			out = append(out, strings.Join(m.Plain("irc"), " / "))
		}
	}
	return out
}

// Bugzilla hangs on a !claim: another user's !help and !pending are
// answered meanwhile, the caller is told Bugzilla is slow, and the claim's
// result is posted when Bugzilla answers.
func TestCommandsDoNotWaitForAHungClaim(t *testing.T) {
	h := newHarness(t, `
[commands]
slow_after = "1s"

[[user]]
bugzilla = "alice@gentoo.org"
irc_account = "alice"
roles = ["security"]
`)
	id := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: the claim of this bug hangs"})
	rec := newRecorder("irc", "#gentoo-kernel")
	b, _ := h.start(rec)
	waitPolls(t, b, 1)
	ch := rec.channels[0]
	alice := chat.Identity{Network: "irc", Account: "alice", Nick: "alice"}
	bob := chat.Identity{Network: "irc", Nick: "bob", Host: "bob.example.net"}

	h.srv.SetFault(bugzillatest.Fault{Mode: bugzillatest.FaultHang, Path: fmt.Sprintf("/rest/bug/%d", id)})
	before := requestsFor(h.srv, id)
	say(b, rec, ch, alice, "claim", fmt.Sprintf("!claim %d", id))
	waitUntil(t, 10*time.Second, "the claim's request to reach Bugzilla", func() bool { return requestsFor(h.srv, id) > before })
	hung := time.Now()

	say(b, rec, ch, bob, "help", "!help")
	say(b, rec, ch, bob, "pending", "!pending")
	msgs := rec.waitFor(t, 10*time.Second, "the answers to !help and !pending", func(m []chat.Outgoing) bool {
		return len(replyTo(m, "help")) > 0 && len(replyTo(m, "pending")) > 0
	})
	t.Logf("!help and !pending answered %v after the claim hung in Bugzilla", time.Since(hung).Round(time.Millisecond))
	for _, r := range replyTo(msgs, "claim") {
		if !strings.Contains(r, "Bugzilla is slow") {
			t.Fatalf("the claim has a result although Bugzilla hangs: %q", r)
		}
	}
	if got, _ := h.srv.Bug(id); got.AssignedTo == "alice@gentoo.org" {
		t.Fatal("the bug is already assigned: Bugzilla did not hang")
	}
	if r := replyTo(msgs, "pending"); !strings.Contains(r[0], fmt.Sprint(id)) {
		t.Errorf("!pending does not list bug %d: %q", id, r)
	}

	msgs = rec.waitFor(t, 10*time.Second, "the claim's slow notice", func(m []chat.Outgoing) bool { return len(replyTo(m, "claim")) > 0 })
	if r := replyTo(msgs, "claim"); len(r) != 1 || !strings.Contains(r[0], "Bugzilla is slow, I will tell you when it is done") {
		t.Fatalf("claim replies while Bugzilla hangs: %q, want the slow notice only", r)
	}
	t.Logf("slow notice after %v: %q", time.Since(hung).Round(time.Millisecond), replyTo(msgs, "claim")[0])

	h.srv.ClearFault() // Bugzilla answers
	msgs = rec.waitFor(t, 30*time.Second, "the claim's result", func(m []chat.Outgoing) bool { return len(replyTo(m, "claim")) > 1 })
	r := replyTo(msgs, "claim")
	if !strings.Contains(r[1], fmt.Sprintf("Claimed: bug %d is now assigned to alice.", id)) {
		t.Errorf("claim result %q, want the bug assigned to alice (login without domain: a public channel)", r[1])
	}
	if got, _ := h.srv.Bug(id); got.AssignedTo != "alice@gentoo.org" {
		t.Errorf("bug %d is assigned to %q in Bugzilla, want alice@gentoo.org", id, got.AssignedTo)
	}
	t.Logf("claim result posted %v after the hang began: %q", time.Since(hung).Round(time.Millisecond), r[1])
}

// gated is a transport whose command replies wait until the gate opens
// (a slow network), while announcements go through.
type gated struct {
	*recorder
	gate chan struct{}
}

func (g *gated) Send(ctx context.Context, out chat.Outgoing) (string, error) {
	if out.Kind == chat.KindReply {
		select {
		case <-g.gate:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	return g.recorder.Send(ctx, out)
}

// A flood of commands from 10 unidentified users (10 hosts) while replies
// are slow: every command is answered, or its sender is told "busy" or
// "slow down", once for the whole flood (not once per command), and an
// announcement still goes out during the flood.
func TestCommandFloodBusyAndSlowDown(t *testing.T) {
	h := newHarness(t, "")
	rec := newRecorder("irc", "#gentoo-kernel")
	g := &gated{recorder: rec, gate: make(chan struct{})}
	b, _ := h.start(g)
	waitPolls(t, b, 1)
	ch := rec.channels[0]

	const users, each = 10, 10
	for i := 0; i < each; i++ {
		for u := 0; u < users; u++ {
			who := chat.Identity{Network: "irc", Nick: fmt.Sprintf("flood%d", u), Host: fmt.Sprintf("host%d.example.net", u)}
			say(b, g, ch, who, fmt.Sprintf("u%d-%d", u, i), "!pending")
		}
	}
	id := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: filed during a command flood"})
	if err := b.Intake.Poke(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, 20*time.Second, "the announcement during the flood", func(m []chat.Outgoing) bool {
		return anyAnnounces(m, id)
	})
	close(g.gate)

	accepted := metricValue(t, b, "ksecbot_commands_total", "accepted")
	busy := metricValue(t, b, "ksecbot_commands_total", "busy")
	limited := metricValue(t, b, "ksecbot_commands_total", "limited")
	if accepted+busy+limited != users*each {
		t.Fatalf("accepted %v + busy %v + limited %v != %d commands sent", accepted, busy, limited, users*each)
	}
	if busy == 0 || limited == 0 {
		t.Fatalf("accepted %v, busy %v, limited %v: the flood should have filled the queue and hit the limit", accepted, busy, limited)
	}
	msgs := rec.waitFor(t, 30*time.Second, "every reply", func(m []chat.Outgoing) bool {
		n := 0
		for _, o := range m {
			if o.Kind == chat.KindReply {
				n++
			}
		}
		return n >= int(accepted)+users
	})
	var normal, busyReplies, slowDowns int
	notices := map[int]int{}
	for u := 0; u < users; u++ {
		for i := 0; i < each; i++ {
			for _, r := range replyTo(msgs, fmt.Sprintf("u%d-%d", u, i)) {
				switch {
				case strings.Contains(r, "busy, try again in a minute"):
					busyReplies++
					notices[u]++
				case strings.HasPrefix(r, "slow down"):
					slowDowns++
					notices[u]++
				default:
					normal++
				}
			}
		}
	}
	t.Logf("%d commands from %d users: %d answered, %v busy and %v over the limit, covered by %d busy and %d slow-down replies",
		users*each, users, normal, busy, limited, busyReplies, slowDowns)
	if normal != int(accepted) {
		t.Errorf("%d answers for %v commands accepted", normal, accepted)
	}
	for u := 0; u < users; u++ {
		if notices[u] != 1 {
			t.Errorf("user %d got %d busy or slow-down replies, want exactly one for the flood", u, notices[u])
		}
	}
}

// expiring is a transport whose command replies wait until the gate opens
// and then, like the real ones, refuse a reply whose Expires has passed on
// the test's clock.
type expiring struct {
	*gated
	now func() time.Time
}

func (e *expiring) Send(ctx context.Context, out chat.Outgoing) (string, error) {
	if out.Kind == chat.KindReply {
		select {
		case <-e.gate:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		if transport.Expired(out, e.now()) {
			return "", transport.ErrExpired
		}
	}
	return e.recorder.Send(ctx, out)
}

// Replies that cannot go out within a minute of their command are dropped
// and counted: those waiting for the network, the commands still queued
// (not served at all) and the slow-down reply; a command after that is
// answered.
func TestRepliesExpireAfterAMinute(t *testing.T) {
	clock := fakeclock.New(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	h := newHarness(t, "")
	rec := newRecorder("irc", "#gentoo-kernel")
	e := &expiring{gated: &gated{recorder: rec, gate: make(chan struct{})}, now: clock.Now}
	b, _, stop := h.startAt(clock, e)
	defer stop()
	ch := rec.channels[0]
	who := chat.Identity{Network: "irc", Nick: "eager", Host: "eager.example.net"}
	for i := 0; i < 10; i++ { // 5 accepted (the burst), 5 limited
		say(b, e, ch, who, fmt.Sprintf("c%d", i), "!help")
	}
	if got := metricValue(t, b, "ksecbot_commands_total", "accepted"); got != 5 {
		t.Fatalf("%v commands accepted, want the burst of 5", got)
	}
	clock.Advance(time.Minute)
	close(e.gate)
	waitUntil(t, 10*time.Second, "the 5 replies and the slow-down reply to expire", func() bool {
		return metricValue(t, b, "ksecbot_command_replies_expired_total", "answer") == 5 &&
			metricValue(t, b, "ksecbot_command_replies_expired_total", "notice") == 1
	})
	for _, m := range rec.sentCopy() {
		if m.Kind == chat.KindReply {
			t.Errorf("a reply went out a minute after its command: %q", m.Plain("irc"))
		}
	}
	clock.Advance(time.Minute) // the sender's limit and notice window are over
	say(b, e, ch, who, "later", "!help")
	rec.waitFor(t, 10*time.Second, "the answer to a command in time", func(m []chat.Outgoing) bool { return len(replyTo(m, "later")) == 1 })
}

// anyAnnounces reports whether a message announces bug id.
func anyAnnounces(msgs []chat.Outgoing, id int) bool {
	for _, m := range msgs {
		if m.Kind == chat.KindAnnounce || m.Kind == chat.KindDigest {
			for _, b := range m.BugIDs {
				if b == id {
					return true
				}
			}
		}
	}
	return false
}

// metricValue reads a counter with one label value from the bot's registry.
func metricValue(t *testing.T, b *bot.Bot, name, label string) float64 {
	t.Helper()
	mfs, err := b.Metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if l.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
