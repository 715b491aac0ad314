// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/commands"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/backoff"
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
//     sender gets one "slow down" reply per window; a sender hears one of
//     the two at most once per window (commands.SlowDownWindow). Both go
//     through a small queue of their own with one sender, so the
//     transport's read loop never blocks.
//   - A reply that has not begun to go out a minute (replyTTL) after its
//     command arrived is dropped, busy and slow-down replies too, and
//     counted (ksecbot_command_replies_expired_total): a flood's answers
//     do not hold a channel for minutes, nor arrive when nobody waits for
//     them. A read command still queued then is not served at all. A
//     write's result may go out a minute after the write is done (the
//     caller was told it is slow).
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
	// replyTTL is how long after its command (a write's result: after the
	// write) a reply may still begin to go out.
	replyTTL = time.Minute
)

// Texts of the core's own answers.
const (
	busyText = "busy, try again in a minute"
	slowText = "Bugzilla is slow, I will tell you when it is done."
)

// Dispatcher takes the chat messages the transports receive (Receive,
// through Inbox), admits them (commands.Router.Admit: per-user limits) and
// has the read and write workers answer them through the router as
// configured now. Replies go straight to the transport, not through the
// outbox. Safe for concurrent use.
type Dispatcher struct {
	current func() commandConfig // the configuration in effect at each message
	metrics *Metrics
	log     *slog.Logger
	now     func() time.Time

	reads   chan work   // admitted read commands and previews
	writes  chan work   // admitted write commands
	notices chan notice // busy and slow-down replies

	busyLogged, noticeLogged, expiredLogged atomic.Int64 // when a flood was last logged loudly

	cmds commandLog // recent commands, for edits and withdrawals (commandlog.go)
}

// commandConfig is what the dispatcher reads of the configuration in
// effect: the command router, [commands] slow_after, and the handles no
// reply may ping (Quiet). *Snapshot implements it.
type commandConfig interface {
	Router() *commands.Router
	Config() *config.Config
	Quiet(chat.Outgoing) chat.Outgoing
}

// NewDispatcher returns the command dispatcher.
func NewDispatcher(o Options, current func() commandConfig, metrics *Metrics) *Dispatcher {
	o = o.WithDefaults()
	return &Dispatcher{current: current, metrics: metrics, log: o.Logger, now: o.Now,
		reads: make(chan work, readQueue), writes: make(chan work, writeQueue), notices: make(chan notice, noticeQueue)}
}

// Loops returns the command workers and the notice sender, for Bot.Run.
func (d *Dispatcher) Loops() []Loop {
	var ls []Loop
	for i := 0; i < readWorkers; i++ {
		ls = append(ls, Loop{"read commands", d.readWorker})
	}
	for i := 0; i < writeWorkers; i++ {
		ls = append(ls, Loop{"write commands", d.writeWorker})
	}
	return append(ls, Loop{"command notices", d.noticeLoop})
}

type work struct {
	ctx context.Context
	t   transport.Transport
	msg chat.Incoming
	adm commands.Admission // Admit's verdict, handed to Serve
	cmd *logged            // its entry in the command log
	at  time.Time          // when the command arrived
}

// notice is one of the core's own short replies (busy, slow down).
type notice struct {
	t   transport.Transport
	out chat.Outgoing
}

