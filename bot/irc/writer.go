// SPDX-License-Identifier: GPL-3.0-or-later

package irc

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ksecbot/ksecbot/chat"
)

// MaxWrapLines caps how many IRC lines one chat line may become; text
// beyond that is cut and marked with "…".
const MaxWrapLines = 4

// priorities of queued lines
const (
	prioControl = iota
	prioReply
	prioOther
)

type outLine struct {
	cmd    string
	params []string
	gen    uint64 // for control lines: only valid on this connection
	job    *job   // nil for control lines
}

type job struct {
	mu   sync.Mutex
	left int
	err  error
	done chan struct{}
}

func (j *job) finish(err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.left == 0 {
		return
	}
	if err != nil {
		j.err = err
		j.left = 0
	} else {
		j.left--
	}
	if j.left == 0 {
		close(j.done)
	}
}

func (j *job) failed() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err != nil || j.left == 0
}

// Send renders out into IRC lines and writes them through the flood
// limiter, returning once all were written. It returns ErrNotConnected,
// without sending, while disconnected. Replies overtake queued
// announcements. Safe for concurrent use.
func (t *Transport) Send(ctx context.Context, out chat.Outgoing) (string, error) {
	id, err := t.send(ctx, out)
	if err != nil {
		t.sendErrors.Add(1)
	}
	return id, err
}

func (t *Transport) send(ctx context.Context, out chat.Outgoing) (string, error) {
	target := out.Target
	if target == "" {
		target = strings.TrimPrefix(out.Channel, chat.NetIRC+":")
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
	cmd := "PRIVMSG"
	if out.Notice {
		cmd = "NOTICE"
	} else if i, ok := t.channelConfig(target); ok && t.chanCfg[i].Notice {
		cmd = "NOTICE"
	}
	budget := TextBudget(conn.CurrentNick(), cmd, target)
	var lines []string
	for _, l := range out.Lines {
		lines = append(lines, Wrap(Render(l, t.formatting), budget, MaxWrapLines)...)
	}
	if len(lines) == 0 {
		t.mu.Unlock()
		return "", nil
	}
	prio := prioOther
	if out.Kind == chat.KindReply {
		prio = prioReply
	}
	j := &job{left: len(lines), done: make(chan struct{})}
	for _, s := range lines {
		t.queue[prio] = append(t.queue[prio], &outLine{cmd: cmd, params: []string{target, s}, job: j})
	}
	t.mu.Unlock()
	t.signal()
	select {
	case <-j.done:
		return "", j.err
	case <-ctx.Done():
		j.finish(ctx.Err()) // the writer skips the rest
		return "", fmt.Errorf("irc: send: %w", ctx.Err())
	}
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

// next pops the highest-priority line, waiting for one.
func (t *Transport) next(ctx context.Context) *outLine {
	for {
		t.mu.Lock()
		for p := range t.queue {
			for len(t.queue[p]) > 0 {
				l := t.queue[p][0]
				t.queue[p][0] = nil
				t.queue[p] = t.queue[p][1:]
				if l.job != nil && l.job.failed() {
					continue // cancelled or failed earlier
				}
				t.mu.Unlock()
				return l
			}
		}
		t.mu.Unlock()
		select {
		case <-t.wake:
		case <-ctx.Done():
			return nil
		}
	}
}

// writer sends queued lines through the limiter until ctx is done.
func (t *Transport) writer(ctx context.Context) {
	for {
		l := t.next(ctx)
		if l == nil {
			return
		}
		if !t.lineValid(l) {
			t.fail(l, ErrNotConnected)
			continue
		}
		if d := t.lim.Take(); d > 0 {
			timer := time.NewTimer(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
				t.fail(l, ctx.Err())
				return
			}
		}
		t.mu.Lock()
		conn, gen := t.conn, t.gen
		t.mu.Unlock()
		if conn == nil || (l.job == nil && l.gen != gen) {
			t.fail(l, ErrNotConnected)
			continue
		}
		if err := conn.Send(l.cmd, l.params...); err != nil {
			t.fail(l, fmt.Errorf("irc: write: %w", err))
			continue
		}
		t.sent.Add(1)
		if l.job != nil {
			l.job.finish(nil)
		}
	}
}

func (t *Transport) lineValid(l *outLine) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.conn != nil && (l.job == nil || !l.job.failed()) && (l.job != nil || l.gen == t.gen)
}

func (t *Transport) fail(l *outLine, err error) {
	if l.job != nil {
		l.job.finish(err)
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
		j.finish(ErrNotConnected)
	}
}
