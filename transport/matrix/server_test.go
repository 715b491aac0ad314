// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/chat"
)

// inbox collects what the transport hands to the core.
type inbox chan chat.Incoming

func (in inbox) Receive(_ context.Context, m chat.Incoming) { in <- m }

func (in inbox) next(t *testing.T) chat.Incoming {
	t.Helper()
	select {
	case m := <-in:
		return m
	case <-time.After(15 * time.Second):
		t.Fatal("no incoming message within 15 s")
		return chat.Incoming{}
	}
}

// running is a transport whose Run goroutine the test controls.
type running struct {
	tr     *Transport
	in     inbox
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, tr *Transport) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{tr: tr, in: make(inbox, 64), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- tr.Run(ctx, r.in) }()
	t.Cleanup(r.stop)
	return r
}

var stopOnce sync.Map

func (r *running) stop() {
	if _, done := stopOnce.LoadOrStore(r, true); done {
		return
	}
	r.cancel()
	<-r.done
}

// waitFor polls an observable condition; there is no event to wait on for
// "the sync loop has noticed", so a short poll with a deadline is the barrier.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *running) waitJoined(t *testing.T) {
	t.Helper()
	waitFor(t, "the transport to sync and join its rooms", 20*time.Second, func() bool {
		return r.tr.Connected() && r.tr.allJoined()
	})
}
