// SPDX-License-Identifier: GPL-3.0-or-later

package irc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ergochat/irc-go/ircevent"
	"github.com/ergochat/irc-go/ircfmt"
	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
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

// errNoResponse: the server's labeled response never came (ircevent
// expired the label); the line may or may not have arrived.
var errNoResponse = errors.New("irc: no response to a labeled line")

// errNotEchoed: with echo-message, the server answered a PING written
// after the line without having echoed the line: it was dropped.
var errNotEchoed = errors.New("irc: line not echoed by the server (dropped)")

// cancelSettle bounds how long Send, its ctx done, waits for the lines it
// already wrote to be confirmed.
const cancelSettle = 5 * time.Second

// RefusedError is a line the server refused (404 cannot send to channel,
// 442, 477, 401...): nothing reached the channel.
type RefusedError struct {
	Target  string
	Numeric string
	Reason  string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("irc: server refused the line to %s: %s %s", e.Target, e.Numeric, e.Reason)
}

type outLine struct {
	cmd    string
	params []string
	gen    uint64 // for control lines: only valid on this connection
	job    *job   // nil for control lines
	idx    int    // index of the line in its job
	fence  bool   // a PING fence: its token is made when written
	queued time.Time
}

// job is one Send: its lines are confirmed one by one (echo, labeled
// response or PING fence); it succeeds when all are and fails at the first
// line that is refused or lost. A job stopped by its caller (Send's ctx)
// writes no further line and ends once the lines already written are
// settled.
type job struct {
	mu      sync.Mutex
	ok      []bool
	base    int   // lines delivered by earlier attempts (Outgoing.Resume)
	written int   // lines handed to the connection so far (in order)
	stopped error // set by stop: no further line is written
	closed  bool
	err     error
	done    chan struct{}
}

func newJob(n, base int) *job {
	return &job{ok: make([]bool, n), base: base, done: make(chan struct{})}
}

// begin reports whether line i may be written, and counts it written; not
// once the job is closed or stopped.
func (j *job) begin(i int) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed || j.stopped != nil {
		return false
	}
	j.written = max(j.written, i+1)
	return true
}

// confirm marks line i delivered.
func (j *job) confirm(i int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed || i < 0 || i >= len(j.ok) {
		return
	}
	j.ok[i] = true
	switch {
	case j.allOKLocked(len(j.ok)):
		j.closeLocked(nil) // every line arrived, even if stopped meanwhile
	case j.stopped != nil && j.allOKLocked(j.written):
		j.closeLocked(j.stopped)
	}
}

// stop ends a job its caller gave up on: no further line is written, and
// the job ends with err once the lines already written are confirmed (or
// at once when none awaits confirmation). It reports whether the message
// was cut before its last line with written lines unconfirmed: those need
// a fence of their own.
func (j *job) stop(err error) (needFence bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed || j.stopped != nil {
		return false
	}
	j.stopped = err
	if j.allOKLocked(j.written) {
		j.closeLocked(err)
		return false
	}
	return j.written < len(j.ok)
}

// fail ends the job with err; lines confirmed so far stay delivered.
func (j *job) fail(err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.closed {
		j.closeLocked(err)
	}
}

func (j *job) allOKLocked(n int) bool {
	for _, ok := range j.ok[:n] {
		if !ok {
			return false
		}
	}
	return true
}

func (j *job) closeLocked(err error) {
	j.closed, j.err = true, err
	close(j.done)
}

func (j *job) isClosed() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.closed
}

// halted reports whether the job's unwritten lines are to be skipped
// (closed, or stopped by its caller).
func (j *job) halted() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.closed || j.stopped != nil
}

// result is the job's outcome for Send: nil, or its error with the
// progress when some lines were delivered.
func (j *job) result(err error) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err == nil {
		err = j.err
	}
	if err == nil {
		return nil
	}
	n := 0
	for n < len(j.ok) && j.ok[n] {
		n++
	}
	if n > 0 {
		return &transport.PartialError{Done: j.base + n, Err: err}
	}
	return err
}

// flight is a written line awaiting confirmation.
type flight struct {
	line *outLine
	seq  uint64 // write order on this connection
	at   time.Time
	echo bool // written with echo-message on: only its echo confirms it
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
	if err != nil {
		t.sendErrors.Add(1)
	}
	return id, err
}