// Receive admits an incoming message and queues it for the read or write
// workers. It never blocks: a full queue is answered "busy", a sender over
// the limit "slow down" (once per window), through the notice queue.
func (d *Dispatcher) Receive(ctx context.Context, t transport.Transport, msg chat.Incoming) {
	if msg.Redacts != "" {
		if d.cmds.withdraw(msg.Channel.Key, msg.Redacts) {
			d.log.Info("a withdrawn command is dropped", "network", t.Network(), "channel", msg.Channel.Key, "from", msg.Sender.Nick)
		}
		return
	}
	r := d.current().Router()
	a := r.Admit(msg)
	at := d.now()
	if msg.Edits != "" && d.cmds.correct(msg, a.Path == commands.PathWrite) {
		d.log.Info("a corrected write command is not done again", "network", t.Network(), "channel", msg.Channel.Key, "from", msg.Sender.Nick)
		done := r.Reply(msg, chat.Line{}.Text(alreadyDoneText))
		d.notify(t, expiring(done, at))
		return
	}
	switch {
	case a.Path == commands.PathNone:
		return
	case a.Limited:
		if !a.Command {
			return // a preview: chat, not a request
		}
		d.metrics.commands.WithLabelValues("limited").Inc()
		if a.SlowDown != nil {
			d.notify(t, expiring(*a.SlowDown, at))
		}
		return
	}
	q := d.reads
	if a.Path == commands.PathWrite {
		q = d.writes
	}
	select {
	case q <- work{ctx: ctx, t: t, msg: msg, adm: a, cmd: d.cmds.add(msg, a.Path == commands.PathWrite), at: at}:
		if a.Command {
			d.metrics.commands.WithLabelValues("accepted").Inc()
		}
		return
	default:
	}
	if !a.Command {
		d.log.Debug("command queue full, no preview", "network", t.Network(), "channel", msg.Channel.Key)
		return
	}
	d.metrics.commands.WithLabelValues("busy").Inc()
	d.loudOnce(&d.busyLogged, "command queue full, answering busy (ksecbot_commands_total{result=\"busy\"} counts them)",
		"network", t.Network(), "from", msg.Sender.Nick, "write", a.Path == commands.PathWrite)
	if !r.NoticeDue(msg) {
		return // told "busy" or "slow down" within the window
	}
	busy := r.Reply(msg, chat.Line{}.Text(busyText))
	busy.Key += "/busy"
	d.notify(t, expiring(busy, at))
}

// expiring sets a reply to expire replyTTL after at.
func expiring(out chat.Outgoing, at time.Time) chat.Outgoing {
	out.Expires = at.Add(replyTTL)
	return out
}

// notify queues one of the core's own replies; if even that queue is full
// (a flood from thousands of senders), the reply is dropped and counted.
func (d *Dispatcher) notify(t transport.Transport, out chat.Outgoing) {
	select {
	case d.notices <- notice{t: t, out: out}:
	default:
		d.metrics.commands.WithLabelValues("unanswered").Inc()
		d.loudOnce(&d.noticeLogged, "notice queue full, a busy or slow-down reply is dropped (ksecbot_commands_total{result=\"unanswered\"} counts them)",
			"network", t.Network(), "target", out.Target)
	}
}

// noticeLoop sends the busy and slow-down replies.
func (d *Dispatcher) noticeLoop(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case n := <-d.notices:
			d.sendReply(ctx, n.t, n.out, replyNotice)
		}
	}
}

// readWorker answers read commands and previews.
func (d *Dispatcher) readWorker(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case w := <-d.reads:
			if !d.now().Before(w.at.Add(replyTTL)) {
				// its answer could no longer go out in time
				d.expired(w.t, replyAnswer, "read command not served", w.msg.Target)
				continue
			}
			if !d.cmds.start(w.cmd) {
				continue // withdrawn or corrected meanwhile
			}
			cctx, cancel := context.WithTimeout(ctx, readDeadline)
			replies := d.current().Router().Serve(cctx, w.msg, w.adm)
			cancel()
			for _, r := range replies {
				d.sendReply(ctx, w.t, expiring(r, w.at), replyAnswer)
			}
		}
	}
}

// writeWorker runs write commands. When one takes longer than slow_after,
// the caller is told so and the result is posted when it comes.
func (d *Dispatcher) writeWorker(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case w := <-d.writes:
			if !d.cmds.start(w.cmd) {
				continue // withdrawn or corrected meanwhile
			}
			d.runWrite(ctx, w)
		}
	}
}

