// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strconv"
	"time"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/transport"
)

// Channel trouble: a transport that cannot be in a configured channel
// (transport.Alerts) is the "pings that never arrive" failure, so the
// people who run the bot are told in the private channels of every
// network (the security team may be on Matrix while the banned channel is
// on IRC), once per episode, and told again when the bot is back in.
//
// An episode is numbered per channel and its state kept in the store
// (table episodes), so a restart in the middle of one neither repeats its alert nor loses its
// "back in" line. The outbox keys name the network's channel and the
// episode number, never the time of a retry: the outbox drops a second
// copy of the same alert.

// ChannelTrouble tells every private channel but ch, on every network,
// that the bot cannot be in ch, once per episode (transport.Alerts).
// Safe for concurrent use.
func (n *Notices) ChannelTrouble(ctx context.Context, ch chat.Channel, problem string) {
	n.beginChannelEpisode(ctx, cannotJoin, ch, problem)
}

// ChannelRecovered ends ch's episode of trouble, if there is one, with
// one "is back in" line to the private channels that were told
// (transport.Alerts). Without an episode it does nothing. Safe for
// concurrent use.
func (n *Notices) ChannelRecovered(ctx context.Context, ch chat.Channel) {
	n.endChannelEpisode(ctx, cannotJoin, ch)
}

// channelEpisode is one kind of channel trouble: what /healthz calls it,
// its episodes' store kind, the notice ids of its alert and recovery
// lines, and the lines themselves.
type channelEpisode struct {
	what         string // "cannot join", "refuses lines"
	kind         string // store.Episode*
	begin, end   string // notice id prefixes
	alert        func(ch chat.Channel, problem string) chat.Line
	recovery     func(ch chat.Channel) chat.Line
	nobodyToTell string // log message when no private channel exists
}

// cannotJoin is a configured channel the bot cannot be in.
var cannotJoin = channelEpisode{
	what: "cannot join", kind: store.EpisodeChannelTrouble, begin: "cannot-join", end: "back-in",
	alert: func(ch chat.Channel, problem string) chat.Line {
		return chat.Line{}.Bold("ksecbot cannot join " + ch.Name + " on " + ch.Network + ":").
			Text(" " + problem + ". Its announcements for " + ch.Name + " wait in the outbox and are sent once it is back in; it keeps trying to join.")
	},
	recovery: func(ch chat.Channel) chat.Line {
		return chat.Line{}.Bold("ksecbot is back in " + ch.Name + " on " + ch.Network + ";").Text(" its waiting announcements follow there.")
	},
	nobodyToTell: "no private channel to tell of the channel trouble: configure one (private = true)",
}

// beginChannelEpisode records what is wrong with ch and, once per episode,
// tells every private channel but ch. Safe for concurrent use.
func (n *Notices) beginChannelEpisode(ctx context.Context, ep channelEpisode, ch chat.Channel, problem string) {
	n.troubleMu.Lock()
	defer n.troubleMu.Unlock()
	problem = chat.Clean(problem, 300)
	n.setProblem(ch, ep.what, problem)
	key := episodeKey{ep.kind, ch.Key}
	state, num, ok := n.episode(ctx, key)
	if !ok || state == "trouble" {
		return // told already in this episode
	}
	num++
	told, err := n.private(ctx, troubleID(ep.begin, ch, num), ep.alert(ch, problem), ch.Key)
	if err != nil {
		n.log.Warn("failed to queue a channel alert", "channel", ch.Key, "what", ep.what, "err", err)
		return
	}
	if told == 0 {
		n.log.Warn(ep.nobodyToTell, "channel", ch.Key, "problem", problem)
	} else {
		n.log.Info("channel trouble told to the private channels", "channel", ch.Key, "what", ep.what, "episode", num, "private_channels", told, "problem", problem)
	}
	n.setEpisode(ctx, key, "trouble", num)
}

// endChannelEpisode ends ch's episode, if there is one (also one from
// before a restart), with one line to the private channels that were
// told. Without an episode it only reads memory. Safe for concurrent use.
func (n *Notices) endChannelEpisode(ctx context.Context, ep channelEpisode, ch chat.Channel) {
	n.troubleMu.Lock()
	defer n.troubleMu.Unlock()
	n.setProblem(ch, ep.what, "")
	key := episodeKey{ep.kind, ch.Key}
	state, num, ok := n.episode(ctx, key)
	if !ok || state != "trouble" {
		return
	}
	if _, err := n.private(ctx, troubleID(ep.end, ch, num), ep.recovery(ch), ch.Key); err != nil {
		n.log.Warn("failed to queue the channel recovery notice", "channel", ch.Key, "what", ep.what, "err", err)
		return
	}
	n.log.Info("channel recovery told to the private channels", "channel", ch.Key, "what", ep.what, "episode", num)
	n.setEpisode(ctx, key, "ok", num)
}

// troubleID is the notice id of one episode's alert or recovery line:
// what, the channel's key and the episode number.
func troubleID(what string, ch chat.Channel, episode int) string {
	return what + "/" + ch.Key + "/" + strconv.Itoa(episode)
}

