// SPDX-License-Identifier: GPL-3.0-or-later

package irc

// Tests against the real IRC test servers (scripts/irc-server.sh start; then
// source $STATE/irc/env). Without KSECBOT_IRC_ADDR they skip, unless CI=true.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/irctest"
	"github.com/ksecbot/ksecbot/transport"
)

var (
	randName = irctest.RandName
	isCmd    = irctest.From
)

func newObserver(t *testing.T, addr, account string) *irctest.Observer {
	t.Helper()
	return irctest.NewObserver(t, addr, irctest.Options{Account: account})
}

// waitFor is the observer's WaitFor when the skipped messages do not matter.
func waitFor(t *testing.T, o *irctest.Observer, timeout time.Duration, what string, pred func(ircmsg.Message) bool) ircmsg.Message {
	t.Helper()
	m, _ := o.WaitFor(t, timeout, what, pred)
	return m
}

// runningBot is a Transport running against a server.
type runningBot struct {
	*Transport
	nick  string
	inbox chan chat.Incoming
	done  chan error
}

func botConfig(addr string, channels ...Channel) *Config {
	return &Config{
		Server:       addr,
		Nick:         randName("ksb"),
		SASLUser:     "ksecbot",
		SASLPassword: "ksecbot-pass",
		Channels:     channels,
		// the lenient server has no flood limits: keep the tests fast
		Flood: Flood{Burst: 20, Interval: config.Duration{Duration: 50 * time.Millisecond}},
	}
}

func startBot(t *testing.T, cfg *Config) *runningBot {
	t.Helper()
	return startBotWith(t, cfg, Options{})
}

