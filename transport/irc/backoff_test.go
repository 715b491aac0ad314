// SPDX-License-Identifier: GPL-3.0-or-later

package irc

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/irctest"
	"github.com/ksecbot/ksecbot/transport"
)

// Reconnect backoff on the real server behind a proxy that cuts the link:
// cut at once after each registration, the delay doubles up to
// reconnect_max and no further; cut after the connection held (HeldFor),
// the next delay is the shortest again. (A link cut every 20 s once grew
// the delay to 124 s; now each of those reconnects within BackoffMin.)
func TestReconnectBackoffCappedAndReset(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	proxy := irctest.NewProxy(t, s.Addr)
	cfg := botConfig(proxy.Addr)
	cfg.ReconnectMax = config.Duration{Duration: 1600 * time.Millisecond}
	lb := &lineBuf{}
	tr, err := New(cfg, Options{Version: "ksecbot-test", BackoffMin: 200 * time.Millisecond, HeldFor: 2 * time.Second,
		Logger: slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx, transport.InboxFunc(func(context.Context, chat.Incoming) {})) }()
	t.Cleanup(func() { cancel(); <-done })

	// Cut six times right after the server welcomed the bot.
	for i := 1; i <= 6; i++ {
		until(t, 20*time.Second, "a connection", func() bool { return tr.Connected() })
		proxy.DropAll()
		until(t, 20*time.Second, "the reconnect delay", func() bool { return len(allDelays(lb.lines())) >= i })
	}
	quick := allDelays(lb.lines())
	t.Logf("delays after links cut at once: %v", quick)
	for i, d := range quick {
		if d > cfg.ReconnectMax.Duration {
			t.Errorf("delay %d = %v, over reconnect_max %v", i, d, cfg.ReconnectMax.Duration)
		}
	}
	if last := quick[len(quick)-1]; last < cfg.ReconnectMax.Duration/2 {
		t.Errorf("the delay did not grow to the cap's range after six quick cuts: %v", quick)
	}

	// Now the link holds longer than HeldFor before it is cut: the next
	// delay starts again from BackoffMin.
	until(t, 20*time.Second, "a connection", func() bool { return tr.Connected() })
	time.Sleep(2500 * time.Millisecond) // the connection must hold this long: the behaviour under test
	proxy.DropAll()
	until(t, 20*time.Second, "the reconnect delay", func() bool { return len(allDelays(lb.lines())) > len(quick) })
	after := allDelays(lb.lines())[len(quick)]
	t.Logf("delay after a link that held: %v", after)
	if after >= 200*time.Millisecond {
		t.Errorf("delay after a connection that held = %v, want under BackoffMin (200ms, jittered)", after)
	}
}

func allDelays(lines []string) []time.Duration {
	var out []time.Duration
	for _, l := range lines {
		if d, ok := irctest.ReconnectDelay(l); ok {
			out = append(out, d)
		}
	}
	return out
}

// lineBuf collects log lines; safe for concurrent use.
type lineBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lineBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lineBuf) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Split(l.b.String(), "\n")
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

// A server without SASL while sasl_user is set is a configuration error
// of that network, found at once: a private InspIRCd without its sasl
// module (CAP LS without "sasl") refuses nothing, and irc-go would say
// "SASL setup timed out. Does the server support SASL?" and retry
// forever; Run returns transport.ErrConfig naming the cause and the fix.
func TestServerWithoutSASLIsConfigError(t *testing.T) {
	t.Parallel()
	irctest.Need(t)
	srv := irctest.StartServer(t, irctest.ServerOptions{NoSASL: true})
	cfg := botConfig(srv.Addr)
	tr, err := New(cfg, Options{Version: "ksecbot-test", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = tr.Run(sendCtx(t, 60*time.Second), transport.InboxFunc(func(context.Context, chat.Incoming) {}))
	t.Logf("Run returned after %v: %v", time.Since(start).Round(time.Millisecond), err)
	if !errors.Is(err, transport.ErrConfig) {
		t.Fatalf("Run = %v, want a configuration error", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "does not support SASL") || !strings.Contains(msg, "sasl_user") || strings.Contains(msg, "timed out") {
		t.Errorf("error %q should say the server has no SASL and what to change, not irc-go's timeout", msg)
	}
}
