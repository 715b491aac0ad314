// SPDX-License-Identifier: GPL-3.0-or-later

package irc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/irctest"
	"github.com/ksecbot/ksecbot/transport"
)

// Each way of confirming a line on the real server (labeled echo, echo
// matched by content, PING fence): Send succeeds once the line is in the
// channel, and in a +m channel it fails with the server's 404 instead of
// reporting success.
func TestServerConfirmModes(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	for _, tc := range []struct {
		name string
		opt  Options
		want string // the transport's "confirm" log value
	}{
		{"labeled echo", Options{}, "labeled echoes"},
		{"echo by content", Options{NoLabels: true}, "echoes"},
		{"ping fence", Options{NoEchoCaps: true}, "ping fences"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ch := randName("#cf")
			op := newObserver(t, s.Addr, "")
			op.Join(t, ch, "") // first in: operator
			b := startBotWith(t, botConfig(s.Addr, Channel{Name: ch}), tc.opt)
			waitFor(t, op, 15*time.Second, "bot JOIN", isCmd("JOIN", b.nick, ch))
			b.mu.Lock()
			mode := "ping fences"
			if b.labels {
				mode = "labeled echoes"
			} else if b.echo {
				mode = "echoes"
			}
			b.mu.Unlock()
			if mode != tc.want {
				t.Fatalf("confirming by %s, want %s", mode, tc.want)
			}

			if _, err := b.Send(sendCtx(t, 10*time.Second), announce(ch, chat.Line{}.Text("first"), chat.Line{}.Text("second"))); err != nil {
				t.Fatalf("Send: %v", err)
			}
			waitFor(t, op, 5*time.Second, "second line", irctest.PrivmsgFrom(b.nick, ch, "second"))

			if err := op.Conn.Send("MODE", ch, "+m"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, op, 5*time.Second, "MODE +m", isCmd("MODE", op.Nick(), ch))
			_, err := b.Send(sendCtx(t, 10*time.Second), announce(ch, chat.Line{}.Text("moderated")))
			var ref *RefusedError
			if !errors.As(err, &ref) || ref.Numeric != "404" {
				t.Fatalf("Send in a +m channel = %v, want a 404 RefusedError", err)
			}
			if err := op.Conn.Send("MODE", ch, "-m"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, op, 5*time.Second, "MODE -m", isCmd("MODE", op.Nick(), ch))
			if _, err := b.Send(sendCtx(t, 10*time.Second), announce(ch, chat.Line{}.Text("after -m"))); err != nil {
				t.Fatalf("Send after -m: %v", err)
			}
			_, skipped := op.WaitFor(t, 5*time.Second, "line after -m", irctest.PrivmsgFrom(b.nick, ch, "after -m"))
			for _, m := range skipped {
				if irctest.PrivmsgFrom(b.nick, ch, "moderated")(m) {
					t.Fatalf("the refused line reached the channel")
				}
			}
			if st := b.Stats(); st.InFlight != 0 {
				t.Errorf("%d lines still in flight", st.InFlight)
			}
		})
	}
}

// Send to a configured channel the bot is not in fails at once with
// ErrNotJoined (the deliverer keeps the message).
func TestServerSendNotJoined(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	ch := randName("#nj")
	op := newObserver(t, s.Addr, "")
	op.Join(t, ch, "")
	if err := op.Conn.Send("MODE", ch, "+i"); err != nil { // invite only: the bot's JOIN is refused (473)
		t.Fatal(err)
	}
	waitFor(t, op, 5*time.Second, "MODE +i", isCmd("MODE", op.Nick(), ch))
	b := startBotWith(t, botConfig(s.Addr, Channel{Name: ch}), Options{JoinRetryMin: time.Minute})
	b.waitConnected(t, true, 15*time.Second)
	deadline := time.Now().Add(15 * time.Second)
	for {
		start := time.Now()
		_, err := b.Send(sendCtx(t, 20*time.Second), announce(ch, chat.Line{}.Text("x")))
		if errors.Is(err, ErrNotJoined) {
			t.Logf("ErrNotJoined after %v", time.Since(start).Round(time.Millisecond))
			break
		}
		if err == nil {
			t.Fatal("Send to an invite-only channel the bot could not join succeeded")
		}
		if time.Now().After(deadline) {
			t.Fatalf("Send = %v, want ErrNotJoined", err)
		}
	}
}

