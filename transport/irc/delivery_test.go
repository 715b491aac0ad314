// SPDX-License-Identifier: GPL-3.0-or-later

package irc_test

// End-to-end delivery tests: the real bot core (bot.Wire with the real
// store and the Bugzilla test server) and this IRC transport, talking to
// the real IRC test server through a TCP proxy (irctest.Proxy) that
// partitions the link, swallows lines and drops the connection, while an
// observer in the channel counts what people see.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/bot"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/irctest"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/transport"
	"github.com/ksecbot/ksecbot/transport/irc"
)

const deliveryConfig = `
[bugzilla]
url = "http://127.0.0.1/"
poll_interval = "300ms"

[[watch]]
product = "Gentoo Security"
component = "Kernel"

[announce]
digest_after = 0

[[tree]]
name = "gentoo-sources"
packages = ["sys-kernel/gentoo-sources"]
bugzilla = ["kernel@gentoo.org"]
`

// manyNicks are the IRC nicks of the tree "multi": its announcements are
// longer than four IRC lines. Every wrapped line carries distinct nicks.
var manyNicks = func() []string {
	var n []string
	for i := 1; i <= 320; i++ {
		n = append(n, fmt.Sprintf("w%03d", i))
	}
	return n
}()

var multiTree = `
[[tree]]
name = "multi"
packages = ["sys-kernel/multi-sources"]
bugzilla = ["multi@gentoo.org"]
irc = ["` + strings.Join(manyNicks, `", "`) + `"]
`

// logBuf collects the bot's log for counting lines; it also goes to the
// test log when -v.
type logBuf struct {
	t  *testing.T
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.b.Write(p)
	l.mu.Unlock()
	if testing.Verbose() {
		l.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (l *logBuf) count(subs ...string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range strings.Split(l.b.String(), "\n") {
		all := line != ""
		for _, s := range subs {
			all = all && strings.Contains(line, s)
		}
		if all {
			n++
		}
	}
	return n
}

// coreBot is the bot core with the IRC transport.
type coreBot struct {
	bz   *bugzillatest.Server
	tr   *irc.Transport
	nick string
	log  *logBuf
	bot  *bot.Bot
}

// startCoreBot runs the core (bot.Wire) with a real store, the
// Bugzilla test server and an IRC transport connecting to addr with
// channels.
func startCoreBot(t *testing.T, addr string, flood irc.Flood, opt irc.Options, channels ...irc.Channel) *coreBot {
	t.Helper()
	return startCoreBotWith(t, addr, flood, opt, nil, channels...)
}

// startCoreBotWith is startCoreBot with more transports beside IRC.
func startCoreBotWith(t *testing.T, addr string, flood irc.Flood, opt irc.Options, more []transport.Transport, channels ...irc.Channel) *coreBot {
	t.Helper()
	return startCoreBotTweaked(t, addr, flood, opt, more, nil, channels...)
}

// startCoreBotTweaked is startCoreBotWith with tweak applied to the [irc]
// table before the transport is built.
func startCoreBotTweaked(t *testing.T, addr string, flood irc.Flood, opt irc.Options, more []transport.Transport, tweak func(*irc.Config), channels ...irc.Channel) *coreBot {
	t.Helper()
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	cfg, err := config.Parse([]byte(deliveryConfig+multiTree), "test.toml", irc.Network.Config)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Bugzilla.URL = bz.URL()
	cfg.Bugzilla.PublicURL = "https://bugs.gentoo.org"
	cfg.Bugzilla.APIKey = "key-ksecbot"
	section := &irc.Config{
		Server:       addr,
		Nick:         irctest.RandName("ksd"),
		SASLUser:     "ksecbot",
		SASLPassword: "ksecbot-pass",
		Channels:     channels,
		Flood:        flood,
		ReconnectMax: config.Duration{Duration: 2 * time.Second},
	}
	if tweak != nil {
		tweak(section)
	}
	lb := &logBuf{t: t}
	log := slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opt.Logger, opt.Version = log, "ksecbot-test"
	if opt.BackoffMin == 0 {
		opt.BackoffMin = 200 * time.Millisecond
	}
	cfg.Sections[irc.Name] = section
	tr, err := irc.New(section, opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "ksecbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	bzc, err := bugzilla.New(bugzilla.Options{BaseURL: bz.URL(), APIKey: "key-ksecbot", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bot.Wire(bot.Options{Config: cfg, Store: st, Bugzilla: bzc, Transports: append([]transport.Transport{tr}, more...), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("bot.Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("bot.Run did not return")
		}
		st.Close()
	})
	// the first poll sets the baseline: bugs filed after it are new
	until(t, 20*time.Second, "the first poll", func() bool { return b.Intake.Watcher().Stats().Polls >= 1 })
	return &coreBot{bz: bz, tr: tr, nick: section.Nick, log: lb, bot: b}
}