func (d *Dispatcher) runWrite(ctx context.Context, w work) {
	lv := d.current() // one configuration for the whole command
	router := lv.Router()
	slowAfter := lv.Config().Commands.SlowAfter.Duration
	if slowAfter <= 0 {
		slowAfter = config.DefaultSlowAfter
	}
	cctx, cancel := context.WithTimeout(ctx, writeDeadline)
	defer cancel()
	done := make(chan []chat.Outgoing, 1)
	go func() { done <- router.Serve(cctx, w.msg, w.adm) }()
	timer := time.NewTimer(slowAfter)
	defer timer.Stop()
	var replies []chat.Outgoing
	select {
	case replies = <-done:
	case <-timer.C:
		start := d.now()
		d.log.Info("write command slow, caller told", "network", w.t.Network(), "text", chat.Clean(w.msg.Text, 80), "after", slowAfter)
		slow := router.Reply(w.msg, chat.Line{}.Text(slowText))
		slow.Key += "/slow" // the result keeps the reply's own key
		d.sendReply(ctx, w.t, expiring(slow, w.at), replyNotice)
		replies = <-done
		d.log.Info("slow write command done", "network", w.t.Network(), "text", chat.Clean(w.msg.Text, 80), "took", (slowAfter + d.now().Sub(start)).Round(time.Millisecond))
	}
	finished := d.now() // the write is done: its result may go out for a minute
	for _, r := range replies {
		d.sendReply(ctx, w.t, expiring(r, finished), replyAnswer)
	}
}

// quietLog is how long a flood warning stays at debug level after it was
// logged at warning level: a flood is told once, not once per command.
const quietLog = time.Minute

// loudOnce logs msg at warning level at most once per quietLog (last holds
// the time it was), else at debug level.
func (d *Dispatcher) loudOnce(last *atomic.Int64, msg string, args ...any) {
	now := d.now().UnixNano()
	prev := last.Load()
	if now-prev >= int64(quietLog) && last.CompareAndSwap(prev, now) {
		d.log.Warn(msg, args...)
		return
	}
	d.log.Debug(msg, args...)
}

// Inbox returns the Inbox a transport delivers to.
func (d *Dispatcher) Inbox(t transport.Transport) transport.Inbox {
	return transport.InboxFunc(func(ctx context.Context, msg chat.Incoming) { d.Receive(ctx, t, msg) })
}

// sendReply sends a command reply directly (replies are not durable:
// the asker is there now), retrying briefly while the network is down,
// until it expires (Outgoing.Expires).
func (d *Dispatcher) sendReply(ctx context.Context, t transport.Transport, r chat.Outgoing, kind string) {
	r = d.current().Quiet(r)
	wait := backoff.Backoff{Min: 500 * time.Millisecond, Max: 8 * time.Second}
	for range 5 {
		if transport.Expired(r, d.now()) {
			d.expired(t, kind, "reply not sent", r.Target)
			return
		}
		_, err := t.Send(ctx, r)
		if err == nil {
			d.metrics.sent.WithLabelValues(t.Network()).Inc()
			return
		}
		if errors.Is(err, transport.ErrExpired) {
			d.expired(t, kind, "reply not sent", r.Target)
			return
		}
		d.metrics.sendErrors.WithLabelValues(t.Network()).Inc()
		d.log.Warn("failed to send reply", "network", t.Network(), "target", r.Target, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait.Next()):
		}
	}
}

// Kinds of replies, for ksecbot_command_replies_expired_total: a
// command's answer, or one of the core's notices (busy, slow down,
// Bugzilla is slow).
const (
	replyAnswer = "answer"
	replyNotice = "notice"
)

// expired counts a reply of kind dropped because it could not go out
// within replyTTL, and logs it (loudly once per quietLog).
func (d *Dispatcher) expired(t transport.Transport, kind, what, target string) {
	d.metrics.repliesExpired.WithLabelValues(t.Network(), kind).Inc()
	d.loudOnce(&d.expiredLogged, "a command's reply could not go out within a minute and is dropped (ksecbot_command_replies_expired_total counts them)",
		"network", t.Network(), "target", target, "what", what)
}