// With echo-message a line is confirmed by its echo only: a line the
// server drops without a word (the proxy swallows it) fails once the link
// probe's PONG comes back without its echo, instead of being counted
// delivered; the link itself stays up and the next line goes through.
func TestServerUnechoedLineFails(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	for _, tc := range []struct {
		name string
		opt  Options
	}{
		{"labeled echo", Options{}},
		{"echo by content", Options{NoLabels: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ch := randName("#ue")
			op := newObserver(t, s.Addr, "")
			op.Join(t, ch, "")
			px := irctest.NewProxy(t, s.Addr)
			px.SetHook(func(m ircmsg.Message) irctest.Verdict {
				if m.Command == "PRIVMSG" && len(m.Params) > 1 && strings.Contains(m.Params[1], "dropped") {
					return irctest.Swallow
				}
				return irctest.Pass
			})
			opt := tc.opt
			opt.SilentAfter, opt.ProbeTimeout = 300*time.Millisecond, 10*time.Second
			b := startBotWith(t, botConfig(px.Addr, Channel{Name: ch}), opt)
			waitFor(t, op, 15*time.Second, "bot JOIN", isCmd("JOIN", b.nick, ch))

			start := time.Now()
			_, err := b.Send(sendCtx(t, 20*time.Second), announce(ch, chat.Line{}.Text("dropped")))
			if err == nil {
				t.Fatal("Send of a line the server never echoed succeeded")
			}
			if !errors.Is(err, errNotEchoed) {
				t.Fatalf("Send = %v, want errNotEchoed", err)
			}
			t.Logf("unechoed line failed after %v: %v", time.Since(start).Round(time.Millisecond), err)

			if _, err := b.Send(sendCtx(t, 10*time.Second), announce(ch, chat.Line{}.Text("after"))); err != nil {
				t.Fatalf("Send after the dropped line: %v", err)
			}
			_, skipped := op.WaitFor(t, 5*time.Second, "line after", irctest.PrivmsgFrom(b.nick, ch, "after"))
			for _, m := range skipped {
				if irctest.PrivmsgFrom(b.nick, ch, "dropped")(m) {
					t.Fatal("the swallowed line reached the channel: nothing tested")
				}
			}
			if st := b.Stats(); st.InFlight != 0 || st.SilentDrops != 0 || st.Reconnects != 0 {
				t.Errorf("Stats = %+v, want nothing in flight and the link kept", st)
			}
		})
	}
}

// An unlabeled standard reply FAIL <command> <code> [<context>...]
// <description> refuses the line of that command: Send returns the
// refusal at once (the code is not taken for the target), with or without
// the target in the context.
func TestServerUnlabeledFAIL(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	for _, tc := range []struct {
		name    string
		opt     Options
		context bool
	}{
		{"echo by content", Options{NoLabels: true}, true},
		{"ping fence", Options{NoEchoCaps: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ch := randName("#fl")
			op := newObserver(t, s.Addr, "")
			op.Join(t, ch, "")
			px := irctest.NewProxy(t, s.Addr)
			fail := ":irc.test FAIL PRIVMSG CANNOT_SEND_TO_CHANNEL :Refused by the test"
			if tc.context {
				fail = ":irc.test FAIL PRIVMSG CANNOT_SEND_TO_CHANNEL " + ch + " :Refused by the test"
			}
			px.SetHook(func(m ircmsg.Message) irctest.Verdict {
				if m.Command == "PRIVMSG" && len(m.Params) > 1 && strings.Contains(m.Params[1], "refused") {
					px.Inject(fail) // the server's answer instead of the line
					return irctest.Swallow
				}
				return irctest.Pass
			})
			opt := tc.opt
			opt.SilentAfter = time.Minute // no probe settles the line meanwhile
			b := startBotWith(t, botConfig(px.Addr, Channel{Name: ch}), opt)
			waitFor(t, op, 15*time.Second, "bot JOIN", isCmd("JOIN", b.nick, ch))

			start := time.Now()
			_, err := b.Send(sendCtx(t, 5*time.Second), announce(ch, chat.Line{}.Text("refused")))
			var ref *RefusedError
			if !errors.As(err, &ref) || ref.Numeric != "FAIL" || ref.Target != ch {
				t.Fatalf("Send = %v, want a FAIL RefusedError for %s", err, ch)
			}
			t.Logf("refused after %v: %v", time.Since(start).Round(time.Millisecond), err)
			if _, err := b.Send(sendCtx(t, 10*time.Second), announce(ch, chat.Line{}.Text("after"))); err != nil {
				t.Fatalf("Send after the refusal: %v", err)
			}
			op.WaitFor(t, 5*time.Second, "line after", irctest.PrivmsgFrom(b.nick, ch, "after"))
			if st := b.Stats(); st.InFlight != 0 {
				t.Errorf("%d lines still in flight", st.InFlight)
			}
		})
	}
}

