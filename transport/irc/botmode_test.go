// SPDX-License-Identifier: GPL-3.0-or-later

package irc

import (
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/internal/irctest"
)

// The bot sets the user mode ISUPPORT BOT names (+B on InspIRCd with
// botmode), so WHOIS marks it as a bot (a good neighbour).
func TestServerBotMode(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	ch := randName("#bot")
	obs := newObserver(t, s.Addr, "observer")
	obs.Join(t, ch, "")
	b := startBot(t, botConfig(s.Addr, Channel{Name: ch}))
	waitFor(t, obs, 10*time.Second, "bot JOIN", isCmd("JOIN", b.nick, ch))

	isBot := make(chan struct{}, 1)
	obs.Conn.AddCallback("335", func(m ircmsg.Message) { // RPL_WHOISBOT
		if len(m.Params) >= 2 && m.Params[1] == b.nick {
			select {
			case isBot <- struct{}{}:
			default:
			}
		}
	})
	deadline := time.After(10 * time.Second)
	for {
		obs.Conn.Send("WHOIS", b.nick)
		select {
		case <-isBot:
			return
		case <-time.After(500 * time.Millisecond): // the MODE may still be queued
		case <-deadline:
			t.Fatalf("WHOIS %s never said it is a bot (RPL_WHOISBOT)", b.nick)
		}
	}
}
