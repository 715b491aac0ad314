// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"fmt"
	"time"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/store"
)

// Channel health: a channel the bot is in but that refuses its lines
// (IRC +m: 404 cannot send to channel; Matrix: 403, a power level too
// low) loses nothing (the deliverer keeps the line and retries the
// channel with backoff), but nobody would know. Like a channel the bot
// cannot join (alerts.go), it is told once per episode to the private
// channels of every network, one line says when lines go through again,
// and while it lasts /healthz and /metrics name the channel.

// channelProblem is what is wrong with a channel now, for /healthz and
// /metrics.
type channelProblem struct {
	ch      chat.Channel
	what    string // "cannot join", "refuses lines"
	problem string
	since   time.Time
}

// setProblem records (problem != "") or clears what is wrong with ch.
// Caller holds n.troubleMu.
func (n *Notices) setProblem(ch chat.Channel, what, problem string) {
	key := what + "\x00" + ch.Key
	if problem == "" {
		delete(n.problems, key)
		return
	}
	if p, ok := n.problems[key]; ok {
		p.problem = problem
		return
	}
	n.problems[key] = &channelProblem{ch: ch, what: what, problem: problem, since: time.Now()}
}

// ChannelProblems returns the channels that cannot be joined or refuse
// lines now, for /healthz and /metrics. Safe for concurrent use.
func (n *Notices) ChannelProblems() []channelProblem {
	n.troubleMu.Lock()
	defer n.troubleMu.Unlock()
	out := make([]channelProblem, 0, len(n.problems))
	for _, key := range sortedKeys(n.problems) {
		out = append(out, *n.problems[key])
	}
	return out
}

// healthLine describes p for /healthz.
func (p channelProblem) healthLine() string {
	return fmt.Sprintf("%s: %s since %s: %s", p.ch.Key, p.what, p.since.UTC().Format(time.RFC3339), p.problem)
}

// ChannelRefuses tells every private channel but ch, on every network,
// that ch refuses the bot's lines, once per episode. problem is the
// network's refusal. Safe for concurrent use.
func (n *Notices) ChannelRefuses(ctx context.Context, ch chat.Channel, problem string) {
	n.beginChannelEpisode(ctx, refusesLines, ch, problem)
}

// ChannelSends ends ch's episode of refusing lines, if there is one (also
// one from before a restart), with one line to the private channels that
// were told. Without an episode it only reads memory. Safe for concurrent
// use.
func (n *Notices) ChannelSends(ctx context.Context, ch chat.Channel) {
	n.endChannelEpisode(ctx, refusesLines, ch)
}

// refusesLines is a channel the bot is in that refuses its lines.
var refusesLines = channelEpisode{
	what: "refuses lines", kind: store.EpisodeChannelRefuses, begin: "refuses", end: "sends-again",
	alert: func(ch chat.Channel, problem string) chat.Line {
		return chat.Line{}.Bold("ksecbot cannot send to " + ch.Name + " on " + ch.Network + ":").
			Text(" " + problem + ". Its lines there wait in the outbox and are retried every minute; let the bot speak there (voice it or lift +m on IRC, raise its power level on Matrix).")
	},
	recovery: func(ch chat.Channel) chat.Line {
		return chat.Line{}.Bold("ksecbot can send to " + ch.Name + " on " + ch.Network + " again;").Text(" its waiting lines follow there.")
	},
	nobodyToTell: "no private channel to tell that a channel refuses lines: configure one (private = true)",
}
