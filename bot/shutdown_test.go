// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bot"
	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
)

// gatedRecorder is a recorder behind a slow network: every Send waits
// until the gate opens (or its context ends).
type gatedRecorder struct {
	*recorder
	gate    chan struct{}
	waiting chan struct{} // closed when the first Send waits
	sends   chan struct{}
}

func newGatedRecorder(network string, names ...string) *gatedRecorder {
	g := &gatedRecorder{recorder: newRecorder(network, names...), gate: make(chan struct{}), waiting: make(chan struct{}), sends: make(chan struct{}, 1)}
	g.sends <- struct{}{}
	return g
}

func (g *gatedRecorder) Send(ctx context.Context, out chat.Outgoing) (string, error) {
	select {
	case <-g.sends:
		close(g.waiting)
	default:
	}
	select {
	case <-g.gate:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return g.recorder.Send(ctx, out)
}

// TestShutdownFlushWithholdsABugGoneMeanwhile: the bot stops while a slow
// network still holds a backlog, and a bug in it was deleted just before.
// The flush after the stop goes on for a few seconds; a reconciliation
// falling due meanwhile must still find the bug gone, so that the flush
// does not show it in full in a public channel later than one reconcile
// interval after it went out of sight. (TestEmbargoProperty caught a
// reminder of a deleted bug sent so after a restart.)
func TestShutdownFlushWithholdsABugGoneMeanwhile(t *testing.T) {
	h := newHarness(t, "")
	h.cfg.Bugzilla.PollInterval.Duration = time.Hour // polls only when poked
	h.cfg.Bugzilla.ReconcileInterval.Duration = time.Second
	rec := newGatedRecorder("test", "#gentoo-kernel")
	b, st, stop := h.startAt(nil, rec)
	waitPolls(t, b, 1)
	ctx := context.Background()

	h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: first, held by the slow network"})
	b.Intake.Watcher().Poke()
	select {
	case <-rec.waiting:
	case <-time.After(10 * time.Second):
		t.Fatal("the first announcement never reached the network")
	}
	gone := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: deleted right before the stop"})
	b.Intake.Watcher().Poke()
	waitUntil(t, 10*time.Second, "the second announcement queued", func() bool {
		n, err := st.OutboxDepth(ctx, nil)
		return err == nil && n >= 2
	})
	h.srv.DeleteBug(gone)

	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	// The network stays slow for most of the flush: long enough for a
	// reconciliation to fall due (one a second here).
	deadline := time.Now().Add(bot.ShutdownGrace - 300*time.Millisecond)
	for time.Now().Before(deadline) {
		if bg, ok, err := st.Bug(ctx, gone); err == nil && ok && bg.Sight.Gone {
			break
		}
		time.Sleep(20 * time.Millisecond) // polling the mirror
	}
	close(rec.gate)
	<-stopped

	sent := rec.sentCopy()
	if len(sent) == 0 {
		t.Fatal("the flush sent nothing")
	}
	for _, m := range sent {
		if text := strings.Join(m.Plain("irc"), " "); strings.Contains(text, "deleted right before") {
			t.Errorf("the shutdown flush showed the deleted bug in a public channel: %q", text)
		}
	}
}