func until(t *testing.T, d time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond) // polling a state
	}
}

func fileBugs(bz *bugzillatest.Server, n int, what string) []int {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = bz.CreateBug(bugzillatest.NewBug{Summary: fmt.Sprintf("sys-kernel/gentoo-sources: %s %02d", what, i)})
	}
	return ids
}

var announcedRe = regexp.MustCompile(`New kernel security bug (\d+)\b`)

// botLines returns the texts the bot sent to channel, as the observer saw
// them.
func botLines(obs *irctest.Observer, nick, channel string) []string {
	var out []string
	for _, m := range obs.History() {
		if (m.Command == "PRIVMSG" || m.Command == "NOTICE") && len(m.Params) > 1 &&
			strings.EqualFold(m.Params[0], channel) && strings.EqualFold(m.Nick(), nick) {
			out = append(out, irctest.PlainText(m.Params[1]))
		}
	}
	return out
}

// bugCounts counts the announcement lines of each bug in lines.
func bugCounts(lines []string) map[int]int {
	c := map[int]int{}
	for _, l := range lines {
		if m := announcedRe.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			c[n]++
		}
	}
	return c
}

func waitBugs(t *testing.T, obs *irctest.Observer, nick, channel string, timeout time.Duration, ids []int) {
	t.Helper()
	obs.Until(t, timeout, fmt.Sprintf("announcements of %d bugs", len(ids)), func([]ircmsg.Message) bool {
		c := bugCounts(botLines(obs, nick, channel))
		for _, id := range ids {
			if c[id] == 0 {
				return false
			}
		}
		return true
	})
}

// checkBurst asserts that every bug was announced and at most `repeats`
// lines were repeated in all.
func checkBurst(t *testing.T, lines []string, ids []int, repeats int) {
	t.Helper()
	c := bugCounts(lines)
	got := 0
	for _, id := range ids {
		if c[id] == 0 {
			t.Errorf("bug %d lost", id)
		}
		got += max(c[id]-1, 0)
	}
	if got > repeats {
		t.Errorf("%d announcement lines repeated, want at most %d (the line in flight): %v", got, repeats, c)
	}
	t.Logf("all %d bugs announced, %d line(s) repeated", len(ids), got)
}

// isPrivmsgTo matches a PRIVMSG from the client to channel.
func isPrivmsgTo(channel string) func(ircmsg.Message) bool {
	return func(m ircmsg.Message) bool {
		return m.Command == "PRIVMSG" && len(m.Params) > 1 && strings.EqualFold(m.Params[0], channel)
	}
}

// lenient is a flood setting for the lenient server that still spreads a
// burst over a few seconds, so faults land in its middle.
var lenient = irc.Flood{Burst: 2, Interval: config.Duration{Duration: 150 * time.Millisecond}}

