// SPDX-License-Identifier: GPL-3.0-or-later

package irc

import (
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/internal/irctest"
)

// On a server with account-notify but without account-tag (here the real
// InspIRCd, with account-tag left out of the bot's CAP REQ), the accounts
// that WHOX gives are cached only for nicks that share a channel with the
// bot: their account changes, nick changes and quits reach it. A private
// message from anyone else is looked up each time, so whoever takes a
// nick after its owner left it never inherits the owner's account (the
// cache used to keep every WHOX answer: the next holder of the nick was
// taken for the services account of the last).
func TestServerWHOXCachesOnlySharedChannelMembers(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	ch := randName("#wx")
	early := irctest.NewObserver(t, s.Addr, irctest.Options{Account: "carol"})
	early.Join(t, ch, "")
	b := startBotWith(t, botConfig(s.Addr, Channel{Name: ch}), Options{NoAccountTag: true})
	b.waitConnected(t, true, 10*time.Second)
	b.mu.Lock()
	notify, tag, whox := b.accountNotify, b.accountTag, b.whox
	b.mu.Unlock()
	if !notify || tag || !whox {
		t.Fatalf("negotiated account-notify %v, account-tag %v, WHOX %v; want account-notify and WHOX without account-tag", notify, tag, whox)
	}
	known := func(nick, account string) func() bool {
		return func() bool { a, ok := b.Account(nick); return ok && a == account }
	}
	// In the channel before the bot: known from the WHO of the channel.
	waitUntil(t, 10*time.Second, "carol's account from the channel's WHO", known(early.Nick(), "carol"))
	// Joining after the bot: known from extended-join.
	member := irctest.NewObserver(t, s.Addr, irctest.Options{Account: "bob"})
	member.Join(t, ch, "")
	waitUntil(t, 10*time.Second, "bob's account from his JOIN", known(member.Nick(), "bob"))

	receive := func(what string) chat.Incoming {
		t.Helper()
		select {
		case m := <-b.inbox:
			return m
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: nothing reached the inbox", what)
			return chat.Incoming{}
		}
	}
	if err := member.Conn.Privmsg(b.nick, "!whoami"); err != nil {
		t.Fatal(err)
	}
	if m := receive("the member's message"); m.Sender.Account != "bob" {
		t.Errorf("the member's private message came with account %q, want bob", m.Sender.Account)
	}

	// alice shares no channel with the bot.
	nick := randName("alw")
	alice := irctest.NewObserver(t, s.Addr, irctest.Options{Nick: nick, Account: "alice"})
	if err := alice.Conn.Privmsg(b.nick, "!whoami"); err != nil {
		t.Fatal(err)
	}
	if m := receive("alice's message"); m.Sender.Account != "alice" || m.Sender.Nick != nick {
		t.Fatalf("alice's private message: nick %q account %q, want %s as alice", m.Sender.Nick, m.Sender.Account, nick)
	}
	if a, ok := b.Account(nick); ok {
		t.Errorf("the account of %s (%q), who shares no channel with the bot, was cached", nick, a)
	}
	// She moves on; someone not logged in takes her nick at once.
	alice.Conn.SetNick(randName("alx"))
	waitUntil(t, 10*time.Second, "alice's nick change", func() bool { return alice.Nick() != nick })
	imp := irctest.NewObserver(t, s.Addr, irctest.Options{Nick: nick})
	if imp.Nick() != nick {
		t.Fatalf("the impostor got nick %s, not %s", imp.Nick(), nick)
	}
	if err := imp.Conn.Privmsg(b.nick, "!claim 1"); err != nil {
		t.Fatal(err)
	}
	if m := receive("the impostor's message"); m.Sender.Nick != nick || m.Sender.Account != "" {
		t.Errorf("the impostor's private message as %s came with account %q, want none (not logged in)", m.Sender.Nick, m.Sender.Account)
	}
}

// waitUntil polls cond until it holds, or fails the test after d.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond) // polling a state, not synchronising goroutines
	}
}