// startBotWith runs a Transport with opt; version, backoff and logger
// default to the tests'.
func startBotWith(t *testing.T, cfg *Config, opt Options) *runningBot {
	t.Helper()
	opt.Version, opt.BackoffMin = "ksecbot-test", 200*time.Millisecond
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	tr, err := New(cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	b := &runningBot{Transport: tr, nick: cfg.Nick, inbox: make(chan chat.Incoming, 100), done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		b.done <- tr.Run(ctx, transport.InboxFunc(func(_ context.Context, m chat.Incoming) { b.inbox <- m }))
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-b.done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return b
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (b *runningBot) waitConnected(t *testing.T, want bool, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for b.Connected() != want {
		if time.Now().After(deadline) {
			t.Fatalf("Connected() did not become %v within %v", want, timeout)
		}
		time.Sleep(20 * time.Millisecond) // polling a state, not synchronising goroutines
	}
}

func announce(target string, lines ...chat.Line) chat.Outgoing {
	return chat.Outgoing{Key: "announce/1/" + target, Kind: chat.KindAnnounce, Target: target, Channel: chat.ChannelKey(Name, target), Lines: lines}
}

func sendCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// 1. SASL, two channels (one +k), announcement with mentions.
func TestServerAnnounceWithMentions(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	obs := newObserver(t, s.Addr, "observer")
	open, keyed := randName("#ann"), randName("#key")
	obs.Join(t, open, "")
	obs.Join(t, keyed, "s3cret")

	b := startBot(t, botConfig(s.Addr, Channel{Name: open}, Channel{Name: keyed, ChannelKey: "s3cret"}))
	for _, ch := range []string{open, keyed} {
		m := waitFor(t, obs, 10*time.Second, "bot JOIN "+ch, isCmd("JOIN", b.nick, ch))
		if len(m.Params) < 2 || m.Params[1] != "ksecbot" {
			t.Fatalf("extended-join shows account %v, want ksecbot (SASL)", m.Params)
		}
	}
	line := chat.Line{}.Bold("Bug 912345").Text(" - kernel: use-after-free in nf_tables ").
		Mention(chat.Highlight{Tree: "hardened", Handles: map[string][]string{Name: []string{"alice", "bob"}}}).Text(" ").
		Mention(chat.Highlight{Tree: "gentoo-sources", Handles: map[string][]string{Name: []string{"mpagano"}}})
	if _, err := b.Send(sendCtx(t, 10*time.Second), announce(keyed, line)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	m := waitFor(t, obs, 5*time.Second, "announcement", isCmd("PRIVMSG", b.nick, keyed))
	want := "\x02Bug 912345\x02 - kernel: use-after-free in nf_tables hardened: alice bob gentoo-sources: mpagano"
	if m.Params[1] != want {
		t.Fatalf("observer got %q, want %q", m.Params[1], want)
	}
	if _, acct := m.GetTag("account"); acct != "ksecbot" {
		t.Errorf("account tag on the bot's message = %q, want ksecbot", acct)
	}
	if st := b.Stats(); !st.Connected || st.Sent < 1 {
		t.Errorf("Stats = %+v", st)
	}
	// a NOTICE channel config turns the same Send into a NOTICE
	out := announce(open, chat.Line{}.Text("notice me"))
	out.Notice = true
	if _, err := b.Send(sendCtx(t, 10*time.Second), out); err != nil {
		t.Fatal(err)
	}
	waitFor(t, obs, 5*time.Second, "NOTICE", isCmd("NOTICE", b.nick, open))
}

// 2. incoming messages carry the services account; an unidentified
// client using a registered nick does not.
func TestServerIncomingAccounts(t *testing.T) {
	t.Parallel()
	t.Run("IRCv3 account caps", func(t *testing.T) { t.Parallel(); testIncomingAccounts(t, Options{}) })
	// A server without account-tag, extended-join and account-notify:
	// the accounts come from WHOX, asked for each command.
	t.Run("WHOX only", func(t *testing.T) { t.Parallel(); testIncomingAccounts(t, Options{NoAccountCaps: true}) })
}

func testIncomingAccounts(t *testing.T, opt Options) {
	s := irctest.Need(t)
	ch := randName("#in")
	b := startBotWith(t, botConfig(s.Addr, Channel{Name: ch}), opt)
	b.waitConnected(t, true, 10*time.Second)
	obs := newObserver(t, s.Addr, "observer")
	obs.Join(t, ch, "")
	// the bot may still be joining: wait until it knows the observer
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := b.Account(obs.Nick()); ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	imp := irctest.NewObserver(t, s.Addr, irctest.Options{Nick: "alice"})
	imp.Join(t, ch, "")
	waitFor(t, obs, 5*time.Second, "impostor JOIN", isCmd("JOIN", imp.Nick(), ch))

	tests := []struct {
		name    string
		send    func() error
		nick    string
		account string
		direct  bool
		target  string
		key     string
	}{
		{"channel", func() error { return obs.Conn.Privmsg(ch, "!pending \x02hardened\x02") }, obs.Nick(), "observer", false, ch, "irc:" + ch},
		{"private", func() error { return obs.Conn.Privmsg(b.nick, "!whoami") }, obs.Nick(), "observer", true, obs.Nick(), "irc:" + obs.Nick()},
		{"impostor in channel", func() error { return imp.Conn.Privmsg(ch, "!claim 1") }, imp.Nick(), "", false, ch, "irc:" + ch},
		{"impostor in private", func() error { return imp.Conn.Privmsg(b.nick, "!claim 2") }, imp.Nick(), "", true, imp.Nick(), "irc:" + imp.Nick()},
	}
	for _, tc := range tests {
		if err := tc.send(); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-b.inbox:
			if m.Sender.Account != tc.account || m.Sender.Nick != tc.nick || m.Direct != tc.direct ||
				m.Target != tc.target || m.Channel.Key != tc.key || m.Sender.Network != Name {
				t.Errorf("%s: got %+v", tc.name, m)
			}
			if strings.ContainsAny(m.Text, "\x02") {
				t.Errorf("%s: formatting not stripped: %q", tc.name, m.Text)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: nothing reached the inbox", tc.name)
		}
	}
	// CTCP: VERSION answered (by NOTICE), nothing reaches the inbox
	if err := obs.Conn.Privmsg(b.nick, "\x01VERSION\x01"); err != nil {
		t.Fatal(err)
	}
	m := waitFor(t, obs, 5*time.Second, "CTCP VERSION reply", isCmd("NOTICE", b.nick, ""))
	if m.Params[1] != "\x01VERSION ksecbot-test\x01" {
		t.Errorf("VERSION reply %q", m.Params[1])
	}
	// NOTICEs from other bots are ignored
	_ = obs.Conn.Notice(ch, "!pending")
	_ = obs.Conn.Privmsg(ch, "after")
	select {
	case m := <-b.inbox:
		if m.Text != "after" {
			t.Errorf("inbox got %q, want only the PRIVMSG after the NOTICE", m.Text)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing reached the inbox")
	}
}

// 5. hostile text: one Send of one Line never becomes a second command.
func TestServerHostileText(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	ch := randName("#hos")
	obs := newObserver(t, s.Addr, "observer")
	obs.Join(t, ch, "")
	b := startBot(t, botConfig(s.Addr, Channel{Name: ch}))
	waitFor(t, obs, 10*time.Second, "bot JOIN", isCmd("JOIN", b.nick, ch))

	multibyte := strings.Repeat("ä€😀", 67) // 603 bytes, no spaces
	tests := []struct {
		name string
		in   string
		want []string // PRIVMSG texts the observer must see, in order
	}{
		{"crlf quit", "x\r\nQUIT :pwned\r\nPRIVMSG #x :y", []string{"x QUIT :pwned PRIVMSG #x :y"}},
		{"ctcp dcc", "\x01DCC SEND evil 0 0 0\x01", []string{"DCC SEND evil 0 0 0"}},
		{"formatting", "\x0304red\x03 \x02bold\x0f \x1fund", []string{"red bold und"}},
		{"invalid utf8", "bad\xff\xfebytes\x00", []string{"bad\uFFFDbytes"}}, // one U+FFFD per run of bad bytes
		{"600 bytes multibyte: wrapped", multibyte, nil},
	}
	for _, tc := range tests {
		if _, err := b.Send(sendCtx(t, 10*time.Second), announce(ch, chat.Line{}.Text(tc.in))); err != nil {
			t.Fatalf("%s: Send: %v", tc.name, err)
		}
	}
	if _, err := b.Send(sendCtx(t, 10*time.Second), announce(ch, chat.Line{}.Text("END"))); err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		m := waitFor(t, obs, 10*time.Second, "END marker", func(m ircmsg.Message) bool {
			return strings.EqualFold(m.Nick(), b.nick)
		})
		if m.Command != "PRIVMSG" || len(m.Params) != 2 || m.Params[0] != ch {
			t.Fatalf("observer saw a non-PRIVMSG from the bot: %s %v", m.Command, m.Params)
		}
		if m.Params[1] == "END" {
			break
		}
		got = append(got, m.Params[1])
	}
	i := 0
	for _, tc := range tests {
		if tc.want == nil { // the long one: wrapped into lines that rejoin to the text
			var parts []string
			for i < len(got) && strings.ContainsRune(got[i], '€') {
				parts = append(parts, got[i])
				i++
			}
			if len(parts) != 2 || strings.Join(parts, "") != multibyte {
				t.Errorf("%s: got %d lines that do not rejoin to the text", tc.name, len(parts))
			}
			continue
		}
		for _, w := range tc.want {
			if i >= len(got) || got[i] != w {
				t.Fatalf("%s: line %d: got %q, want %q (all: %q)", tc.name, i, at(got, i), w, got)
			}
			i++
		}
	}
	if i != len(got) {
		t.Errorf("extra lines: %q", got[i:])
	}
	if !b.Connected() || b.Stats().Reconnects != 0 {
		t.Errorf("the bot lost its connection: %+v", b.Stats())
	}
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "<none>"
}

// 6. a wrong SASL password is permanent: one clear error, no retries.
func TestServerWrongPassword(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	// with the NickServ fallback SASL is optional, but a rejected
	// password is still permanent
	for _, nickserv := range []bool{false, true} {
		t.Run(fmt.Sprintf("nickserv=%v", nickserv), func(t *testing.T) {
			t.Parallel()
			cfg := botConfig(s.Addr)
			cfg.SASLPassword, cfg.NickServ = "wrong-password", nickserv
			tr, err := New(cfg, Options{BackoffMin: 50 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err = tr.Run(sendCtx(t, 20*time.Second), transport.InboxFunc(func(context.Context, chat.Incoming) {}))
			if !errors.Is(err, transport.ErrPermanent) {
				t.Fatalf("Run = %v, want an error wrapping transport.ErrPermanent", err)
			}
			if !strings.Contains(err.Error(), "sasl") || strings.Contains(err.Error(), "wrong-password") {
				t.Errorf("error %q should name SASL and not leak the password", err)
			}
			t.Logf("Run returned after %v: %v", time.Since(start).Round(time.Millisecond), err)
			if _, err := tr.Send(context.Background(), announce("#x", chat.Line{}.Text("x"))); !errors.Is(err, ErrNotConnected) {
				t.Errorf("Send after a failed Run = %v, want ErrNotConnected", err)
			}
		})
	}
}

// TLS with a custom CA file works; without it the certificate is refused
// as a permanent error.
func TestServerTLS(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	ch := randName("#tls")
	cfg := botConfig(s.TLS, Channel{Name: ch})
	cfg.TLS, cfg.TLSCAFile = true, s.CAFile
	b := startBot(t, cfg)
	b.waitConnected(t, true, 10*time.Second)

	bad := botConfig(s.TLS)
	bad.TLS = true
	tr, err := New(bad, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	err = tr.Run(sendCtx(t, 10*time.Second), transport.InboxFunc(func(context.Context, chat.Incoming) {}))
	if !errors.Is(err, transport.ErrPermanent) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Run without the CA = %v, want a permanent certificate error", err)
	}
}

// 4. 60 lines at once reach the strict server in order without the bot
// being disconnected; with the limiter off, the same burst is killed.
func TestServerFloodStrict(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	if s.Strict == "" {
		t.Fatal("KSECBOT_IRC_STRICT_ADDR not set")
	}
	tests := []struct {
		name     string
		flood    Flood
		wantKill bool
	}{
		// strict class: 1 line/s drains, 20 lines of penalty kill; burst 4
		// then one line per second stays under it (the default, one per
		// 2 s, is slower still).
		{"limited", Flood{Burst: 4, Interval: config.Duration{Duration: time.Second}}, false},
		{"limiter disabled", Flood{Disabled: true}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ch := randName("#fl")
			obs := newObserver(t, s.Addr, "observer")
			obs.Join(t, ch, "")
			cfg := botConfig(s.Strict, Channel{Name: ch})
			cfg.Flood = tc.flood
			b := startBot(t, cfg)
			waitFor(t, obs, 15*time.Second, "bot JOIN", isCmd("JOIN", b.nick, ch))
			var lines []chat.Line
			for i := range 60 {
				lines = append(lines, chat.Line{}.Text(fmt.Sprintf("line %02d", i)))
			}
			start := time.Now()
			_, sendErr := b.Send(sendCtx(t, 120*time.Second), announce(ch, lines...))
			var got []string
			killed := false
			for len(got) < 60 && !killed {
				m := waitFor(t, obs, 10*time.Second, "bot lines", func(m ircmsg.Message) bool {
					return strings.EqualFold(m.Nick(), b.nick)
				})
				switch m.Command {
				case "PRIVMSG":
					got = append(got, m.Params[1])
				case "QUIT":
					t.Logf("bot quit: %v", m.Params)
					killed = strings.Contains(irctest.LastParam(m), "Excess Flood")
					if !killed {
						t.Fatalf("bot quit for another reason: %v", m.Params)
					}
				}
			}
			elapsed := time.Since(start)
			if tc.wantKill {
				if !killed {
					t.Fatalf("without the limiter the strict server did not disconnect the bot (%d lines, send err %v)", len(got), sendErr)
				}
				t.Logf("unlimited burst: killed with Excess Flood after %d lines", len(got))
				return
			}
			if killed || sendErr != nil {
				t.Fatalf("killed=%v send err=%v after %d lines", killed, sendErr, len(got))
			}
			for i, l := range got {
				if want := fmt.Sprintf("line %02d", i); l != want {
					t.Fatalf("line %d = %q, want %q (order)", i, l, want)
				}
			}
			t.Logf("60 lines in %v: %.2f lines/s", elapsed.Round(time.Millisecond), 60/elapsed.Seconds())
			if st := b.Stats(); st.Reconnects != 0 || !st.Connected {
				t.Fatalf("bot was disconnected: %+v", st)
			}
		})
	}
}

// 3. the server dies and comes back: Sends fail meanwhile, the bot
// reconnects with backoff, rejoins and Sends work again.
func TestServerReconnect(t *testing.T) {
	t.Parallel()
	irctest.Need(t)
	srv := irctest.StartServer(t, irctest.ServerOptions{})
	addr := srv.Addr
	ch := randName("#re")
	b := startBot(t, botConfig(addr, Channel{Name: ch}))
	b.waitConnected(t, true, 15*time.Second)

	srv.Run(t, "stop-ircd")
	b.waitConnected(t, false, 10*time.Second)
	if _, err := b.Send(sendCtx(t, 5*time.Second), announce(ch, chat.Line{}.Text("during outage"))); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Send during the outage = %v, want ErrNotConnected", err)
	}
	srv.Run(t, "start-ircd")
	b.waitConnected(t, true, 20*time.Second)

	obs := newObserver(t, addr, "observer")
	obs.Join(t, ch, "")
	// the bot rejoined: it is in the channel's names and its line arrives
	if _, err := b.Send(sendCtx(t, 10*time.Second), announce(ch, chat.Line{}.Text("after outage"))); err != nil {
		t.Fatalf("Send after reconnect: %v", err)
	}
	m := waitFor(t, obs, 5*time.Second, "line after reconnect", isCmd("PRIVMSG", b.nick, ch))
	if m.Params[1] != "after outage" {
		t.Fatalf("got %q", m.Params[1])
	}
	if st := b.Stats(); st.Reconnects != 1 || st.SendErrors != 1 {
		t.Errorf("Stats = %+v, want 1 reconnect and 1 send error", st)
	}
}
