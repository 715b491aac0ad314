// SPDX-License-Identifier: GPL-3.0-or-later

package irc

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/internal/irctest"
	"github.com/ksecbot/ksecbot/transport"
)

// lockedBuffer is a log sink shared by the transport's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestShutdownIsNotAWarning stops a connected transport: the server's
// ERROR answering our own QUIT is logged at info level, not as the warning
// "server closed the link" that an operator would have to look into.
func TestShutdownIsNotAWarning(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	logs := &lockedBuffer{}
	cfg := botConfig(s.Addr)
	tr, err := New(cfg, Options{Version: "ksecbot-test", BackoffMin: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx, transport.InboxFunc(func(context.Context, chat.Incoming) {})) }()
	b := &runningBot{Transport: tr}
	b.waitConnected(t, true, 20*time.Second)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	out := logs.String()
	if strings.Contains(out, "server closed the link") {
		t.Errorf("our own shutdown was logged as the server closing the link:\n%s", out)
	}
	if !strings.Contains(out, "msg=\"link closed after our QUIT\" component=irc") {
		t.Errorf("no info line for the disconnect after QUIT:\n%s", out)
	}
}