// (a) The link goes silent for 60 s in the middle of a 30-bug burst (the
// proxy drops every byte both ways and closes nothing), then heals: all
// 30 announcements arrive, none lost, at most the line in flight repeated.
func TestDeliveryPartitionMidBurst(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	px := irctest.NewProxy(t, s.Addr)
	ch := irctest.RandName("#dp")
	obs := irctest.NewObserver(t, s.Addr, irctest.Options{})
	obs.Join(t, ch, "")
	cb := startCoreBot(t, px.Addr, lenient, irc.Options{}, irc.Channel{Name: ch})
	obs.WaitFor(t, 20*time.Second, "bot JOIN", irctest.From("JOIN", cb.nick, ch))

	ids := fileBugs(cb.bz, 30, "partition")
	obs.Until(t, 60*time.Second, "10 announcements", func([]ircmsg.Message) bool {
		return len(bugCounts(botLines(obs, cb.nick, ch))) >= 10
	})
	px.Partition()
	cut := time.Now()
	before := len(botLines(obs, cb.nick, ch))
	until(t, 60*time.Second, "the bot to notice the silent link", func() bool { return !cb.tr.Connected() })
	detected := time.Since(cut)
	if got := metric(t, cb.bot, `ksecbot_transport_silent_drops_total{network="irc"}`); got != "1" {
		t.Errorf("/metrics silent drops = %q, want 1", got)
	}
	if rest := time.Until(cut.Add(60 * time.Second)); rest > 0 {
		time.Sleep(rest) // the partition lasts 60 s, longer than the PING probe
	}
	px.Heal()
	healed := time.Now()
	waitBugs(t, obs, cb.nick, ch, 120*time.Second, ids)
	t.Logf("timings: %d lines before the partition; silent link detected after %v; all 30 delivered %v after the heal",
		before, detected.Round(time.Millisecond), time.Since(healed).Round(time.Millisecond))
	checkBurst(t, botLines(obs, cb.nick, ch), ids, 1)
}

// (b) The proxy swallows one announcement line and drops the connection
// right after: the bot reconnects and sends it again; nothing lost, at
// most the line in flight repeated.
func TestDeliveryDropAfterSwallowedLine(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	for _, mode := range []struct {
		name string
		opt  irc.Options
	}{
		{"labeled echo", irc.Options{}},
		{"ping fence", irc.Options{NoEchoCaps: true}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			px := irctest.NewProxy(t, s.Addr)
			ch := irctest.RandName("#dd")
			obs := irctest.NewObserver(t, s.Addr, irctest.Options{})
			obs.Join(t, ch, "")
			var seen, swallowed atomic.Int32
			px.SetHook(func(m ircmsg.Message) irctest.Verdict {
				if isPrivmsgTo(ch)(m) && seen.Add(1) == 8 {
					swallowed.Store(1)
					return irctest.SwallowAndDrop
				}
				return irctest.Pass
			})
			cb := startCoreBot(t, px.Addr, lenient, mode.opt, irc.Channel{Name: ch})
			obs.WaitFor(t, 20*time.Second, "bot JOIN", irctest.From("JOIN", cb.nick, ch))
			ids := fileBugs(cb.bz, 30, "dropped")
			start := time.Now()
			waitBugs(t, obs, cb.nick, ch, 120*time.Second, ids)
			if swallowed.Load() == 0 {
				t.Fatal("the proxy never swallowed a line: nothing tested")
			}
			if st := cb.tr.Stats(); st.Reconnects < 1 {
				t.Errorf("Reconnects = %d, want the bot to have reconnected", st.Reconnects)
			}
			t.Logf("30 bugs delivered in %v with one line swallowed and the connection dropped", time.Since(start).Round(time.Millisecond))
			checkBurst(t, botLines(obs, cb.nick, ch), ids, 1)
		})
	}
}

