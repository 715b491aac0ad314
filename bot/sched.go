// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/commands"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/transport"
)

// Command scheduling. Commands never wait on each other:
//
//   - Receive applies the per-user limit when a message arrives (not when
//     a worker gets to it) and puts the message on one of two queues:
//     reads (answered from the mirror and the configuration) and writes
//     (which wait for Bugzilla). Each queue has its own workers, so a hung
//     !claim cannot hold up !help.
//   - A full queue is answered "busy, try again in a minute"; a limited
//     sender gets one "slow down" reply per window (commands.SlowDownWindow).
//     Both go through a small queue of their own with one sender, so the
//     transport's read loop never blocks.
//   - A write that takes longer than [commands] slow_after is answered
//     "Bugzilla is slow, I will tell you when it is done", and its result
//     is posted when it comes.
const (
	readWorkers  = 2
	writeWorkers = 4
	readQueue    = 16
	writeQueue   = 8
	noticeQueue  = 256
	// readDeadline bounds a read command (!bug of a bug not in the mirror
	// asks Bugzilla).
	readDeadline = 30 * time.Second
	// writeDeadline bounds a write command altogether; its caller was told
	// it is slow after slow_after.
	writeDeadline = 5 * time.Minute
)

// Texts of the core's own answers.
const (
	busyText = "busy, try again in a minute"
	slowText = "Bugzilla is slow, I will tell you when it is done."
)

type work struct {
	ctx context.Context
	t   transport.Transport
	msg chat.Incoming
	adm commands.Admission // Admit's verdict, handed to Serve
}

// notice is one of the core's own short replies (busy, slow down).
type notice struct {
	t   transport.Transport
	out chat.Outgoing
}

// Receive admits an incoming message and queues it for the read or write
// workers. It never blocks: a full queue is answered "busy", a sender over
// the limit "slow down" (once per window), through the notice queue.
func (b *Bot) Receive(ctx context.Context, t transport.Transport, msg chat.Incoming) {
	r := b.l().router
	a := r.Admit(msg)
	switch {
	case a.Path == commands.PathNone:
		return
	case a.Limited:
		if !a.Command {
			return // a preview: chat, not a request
		}
		b.metrics.commands.WithLabelValues("limited").Inc()
		if a.SlowDown != nil {
			b.notify(t, *a.SlowDown)
		}
		return
	}
	q := b.reads
	if a.Path == commands.PathWrite {
		q = b.writes
	}
	select {
	case q <- work{ctx: ctx, t: t, msg: msg, adm: a}:
		if a.Command {
			b.metrics.commands.WithLabelValues("accepted").Inc()
		}
		return
	default:
	}
	if !a.Command {
		b.log.Debug("command queue full, no preview", "network", t.Network(), "channel", msg.Channel.Key)
		return
	}
	b.metrics.commands.WithLabelValues("busy").Inc()
	b.loudOnce(&b.busyLogged, "command queue full, answering busy (ksecbot_commands_total{result=\"busy\"} counts them)",
		"network", t.Network(), "from", msg.Sender.Nick, "write", a.Path == commands.PathWrite)
	busy := r.Reply(msg, chat.Line{}.Text(busyText))
	busy.Key += "/busy"
	b.notify(t, busy)
}

// notify queues one of the core's own replies; if even that queue is full
// (a flood from thousands of senders), the reply is dropped and counted.
func (b *Bot) notify(t transport.Transport, out chat.Outgoing) {
	select {
	case b.notices <- notice{t: t, out: out}:
	default:
		b.metrics.commands.WithLabelValues("unanswered").Inc()
		b.loudOnce(&b.noticeLogged, "notice queue full, a busy or slow-down reply is dropped (ksecbot_commands_total{result=\"unanswered\"} counts them)",
			"network", t.Network(), "target", out.Target)
	}
}

// noticeLoop sends the busy and slow-down replies.
func (b *Bot) noticeLoop(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case n := <-b.notices:
			b.sendReply(ctx, n.t, n.out)
		}
	}
}

// readWorker answers read commands and previews.
func (b *Bot) readWorker(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case w := <-b.reads:
			cctx, cancel := context.WithTimeout(ctx, readDeadline)
			replies := b.l().router.Serve(cctx, w.msg, w.adm)
			cancel()
			for _, r := range replies {
				b.sendReply(ctx, w.t, r)
			}
		}
	}
}

// writeWorker runs write commands. When one takes longer than slow_after,
// the caller is told so and the result is posted when it comes.
func (b *Bot) writeWorker(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case w := <-b.writes:
			b.runWrite(ctx, w)
		}
	}
}

func (b *Bot) runWrite(ctx context.Context, w work) {
	lv := b.l()
	slowAfter := lv.cfg.Commands.SlowAfter.Duration
	if slowAfter <= 0 {
		slowAfter = config.DefaultSlowAfter
	}
	cctx, cancel := context.WithTimeout(ctx, writeDeadline)
	defer cancel()
	done := make(chan []chat.Outgoing, 1)
	go func() { done <- lv.router.Serve(cctx, w.msg, w.adm) }()
	timer := time.NewTimer(slowAfter)
	defer timer.Stop()
	var replies []chat.Outgoing
	select {
	case replies = <-done:
	case <-timer.C:
		start := b.now()
		b.log.Info("write command slow, caller told", "network", w.t.Network(), "text", chat.Clean(w.msg.Text, 80), "after", slowAfter)
		slow := lv.router.Reply(w.msg, chat.Line{}.Text(slowText))
		slow.Key += "/slow" // the result keeps the reply's own key
		b.sendReply(ctx, w.t, slow)
		replies = <-done
		b.log.Info("slow write command done", "network", w.t.Network(), "text", chat.Clean(w.msg.Text, 80), "took", (slowAfter + b.now().Sub(start)).Round(time.Millisecond))
	}
	for _, r := range replies {
		b.sendReply(ctx, w.t, r)
	}
}

// quietLog is how long a flood warning stays at debug level after it was
// logged at warning level: a flood is told once, not once per command.
const quietLog = time.Minute

// loudOnce logs msg at warning level at most once per quietLog (last holds
// the time it was), else at debug level.
func (b *Bot) loudOnce(last *atomic.Int64, msg string, args ...any) {
	now := b.now().UnixNano()
	prev := last.Load()
	if now-prev >= int64(quietLog) && last.CompareAndSwap(prev, now) {
		b.log.Warn(msg, args...)
		return
	}
	b.log.Debug(msg, args...)
}