// A Send cancelled part way through a message of several lines: the lines
// already written are confirmed at once (without echo-message by a fence
// of their own), so its PartialError counts exactly the lines people saw,
// and the message resumed from there arrives with no line repeated or
// lost.
func TestServerCancelMidMessage(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	for _, tc := range []struct {
		name string
		opt  Options
	}{
		{"ping fence", Options{NoEchoCaps: true}},
		{"labeled echo", Options{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ch := randName("#cx")
			op := newObserver(t, s.Addr, "")
			op.Join(t, ch, "")
			cfg := botConfig(s.Addr, Channel{Name: ch})
			// one line per 300 ms: the cancel lands between two lines
			cfg.Flood = Flood{Burst: 1, Interval: config.Duration{Duration: 300 * time.Millisecond}}
			opt := tc.opt
			opt.SilentAfter = time.Minute // no probe settles the lines
			b := startBotWith(t, cfg, opt)
			waitFor(t, op, 15*time.Second, "bot JOIN", isCmd("JOIN", b.nick, ch))

			var lines []chat.Line
			for i := 1; i <= 6; i++ {
				lines = append(lines, chat.Line{}.Text(fmt.Sprintf("cut %d", i)))
			}
			msg := announce(ch, lines...)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			res := make(chan error, 1)
			go func() { _, err := b.Send(ctx, msg); res <- err }()
			op.WaitFor(t, 10*time.Second, "line 2", irctest.PrivmsgFrom(b.nick, ch, "cut 2"))
			cancel()
			cancelled := time.Now()
			var err error
			select {
			case err = <-res:
			case <-time.After(cancelSettle + 5*time.Second):
				t.Fatal("Send did not return after its ctx was cancelled")
			}
			took := time.Since(cancelled)
			if took > 3*time.Second {
				t.Errorf("Send took %v after the cancel, want the written lines fenced at once", took)
			}
			// barrier: everything before it has reached the channel
			if _, err := b.Send(sendCtx(t, 10*time.Second), announce(ch, chat.Line{}.Text("barrier"))); err != nil {
				t.Fatal(err)
			}
			op.WaitFor(t, 5*time.Second, "barrier", irctest.PrivmsgFrom(b.nick, ch, "barrier"))
			seen := countCut(op, b.nick, ch)
			var part *transport.PartialError
			if !errors.As(err, &part) {
				t.Fatalf("Send = %v after %v, want a PartialError counting the %d lines seen", err, took, seen)
			}
			if part.Done != seen || seen < 2 || seen == len(lines) {
				t.Fatalf("PartialError.Done = %d, channel saw %d of %d lines", part.Done, seen, len(lines))
			}
			t.Logf("cancelled after %d lines; Send returned %v later: %v", seen, took.Round(time.Millisecond), err)

			msg.Resume = part.Done
			if _, err := b.Send(sendCtx(t, 20*time.Second), msg); err != nil {
				t.Fatalf("resumed Send: %v", err)
			}
			op.WaitFor(t, 10*time.Second, "last line", irctest.PrivmsgFrom(b.nick, ch, "cut 6"))
			counts := map[string]int{}
			for _, m := range op.History() {
				if irctest.PrivmsgFrom(b.nick, ch, "cut ")(m) {
					counts[irctest.PlainText(m.Params[1])]++
				}
			}
			for i := 1; i <= len(lines); i++ {
				if n := counts[fmt.Sprintf("cut %d", i)]; n != 1 {
					t.Errorf("line %d seen %d times, want once: %v", i, n, counts)
				}
			}
			if st := b.Stats(); st.InFlight != 0 {
				t.Errorf("%d lines still in flight", st.InFlight)
			}
		})
	}
}

// countCut counts the "cut N" lines the observer saw from nick in ch.
func countCut(op *irctest.Observer, nick, ch string) int {
	n := 0
	for _, m := range op.History() {
		if irctest.PrivmsgFrom(nick, ch, "cut ")(m) {
			n++
		}
	}
	return n
}

// Echo by content: a server that strips the formatting of a line echoes
// the plain text; it still confirms the line (exact matches first).
func TestEchoMatchesWithoutFormatting(t *testing.T) {
	tr, err := New(&Config{Server: "127.0.0.1:1", Nick: "ksb"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	add := func(text string) *job {
		j := newJob(1, 0)
		tr.inflight = append(tr.inflight, &flight{line: &outLine{cmd: "PRIVMSG", params: []string{"#c", text}, job: j}, echo: true})
		return j
	}
	bold := add("\x02Bug 1\x02 is new")
	plain := add("Bug 1 is new")
	tr.onEcho("PRIVMSG", "#c", "Bug 1 is new", "m-plain") // exact: the second line
	if !plain.isClosed() || bold.isClosed() {
		t.Fatalf("exact echo confirmed bold=%v plain=%v, want the plain line only", bold.isClosed(), plain.isClosed())
	}
	if id := plain.networkID(); id != "m-plain" {
		t.Errorf("confirmed line's network ID = %q, want its echo's msgid m-plain", id)
	}
	tr.onEcho("PRIVMSG", "#c", "other text", "m-other")
	if bold.isClosed() {
		t.Fatal("an echo of other text confirmed the line")
	}
	tr.onEcho("PRIVMSG", "#c", "Bug 1 is new", "") // stripped echo of the bold line
	if !bold.isClosed() || bold.result(nil) != nil {
		t.Fatalf("stripped echo: closed=%v result=%v, want the line confirmed", bold.isClosed(), bold.result(nil))
	}
}
