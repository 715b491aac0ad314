// SPDX-License-Identifier: GPL-3.0-or-later

package irc

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/irctest"
	"github.com/ksecbot/ksecbot/transport"
)

// inChannel reports whether the bot counts nick as a member of ch now.
func (b *runningBot) inChannel(nick, ch string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.members[Fold(b.casemap, nick)][Fold(b.casemap, ch)]
}

// waitMember waits until the bot's view of nick in ch is want.
func (b *runningBot) waitMember(t *testing.T, nick, ch string, want bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for b.inChannel(nick, ch) != want {
		if time.Now().After(deadline) {
			t.Fatalf("the bot does not see %s as in %s = %v", nick, ch, want)
		}
		time.Sleep(20 * time.Millisecond) // polling the bot's state
	}
}

// TestServerMembersKeptFromPings: on the real server, the nicks of the
// people in the channel (known from NAMES when the bot joins, then JOIN,
// PART, QUIT, NICK, KICK) get chat.NoPing in a line, and so does a
// maintainer the line does not mention (Outgoing.Quiet); the nicks of
// people who left, and every other word, are sent byte for byte. Each
// member's client would highlight nothing.
func TestServerMembersKeptFromPings(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	ch := randName("#mem")
	nick := func(p string) irctest.Options { return irctest.Options{Nick: randName(p)} }
	early := irctest.NewObserver(t, s.Addr, nick("early")) // channel operator: joins first
	early.Join(t, ch, "")
	leaver := irctest.NewObserver(t, s.Addr, nick("leaver"))
	leaver.Join(t, ch, "")
	b := startBot(t, botConfig(s.Addr, Channel{Name: ch}))
	waitFor(t, early, 10*time.Second, "bot JOIN", isCmd("JOIN", b.nick, ch))
	b.waitMember(t, early.Nick(), ch, true) // from NAMES

	late := irctest.NewObserver(t, s.Addr, nick("late"))
	late.Join(t, ch, "")
	quitter := irctest.NewObserver(t, s.Addr, nick("quitter"))
	quitter.Join(t, ch, "")
	kicked := irctest.NewObserver(t, s.Addr, nick("kicked"))
	kicked.Join(t, ch, "")
	renamed := irctest.NewObserver(t, s.Addr, nick("old"))
	renamed.Join(t, ch, "")
	oldNick := renamed.Nick()
	for _, o := range []*irctest.Observer{late, quitter, kicked, renamed} {
		b.waitMember(t, o.Nick(), ch, true)
	}
	if err := leaver.Conn.Part(ch); err != nil {
		t.Fatal(err)
	}
	quitter.Close()
	if err := early.Conn.Send("KICK", ch, kicked.Nick(), "test"); err != nil {
		t.Fatal(err)
	}
	newNick := randName("new")
	renamed.Conn.SetNick(newNick)
	for _, n := range []string{leaver.Nick(), quitter.Nick(), kicked.Nick(), oldNick} {
		b.waitMember(t, n, ch, false)
	}
	b.waitMember(t, newNick, ch, true)

	maintainer := randName("maint") // a tree's maintainer, not here, not mentioned
	summary := fmt.Sprintf("sys-kernel/gentoo-sources-6.6.60: CVE-2024-50001 in /usr/src/linux/net/core.c, by %s, %s and %s (cc %s; gone: %s %s %s %s)",
		early.Nick(), strings.ToUpper(late.Nick()), newNick, maintainer, leaver.Nick(), quitter.Nick(), kicked.Nick(), oldNick)
	out := announce(ch, chat.Line{}.Bold("Bug 1").Text(" ").Quote(summary))
	out.Quiet = map[string][]string{Name: {maintainer}}
	if _, err := b.Send(sendCtx(t, 10*time.Second), out); err != nil {
		t.Fatal(err)
	}
	for _, o := range []*irctest.Observer{early, late, renamed} {
		m := waitFor(t, o, 10*time.Second, "the line", isCmd("PRIVMSG", b.nick, ch))
		got := m.Params[1]
		if want := "\x02Bug 1\x02 " + summary; strings.ReplaceAll(got, string(chat.NoPing), "") != want {
			t.Fatalf("%s received %q, want %q with only %U added", o.Nick(), got, want, chat.NoPing)
		}
		if n := strings.Count(got, string(chat.NoPing)); n != 4 {
			t.Errorf("%s received %q: %d characters added, want 4 (three members, one maintainer)", o.Nick(), got, n)
		}
		for _, n := range []string{o.Nick(), maintainer} {
			if c := irctest.Highlighter(got, n); c != "" {
				t.Errorf("%s would highlight %s in %q", c, n, got)
			}
		}
		for _, gone := range []string{leaver.Nick(), quitter.Nick(), kicked.Nick(), oldNick, "sys-kernel/gentoo-sources-6.6.60", "CVE-2024-50001", "/usr/src/linux/net/core.c"} {
			if !strings.Contains(got, gone) {
				t.Errorf("%q is not in %q as written", gone, got)
			}
		}
	}
}

