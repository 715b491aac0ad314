// SPDX-License-Identifier: GPL-3.0-or-later

package irc

import (
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/internal/irctest"
)

// TestServerReplyTags, on the real server: Send returns the msgids the
// server gave the message's lines (as the observer sees them), and a
// person's reply to one of those lines (+draft/reply, or +reply) reaches
// the core with ReplyTo naming it, so a !claim in reply names its bug.
// Without labeled-response the echo matched by content gives the msgids;
// with PING fences there are none.
func TestServerReplyTags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		opt   Options
		noIDs bool
	}{
		{"labeled echo", Options{}, false},
		{"echo by content", Options{NoLabels: true}, false},
		{"ping fence", Options{NoEchoCaps: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := irctest.Need(t)
			ch := randName("#reply")
			obs := newObserver(t, s.Addr, "observer")
			obs.Join(t, ch, "")
			b := startBotWith(t, botConfig(s.Addr, Channel{Name: ch}), tc.opt)
			waitFor(t, obs, 10*time.Second, "bot JOIN", isCmd("JOIN", b.nick, ch))

			out := announce(ch, chat.Line{}.Text("New kernel security bug 7: first line"), chat.Line{}.Text("second line of bug 7"))
			id, err := b.Send(sendCtx(t, 10*time.Second), out)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			var seen []string
			for _, want := range []string{"first line", "second line"} {
				m := waitFor(t, obs, 5*time.Second, want, irctest.PrivmsgFrom(b.nick, ch, want))
				_, msgid := m.GetTag("msgid")
				seen = append(seen, msgid)
			}
			if tc.noIDs {
				if id != "" {
					t.Errorf("Send with PING fences returned network ID %q, want none", id)
				}
				return
			}
			if seen[0] == "" || seen[1] == "" {
				t.Fatalf("the observer saw msgids %q: the server gives none", seen)
			}
			if want := strings.Join(seen, " "); id != want {
				t.Fatalf("Send returned network ID %q, want the lines' msgids %q", id, want)
			}
			t.Logf("Send returned %q, the msgids of both lines", id)

			for _, tag := range []string{"+draft/reply", "+reply"} {
				if err := obs.Conn.SendWithTags(map[string]string{tag: seen[1]}, "PRIVMSG", ch, "!claim"); err != nil {
					t.Fatal(err)
				}
				in := nextIncoming(t, b, "!claim")
				if in.ReplyTo != seen[1] || in.Sender.Account != "observer" || in.ID == "" {
					t.Errorf("%s: incoming ReplyTo %q account %q ID %q, want ReplyTo %q from observer with its own msgid",
						tag, in.ReplyTo, in.Sender.Account, in.ID, seen[1])
				}
			}
			obs.Say(t, ch, "!claim")
			if in := nextIncoming(t, b, "!claim"); in.ReplyTo != "" {
				t.Errorf("a message without reply tag has ReplyTo %q", in.ReplyTo)
			}
		})
	}
}

// nextIncoming waits for the next message the bot hands to the core with
// text, skipping others.
func nextIncoming(t *testing.T, b *runningBot, text string) chat.Incoming {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case in := <-b.inbox:
			if in.Text == text {
				return in
			}
		case <-timeout:
			t.Fatalf("no incoming %q within 10s", text)
		}
	}
}
