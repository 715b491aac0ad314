// SPDX-License-Identifier: GPL-3.0-or-later

package irc

import (
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/irctest"
)

func channelNames(cs []chat.Channel) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// ReloadChannels on a transport that is not running: needRestart for
// other [irc] changes, invalid channel lists rejected with the old ones
// kept.
func TestReloadChannelsConfig(t *testing.T) {
	t.Parallel()
	base := func() *Config {
		return &Config{
			Server: "127.0.0.1:1", Nick: "ksb", SASLUser: "ksecbot", SASLPassword: "pw",
			Channels: []Channel{{Name: "#a"}, {Name: "#b", Private: true}},
			Flood:    Flood{Burst: 4, Interval: config.Duration{Duration: 2 * time.Second}},
			Admins:   []string{"alice"},
		}
	}
	no := false
	tests := []struct {
		name        string
		edit        func(c *Config)
		wantRestart bool
		wantErr     string
		want        []string // channel names after the reload
	}{
		{"unchanged", func(*Config) {}, false, "", []string{"#a", "#b"}},
		{"channels only", func(c *Config) {
			c.Channels = []Channel{{Name: "#B", Notice: true}, {Name: "#c", Previews: &no}}
		}, false, "", []string{"#B", "#c"}},
		{"no channels", func(c *Config) { c.Channels = nil }, false, "", nil},
		{"nick", func(c *Config) { c.Nick = "other" }, true, "", []string{"#a", "#b"}},
		{"server", func(c *Config) { c.Server = "127.0.0.1:2" }, true, "", []string{"#a", "#b"}},
		// the next connection uses it: a network stopped by a refused
		// password tries the fixed one on SIGHUP
		{"sasl password", func(c *Config) { c.SASLPassword = "new" }, false, "", []string{"#a", "#b"}},
		{"flood", func(c *Config) { c.Flood.Burst = 5 }, true, "", []string{"#a", "#b"}},
		{"formatting", func(c *Config) { c.Formatting = &no }, true, "", []string{"#a", "#b"}},
		{"admins and a channel", func(c *Config) {
			c.Admins = append(c.Admins, "bob")
			c.Channels = append(c.Channels, Channel{Name: "#c"})
		}, true, "", []string{"#a", "#b", "#c"}},
		{"invalid name", func(c *Config) {
			c.Channels = append(c.Channels, Channel{Name: "#bad name"})
		}, false, "invalid channel name", []string{"#a", "#b"}},
		{"duplicate under casemapping", func(c *Config) {
			c.Channels = append(c.Channels, Channel{Name: "#A"})
		}, false, "listed twice", []string{"#a", "#b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr, err := New(base(), Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			next := base()
			tc.edit(next)
			restart, err := tr.ReloadChannels(next)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ReloadChannels error = %v, want one containing %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatalf("ReloadChannels: %v", err)
			}
			if restart != tc.wantRestart {
				t.Errorf("needRestart = %v, want %v", restart, tc.wantRestart)
			}
			got := tr.Channels()
			if names := channelNames(got); !slices.Equal(names, tc.want) {
				t.Fatalf("Channels() = %v, want %v", names, tc.want)
			}
			if tc.name == "sasl password" && tr.saslPassword() != "new" {
				t.Errorf("the next connection's SASL password is not the reloaded one")
			}
			if tc.name == "channels only" {
				if !got[0].Notice || got[0].Key != "irc:#B" || got[1].Previews {
					t.Errorf("new flags not taken: %+v", got)
				}
			}
		})
	}
	t.Run("no [irc] section", func(t *testing.T) {
		tr, err := New(base(), Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		if restart, err := tr.ReloadChannels(nil); restart || err != nil {
			t.Errorf("ReloadChannels without [irc] = %v, %v; want false, nil (the core reports it)", restart, err)
		}
		if names := channelNames(tr.Channels()); !slices.Equal(names, []string{"#a", "#b"}) {
			t.Errorf("Channels() = %v", names)
		}
	})
}

