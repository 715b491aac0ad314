// SPDX-License-Identifier: GPL-3.0-or-later

package irc_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/internal/irctest"
	"github.com/ksecbot/ksecbot/internal/memnet"
	"github.com/ksecbot/ksecbot/transport"
	"github.com/ksecbot/ksecbot/transport/irc"
)

// The tests in this file run on ngIRCd (scripts/ngircd-server.sh), an IRC
// server unlike InspIRCd: no services, no SASL, no account-tag, no
// echo-message.

// With nickserv = true on a server without services, the nick NickServ
// is an ordinary client's: here an observer holds it. ksecbot never sends
// it the password; it runs without an account, logs that once and tells
// the private channels (of another network here); it still announces,
// confirming its lines with PING fences.
func TestNgircdNickServNotAServiceGetsNoPassword(t *testing.T) {
	t.Parallel()
	addr := irctest.NeedNgircd(t)
	// One nick of the whole server: runs of this test elsewhere wait
	// for each other.
	fake := irctest.TakeNick(t, addr, "NickServ", 2*time.Minute)
	ch := irctest.RandName("#ngns")
	obs := irctest.NewObserver(t, addr, irctest.Options{})
	obs.Join(t, ch, "")
	mem := memnet.NewServer()
	team := memnet.New(mem, []chat.Channel{{Name: "#kernel-security", Private: true}})
	const password = "ngircd-secret-password"
	cb := startCoreBotTweaked(t, addr, lenient, irc.Options{}, []transport.Transport{team}, func(c *irc.Config) {
		c.SASLUser, c.SASLPassword, c.NickServ = "ksecbot", password, true
	}, irc.Channel{Name: ch})
	obs.WaitFor(t, 20*time.Second, "bot JOIN "+ch, irctest.From("JOIN", cb.nick, ch))
	until(t, 20*time.Second, "the warning in the other network's private channel", func() bool {
		return countIn(mem.Posted("#kernel-security"), "not a network service") > 0
	})
	id := cb.bz.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: announced on ngIRCd"})
	obs.WaitFor(t, 30*time.Second, fmt.Sprintf("the announcement of bug %d", id), irctest.PrivmsgFrom(cb.nick, ch, fmt.Sprintf("bug %d:", id)))

	for _, m := range fake.History() {
		if m.Command == "PRIVMSG" || m.Command == "NOTICE" {
			if strings.Contains(strings.Join(m.Params, " "), password) || strings.HasPrefix(strings.ToLower(m.Nick()), strings.ToLower(cb.nick)) {
				t.Errorf("the fake NickServ got %q from the bot", m.Params)
			}
		}
	}
	if n := cb.log.count("NickServ is not a network service"); n != 1 {
		t.Errorf("the withheld IDENTIFY was logged %d times, want once", n)
	}
	if n := cb.log.count(password); n != 0 {
		t.Errorf("the password is in the log %d times", n)
	}
	if n := cb.log.count("msg=connected", `confirm="ping fences"`); n != 1 {
		t.Errorf("connected %d times confirming by ping fences, want once", n)
	}
	got := mem.Posted("#kernel-security")
	if countIn(got, "not a network service") != 1 {
		t.Errorf("the private channel got %q, want the warning once", got)
	}
}

// A server without SASL (ngIRCd) while sasl_user is set and nickserv is
// off: a configuration error of that network, at once, not irc-go's
// "SASL setup timed out" retried forever.
func TestNgircdWithoutSASLIsConfigError(t *testing.T) {
	t.Parallel()
	addr := irctest.NeedNgircd(t)
	cfg := &irc.Config{Server: addr, Nick: irctest.RandName("ksng"), SASLUser: "ksecbot", SASLPassword: "ksecbot-pass"}
	tr, err := irc.New(cfg, irc.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	err = tr.Run(ctx, transport.InboxFunc(func(context.Context, chat.Incoming) {}))
	t.Logf("Run returned after %v: %v", time.Since(start).Round(time.Millisecond), err)
	if !errors.Is(err, transport.ErrConfig) || !strings.Contains(err.Error(), "does not support SASL") {
		t.Fatalf("Run on a server without SASL = %v, want a configuration error saying so", err)
	}
}

// On a server without accounts, advice to an unidentified sender names
// no NickServ: it says the server has no accounts.
func TestNgircdAdviceFitsTheServer(t *testing.T) {
	t.Parallel()
	addr := irctest.NeedNgircd(t)
	ch := irctest.RandName("#ngadv")
	in := make(chan chat.Incoming, 10)
	cfg := &irc.Config{Server: addr, Nick: irctest.RandName("ksng"), Channels: []irc.Channel{{Name: ch}}}
	tr, err := irc.New(cfg, irc.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx, transport.InboxFunc(func(_ context.Context, m chat.Incoming) { in <- m })) }()
	t.Cleanup(func() { cancel(); <-done })
	obs := irctest.NewObserver(t, addr, irctest.Options{})
	obs.Join(t, ch, "")
	obs.WaitFor(t, 20*time.Second, "bot JOIN", func(m ircmsg.Message) bool {
		return m.Command == "JOIN" && strings.EqualFold(m.Nick(), cfg.Nick)
	})
	if err := obs.Conn.Privmsg(ch, "!whoami"); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-in:
		t.Logf("advice: %q", m.Sender.HowToIdentify)
		if m.Sender.Identified() || strings.Contains(m.Sender.HowToIdentify, "NickServ") || !strings.Contains(m.Sender.HowToIdentify, "no services accounts") {
			t.Errorf("sender %+v: want unidentified with advice that this server has no accounts", m.Sender)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the message did not arrive")
	}
}
