// SPDX-License-Identifier: GPL-3.0-or-later

// Package transporttest is the conformance suite of package transport:
// what the core relies on from every network (announce, reply, identity,
// reconnect, exactly-once), checked as a user of that network sees it.
// Run it from a transport's tests with a Network that drives the
// transport's network; the real IRC and Matrix transports are checked the
// same way by their real-server tests (see docs/testing.md).
package transporttest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/transport"
)

// Network is one network as the suite drives it.
type Network struct {
	// Transport is the transport under test, not yet running.
	Transport transport.Transport
	// Channel is one of the transport's channels; the user is in it.
	Channel chat.Channel
	// User is who the network says the user is: the identity the core
	// must see (Network and Account are compared).
	User chat.Identity
	// Say has the user say text in Channel. It reports false when the
	// network could not take it (the transport is not connected).
	Say func(text string) bool
	// Seen returns every line the user has seen from the bot in
	// Channel, oldest first.
	Seen func() []string
	// Drop cuts the transport's connection as a server restart would,
	// and returns once the network has noticed (the user has seen the
	// bot leave); nil for a network without connections (the console).
	Drop func()
	// Ready reports whether the user can reach the transport now (on IRC:
	// the bot is back in the channel); nil means when it is Connected.
	Ready func() bool
}

// ready reports whether the transport is connected and reachable.
func (n *Network) ready() bool {
	return n.Transport.Connected() && (n.Ready == nil || n.Ready())
}

// timeout bounds every wait of the suite; waits poll, they never sleep a
// fixed time.
const timeout = 20 * time.Second

// Run runs the suite. newNet builds a fresh network and transport for each
// case.
func Run(t *testing.T, newNet func(t *testing.T) *Network) {
	t.Run("identity", func(t *testing.T) {
		n, inbox := start(t, newNet)
		nonce := fmt.Sprintf("hello %d", time.Now().UnixNano())
		say(t, n, nonce)
		m := inbox.wait(t, nonce)
		if m.Sender.Network != n.User.Network || m.Sender.Account != n.User.Account {
			t.Errorf("sender = %+v, want network %q account %q (as the network authenticated the user)", m.Sender, n.User.Network, n.User.Account)
		}
		if m.Channel.Key != n.Channel.Key || m.Channel.Network != n.Transport.Network() {
			t.Errorf("channel = %+v, want key %q on %q", m.Channel, n.Channel.Key, n.Transport.Network())
		}
	})
	t.Run("announce", func(t *testing.T) {
		n, _ := start(t, newNet)
		text := fmt.Sprintf("Bug %d: conformance announcement", time.Now().UnixNano()%1e6)
		send(t, n, chat.ChannelMessage(n.Channel, chat.KindAnnounce, "1", chat.Line{}.Bold("Bug").Text(strings.TrimPrefix(text, "Bug"))))
		waitSeen(t, n, text, 1)
	})
	t.Run("reply", func(t *testing.T) {
		n, inbox := start(t, newNet)
		nonce := fmt.Sprintf("!ping %d", time.Now().UnixNano())
		say(t, n, nonce)
		m := inbox.wait(t, nonce)
		answer := "pong " + strings.TrimPrefix(nonce, "!ping ")
		send(t, n, chat.Outgoing{Key: "reply/" + m.ID, Kind: chat.KindReply, Channel: m.Channel.Key, Target: m.Target,
			ReplyTo: m.ID, Lines: []chat.Line{chat.Line{}.Text(answer)}})
		waitSeen(t, n, answer, 1)
	})
	t.Run("own messages never reach the core", func(t *testing.T) {
		// The core answers what reaches it, so a transport that handed
		// the bot's own lines back (an IRC echo, a Matrix sync) would make
		// it answer itself. The bot's line goes first; the user's line
		// after it reaching the core means the bot's would have too.
		n, inbox := start(t, newNet)
		base := time.Now().UnixNano()
		own := fmt.Sprintf("!pending own %d", base)
		send(t, n, chat.ChannelMessage(n.Channel, chat.KindAnnounce, "4", chat.Line{}.Text(own)))
		waitSeen(t, n, own, 1)
		after := fmt.Sprintf("after the bot's line %d", base)
		say(t, n, after)
		inbox.wait(t, after)
		if got := inbox.count(own); got != 0 {
			t.Errorf("the core received the bot's own line %q %d times, want never", own, got)
		}
	})
	t.Run("hostile text stays one clean line", func(t *testing.T) {
		n, _ := start(t, newNet)
		send(t, n, chat.ChannelMessage(n.Channel, chat.KindAnnounce, "2", chat.Line{}.Quote("evil\r\nQUIT :bye\x00\x01ACTION x\x01 \x0304red")))
		waitSeen(t, n, "evil QUIT :byeACTION x red", 1)
		for _, l := range n.Seen() {
			if strings.ContainsAny(l, "\r\n\x00\x01\x03") {
				t.Errorf("seen %q: control characters reached the user", l)
			}
		}
	})
	t.Run("exactly once", func(t *testing.T) {
		n, _ := start(t, newNet)
		base := time.Now().UnixNano() % 1e6
		var want []string
		for i := range 10 {
			text := fmt.Sprintf("message %d-%d", base, i)
			want = append(want, text)
			send(t, n, chat.ChannelMessage(n.Channel, chat.KindAnnounce, fmt.Sprint(100+i), chat.Line{}.Text(text)))
		}
		waitSeen(t, n, want[len(want)-1], 1)
		var got []string
		for _, l := range n.Seen() {
			if strings.Contains(l, fmt.Sprintf("message %d-", base)) {
				got = append(got, l)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("seen %q, want each of %q once", got, want)
		}
		for i := range want {
			if !strings.Contains(got[i], want[i]) {
				t.Errorf("line %d = %q, want %q (in order)", i, got[i], want[i])
			}
		}
	})
	t.Run("reconnect", func(t *testing.T) {
		n, inbox := start(t, newNet)
		if n.Drop == nil {
			t.Skipf("%s has no connection to drop", n.Transport.Network())
		}
		n.Drop()
		waitFor(t, "the transport to reconnect", n.ready)
		nonce := fmt.Sprintf("after the drop %d", time.Now().UnixNano())
		say(t, n, nonce)
		inbox.wait(t, nonce)
		text := fmt.Sprintf("announced after the drop %d", time.Now().UnixNano())
		send(t, n, chat.ChannelMessage(n.Channel, chat.KindAnnounce, "3", chat.Line{}.Text(text)))
		waitSeen(t, n, text, 1)
	})
}

// start runs a fresh transport until the test ends and waits until it is
// connected.
func start(t *testing.T, newNet func(t *testing.T) *Network) (*Network, *inbox) {
	t.Helper()
	n := newNet(t)
	in := &inbox{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Transport.Run(ctx, in) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v, want nil after cancel", err)
			}
		case <-time.After(timeout):
			t.Error("Run did not return after cancel")
		}
	})
	waitFor(t, "the transport to connect", n.ready)
	return n, in
}

