// SPDX-License-Identifier: GPL-3.0-or-later

package irc

import (
	"strings"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/irctest"
)

// A channel operator kicks the bot: it rejoins after KickDelay times the
// number of kicks, three times; after the fourth kick it stays out.
func TestServerRejoinAfterKick(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	ch := randName("#kick")
	op := newObserver(t, s.Addr, "observer") // first in: channel operator
	op.Join(t, ch, "")
	const delay = 300 * time.Millisecond
	b := startBotWith(t, botConfig(s.Addr, Channel{Name: ch}), Options{KickDelay: delay})
	waitFor(t, op, 10*time.Second, "bot JOIN", isCmd("JOIN", b.nick, ch))

	kick := func(n int) time.Time {
		t.Helper()
		if err := op.Conn.Send("KICK", ch, b.nick, "kick test"); err != nil {
			t.Fatal(err)
		}
		m, at, _, err := op.Next(sendCtx(t, 5*time.Second), func(m ircmsg.Message) bool {
			return m.Command == "KICK" && len(m.Params) > 1 && strings.EqualFold(m.Params[1], b.nick)
		})
		if err != nil {
			t.Fatalf("kick %d: the server did not confirm the KICK: %v", n, err)
		}
		t.Logf("kick %d: %v", n, m.Params)
		return at
	}
	for n := 1; n <= maxKickRejoins; n++ {
		kicked := kick(n)
		m, at, _, err := op.Next(sendCtx(t, 10*time.Second), isCmd("JOIN", b.nick, ch))
		if err != nil {
			t.Fatalf("kick %d: the bot did not rejoin: %v", n, err)
		}
		if wait, want := at.Sub(kicked), time.Duration(n)*delay; wait < want*9/10 {
			t.Errorf("kick %d: rejoined after %v, want at least %v", n, wait, want)
		} else {
			t.Logf("kick %d: rejoined after %v (delay %v)", n, wait.Round(time.Millisecond), want)
		}
		if len(m.Params) < 2 || m.Params[1] != "ksecbot" {
			t.Errorf("kick %d: rejoined as account %v, want ksecbot", n, m.Params)
		}
	}
	kick(maxKickRejoins + 1)
	// an absence: a fourth rejoin would come after 4 delays
	window := time.Duration(maxKickRejoins+1)*delay + 2*time.Second
	if m, _, _, err := op.Next(sendCtx(t, window), isCmd("JOIN", b.nick, ch)); err == nil {
		t.Fatalf("the bot rejoined after kick %d: %v", maxKickRejoins+1, m.Params)
	}
	if st := b.Stats(); !st.Connected || st.Reconnects != 0 {
		t.Errorf("kicks cost the bot its connection: %+v", st)
	}
}

// On a server without SASL, nickserv = true makes the bot identify with
// NickServ IDENTIFY: its messages then carry its account.
func TestServerNickServFallback(t *testing.T) {
	t.Parallel()
	irctest.Need(t)
	srv := irctest.StartServer(t, irctest.ServerOptions{NoSASL: true})
	account, password := irctest.Register(t, srv.Addr, "ksbns")
	ch := randName("#ns")
	obs := irctest.NewObserver(t, srv.Addr, irctest.Options{}) // no SASL here
	obs.Join(t, ch, "")

	cfg := botConfig(srv.Addr, Channel{Name: ch})
	cfg.SASLUser, cfg.SASLPassword, cfg.NickServ = account, config.Secret(password), true
	b := startBot(t, cfg)
	// identified before its JOIN (extended-join names the account) or
	// after it (account-notify)
	j := waitFor(t, obs, 15*time.Second, "bot JOIN", isCmd("JOIN", b.nick, ch))
	if len(j.Params) < 2 || j.Params[1] != account {
		waitFor(t, obs, 15*time.Second, "the bot identified to "+account, isCmd("ACCOUNT", b.nick, account))
	}
	if _, err := b.Send(sendCtx(t, 10*time.Second), announce(ch, chat.Line{}.Text("identified"))); err != nil {
		t.Fatalf("Send: %v", err)
	}
	m := waitFor(t, obs, 5*time.Second, "the bot's line", isCmd("PRIVMSG", b.nick, ch))
	if _, acct := m.GetTag("account"); acct != account {
		t.Errorf("account tag on the bot's message = %q, want %q (NickServ IDENTIFY)", acct, account)
	}
}
