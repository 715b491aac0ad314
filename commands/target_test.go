// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
)

// sent records that ksecbot sent a message of kind about bugs to ch, with
// network ID netID (an IRC message of several lines: their msgids
// separated by spaces).
func (e *env) sent(ch chat.Channel, kind chat.Kind, netID string, bugs ...int) {
	e.t.Helper()
	key := e.queued(ch, kind, bugs...)
	items, err := e.st.NextOutbox(e.ctx, []string{ch.Key}, 100)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, it := range items {
		if it.Msg.Key == key {
			if err := e.st.MarkSent(e.ctx, it.ID, netID); err != nil {
				e.t.Fatal(err)
			}
			return
		}
	}
	e.t.Fatalf("message %s not queued", key)
}

// queued queues an announcement the network has not confirmed yet (on
// its way) and returns its key.
func (e *env) queued(ch chat.Channel, kind chat.Kind, bugs ...int) string {
	e.t.Helper()
	e.nextM++
	key := fmt.Sprintf("%s/t%d/%s", kind, e.nextM, ch.Key)
	if err := e.st.Enqueue(e.ctx, chat.Outgoing{Key: key, Kind: kind, Channel: ch.Key, Target: ch.Name,
		Lines: []chat.Line{chat.Line{}.Text("x")}, BugIDs: bugs}); err != nil {
		e.t.Fatal(err)
	}
	return key
}

// puts counts the PUT requests the Bugzilla test server received.
func (e *env) puts() int {
	n := 0
	for _, r := range e.srv.Requests() {
		if r.Method == "PUT" {
			n++
		}
	}
	return n
}