// say has the user say text, retrying while the network cannot take it.
func say(t *testing.T, n *Network, text string) {
	t.Helper()
	waitFor(t, "the network to take "+text, func() bool { return n.Say(text) })
}

// send sends out and fails the test when the transport refuses it.
func send(t *testing.T, n *Network, out chat.Outgoing) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if _, err := n.Transport.Send(ctx, out); err != nil {
		t.Fatalf("Send(%q) = %v", out.Key, err)
	}
}

// waitSeen waits until the user has seen text, then checks that it was
// seen exactly want times.
func waitSeen(t *testing.T, n *Network, text string, want int) {
	t.Helper()
	count := func() int {
		c := 0
		for _, l := range n.Seen() {
			if strings.Contains(l, text) {
				c++
			}
		}
		return c
	}
	waitFor(t, "the user to see "+text, func() bool { return count() >= want })
	if c := count(); c != want {
		t.Errorf("the user saw %q %d times, want %d: %q", text, c, want, n.Seen())
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// inbox collects what the transport hands to the core.
type inbox struct {
	mu   sync.Mutex
	msgs []chat.Incoming
}

// Receive implements transport.Inbox.
func (i *inbox) Receive(_ context.Context, m chat.Incoming) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.msgs = append(i.msgs, m)
}

// count returns how many messages with text the core received.
func (i *inbox) count(text string) int {
	i.mu.Lock()
	defer i.mu.Unlock()
	n := 0
	for _, m := range i.msgs {
		if m.Text == text {
			n++
		}
	}
	return n
}

// wait returns the one message with text; it fails when it does not come
// or comes twice.
func (i *inbox) wait(t *testing.T, text string) chat.Incoming {
	t.Helper()
	var found []chat.Incoming
	waitFor(t, "the core to receive "+text, func() bool {
		i.mu.Lock()
		defer i.mu.Unlock()
		found = found[:0]
		for _, m := range i.msgs {
			if m.Text == text {
				found = append(found, m)
			}
		}
		return len(found) > 0
	})
	if len(found) != 1 {
		t.Errorf("the core received %q %d times, want once", text, len(found))
	}
	return found[0]
}
