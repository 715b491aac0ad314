// SPDX-License-Identifier: GPL-3.0-or-later

// The send queue and its writer: Send renders a message into lines and
// queues them by priority; one goroutine writes them through the flood
// limiter and registers each as in flight (confirm.go settles them).

package irc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ergochat/irc-go/ircevent"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/transport"
)

// MaxWrapLines caps how many IRC lines one chat line may become; text
// beyond that is cut and marked with "…".
const MaxWrapLines = 4

// priorities of queued lines: protocol lines first, then announcements,
// reminders and digests, then command replies (which keep a token of the
// bucket free for announcements, see pick).
const (
	prioControl = iota
	prioOther
	prioReply
)

// ErrNotJoined is returned by Send for a channel the bot is not in now
// (not joined yet, kicked, banned); nothing was sent.
var ErrNotJoined = errors.New("irc: not in the channel")

// cancelSettle bounds how long Send, its ctx done, waits for the lines it
// already wrote to be confirmed.
const cancelSettle = 5 * time.Second

type outLine struct {
	cmd    string
	params []string
	gen    uint64 // for control lines: only valid on this connection
	job    *job   // nil for control lines
	idx    int    // index of the line in its job
	fence  bool   // a PING fence: its token is made when written
	queued time.Time
	// expires: the message is dropped if its first line is not written
	// by then (Outgoing.Expires; zero: never)
	expires time.Time
}

// Send renders out into IRC lines, writes them through the flood limiter
// and returns once the server confirmed every one: by echoing it
// (echo-message, matched by label with labeled-response, else by content
// and order) or, without echo-message, by answering a PING sent after it.
// It returns ErrNotConnected while disconnected and ErrNotJoined for a
// channel the bot is not in, without sending; a *RefusedError when the
// server refused a line; and a *transport.PartialError when some lines were
// delivered before the failure (send again with Outgoing.Resume). When
// ctx ends part way, no further line is written and Send waits (at most
// cancelSettle) for the lines already written to be confirmed, fencing
// them at once without echo-message, so that its *transport.PartialError
// counts them. Safe for concurrent use.
func (t *Transport) Send(ctx context.Context, out chat.Outgoing) (string, error) {
	id, err := t.send(ctx, out)
	if err != nil && !errors.Is(err, transport.ErrExpired) {
		t.sendErrors.Add(1)
	}
	return id, err
}

func (t *Transport) send(ctx context.Context, out chat.Outgoing) (string, error) {
	target := out.Target
	if target == "" {
		target = strings.TrimPrefix(out.Channel, Name+":")
	}
	if target == "" || strings.ContainsAny(target, " \r\n\x00,") || strings.HasPrefix(target, ":") {
		return "", fmt.Errorf("irc: invalid target %q", target)
	}
	t.mu.Lock()
	conn := t.conn
	if conn == nil {
		t.mu.Unlock()
		return "", ErrNotConnected
	}
	if t.isChannel(target) {
		if err := t.waitJoinedLocked(ctx, target); err != nil {
			t.mu.Unlock()
			return "", err
		}
		conn = t.conn
	}
	cmd := "PRIVMSG"
	if out.Notice {
		cmd = "NOTICE"
	} else if i, ok := t.channelConfig(target); ok && t.chanCfg[i].Notice {
		cmd = "NOTICE"
	}
	if transport.Expired(out, t.opt.Now()) {
		t.mu.Unlock()
		return "", transport.ErrExpired
	}
	budget := TextBudget(conn.CurrentNick(), cmd, target)
	quiet := t.quietFor(target, out)
	var lines []string
	for _, l := range out.Lines {
		lines = append(lines, Wrap(Render(l, t.formatting, quiet), budget, MaxWrapLines)...)
	}
	base := max(out.Resume, 0)
	if base >= len(lines) {
		t.mu.Unlock()
		return "", nil
	}
	lines = lines[base:]
	prio := prioOther
	if out.Kind == chat.KindReply {
		prio = prioReply
	}
	j := newJob(len(lines), base)
	now := t.opt.Now()
	for i, s := range lines {
		t.queue[prio] = append(t.queue[prio], &outLine{cmd: cmd, params: []string{target, s}, job: j, idx: i, queued: now, expires: out.Expires})
	}
	t.mu.Unlock()
	t.signal()
	select {
	case <-j.done:
		if err := j.result(nil); err != nil {
			return "", err
		}
		return j.networkID(), nil
	case <-ctx.Done():
	}
	err := fmt.Errorf("irc: send: %w", ctx.Err())
	if j.stop(err) { // the writer skips the rest
		t.mu.Lock()
		if t.conn != nil && !t.echo {
			// the fence after the message's last line will not come
			t.queueFenceLocked(t.gen)
		}
		t.mu.Unlock()
		t.signal()
	}
	timer := time.NewTimer(cancelSettle)
	defer timer.Stop()
	select {
	case <-j.done:
	case <-timer.C:
		j.fail(err)
	}
	return "", j.result(nil)
}

// queueFenceLocked makes a PING fence due on connection generation gen:
// its PONG confirms every line written before it. The writer sends it as
// soon as it has no line it may write at once, so one fence confirms a
// whole batch and follows it without delay. A fence takes no flood token
// (a token spent on it halved the throughput without echo-message, and
// the line waited unconfirmed for the next token). Caller holds t.mu and
// signals the writer.
func (t *Transport) queueFenceLocked(gen uint64) {
	t.fenceGen = gen
}

// takeFence returns the due fence, if any, and clears it.
func (t *Transport) takeFence() *outLine {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fenceGen == 0 {
		return nil
	}
	l := &outLine{cmd: "PING", gen: t.fenceGen, fence: true}
	t.fenceGen = 0
	return l
}

