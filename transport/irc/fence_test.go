// SPDX-License-Identifier: GPL-3.0-or-later

package irc

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/irctest"
	"github.com/ksecbot/ksecbot/transport"
)

// Without echo-message each message is confirmed by a PING fence, and a
// fence takes no flood token: with the limiter's clock frozen (no token
// ever comes back) and a bucket of 10, six one-line messages are all sent
// and confirmed after the few protocol lines of the connection (JOIN,
// MODE +B, WHO). If each fence took a token, at most five messages (two
// tokens each) could go out, and a fence would wait for a token the
// frozen clock never gives, so its line would stay unconfirmed.
func TestFencesTakeNoFloodToken(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	ch := randName("#fence")
	obs := newObserver(t, s.Addr, "observer")
	obs.Join(t, ch, "")
	cfg := botConfig(s.Addr, Channel{Name: ch})
	cfg.Flood = Flood{Burst: 10, Interval: config.Duration{Duration: time.Hour}}
	frozen := time.Now()
	b := startBotWith(t, cfg, Options{NoEchoCaps: true, Now: func() time.Time { return frozen }})
	b.waitConnected(t, true, 20*time.Second)
	for i := range 6 {
		out := announce(ch, chat.Line{}.Text(fmt.Sprintf("fenced line %d", i)))
		out.Key = fmt.Sprintf("announce/%d/%s", i, ch)
		if _, err := b.Send(sendCtx(t, 20*time.Second), out); err != nil {
			t.Fatalf("Send of message %d with the clock frozen: %v (did its fence wait for a flood token?)", i, err)
		}
	}
	obs.WaitFor(t, 10*time.Second, "the sixth line", irctest.PrivmsgFrom(b.nick, ch, "fenced line 5"))
}

// BenchmarkFencedThroughput sends 30 one-line messages one after another
// (as the deliverer does) without echo-message, with the default flood
// settings (burst 4, one line per 2 s), and reports the seconds until the
// last was confirmed: go test -tags goolm ./transport/irc -run '^$'
// -bench FencedThroughput -benchtime 1x (bench/README.md; docs/irc.md, "Delivery guarantees").
func BenchmarkFencedThroughput(b *testing.B) {
	s := irctest.Need(b)
	for range b.N {
		ch := randName("#fbench")
		cfg := botConfig(s.Addr, Channel{Name: ch})
		cfg.Flood = Flood{}
		tr, err := New(cfg, Options{NoEchoCaps: true, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- tr.Run(ctx, transport.InboxFunc(func(context.Context, chat.Incoming) {})) }()
		for !tr.Connected() {
			time.Sleep(20 * time.Millisecond) // polling a state
		}
		start := time.Now()
		for i := range 30 {
			out := announce(ch, chat.Line{}.Text(fmt.Sprintf("bug %d", i)))
			out.Key = fmt.Sprintf("announce/%d/%s", i, ch)
			sctx, scancel := context.WithTimeout(ctx, 5*time.Minute)
			_, err := tr.Send(sctx, out)
			scancel()
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/30msgs")
		cancel()
		<-done
	}
}
