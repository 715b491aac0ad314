// SPDX-License-Identifier: GPL-3.0-or-later

// Channel health: JOINs sent, refused and retried with backoff, rejoins
// after a KICK, and Sends waiting for a JOIN in progress.

package irc

import (
	"context"
	"fmt"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/backoff"
)

// join retry policy after a refused JOIN (full, invite only, banned, bad
// key, need a registered nick)
const (
	joinRetryMin = 5 * time.Second
	joinRetryMax = 5 * time.Minute
)

// joinState counts the refused JOINs of one channel in a row.
type joinState struct {
	fails   int
	alerted bool // the private channels were told
	numeric string
	reason  string
}

// onJoinRefused handles 471/473/474/475 (and 403/405/477 when no line
// was in flight to that target): it logs once per run of failures, tells
// the private channels once, and retries the JOIN with backoff. The
// channel's announcements stay in the outbox meanwhile (Send refuses
// channels the bot is not in).
func (s *session) onJoinRefused(m ircmsg.Message) {
	if len(m.Params) < 2 {
		return
	}
	t := s.t
	ch, reason := m.Params[1], lastParam(m)
	t.mu.Lock()
	if _, ok := t.channelConfig(ch); !ok {
		t.mu.Unlock()
		t.log.Error("cannot join channel", "channel", ch, "numeric", m.Command, "reason", reason)
		return
	}
	fc := Fold(t.casemap, ch)
	st := t.joinFail[fc]
	if st == nil {
		st = &joinState{}
		t.joinFail[fc] = st
	}
	st.fails++
	st.numeric, st.reason = m.Command, reason
	delete(t.joining, fc)
	t.joinChangedLocked()
	n, gen := st.fails, t.gen
	delay := backoff.Delay(n-1, t.opt.JoinRetryMin, t.opt.JoinRetryMax, t.opt.Rand)
	var alert []string
	if !st.alerted {
		alert = t.privateJoinedLocked(fc)
		st.alerted = len(alert) > 0
	}
	t.mu.Unlock()
	if n == 1 {
		t.log.Error("cannot join channel; its messages wait in the outbox, retrying with backoff", "channel", ch, "numeric", m.Command, "reason", reason, "retry_in", delay.Round(time.Millisecond))
	} else {
		t.log.Debug("join refused again", "channel", ch, "numeric", m.Command, "attempt", n, "retry_in", delay.Round(time.Millisecond))
	}
	for _, a := range alert {
		t.enqueueNotice(a, joinAlert(ch, m.Command, reason))
	}
	time.AfterFunc(delay, func() {
		t.mu.Lock()
		i, ok := t.channelConfig(ch)
		live := ok && t.gen == gen && t.conn != nil && !t.joined[fc]
		var cfg config.IRCChannel
		if ok {
			cfg = t.chanCfg[i] // as configured now: a reload may change the key
		}
		t.mu.Unlock()
		if live {
			t.join(gen, cfg)
		}
	})
}

func joinAlert(ch, numeric, reason string) string {
	return chat.Sanitize(fmt.Sprintf("ksecbot cannot join %s: %s (%s). Its announcements are kept and sent once I am back in; I keep trying to join.", ch, reason, numeric))
}

// privateJoinedLocked returns the private channels the bot is in, other
// than folded channel except. Caller holds t.mu.
func (t *Transport) privateJoinedLocked(except string) []string {
	var out []string
	for _, c := range t.chanCfg {
		f := Fold(t.casemap, c.Name)
		if c.Private && f != except && t.joined[f] {
			out = append(out, c.Name)
		}
	}
	return out
}

