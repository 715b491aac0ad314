// SPDX-License-Identifier: GPL-3.0-or-later

package irc_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/irctest"
	"github.com/ksecbot/ksecbot/internal/transporttest"
	"github.com/ksecbot/ksecbot/transport/irc"
)

// TestConformance runs the transport conformance suite against the real IRC
// server: alice (logged in to her services account) talks to the bot in a
// fresh channel; the bot connects through a proxy that drops the link for
// the reconnect case.
func TestConformance(t *testing.T) {
	srv := irctest.Need(t)
	transporttest.Run(t, func(t *testing.T) *transporttest.Network {
		proxy := irctest.NewProxy(t, srv.Addr)
		channel := irctest.RandName("#conf")
		nick := irctest.RandName("ksb")
		cfg := &irc.Config{
			Server: proxy.Addr, Nick: nick, SASLUser: "ksecbot", SASLPassword: config.Secret(irctest.Password("ksecbot")),
			Channels: []irc.Channel{{Name: channel}},
			Flood:    irc.Flood{Burst: 20, Interval: config.Duration{Duration: 50 * time.Millisecond}},
		}
		tr, err := irc.New(cfg, irc.Options{Version: "ksecbot-test", BackoffMin: 200 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		alice := irctest.NewObserver(t, srv.Addr, irctest.Options{Account: "alice"})
		alice.Join(t, channel, "")
		fromBot := func(m ircmsg.Message) bool { return strings.EqualFold(m.Nick(), nick) }
		// inChannel: the bot's last JOIN, PART, KICK or QUIT seen by alice
		// is a JOIN of the channel.
		inChannel := func() bool {
			in := false
			for _, m := range alice.History() {
				switch {
				case m.Command == "JOIN" && fromBot(m):
					in = true
				case (m.Command == "QUIT" || m.Command == "PART") && fromBot(m):
					in = false
				case m.Command == "KICK" && len(m.Params) > 1 && strings.EqualFold(m.Params[1], nick):
					in = false
				}
			}
			return in
		}
		return &transporttest.Network{
			Transport: tr,
			Channel:   tr.Channels()[0],
			User:      chat.Identity{Network: irc.Name, Account: "alice"},
			Say:       func(text string) bool { return alice.Conn.Privmsg(channel, text) == nil },
			Seen: func() []string {
				var out []string
				for _, m := range alice.History() {
					if (m.Command == "PRIVMSG" || m.Command == "NOTICE") && fromBot(m) && len(m.Params) > 1 && strings.EqualFold(m.Params[0], channel) {
						out = append(out, irctest.PlainText(m.Params[1]))
					}
				}
				return out
			},
			Drop: func() {
				proxy.DropAll()
				alice.WaitFor(t, 30*time.Second, "the bot's QUIT after the drop", irctest.From("QUIT", nick, ""))
			},
			Ready: inChannel,
		}
	})
}
