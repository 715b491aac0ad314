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
	"github.com/ksecbot/ksecbot/internal/backoff"
	"github.com/ksecbot/ksecbot/transport"
)

// join retry policy after a refused JOIN (full, invite only, banned, bad
// key, need a registered nick)
const (
	joinRetryMin = 5 * time.Second
	joinRetryMax = 5 * time.Minute
)

// joinState counts the refused JOINs of one channel in a row.
type joinState struct {
	fails int
}

// onJoinRefused handles 471/473/474/475 (and 403/405/477 when no line
// was in flight to that target): it logs once per run of failures,
// reports the trouble to the core (transport.Alerts: the core tells the
// private channels of every network, once per episode), and retries the
// JOIN with backoff. The channel's announcements stay in the outbox
// meanwhile (Send refuses channels the bot is not in).
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
	delete(t.joining, fc)
	t.joinChangedLocked()
	n, gen := st.fails, t.gen
	delay := backoff.Delay(n-1, t.opt.JoinRetryMin, t.opt.JoinRetryMax, t.opt.Rand)
	i, _ := t.channelConfig(ch)
	cch := t.channels[i]
	t.mu.Unlock()
	if n == 1 {
		t.log.Error("cannot join channel; its messages wait in the outbox, retrying with backoff", "channel", ch, "numeric", m.Command, "reason", reason, "retry_in", delay.Round(time.Millisecond))
	} else {
		t.log.Debug("join refused again", "channel", ch, "numeric", m.Command, "attempt", n, "retry_in", delay.Round(time.Millisecond))
	}
	t.channelTrouble(cch, joinProblem(m.Command, reason))
	time.AfterFunc(delay, func() {
		t.mu.Lock()
		i, ok := t.channelConfig(ch)
		live := ok && t.gen == gen && t.conn != nil && !t.joined[fc]
		var cfg Channel
		if ok {
			cfg = t.chanCfg[i] // as configured now: a reload may change the key
		}
		t.mu.Unlock()
		if live {
			t.join(gen, cfg)
		}
	})
}

// joinProblem says why a JOIN was refused and what to do about it, for
// the people in the private channels (transport.Alerts).
func joinProblem(numeric, reason string) string {
	what, fix := "", "check the channel's modes and [irc] channel settings"
	switch numeric {
	case "471":
		what, fix = "channel is full", "raise its limit (+l) or make room"
	case "473":
		what, fix = "invite only", "invite the bot or add an invite exception (+I) for it"
	case "474":
		what, fix = "banned", "unban the bot or add a ban exception (+e) for it"
	case "475":
		what, fix = "wrong channel key", "fix key or key_file of the channel in [irc], or its +k"
	case "477":
		what, fix = "needs a registered, identified nick", "check the bot's [irc] SASL account"
	case "403":
		what, fix = "no such channel", "fix the channel name in [irc]"
	case "405":
		what, fix = "joined too many channels", "configure fewer [irc] channels"
	}
	if what == "" {
		what = "refused"
	}
	return chat.Clean(fmt.Sprintf("%s (%s: %s); %s", what, numeric, reason, fix), 300)
}

// alerts returns the core's transport.Alerts (when the Inbox implements
// it) and the run's context.
func (t *Transport) alerts() (transport.Alerts, context.Context, bool) {
	t.mu.Lock()
	in, ctx := t.inbox, t.runCtx
	t.mu.Unlock()
	a, ok := in.(transport.Alerts)
	return a, ctx, ok
}

// channelTrouble reports to the core that the bot cannot be in ch.
func (t *Transport) channelTrouble(ch chat.Channel, problem string) {
	if a, ctx, ok := t.alerts(); ok {
		a.ChannelTrouble(ctx, ch, problem)
	}
}

// channelRecovered reports to the core that the bot is in ch.
func (t *Transport) channelRecovered(ch chat.Channel) {
	if a, ctx, ok := t.alerts(); ok {
		a.ChannelRecovered(ctx, ch)
	}
}

// joinSucceeded ends a run of refused JOINs of ch and tells the core the
// bot is in it (which ends an episode of trouble, if there was one).
func (s *session) joinSucceeded(ch string) {
	t := s.t
	t.mu.Lock()
	fc := Fold(t.casemap, ch)
	st := t.joinFail[fc]
	delete(t.joinFail, fc)
	i, ok := t.channelConfig(ch)
	var cch chat.Channel
	if ok {
		cch = t.channels[i]
	}
	t.mu.Unlock()
	if st != nil {
		t.log.Info("joined after refused joins", "channel", ch, "refused", st.fails)
	}
	if ok {
		t.channelRecovered(cch)
	}
}

// joinChangedLocked wakes the Sends waiting for a JOIN. Caller holds t.mu.
func (t *Transport) joinChangedLocked() {
	close(t.joinCh)
	t.joinCh = make(chan struct{})
}

// joinWait is how long Send waits for a JOIN in progress.
const joinWait = 10 * time.Second

// waitJoined returns nil once the bot is in channel target and knows its
// members (end of NAMES, or joinWait after the JOIN), or
// ErrNotJoined at once when no JOIN of it is in progress (or after
// joinWait). Caller holds t.mu; it is released while waiting and held
// again on return.
func (t *Transport) waitJoinedLocked(ctx context.Context, target string) error {
	fc := Fold(t.casemap, target)
	timer := time.NewTimer(joinWait)
	defer timer.Stop()
	// In the channel, and its members known from the NAMES list that
	// follows the JOIN: text sent there must not highlight them.
	for !t.joined[fc] || !t.named[fc] {
		if !t.joined[fc] && (!t.joining[fc] || t.conn == nil) {
			return fmt.Errorf("%w %s", ErrNotJoined, target)
		}
		ch := t.joinCh
		t.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			t.mu.Lock()
			if t.joined[fc] {
				return nil // no end of NAMES: the members seen so far
			}
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
func (t *Transport) join(gen uint64, ch Channel) {
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
	i, ok := t.channelConfig(ch)
	var cch chat.Channel
	if ok {
		cch = t.channels[i]
	}
	fc := Fold(t.casemap, ch)
	t.kicks[fc]++
	n, gen := t.kicks[fc], t.gen
	t.mu.Unlock()
	t.log.Warn("kicked", "channel", ch, "by", m.Nick(), "reason", lastParam(m), "rejoin", ok && n <= maxKickRejoins)
	if !ok {
		return
	}
	if n > maxKickRejoins {
		t.channelTrouble(cch, chat.Clean(fmt.Sprintf("kicked by %s (%s), %d times on this connection, so it does not rejoin until it reconnects; ask the channel's operators to let the bot stay, then reconnect it (restart, or remove and re-add the channel with a reload)", m.Nick(), lastParam(m), n), 300))
		return
	}
	time.AfterFunc(time.Duration(n)*t.opt.KickDelay, func() {
		// with the configuration of then: a reload may have removed the
		// channel or changed its key meanwhile
		t.mu.Lock()
		i, ok := t.channelConfig(ch)
		var cfg Channel
		if ok {
			cfg = t.chanCfg[i]
		}
		t.mu.Unlock()
		if ok {
			t.join(gen, cfg)
		}
	})
}
