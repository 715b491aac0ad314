// SPDX-License-Identifier: GPL-3.0-or-later

// Delivery confirmation: the lines in flight are settled by the server's
// answers, a labeled response, an echo matched by content, an unlabeled
// refusal (error numeric or FAIL) or the PONG of a fence or probe; a
// disconnect fails them all.

package irc

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ergochat/irc-go/ircevent"
	"github.com/ergochat/irc-go/ircfmt"
	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/transport"
)

// errNoResponse: the server's labeled response never came (ircevent
// expired the label); the line may or may not have arrived.
var errNoResponse = errors.New("irc: no response to a labeled line")

// errNotEchoed: with echo-message, the server answered a PING written
// after the line without having echoed the line: it was dropped.
var errNotEchoed = errors.New("irc: line not echoed by the server (dropped)")

// RefusedError is a line the server refused (404 cannot send to channel,
// 442, 477, 401...): nothing reached the channel.
type RefusedError struct {
	Target  string
	Numeric string
	Reason  string
}

// Error names the target and the server's refusal.
func (e *RefusedError) Error() string {
	return fmt.Sprintf("irc: server refused the line to %s: %s %s", e.Target, e.Numeric, e.Reason)
}

// Is matches transport.ErrRefused.
func (e *RefusedError) Is(target error) bool { return target == transport.ErrRefused }

// flight is a written line awaiting confirmation.
type flight struct {
	line *outLine
	seq  uint64 // write order on this connection
	at   time.Time
	echo bool // written with echo-message on: only its echo confirms it
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
	fl.line.job.setID(fl.line.idx, echoID(b, fl.line.cmd))
	t.settle(fl, nil)
}

// echoID is the msgid of the echo of a line sent with cmd in its labeled
// response (the message itself, or an item of its batch), or "".
func echoID(b *ircevent.Batch, cmd string) string {
	if b.Message.Command == cmd {
		if ok, id := b.Message.GetTag("msgid"); ok {
			return id
		}
	}
	for _, it := range b.Items {
		if id := echoID(it, cmd); id != "" {
			return id
		}
	}
	return ""
}

// onEcho confirms the oldest in-flight line with this command, target
// and text (echo-message without labeled-response).
//
// A server may strip the formatting of a line (a channel mode against
// colours) and echo what it passed on: a line without an exact match is
// matched without formatting codes, or else it would stay unconfirmed and
// fail at the next probe, and be sent again and again.
func (t *Transport) onEcho(cmd, target, text, msgid string) {
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
	if hit != nil {
		hit.line.job.setID(hit.line.idx, msgid)
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
