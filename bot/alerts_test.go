// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/internal/memnet"
)

// linesIn returns the plain lines the recorder sent to channel key.
func linesIn(msgs []chat.Outgoing, key string) []string {
	var out []string
	for _, m := range msgs {
		if m.Channel == key {
			out = append(out, m.Plain("irc")...)
		}
	}
	return out
}

func countContaining(lines []string, sub string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}

// A channel the bot cannot join on one network (memnet, refused like an
// IRC ban) is told to the private channels of every network (the
// recorder "matrix" plays the security team's room), once per episode
// however often the join is refused again, never to a public channel; one
// "is back in" line follows when the bot gets in. A restart in the middle
// of an episode does not tell it again, and a new episode is told anew.
func TestChannelTroubleToEveryPrivateChannel(t *testing.T) {
	h := newHarness(t, "")
	srv := memnet.NewServer()
	newMem := func() *memnet.Transport {
		return memnet.New(srv, []chat.Channel{{Name: "#kernel-security", Private: true}, {Name: "#gentoo-kernel"}})
	}
	mx := newRecorder("matrix", "!security:example.org", "!public:example.org")
	mxPriv, mxPub := mx.channels[0].Key, mx.channels[1].Key
	const cannot, back = "cannot join #gentoo-kernel on memnet", "back in #gentoo-kernel on memnet"

	srv.Refuse("#gentoo-kernel", "banned (474); unban the bot")
	_, stop := h.start(newMem(), mx)
	mx.waitFor(t, 20*time.Second, "the alert in the Matrix private room", func(m []chat.Outgoing) bool {
		return countContaining(linesIn(m, mxPriv), cannot) > 0
	})
	srv.Refuse("#gentoo-kernel", "banned (474); unban the bot") // refused rejoins
	srv.Refuse("#gentoo-kernel", "banned (474); unban the bot")
	srv.Admit("#gentoo-kernel")
	mx.waitFor(t, 20*time.Second, "the recovery line in the Matrix private room", func(m []chat.Outgoing) bool {
		return countContaining(linesIn(m, mxPriv), back) > 0
	})
	waitUntil(t, 20*time.Second, "the alert and the recovery in the memnet private channel", func() bool {
		return countContaining(srv.Posted("#kernel-security"), back) > 0
	})
	msgs := mx.waitFor(t, time.Second, "", func([]chat.Outgoing) bool { return true })
	priv := linesIn(msgs, mxPriv)
	if n := countContaining(priv, cannot); n != 1 {
		t.Errorf("Matrix private room told %d times of the refused channel, want once: %q", n, priv)
	}
	if n := countContaining(priv, back); n != 1 {
		t.Errorf("Matrix private room told %d times that the bot is back, want once: %q", n, priv)
	}
	for _, l := range priv {
		if strings.Contains(l, cannot) && !strings.Contains(l, "banned (474); unban the bot") {
			t.Errorf("the alert does not say what is wrong and what to do: %q", l)
		}
	}
	if pub := linesIn(msgs, mxPub); len(pub) != 0 {
		t.Errorf("public Matrix room got %q", pub)
	}
	if got := srv.Posted("#kernel-security"); countContaining(got, cannot) != 1 || countContaining(got, back) != 1 {
		t.Errorf("memnet private channel got %q, want one alert and one recovery line", got)
	}
	if got := srv.Posted("#gentoo-kernel"); countContaining(got, "ksecbot") != 0 {
		t.Errorf("the public channel itself got %q", got)
	}
	stop()

	// A second episode begins while the bot is down and goes on across a
	// restart: told once, then once back.
	srv.Refuse("#gentoo-kernel", "channel is full (471); raise its limit")
	_, stop = h.start(newMem(), mx)
	mx.waitFor(t, 20*time.Second, "the second episode's alert", func(m []chat.Outgoing) bool {
		return countContaining(linesIn(m, mxPriv), cannot) == 2
	})
	stop()
	mem := newMem()
	h.start(mem, mx) // still refused when it connects: the same episode
	waitUntil(t, 10*time.Second, "memnet connected", mem.Connected)
	srv.Admit("#gentoo-kernel")
	msgs = mx.waitFor(t, 20*time.Second, "the second episode's recovery", func(m []chat.Outgoing) bool {
		return countContaining(linesIn(m, mxPriv), back) == 2
	})
	priv = linesIn(msgs, mxPriv)
	if n := countContaining(priv, cannot); n != 2 {
		t.Errorf("after two episodes (one across a restart) the private room was told %d times, want twice: %q", n, priv)
	}
	if pub := linesIn(msgs, mxPub); len(pub) != 0 {
		t.Errorf("public Matrix room got %q", pub)
	}
}