// (b) The connection drops in the middle of a message of four IRC lines,
// right after the proxy swallowed its third: the bot resumes at the third
// line instead of sending the whole message again.
func TestDeliveryDropMidMultiLine(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	px := irctest.NewProxy(t, s.Addr)
	ch := irctest.RandName("#dm")
	obs := irctest.NewObserver(t, s.Addr, irctest.Options{})
	obs.Join(t, ch, "")
	words := manyNicks
	long := "sys-kernel/multi-sources: multi-line"
	var lineNo, dropped atomic.Int32
	px.SetHook(func(m ircmsg.Message) irctest.Verdict {
		if !isPrivmsgTo(ch)(m) || dropped.Load() != 0 {
			return irctest.Pass
		}
		// lines 1 and 2 of the long message pass, the 3rd is swallowed
		// and the connection cut
		// (match the bot's own words)
		if strings.Contains(m.Params[1], "New kernel security") || lineNo.Load() > 0 {
			if lineNo.Add(1) == 3 {
				dropped.Store(1)
				return irctest.SwallowAndDrop
			}
		}
		return irctest.Pass
	})
	// one line per 500 ms: a line's echo is back long before the next
	// line is written, so exactly the swallowed line is in flight
	slow := irc.Flood{Burst: 1, Interval: config.Duration{Duration: 500 * time.Millisecond}}
	cb := startCoreBot(t, px.Addr, slow, irc.Options{}, irc.Channel{Name: ch})
	obs.WaitFor(t, 20*time.Second, "bot JOIN", irctest.From("JOIN", cb.nick, ch))
	id := cb.bz.CreateBug(bugzillatest.NewBug{Summary: long})
	obs.Until(t, 90*time.Second, "the last line of the long announcement", func([]ircmsg.Message) bool {
		return strings.Contains(strings.Join(botLines(obs, cb.nick, ch), " "), "…")
	})
	lines := botLines(obs, cb.nick, ch)
	if dropped.Load() == 0 {
		t.Fatalf("the proxy never cut the message: %q", lines)
	}
	t.Logf("bug %d, lines seen: %d", id, len(lines))
	counts := map[string]int{}
	for _, l := range lines {
		for _, f := range strings.Fields(l) {
			if len(f) == 4 && f[0] == 'w' {
				counts[f]++
			}
		}
	}
	// every word that went out appears exactly once: lines 1 and 2
	// were confirmed before the cut and are not sent again; line 3 was
	// swallowed, so its resend is its first appearance
	last := 0
	for i, w := range words {
		switch counts[w] {
		case 0:
		case 1:
			last = i
		default:
			t.Errorf("%s appears %d times: the message was re-sent from its start, not resumed: %q", w, counts[w], lines)
		}
	}
	for i := 0; i <= last; i++ {
		if counts[words[i]] == 0 {
			t.Errorf("%s lost (the swallowed line was not sent again): %q", words[i], lines)
		}
	}
	if n := bugCounts(lines)[id]; n != 1 {
		t.Errorf("first line of the announcement seen %d times, want 1", n)
	}
	if len(lines) != irc.MaxWrapLines {
		t.Errorf("%d lines seen, want %d (no line repeated, none lost): %q", len(lines), irc.MaxWrapLines, lines)
	}
}

// A channel set +m by an op: the bot's announcement is refused (404), kept
// in the outbox and retried with backoff, logged once; after -m it
// arrives, once.
func TestDeliveryModeratedChannel(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	ch := irctest.RandName("#dmod")
	op := irctest.NewObserver(t, s.Addr, irctest.Options{})
	op.Join(t, ch, "") // first in: channel operator
	cb := startCoreBot(t, s.Addr, lenient, irc.Options{}, irc.Channel{Name: ch})
	op.WaitFor(t, 20*time.Second, "bot JOIN", irctest.From("JOIN", cb.nick, ch))
	if err := op.Conn.Send("MODE", ch, "+m"); err != nil {
		t.Fatal(err)
	}
	op.WaitFor(t, 10*time.Second, "MODE +m", irctest.From("MODE", op.Nick(), ch))

	ids := fileBugs(cb.bz, 2, "moderated")
	until(t, 60*time.Second, "three refused attempts", func() bool { return cb.log.count("delivery failed again", ch) >= 2 })
	if got := bugCounts(botLines(op, cb.nick, ch)); len(got) != 0 {
		t.Fatalf("announcement seen in a +m channel: %v", got)
	}
	if n := cb.log.count("delivery failed, will retry", ch); n != 1 {
		t.Errorf("the refused delivery was logged %d times at WARN, want once (then only at debug)", n)
	}
	if err := op.Conn.Send("MODE", ch, "-m"); err != nil {
		t.Fatal(err)
	}
	unmod := time.Now()
	waitBugs(t, op, cb.nick, ch, 120*time.Second, ids)
	t.Logf("timings: delivered %v after -m (channel retry backoff)", time.Since(unmod).Round(time.Millisecond))
	checkBurst(t, botLines(op, cb.nick, ch), ids, 0)
	if n := cb.log.count("delivery works again", ch); n != 1 {
		t.Errorf("recovery logged %d times, want 1", n)
	}
}

