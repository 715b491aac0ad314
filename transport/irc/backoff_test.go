// SPDX-License-Identifier: GPL-3.0-or-later

package irc

import (
	"context"
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

// A server with services accounts whose CAP LS lacks sasl (a private
// InspIRCd without its sasl module; InspIRCd also withdraws sasl while
// its services are not linked) is retried, not given up: it may be a
// services outage. The retries say why in their own words, not irc-go's
// "SASL setup timed out", and after a few in a row one ERROR says what
// to change if the server has no SASL at all. (A server without any
// accounts is a configuration error: irc.TestNgircdWithoutSASLIsConfigError.)
func TestServerSASLMissingRetriedWithAClearError(t *testing.T) {
	t.Parallel()
	irctest.Need(t)
	srv := irctest.StartServer(t, irctest.ServerOptions{NoSASL: true})
	cfg := botConfig(srv.Addr)
	lb := &lineBuf{}
	tr, err := New(cfg, Options{Version: "ksecbot-test", BackoffMin: 100 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx, transport.InboxFunc(func(context.Context, chat.Incoming) {})) }()
	until(t, 30*time.Second, "the ERROR after a few connections without SASL", func() bool {
		return strings.Contains(strings.Join(lb.lines(), "\n"), "level=ERROR")
	})
	select {
	case err := <-done:
		t.Fatalf("Run gave up on a server whose services may be down: %v", err)
	default:
	}
	cancel()
	<-done
	all := strings.Join(lb.lines(), "\n")
	if strings.Contains(all, "timed out") || !strings.Contains(all, "offers no SASL now") || !strings.Contains(all, "remove sasl_user") {
		t.Errorf("the log should say the server offers no SASL and what to change, not irc-go's timeout:\n%s", all)
	}
	if n := strings.Count(all, "level=ERROR"); n != 1 {
		t.Errorf("%d ERROR lines, want one", n)
	}
}