func (t *Transport) signal() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// enqueueControl queues a protocol line (JOIN, WHO, MODE) for the current
// connection generation gen, ahead of messages.
func (t *Transport) enqueueControl(gen uint64, cmd string, params ...string) {
	t.mu.Lock()
	t.queue[prioControl] = append(t.queue[prioControl], &outLine{cmd: cmd, params: params, gen: gen})
	t.mu.Unlock()
	t.signal()
}

// pick chooses the next line to write and takes its token, or says how
// long to wait for one. Control lines go first, then announcements, then
// replies; replies may not take the bucket's last token (their own
// budget), so a command flood delays an announcement by at most one
// interval. A reply that waited longer than replyStarve gets the next
// token once (then an announcement again), so replies are never starved,
// even by a backlog the deliverer feeds one message at a time.
func (t *Transport) pick() (*outLine, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var heads [3]*outLine
	now := t.opt.Now()
	for p := range t.queue {
		for len(t.queue[p]) > 0 {
			l := t.queue[p][0]
			if l.job != nil && l.idx == 0 && l.job.base == 0 && !l.expires.IsZero() && !now.Before(l.expires) {
				l.job.fail(transport.ErrExpired) // none of it went out: dropped
			}
			if l.job != nil && l.job.halted() {
				t.queue[p][0] = nil
				t.queue[p] = t.queue[p][1:]
				continue // cancelled, failed or expired earlier
			}
			heads[p] = l
			break
		}
	}
	p, reserve := -1, 0.0
	switch {
	case heads[prioControl] != nil:
		p = prioControl
	case heads[prioReply] != nil && t.lastPrio != prioReply &&
		now.Sub(heads[prioReply].queued) >= t.replyStarve():
		// waited long enough: one reply line, even from the last token
		p = prioReply
	case heads[prioOther] != nil:
		p = prioOther
	case heads[prioReply] != nil:
		p, reserve = prioReply, t.lim.ReplyReserve()
	}
	if p < 0 {
		return nil, 0
	}
	if d := t.lim.Ready(reserve); d > 0 {
		return nil, d
	}
	t.lim.Take()
	l := heads[p]
	t.queue[p][0] = nil
	t.queue[p] = t.queue[p][1:]
	if p != prioControl {
		t.lastPrio = p
	}
	return l, 0
}

// replyStarve is how long a reply may wait behind announcements before
// it is let through between two of them.
func (t *Transport) replyStarve() time.Duration { return 4 * t.lim.Interval() }

// writer sends queued lines through the limiter until ctx is done.
func (t *Transport) writer(ctx context.Context) {
	for {
		l, wait := t.pick()
		if l == nil {
			if f := t.takeFence(); f != nil {
				t.write(f) // right after the batch it confirms, without a token
				continue
			}
			var (
				tm    *time.Timer
				timer <-chan time.Time
			)
			if wait > 0 {
				tm = time.NewTimer(wait)
				timer = tm.C
			}
			select {
			case <-t.wake:
			case <-timer:
			case <-ctx.Done():
			}
			if tm != nil {
				tm.Stop()
			}
			if ctx.Err() != nil {
				return
			}
			continue
		}
		t.write(l)
	}
}

// write writes one line and registers it as in flight.
func (t *Transport) write(l *outLine) {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	t.mu.Lock()
	conn, gen := t.conn, t.gen
	if conn == nil || (l.job == nil && l.gen != gen) {
		t.mu.Unlock()
		t.fail(l, ErrNotConnected)
		return
	}
	var fl *flight
	if l.job != nil {
		if l.job.halted() {
			t.mu.Unlock()
			return
		}
		if target := l.params[0]; t.isChannel(target) && !t.joined[Fold(t.casemap, target)] {
			t.mu.Unlock()
			l.job.fail(fmt.Errorf("%w %s", ErrNotJoined, target))
			return
		}
		if !l.job.begin(l.idx) {
			t.mu.Unlock()
			return // stopped just now
		}
	}
	t.wseq++
	seq := t.wseq
	if l.job != nil {
		fl = &flight{line: l, seq: seq, at: t.opt.Now(), echo: t.echo}
		t.inflight = append(t.inflight, fl)
	}
	if l.fence {
		tok := fmt.Sprintf("ksf%d", seq)
		t.fences[tok] = seq
		l.params = []string{tok}
	}
	labels, fenceMode := t.labels, !t.echo
	t.mu.Unlock()

	var err error
	if fl != nil && labels {
		err = conn.SendWithLabel(func(b *ircevent.Batch) { t.onLabeled(fl, b) }, nil, l.cmd, l.params...)
	} else {
		err = conn.Send(l.cmd, l.params...)
	}
	if err != nil {
		err = fmt.Errorf("irc: write: %w", err)
		t.settle(fl, err) // never confirm a line that was not written
		t.fail(l, err)
		return
	}
	t.sent.Add(1)
	if fl != nil && fenceMode {
		// a fence follows the batch: its PONG confirms every line before it
		t.mu.Lock()
		t.queueFenceLocked(gen)
		t.mu.Unlock()
		t.signal()
	}
}

func (t *Transport) fail(l *outLine, err error) {
	if l.job != nil {
		l.job.fail(err)
	}
}

// failQueued fails every queued message and drops control lines, after a
// disconnect: the callers keep their messages and retry later.
func (t *Transport) failQueued() {
	t.mu.Lock()
	var jobs []*job
	for p := range t.queue {
		for _, l := range t.queue[p] {
			if l.job != nil {
				jobs = append(jobs, l.job)
			}
		}
		t.queue[p] = nil
	}
	t.mu.Unlock()
	for _, j := range jobs {
		j.fail(ErrNotConnected)
	}
}