// joinSucceeded ends a run of refused JOINs of ch (telling the private
// channels when they were told of the failure) and, when ch is private,
// tells it about the channels that could not be joined before it was.
func (s *session) joinSucceeded(ch string) {
	t := s.t
	t.mu.Lock()
	fc := Fold(t.casemap, ch)
	st := t.joinFail[fc]
	delete(t.joinFail, fc)
	var back []string
	if st != nil && st.alerted {
		back = t.privateJoinedLocked(fc)
	}
	type late struct{ ch, numeric, reason string }
	var pending []late
	if i, ok := t.channelConfig(ch); ok && t.chanCfg[i].Private {
		for _, c := range t.chanCfg {
			f := Fold(t.casemap, c.Name)
			if js := t.joinFail[f]; js != nil && !js.alerted {
				js.alerted = true
				pending = append(pending, late{c.Name, js.numeric, js.reason})
			}
		}
	}
	t.mu.Unlock()
	if st != nil {
		t.log.Info("joined after refused joins", "channel", ch, "refused", st.fails)
	}
	for _, a := range back {
		t.enqueueNotice(a, chat.Sanitize(fmt.Sprintf("ksecbot is back in %s; its waiting announcements follow there.", ch)))
	}
	for _, p := range pending {
		t.enqueueNotice(ch, joinAlert(p.ch, p.numeric, p.reason))
	}
}

// joinChangedLocked wakes the Sends waiting for a JOIN. Caller holds t.mu.
func (t *Transport) joinChangedLocked() {
	close(t.joinCh)
	t.joinCh = make(chan struct{})
}

// joinWait is how long Send waits for a JOIN in progress.
const joinWait = 10 * time.Second

// waitJoined returns nil once the bot is in channel target, or
// ErrNotJoined at once when no JOIN of it is in progress (or after
// joinWait). Caller holds t.mu; it is released while waiting and held
// again on return.
func (t *Transport) waitJoinedLocked(ctx context.Context, target string) error {
	fc := Fold(t.casemap, target)
	timer := time.NewTimer(joinWait)
	defer timer.Stop()
	for !t.joined[fc] {
		if !t.joining[fc] || t.conn == nil {
			return fmt.Errorf("%w %s", ErrNotJoined, target)
		}
		ch := t.joinCh
		t.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			t.mu.Lock()
			return fmt.Errorf("%w %s (join pending)", ErrNotJoined, target)
		case <-ctx.Done():
			t.mu.Lock()
			return fmt.Errorf("irc: send: %w", ctx.Err())
		}
		t.mu.Lock()
	}
	return nil
}

// join queues a JOIN of ch, with its key, for connection generation gen.
func (t *Transport) join(gen uint64, ch config.IRCChannel) {
	t.mu.Lock()
	if t.gen == gen && t.conn != nil {
		t.joining[Fold(t.casemap, ch.Name)] = true
	}
	t.mu.Unlock()
	if key := ch.ChannelKey.Reveal(); key != "" {
		t.enqueueControl(gen, "JOIN", ch.Name, key)
	} else if ch.Key != "" {
		t.enqueueControl(gen, "JOIN", ch.Name, ch.Key)
	} else {
		t.enqueueControl(gen, "JOIN", ch.Name)
	}
}

// kick rejoin policy
const (
	maxKickRejoins = 3
	kickDelay      = 5 * time.Second
)

// onKick forgets the kicked member and, when the bot was kicked from a
// configured channel, rejoins it after a delay that grows with the kicks
// on this connection (at most maxKickRejoins times).
func (s *session) onKick(m ircmsg.Message) {
	if len(m.Params) < 2 {
		return
	}
	t := s.t
	ch, victim := m.Params[0], m.Params[1]
	s.onLeave(victim, ch)
	if !s.isMe(victim) {
		return
	}
	t.mu.Lock()
	_, ok := t.channelConfig(ch)
	fc := Fold(t.casemap, ch)
	t.kicks[fc]++
	n, gen := t.kicks[fc], t.gen
	t.mu.Unlock()
	t.log.Warn("kicked", "channel", ch, "by", m.Nick(), "reason", lastParam(m), "rejoin", ok && n <= maxKickRejoins)
	if !ok || n > maxKickRejoins {
		return
	}
	time.AfterFunc(time.Duration(n)*t.opt.KickDelay, func() {
		// with the configuration of then: a reload may have removed the
		// channel or changed its key meanwhile
		t.mu.Lock()
		i, ok := t.channelConfig(ch)
		var cfg config.IRCChannel
		if ok {
			cfg = t.chanCfg[i]
		}
		t.mu.Unlock()
		if ok {
			t.join(gen, cfg)
		}
	})
}