// TestWriteTargets: a write without a bug number acts on the bug of the
// message it replies to, else on the last bug announced in the channel
// only when no other bug was announced there in the last minute and the
// last one is within [commands] claim_window; otherwise it asks which bug,
// naming the candidates, and Bugzilla gets no PUT.
func TestWriteTargets(t *testing.T) {
	// bugs: the test files three bugs, b[0] < b[1] < b[2]; setup announces
	// some and returns the message under test and the index of the bug it
	// must change (-1: none).
	tests := []struct {
		name   string
		ch     chat.Channel
		who    chat.Identity
		window time.Duration // [commands] claim_window; 0: the default
		setup  func(e *env, b []int) (in chat.Incoming, want int)
		reply  []string // %d is replaced by the bugs, newest first
	}{
		{
			name: "one announcement: bare claim takes it",
			setup: func(e *env, b []int) (chat.Incoming, int) {
				e.sent(chPublic, chat.KindAnnounce, "", b[0])
				e.clk.Advance(10 * time.Second)
				return cmd(chPublic, idAlice, "!claim"), 0
			},
			reply: []string{"Claimed", "bug %[1]d"},
		},
		{
			name: "two announcements within a minute: bare claim asks",
			setup: func(e *env, b []int) (chat.Incoming, int) {
				e.sent(chPublic, chat.KindAnnounce, "", b[0])
				e.clk.Advance(20 * time.Second)
				e.sent(chPublic, chat.KindAnnounce, "", b[1])
				e.clk.Advance(5 * time.Second)
				return cmd(chPublic, idAlice, "!claim"), -1
			},
			reply: []string{"Which bug? %[2]d, %[1]d — ", "last minute", "!claim <bug>", "reply to its announcement", "Nothing was changed"},
		},
		{
			name: "the next announcement on its way (not yet confirmed): asks, naming the confirmed one",
			setup: func(e *env, b []int) (chat.Incoming, int) {
				e.sent(chPublic, chat.KindAnnounce, "", b[0])
				e.clk.Advance(2 * time.Minute)
				e.queued(chPublic, chat.KindAnnounce, b[1])
				return cmd(chPublic, idAlice, "!claim"), -1
			},
			reply: []string{"Which bug? %[1]d — ", "being announced here right now", "Nothing was changed"},
		},
		{
			name: "an announcement on its way in another channel does not count",
			setup: func(e *env, b []int) (chat.Incoming, int) {
				e.sent(chPublic, chat.KindAnnounce, "", b[0])
				e.clk.Advance(2 * time.Minute)
				e.queued(chPrivate, chat.KindAnnounce, b[1])
				return cmd(chPublic, idAlice, "!claim"), 0
			},
			reply: []string{"Claimed", "bug %[1]d"},
		},
		{
			name: "a burst then a quiet minute: the last one",
			setup: func(e *env, b []int) (chat.Incoming, int) {
				e.sent(chPublic, chat.KindAnnounce, "", b[0])
				e.clk.Advance(20 * time.Second)
				e.sent(chPublic, chat.KindAnnounce, "", b[1])
				e.clk.Advance(2 * time.Minute)
				return cmd(chPublic, idAlice, "!claim"), 1
			},
			reply: []string{"Claimed", "bug %[2]d"},
		},
		{
			name: "the next announcement just before the command: asks",
			setup: func(e *env, b []int) (chat.Incoming, int) {
				e.sent(chPublic, chat.KindAnnounce, "", b[0])
				e.clk.Advance(40 * time.Second)
				e.sent(chPublic, chat.KindAnnounce, "", b[1])
				e.clk.Advance(1600 * time.Millisecond)
				return cmd(chPublic, idAlice, "!claim"), -1
			},
			reply: []string{"Which bug? %[2]d, %[1]d — "},
		},
		{
			name: "a reminder counts as an announcement",
			setup: func(e *env, b []int) (chat.Incoming, int) {
				e.sent(chPublic, chat.KindAnnounce, "", b[0])
				e.clk.Advance(30 * time.Second)
				e.sent(chPublic, chat.KindRemind, "", b[1])
				e.clk.Advance(5 * time.Second)
				return cmd(chPublic, idAlice, "!claim"), -1
			},
			reply: []string{"Which bug? %[2]d, %[1]d — "},
		},
		{
			name: "a digest is several bugs at once, even minutes ago",
			setup: func(e *env, b []int) (chat.Incoming, int) {
				e.sent(chPublic, chat.KindDigest, "", b[0], b[1], b[2])
				e.clk.Advance(5 * time.Minute)
				return cmd(chPublic, idAlice, "!claim"), -1
			},
			reply: []string{"Which bug? %[3]d, %[2]d, %[1]d — Several bugs were announced here at once"},
		},
		{
			name: "change lines are not announcements",
			setup: func(e *env, b []int) (chat.Incoming, int) {
				e.sent(chPublic, chat.KindAnnounce, "", b[0])
				e.clk.Advance(5 * time.Second)
				e.sent(chPublic, chat.KindChange, "", b[1])
				e.clk.Advance(5 * time.Second)
				return cmd(chPublic, idAlice, "!claim"), 0
			},
			reply: []string{"Claimed", "bug %[1]d"},
		},
		{
			name: "the last one is older than the window",
			setup: func(e *env, b []int) (chat.Incoming, int) {
				e.sent(chPublic, chat.KindAnnounce, "", b[0])
				e.clk.Advance(16 * time.Minute)
				return cmd(chPublic, idAlice, "!claim"), -1
			},
			reply: []string{"Which bug? No bug was announced here in the last 15m; say !claim <bug>"},
		},
		{
			name: "claim_window is configurable", window: 5 * time.Minute,
			setup: func(e *env, b []int) (chat.Incoming, int) {
				e.sent(chPublic, chat.KindAnnounce, "", b[0])
				e.clk.Advance(6 * time.Minute)
				return cmd(chPublic, idAlice, "!claim"), -1
			},
			reply: []string{"No bug was announced here in the last 5m"},
		},
		{
			name: "another channel's announcements do not count",
			setup: func(e *env, b []int) (chat.Incoming, int) {
				e.sent(chPublic, chat.KindAnnounce, "", b[0])
				e.clk.Advance(5 * time.Second)
				e.sent(chPrivate, chat.KindAnnounce, "", b[1])
				e.clk.Advance(5 * time.Second)
				return cmd(chPublic, idAlice, "!claim"), 0
			},
			reply: []string{"Claimed", "bug %[1]d"},
		},
		{
			name: "IRC reply to an announcement of two lines, by its second line's msgid",
			setup: func(e *env, b []int) (chat.Incoming, int) {
				e.sent(chPublic, chat.KindAnnounce, "m1a m1b", b[0])
				e.clk.Advance(5 * time.Second)
				e.sent(chPublic, chat.KindAnnounce, "m2", b[1])
				e.clk.Advance(5 * time.Second)
				return reply(cmd(chPublic, idAlice, "!claim"), "m1b"), 0
			},
			reply: []string{"Claimed", "bug %[1]d"},
		},
		{
			name: "Matrix reply to a reminder long after the window",
			ch:   chMatrix,
			setup: func(e *env, b []int) (chat.Incoming, int) {
				e.sent(chMatrix, chat.KindRemind, "$remind", b[1])
				e.clk.Advance(2 * time.Hour)
				e.sent(chMatrix, chat.KindAnnounce, "$new", b[2])
				return reply(cmd(chMatrix, idBobMx, "!claim"), "$remind"), 1
			},
			reply: []string{"Claimed", "bug %[2]d", "assigned to bob."},
		},
		{
			name: "reply to a digest asks among its bugs",
			setup: func(e *env, b []int) (chat.Incoming, int) {
				e.sent(chPublic, chat.KindDigest, "md", b[0], b[1])
				e.clk.Advance(5 * time.Second)
				return reply(cmd(chPublic, idAlice, "!claim"), "md"), -1
			},
			reply: []string{"Which bug? %[1]d, %[2]d — The message you replied to is about several bugs"},
		},
		{
			name: "reply to a message about no bug does not fall back to the last one",
			setup: func(e *env, b []int) (chat.Incoming, int) {
				e.sent(chPublic, chat.KindAnnounce, "m1", b[0])
				e.clk.Advance(5 * time.Minute)
				e.sent(chPublic, chat.KindReply, "mreply")
				return reply(cmd(chPublic, idAlice, "!claim"), "mreply"), -1
			},
			reply: []string{"Which bug? %[1]d — The message you replied to is about no bug"},
		},
		{
			name: "reply to someone else's message does not fall back to the last one",
			setup: func(e *env, b []int) (chat.Incoming, int) {
				e.sent(chPublic, chat.KindAnnounce, "m1", b[0])
				e.clk.Advance(5 * time.Minute)
				return reply(cmd(chPublic, idAlice, "!claim"), "someone-elses"), -1
			},
			reply: []string{"Which bug? %[1]d — The message you replied to is not one of my announcements"},
		},
		{
			name: "reply to an announcement in another channel",
			setup: func(e *env, b []int) (chat.Incoming, int) {
				e.sent(chPrivate, chat.KindAnnounce, "m1", b[0])
				e.clk.Advance(5 * time.Second)
				return reply(cmd(chPublic, idAlice, "!claim"), "m1"), -1
			},
			reply: []string{"Which bug? The message you replied to is not one of my announcements"},
		},
		{
			name: "a private message follows no announcement",
			ch:   chat.Channel{Key: "irc:alice", Network: "irc", Name: "alice", Terse: true},
			setup: func(e *env, b []int) (chat.Incoming, int) {
				e.sent(chPublic, chat.KindAnnounce, "", b[0])
				e.clk.Advance(5 * time.Second)
				in := cmd(chat.Channel{Key: "irc:alice", Network: "irc", Name: "alice", Terse: true}, idAlice, "!claim")
				in.Direct = true
				return in, -1
			},
			reply: []string{"Which bug? A private message follows no announcement; say !claim <bug>."},
		},
		{
			name: "bare cc after two announcements asks, with the trees in the hint",
			setup: func(e *env, b []int) (chat.Incoming, int) {
				e.sent(chPublic, chat.KindAnnounce, "", b[0])
				e.clk.Advance(20 * time.Second)
				e.sent(chPublic, chat.KindAnnounce, "", b[1])
				return cmd(chPublic, idAlice, "!cc hardened"), -1
			},
			reply: []string{"Which bug? %[2]d, %[1]d — ", "say !cc hardened <bug>"},
		},
		{
			name: "cc as a reply to an announcement",
			setup: func(e *env, b []int) (chat.Incoming, int) {
				e.sent(chPublic, chat.KindAnnounce, "m1", b[0])
				e.clk.Advance(20 * time.Second)
				e.sent(chPublic, chat.KindAnnounce, "m2", b[1])
				return reply(cmd(chPublic, idAlice, "!cc hardened"), "m1"), 0
			},
			reply: []string{"CC'd on bug %[1]d"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, "key-ksecbot")
			if tc.window > 0 {
				e.cfg.Commands.ClaimWindow = config.Duration{Duration: tc.window}
				e.r = New(Deps{Config: e.cfg, Store: e.st, Bugzilla: e.bz, Now: e.clk.Now, Logger: e.r.d.Logger, RateBurst: 1000, RateEvery: time.Millisecond})
			}
			var b []int
			for i := range 3 {
				b = append(b, e.bug(kernelBug(fmt.Sprintf("sys-kernel/hardened-sources: flaw %d", i))))
			}
			e.clk.Advance(time.Second)
			in, want := tc.setup(e, b)
			nums := strings.NewReplacer("%[1]d", fmt.Sprint(b[0]), "%[2]d", fmt.Sprint(b[1]), "%[3]d", fmt.Sprint(b[2]))
			before := map[int]string{}
			for _, id := range b {
				s := e.sbug(id)
				before[id] = s.AssignedTo + fmt.Sprint(s.CC)
			}
			puts := e.puts()
			got := text(e.r.Handle(e.ctx, in))
			for _, w := range tc.reply {
				mustContain(t, got, nums.Replace(w))
			}
			for i, id := range b {
				s := e.sbug(id)
				changed := before[id] != s.AssignedTo+fmt.Sprint(s.CC)
				if changed != (i == want) {
					t.Errorf("bug %d (b[%d]) changed = %v, want %v: %q -> assignee %q, CC %v", id, i, changed, i == want, before[id], s.AssignedTo, s.CC)
				}
			}
			n := e.puts() - puts
			if want < 0 && n != 0 {
				t.Errorf("Bugzilla got %d PUT requests, want none: %q", n, got)
			}
			if want >= 0 && n != 1 {
				t.Errorf("Bugzilla got %d PUT requests, want 1: %q", n, got)
			}
			t.Logf("%s -> %q", in.Text, got)
		})
	}
}

// cmd is a command as a transport hands it to the core.
func cmd(ch chat.Channel, who chat.Identity, text string) chat.Incoming {
	return chat.Incoming{Channel: ch, Target: ch.Name, Sender: who, Text: text, ID: "cmd-" + strings.ReplaceAll(text, " ", "_")}
}

// reply makes in a reply to the message netID.
func reply(in chat.Incoming, netID string) chat.Incoming {
	in.ReplyTo = netID
	return in
}