// A running bot gets a channel added (with a key), one removed and new
// flags for the kept one: it parts and joins without reconnecting, sends
// to the new channel, and joins the new list after a reconnect.
func TestServerReloadChannels(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	keep, gone, added := randName("#keep"), randName("#gone"), randName("#new")
	obs := newObserver(t, s.Addr, "observer")
	obs.Join(t, keep, "")
	obs.Join(t, gone, "")
	obs.Join(t, added, "n3wkey")

	cfg := botConfig(s.Addr, Channel{Name: keep}, Channel{Name: gone})
	b := startBot(t, cfg)
	for _, ch := range []string{keep, gone} {
		waitFor(t, obs, 10*time.Second, "bot JOIN "+ch, isCmd("JOIN", b.nick, ch))
	}
	b.waitConnected(t, true, 10*time.Second)

	next := *cfg
	next.Channels = []Channel{
		{Name: strings.ToUpper(keep), Notice: true}, // same channel under casemapping
		{Name: added, ChannelKey: "n3wkey", Private: true},
	}
	restart, err := b.ReloadChannels(&next)
	if err != nil || restart {
		t.Fatalf("ReloadChannels = %v, %v; want false, nil", restart, err)
	}
	got := b.Channels()
	if names := channelNames(got); !slices.Equal(names, []string{strings.ToUpper(keep), added}) || !got[0].Notice || !got[1].Private {
		t.Fatalf("Channels() right after the reload = %+v", got)
	}

	obs.Until(t, 10*time.Second, "the bot to PART "+gone+" and JOIN "+added, func(h []ircmsg.Message) bool {
		parted, joined := false, false
		for _, m := range h {
			parted = parted || (isCmd("PART", b.nick, gone)(m) && irctest.LastParam(m) == partReason)
			joined = joined || isCmd("JOIN", b.nick, added)(m)
		}
		return parted && joined
	})
	if h := obs.History(); slices.ContainsFunc(h, isCmd("PART", b.nick, keep)) || countFunc(h, isCmd("JOIN", b.nick, keep)) != 1 {
		t.Fatalf("the bot left or rejoined the kept channel %s: %s", keep, irctest.Describe(h))
	}

	obs.Drain()
	if _, err := b.Send(sendCtx(t, 10*time.Second), announce(added, chat.Line{}.Text("to the new channel"))); err != nil {
		t.Fatalf("Send to the added channel: %v", err)
	}
	if m := waitFor(t, obs, 5*time.Second, "PRIVMSG in "+added, isCmd("PRIVMSG", b.nick, added)); m.Params[1] != "to the new channel" {
		t.Errorf("got %q", m.Params[1])
	}
	if _, err := b.Send(sendCtx(t, 10*time.Second), announce(keep, chat.Line{}.Text("kept, now notice"))); err != nil {
		t.Fatalf("Send to the kept channel: %v", err)
	}
	waitFor(t, obs, 5*time.Second, "NOTICE in "+keep+" (its new flag)", isCmd("NOTICE", b.nick, keep))
	if st := b.Stats(); st.Reconnects != 0 || !st.Connected {
		t.Fatalf("the reload reconnected: %+v", st)
	}

	// After a reconnect the bot joins the new list, not the old one.
	b.mu.Lock()
	conn := b.conn
	b.mu.Unlock()
	obs.Drain()
	if err := conn.Send("QUIT", "reconnect test"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, obs, 5*time.Second, "bot QUIT", isCmd("QUIT", b.nick, ""))
	_, skipped := obs.WaitFor(t, 20*time.Second, "bot JOIN "+added+" after the reconnect", isCmd("JOIN", b.nick, added))
	if b.Stats().Reconnects != 1 {
		t.Errorf("Reconnects = %d, want 1", b.Stats().Reconnects)
	}
	// JOINs are queued together on connect, ahead of messages: once a
	// message arrived, a JOIN of the removed channel would have too.
	if _, err := b.Send(sendCtx(t, 10*time.Second), announce(added, chat.Line{}.Text("after reconnect"))); err != nil {
		t.Fatalf("Send after the reconnect: %v", err)
	}
	_, more := obs.WaitFor(t, 5*time.Second, "PRIVMSG after the reconnect", isCmd("PRIVMSG", b.nick, added))
	for _, m := range append(skipped, more...) {
		if isCmd("JOIN", b.nick, gone)(m) {
			t.Fatalf("the bot rejoined the removed channel %s after the reconnect", gone)
		}
	}
	if !slices.ContainsFunc(append(skipped, more...), isCmd("JOIN", b.nick, keep)) {
		t.Errorf("the bot did not rejoin the kept channel %s", keep)
	}
}

func countFunc[T any](s []T, f func(T) bool) int {
	n := 0
	for _, v := range s {
		if f(v) {
			n++
		}
	}
	return n
}