// episodeKey names what an episode is about: a store.Episode kind and
// its subject (a channel's key, a network).
type episodeKey struct{ kind, subject string }

// episode returns the state ("", "trouble", "down" or "ok") and number
// of key's episode, from memory or the store. ok is false when the store
// could not be read (nothing is told then; the next call tries again).
// Caller holds n.troubleMu.
func (n *Notices) episode(ctx context.Context, key episodeKey) (state string, num int, ok bool) {
	e, cached := n.trouble[key]
	if !cached {
		var err error
		e, err = n.store.Episode(ctx, key.kind, key.subject)
		if err != nil {
			n.log.Warn("failed to read an episode state", "kind", key.kind, "subject", key.subject, "err", err)
			return "", 0, false
		}
		n.trouble[key] = e
	}
	return e.State, e.Number, true
}

// setEpisode records the state of key's episode. A failed write is
// logged; the memory keeps the state for this run, and the outbox keys
// keep a repeated call from telling twice. Caller holds n.troubleMu.
func (n *Notices) setEpisode(ctx context.Context, key episodeKey, state string, num int) {
	e := store.Episode{State: state, Number: num}
	n.trouble[key] = e
	if err := n.store.SetEpisode(ctx, key.kind, key.subject, e); err != nil {
		n.log.Warn("failed to record an episode state", "kind", key.kind, "subject", key.subject, "err", err)
	}
}

// alertingInbox is the Inbox the core hands a transport: messages go to
// the dispatcher, channel trouble to the notices' queue. A transport
// reports from its read loop, so the report never waits for the store (a
// held database lock must not stall the IRC connection into a ping
// timeout): the "channel alerts" loop handles the reports in order.
type alertingInbox struct {
	in      transport.Inbox
	notices *Notices
}

var (
	_ transport.Alerts   = alertingInbox{}
	_ transport.Warnings = alertingInbox{}
)

func (a alertingInbox) Receive(ctx context.Context, msg chat.Incoming) { a.in.Receive(ctx, msg) }

func (a alertingInbox) ChannelTrouble(_ context.Context, ch chat.Channel, problem string) {
	a.notices.report(channelReport{ch: ch, problem: problem, trouble: true})
}

func (a alertingInbox) ChannelRecovered(_ context.Context, ch chat.Channel) {
	a.notices.wake.ChannelBack(ch.Network, ch.Key)
	a.notices.report(channelReport{ch: ch})
}

func (a alertingInbox) NetworkWarning(_ context.Context, network, problem string) {
	a.notices.report(channelReport{ch: chat.Channel{Key: network, Network: network}, problem: problem, warning: true})
}

// Inbox returns in with channel trouble (transport.Alerts) told through
// n (by its Loops).
func (n *Notices) Inbox(in transport.Inbox) transport.Inbox {
	return alertingInbox{in: in, notices: n}
}

// channelReport is one transport.Alerts call, queued.
type channelReport struct {
	ch      chat.Channel
	problem string
	trouble bool // ChannelTrouble; else ChannelRecovered
	warning bool // NetworkWarning (ch names only the network)
}

// reportQueue bounds the queued reports. A transport reports a channel
// again at its next refusal or join, so a report dropped from a full
// queue is late, not lost.
const reportQueue = 1024

// reportTimeout bounds the store writes of one report.
const reportTimeout = 5 * time.Second

// report queues r without waiting.
func (n *Notices) report(r channelReport) {
	select {
	case n.reports <- r:
	default:
		n.log.Warn("too many channel reports queued; this one waits for the channel's next", "channel", r.ch.Key)
	}
}

// Loops returns the job that tells the queued channel reports.
func (n *Notices) Loops() []Loop {
	return []Loop{{"channel alerts", func(ctx context.Context) error {
		for {
			select {
			case <-ctx.Done():
				return nil
			case r := <-n.reports:
				// A report once begun is finished (its notice queued and
				// its episode recorded), even when the bot is stopping:
				// a notice without its record would be told again.
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportTimeout)
				switch {
				case r.warning:
					n.NetworkWarning(rctx, r.ch.Network, r.problem)
				case r.trouble:
					n.ChannelTrouble(rctx, r.ch, r.problem)
				default:
					n.ChannelRecovered(rctx, r.ch)
				}
				cancel()
			}
		}
	}}}
}

// NetworkWarning tells every private channel of every network about a
// problem of a network that does not stop it (transport.Warnings), once
// per problem and run of ksecbot (the outbox drops a second copy). Safe
// for concurrent use.
func (n *Notices) NetworkWarning(ctx context.Context, network, problem string) {
	sum := sha256.Sum256([]byte(problem))
	id := fmt.Sprintf("warning/%s/%x/%d", network, sum[:6], n.started.Unix())
	line := chat.Line{}.Bold("ksecbot on " + network + ":").Text(" " + chat.Clean(problem, 400) + ".")
	told, err := n.private(ctx, id, line, "")
	if err != nil {
		n.log.Warn("failed to queue a network warning", "network", network, "err", err)
		return
	}
	if told == 0 {
		n.log.Warn("no private channel to tell of a network warning: configure one (private = true)", "network", network)
	}
}