// Kicked and banned: the rejoin is refused (474) and retried with backoff,
// the private channel is told once, the channel's announcements wait in
// the outbox; after the unban the bot gets back in and they arrive, once.
func TestDeliveryKickBanUnban(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	ch, priv := irctest.RandName("#dban"), irctest.RandName("#dsec")
	op := irctest.NewObserver(t, s.Addr, irctest.Options{})
	op.Join(t, ch, "")
	op.Join(t, priv, "")
	opt := irc.Options{KickDelay: 200 * time.Millisecond, JoinRetryMin: 500 * time.Millisecond, JoinRetryMax: 2 * time.Second}
	cb := startCoreBot(t, s.Addr, lenient, opt, irc.Channel{Name: priv, Private: true}, irc.Channel{Name: ch})
	op.WaitFor(t, 20*time.Second, "bot JOIN "+ch, irctest.From("JOIN", cb.nick, ch))

	if err := op.Conn.Send("MODE", ch, "+b", cb.nick+"!*@*"); err != nil {
		t.Fatal(err)
	}
	if err := op.Conn.Send("KICK", ch, cb.nick, "ban test"); err != nil {
		t.Fatal(err)
	}
	op.WaitFor(t, 10*time.Second, "KICK", irctest.From("KICK", op.Nick(), ch))
	alert := func(m ircmsg.Message) bool {
		return irctest.From("PRIVMSG", cb.nick, priv)(m) && strings.Contains(irctest.LastParam(m), "cannot join "+ch)
	}
	op.WaitFor(t, 30*time.Second, "the alert in the private channel", alert)
	ids := fileBugs(cb.bz, 2, "banned")
	// the private channel gets them; the banned one cannot
	waitBugs(t, op, cb.nick, priv, 60*time.Second, ids)
	until(t, 30*time.Second, "JOIN retried twice more", func() bool { return cb.log.count("join refused again", ch) >= 2 })
	if got := bugCounts(botLines(op, cb.nick, ch)); len(got) != 0 {
		t.Fatalf("announcement in a channel the bot was banned from: %v", got)
	}
	if err := op.Conn.Send("MODE", ch, "-b", cb.nick+"!*@*"); err != nil {
		t.Fatal(err)
	}
	unban := time.Now()
	op.WaitFor(t, 30*time.Second, "bot JOIN after the unban", irctest.From("JOIN", cb.nick, ch))
	rejoined := time.Since(unban)
	waitBugs(t, op, cb.nick, ch, 120*time.Second, ids)
	t.Logf("timings: rejoined %v after the unban; announcements %v after it; %d refused joins",
		rejoined.Round(time.Millisecond), time.Since(unban).Round(time.Millisecond), cb.log.count("join refused again", ch)+1)
	checkBurst(t, botLines(op, cb.nick, ch), ids, 0)
	alerts := 0
	for _, m := range op.History() {
		if alert(m) {
			alerts++
		}
	}
	if alerts != 1 {
		t.Errorf("the private channel was told %d times, want once", alerts)
	}
	if n := cb.log.count("cannot join channel", ch); n != 1 {
		t.Errorf("the refused join was logged %d times at ERROR, want once", n)
	}
}

// metric returns the value of one series of the bot's /metrics.
func metric(t *testing.T, b *bot.Bot, series string) string {
	t.Helper()
	srv := httptest.NewServer(b.HTTP.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}