// TestServerOneLetterNick: a member with a one-letter nick is highlighted
// neither by that letter inside words nor by the nick of another member
// that starts with it (the character put into that nick is a letter, so
// no word of one letter is split off), nor by the letter as a word.
func TestServerOneLetterNick(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	ch := randName("#one")
	var short *irctest.Observer
	for _, l := range "qjzxkvwy" { // a free one-letter nick (the server is shared)
		o, err := irctest.Dial(s.Addr, irctest.Options{Nick: string(l)})
		if err == nil && len(o.Nick()) == 1 {
			short = o
			t.Cleanup(o.Close)
			break
		}
		if err == nil {
			o.Close()
		}
	}
	if short == nil {
		t.Skip("no one-letter nick free on the shared server")
	}
	l := short.Nick()
	long := irctest.NewObserver(t, s.Addr, irctest.Options{Nick: l + randName("ve")})
	short.Join(t, ch, "")
	long.Join(t, ch, "")
	b := startBot(t, botConfig(s.Addr, Channel{Name: ch}))
	waitFor(t, short, 10*time.Second, "bot JOIN", isCmd("JOIN", b.nick, ch))
	b.waitMember(t, long.Nick(), ch, true)
	summary := fmt.Sprintf("%s: %sa%s-%s %s.%s. %s", long.Nick(), l, l, l, l, l, strings.ToUpper(l))
	if _, err := b.Send(sendCtx(t, 10*time.Second), announce(ch, chat.Line{}.Quote(summary))); err != nil {
		t.Fatal(err)
	}
	m := waitFor(t, short, 10*time.Second, "the line", isCmd("PRIVMSG", b.nick, ch))
	got := m.Params[1]
	t.Logf("%s received %q", l, got)
	for _, n := range []string{l, long.Nick()} {
		if c := irctest.Highlighter(got, n); c != "" {
			t.Errorf("%s would highlight %q in %q", c, n, got)
		}
	}
	if strings.ReplaceAll(got, string(chat.NoPing), "") != summary {
		t.Errorf("received %q, want %q with only %U added", got, summary, chat.NoPing)
	}
}

// TestServerReplyExpires: a command reply that has not begun to go out
// when it expires (held behind announcements by the flood limiter) is
// dropped with transport.ErrExpired and never reaches the channel; a
// reply already begun is finished, even past its expiry.
func TestServerReplyExpires(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	ch := randName("#exp")
	obs := newObserver(t, s.Addr, "")
	obs.Join(t, ch, "")
	cfg := botConfig(s.Addr, Channel{Name: ch})
	cfg.Flood = Flood{Burst: 2, Interval: config.Duration{Duration: time.Second}}
	b := startBot(t, cfg)
	waitFor(t, obs, 10*time.Second, "bot JOIN", isCmd("JOIN", b.nick, ch))
	b.waitMember(t, obs.Nick(), ch, true)
	for b.lim.Ready(1) > 0 { // the JOIN's token back: a full bucket
		time.Sleep(b.lim.Ready(1))
	}

	reply := func(key string, expires time.Time, lines ...string) chat.Outgoing {
		out := chat.Outgoing{Key: key, Kind: chat.KindReply, Target: ch, Channel: chat.ChannelKey(Name, ch), Expires: expires}
		for _, l := range lines {
			out.Lines = append(out.Lines, chat.Line{}.Text(l))
		}
		return out
	}
	// begun before it expires (one line per second), finished after
	start := time.Now()
	if _, err := b.Send(sendCtx(t, 20*time.Second), reply("r1", start.Add(1500*time.Millisecond), "begun 1", "begun 2", "begun 3")); err != nil {
		t.Fatalf("a reply begun in time: %v", err)
	}
	t.Logf("a reply begun in time finished %v after it was sent, past its expiry", time.Since(start).Round(time.Millisecond))

	// held behind an announcement of 6 lines: replies wait up to four
	// intervals for a line between announcements, past its expiry
	errs := make(chan error, 2)
	go func() {
		_, err := b.Send(sendCtx(t, 30*time.Second), announce(ch, chat.Line{}.Text("ann 1"), chat.Line{}.Text("ann 2"), chat.Line{}.Text("ann 3"),
			chat.Line{}.Text("ann 4"), chat.Line{}.Text("ann 5"), chat.Line{}.Text("ann 6")))
		errs <- err
	}()
	waitFor(t, obs, 10*time.Second, "the announcement's first line", irctest.PrivmsgFrom(b.nick, ch, "ann 1"))
	_, err := b.Send(sendCtx(t, 30*time.Second), reply("r2", time.Now().Add(1500*time.Millisecond), "too late"))
	if !errors.Is(err, transport.ErrExpired) {
		t.Errorf("a reply held past its expiry: Send = %v, want ErrExpired", err)
	}
	if err := <-errs; err != nil {
		t.Fatalf("announcement: %v", err)
	}
	if _, err := b.Send(sendCtx(t, 20*time.Second), reply("r3", time.Now().Add(time.Minute), "in time")); err != nil {
		t.Fatalf("a reply in time: %v", err)
	}
	waitFor(t, obs, 10*time.Second, "the reply in time", irctest.PrivmsgFrom(b.nick, ch, "in time"))
	for _, m := range obs.History() {
		if m.Command == "PRIVMSG" && strings.Contains(m.Params[1], "too late") {
			t.Errorf("the expired reply reached the channel: %q", m.Params[1])
		}
	}
	for i := 1; i <= 3; i++ {
		if !containsLine(obs, b.nick, ch, fmt.Sprintf("begun %d", i)) {
			t.Errorf("line %d of the reply begun in time is missing", i)
		}
	}
	if st := b.Stats(); st.SendErrors != 0 {
		t.Errorf("an expired reply counted as a send error: %+v", st)
	}
}

func containsLine(o *irctest.Observer, nick, ch, text string) bool {
	for _, m := range o.History() {
		if irctest.PrivmsgFrom(nick, ch, text)(m) {
			return true
		}
	}
	return false
}