func (t *Transport) send(ctx context.Context, out chat.Outgoing) (string, error) {
	target := out.Target
	if target == "" {
		target = strings.TrimPrefix(out.Channel, config.NetIRC+":")
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
	budget := TextBudget(conn.CurrentNick(), cmd, target)
	var lines []string
	for _, l := range out.Lines {
		lines = append(lines, Wrap(Render(l, t.formatting), budget, MaxWrapLines)...)
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
		t.queue[prio] = append(t.queue[prio], &outLine{cmd: cmd, params: []string{target, s}, job: j, idx: i, queued: now})
	}
	t.mu.Unlock()
	t.signal()
	select {
	case <-j.done:
		return "", j.result(nil)
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

// queueFenceLocked queues a PING fence for connection generation gen: its
// PONG confirms every line written before it. Caller holds t.mu and
// signals the writer.
func (t *Transport) queueFenceLocked(gen uint64) {
	t.queue[prioControl] = append(t.queue[prioControl], &outLine{cmd: "PING", gen: gen, fence: true})
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

// enqueueNotice queues a line to a channel that nobody waits for (alerts
// about the transport itself), with announcements' priority.
func (t *Transport) enqueueNotice(target, text string) {
	t.mu.Lock()
	t.queue[prioOther] = append(t.queue[prioOther], &outLine{cmd: "PRIVMSG", params: []string{target, text}, job: newJob(1, 0), queued: t.opt.Now()})
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
	for p := range t.queue {
		for len(t.queue[p]) > 0 {
			l := t.queue[p][0]
			if l.job != nil && l.job.halted() {
				t.queue[p][0] = nil
				t.queue[p] = t.queue[p][1:]
				continue // cancelled or failed earlier
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
		t.opt.Now().Sub(heads[prioReply].queued) >= t.replyStarve():
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
	if fl != nil && fenceMode && l.idx == len(l.job.ok)-1 {
		// fence the message: the PONG confirms every line before it
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

// settle takes fl off the in-flight list and confirms its line (err nil)
// or fails its message; fl nil and a nil job are ignored.
func (t *Transport) settle(fl *flight, err error) {
	if fl == nil {
		return
	}
	t.mu.Lock()
	t.dropFlightsLocked(func(f *flight) bool { return f == fl })
	t.mu.Unlock()
	if err != nil {
		fl.line.job.fail(err)
	} else {
		fl.line.job.confirm(fl.line.idx)
	}
}

// dropFlightsLocked removes the flights for which drop holds, and those
// of closed jobs, and returns the removed ones. Caller holds t.mu.
func (t *Transport) dropFlightsLocked(drop func(*flight) bool) []*flight {
	var gone []*flight
	keep := t.inflight[:0]
	for _, f := range t.inflight {
		if drop(f) || f.line.job.isClosed() {
			gone = append(gone, f)
			continue
		}
		keep = append(keep, f)
	}
	clear(t.inflight[len(keep):])
	t.inflight = keep
	return gone
}

// refusal reports whether a reply to a message means it was not
// delivered: an error numeric (400-599) or a standard FAIL.
func refusal(m ircmsg.Message) bool {
	if m.Command == "FAIL" {
		return true
	}
	return len(m.Command) == 3 && m.Command >= "400" && m.Command < "600"
}

// onLabeled handles the labeled response to a written line: its echo (or
// an ACK) confirms it; an error numeric refuses it.
func (t *Transport) onLabeled(fl *flight, b *ircevent.Batch) {
	if b == nil {
		t.settle(fl, errNoResponse)
		return
	}
	var refused *RefusedError
	var walk func(b *ircevent.Batch)
	walk = func(b *ircevent.Batch) {
		if refused == nil && refusal(b.Message) {
			refused = &RefusedError{Target: fl.line.params[0], Numeric: b.Message.Command, Reason: lastParam(b.Message)}
		}
		for _, it := range b.Items {
			walk(it)
		}
	}
	walk(b)
	if refused != nil {
		t.settle(fl, refused)
		return
	}
	t.settle(fl, nil)
}

// onEcho confirms the oldest in-flight line with this command, target
// and text (echo-message without labeled-response).
//
// A server may strip the formatting of a line (a channel mode against
// colours) and echo what it passed on: a line without an exact match is
// matched without formatting codes, or else it would stay unconfirmed and
// fail at the next probe, and be sent again and again.
func (t *Transport) onEcho(cmd, target, text string) {
	t.mu.Lock()
	ft := Fold(t.casemap, target)
	var hit, plain *flight
	for _, f := range t.inflight {
		if f.line.cmd != cmd || Fold(t.casemap, f.line.params[0]) != ft {
			continue
		}
		if f.line.params[1] == text {
			hit = f
			break
		}
		if plain == nil && ircfmt.Strip(f.line.params[1]) == ircfmt.Strip(text) {
			plain = f
		}
	}
	t.mu.Unlock()
	if hit == nil {
		hit = plain
	}
	t.settle(hit, nil)
}

// onRefused fails the in-flight line an unlabeled refusal is about; it
// reports whether there was one. An error numeric (<client> <target>
// ... :reason) names the target: the oldest line to it fails. A standard
// FAIL <command> <code> [<context>...] <description> names the command:
// the oldest line of that command fails, preferring one to a target its
// context names.
func (t *Transport) onRefused(m ircmsg.Message) bool {
	var cmd, reason string // cmd: FAIL's command
	var targets []string
	if m.Command == "FAIL" {
		if len(m.Params) < 3 {
			return false
		}
		cmd, targets = m.Params[0], m.Params[2:len(m.Params)-1]
		reason = m.Params[1] + " " + lastParam(m)
	} else {
		if len(m.Params) < 2 {
			return false
		}
		targets, reason = m.Params[1:2], lastParam(m)
	}
	t.mu.Lock()
	var hit, oldest *flight
	for _, f := range t.inflight {
		if cmd != "" && !strings.EqualFold(f.line.cmd, cmd) {
			continue
		}
		if oldest == nil {
			oldest = f
		}
		ft := Fold(t.casemap, f.line.params[0])
		for _, tg := range targets {
			if Fold(t.casemap, tg) == ft {
				hit = f
				break
			}
		}
		if hit != nil {
			break
		}
	}
	t.mu.Unlock()
	if hit == nil && cmd != "" {
		hit = oldest
	}
	if hit == nil {
		return false
	}
	t.settle(hit, &RefusedError{Target: hit.line.params[0], Numeric: m.Command, Reason: reason})
	return true
}

// onPong settles every line written before the fence or probe PING that
// tok answers: the server handles a client's lines in order, so an error
// about them, and with echo-message their echo, would have come before
// the PONG. A line written without echo is confirmed; a line written with
// echo-message that is still unconfirmed was not echoed, so the server
// dropped it: it fails (its caller sends it again) instead.
func (t *Transport) onPong(tok string) {
	t.mu.Lock()
	seq, ok := t.fences[tok]
	if !ok {
		t.mu.Unlock()
		return
	}
	delete(t.fences, tok)
	if tok == t.probeTok {
		t.probeTok = ""
	}
	done := t.dropFlightsLocked(func(f *flight) bool { return f.seq < seq })
	t.mu.Unlock()
	for _, f := range done {
		if f.echo {
			f.line.job.fail(errNotEchoed)
		} else {
			f.line.job.confirm(f.line.idx)
		}
	}
}

// failInflight fails every line awaiting confirmation, after a
// disconnect: the callers send them again (at most one repeat each).
func (t *Transport) failInflight() {
	t.mu.Lock()
	gone := t.dropFlightsLocked(func(*flight) bool { return true })
	t.fences = map[string]uint64{}
	t.probeTok = ""
	t.mu.Unlock()
	for _, f := range gone {
		f.line.job.fail(fmt.Errorf("%w (line unconfirmed)", ErrNotConnected))
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

// Link watchdog: while lines await confirmation, a link that stays
// silent is probed with a PING and recycled when the PONG does not come.
const (
	silentAfter  = 10 * time.Second
	probeTimeout = 15 * time.Second
)

// watchLink runs for one connection: it returns when s disconnects, and
// closes the socket when the link is found silent.
func (s *session) watchLink() {
	t := s.t
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-s.disc:
			return
		case <-tick.C:
		}
		now := t.opt.Now()
		// A write blocked on a full socket holds wmu: the probe waits,
		// but the deadline of one already sent is checked regardless.
		haveW := t.wmu.TryLock()
		t.mu.Lock()
		if t.gen != s.gen || t.conn == nil {
			t.mu.Unlock()
			if haveW {
				t.wmu.Unlock()
			}
			return
		}
		t.dropFlightsLocked(func(*flight) bool { return false })
		conn := t.conn
		var probe string
		switch {
		case t.probeTok != "" && now.Sub(t.probeAt) > t.opt.ProbeTimeout:
			age := now.Sub(t.probeAt)
			t.mu.Unlock()
			if haveW {
				t.wmu.Unlock()
			}
			t.log.Warn("link silent, reconnecting", "server", t.cfg.Server, "no_pong_for", age.Round(time.Millisecond))
			t.silentDrops.Add(1)
			s.closeSock()
			return
		case haveW && t.probeTok == "" && len(t.inflight) > 0 && now.Sub(t.inflight[0].at) > t.opt.SilentAfter:
			t.wseq++
			probe = fmt.Sprintf("ksp%d", t.wseq)
			t.fences[probe] = t.wseq
			t.probeTok, t.probeAt = probe, now
		}
		t.mu.Unlock()
		if probe != "" {
			t.log.Debug("lines unconfirmed, probing the link", "token", probe)
			if err := conn.Send("PING", probe); err != nil {
				t.log.Debug("probe not written", "err", err)
			}
		}
		if haveW {
			t.wmu.Unlock()
		}
	}
}
