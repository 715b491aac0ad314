// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/transport"
)

// shutOut is the test network with one channel the bot is out of (kicked):
// sends there fail until it is let back in; it keeps the inbox Run gets.
type shutOut struct {
	*recorder
	mu       sync.Mutex
	out      string // channel key refused
	attempts int    // sends refused
	in       transport.Inbox
}

func (s *shutOut) Run(ctx context.Context, in transport.Inbox) error {
	s.mu.Lock()
	s.in = in
	s.mu.Unlock()
	<-ctx.Done()
	return nil
}

func (s *shutOut) Send(ctx context.Context, out chat.Outgoing) (string, error) {
	s.mu.Lock()
	if out.Channel == s.out {
		s.attempts++
		s.mu.Unlock()
		return "", fmt.Errorf("forbidden: not in the room")
	}
	s.mu.Unlock()
	return s.recorder.Send(ctx, out)
}

// A channel the bot was out of while its messages waited (their retry
// delay growing) gets them as soon as the transport reports it is back in
// (transport.Alerts ChannelRecovered, as after an invite), not after the
// delay it had reached.
func TestChannelBackIsRetriedAtOnce(t *testing.T) {
	h := newHarness(t, "")
	base := newRecorder("test", "#gentoo-kernel", "#gentoo-dev")
	s := &shutOut{recorder: base, out: "test:#gentoo-dev"}
	b, _ := h.start(s)
	waitPolls(t, b, 1)
	id := fileAndFetch(t, h, b, bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: waits for a channel"})[0]
	base.waitFor(t, 10*time.Second, "the announcement in the channel the bot is in", func(m []chat.Outgoing) bool {
		return count(m, fmt.Sprintf("announce/%d/test:#gentoo-kernel", id)) == 1
	})
	// Three refusals: the channel's retry delay is now 8 s (2, 4, 8).
	waitUntil(t, 20*time.Second, "three refused attempts", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.attempts >= 3
	})
	s.mu.Lock()
	s.out = ""
	in := s.in
	s.mu.Unlock()
	back := time.Now()
	a, ok := in.(transport.Alerts)
	if !ok {
		t.Fatal("the core's inbox does not take channel reports")
	}
	a.ChannelRecovered(context.Background(), base.Channels()[1])
	base.waitFor(t, 4*time.Second, "the waiting announcement right after the channel is back (its retry delay was 8 s)", func(m []chat.Outgoing) bool {
		return count(m, fmt.Sprintf("announce/%d/test:#gentoo-dev", id)) == 1
	})
	t.Logf("delivered %s after the channel was back", time.Since(back).Round(time.Millisecond))
}
