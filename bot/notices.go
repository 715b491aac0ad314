// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/policy"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/transport"
)

// Notices queues the core's own notices about itself (the API key state,
// auto-CC held back, channels the bot cannot be in) for the private
// channels, through the outbox.
type Notices struct {
	store      *store.Store
	transports []transport.Transport
	wake       *Wake
	log        *slog.Logger

	troubleMu sync.Mutex
	trouble   map[episodeKey]store.Episode // episode states (alerts.go, networks.go)
	problems  map[string]*channelProblem   // what is wrong with channels now (channelhealth.go)
	started   time.Time                    // this run's start: network warnings are told once per run
	reports   chan channelReport           // from the transports' read loops (alerts.go)
}

// NewNotices returns the notices for the channels of o.Transports.
func NewNotices(o Options, wake *Wake) *Notices {
	o = o.WithDefaults()
	return &Notices{store: o.Store, transports: o.Transports, wake: wake, log: o.Logger, trouble: map[episodeKey]store.Episode{}, problems: map[string]*channelProblem{}, started: o.Now(),
		reports: make(chan channelReport, reportQueue)}
}

// System queues one line about ksecbot itself for every private channel,
// exactly once per id. A notice about bugs names them, so that it is sent
// only while the channel may see them in full.
func (n *Notices) System(ctx context.Context, id string, line chat.Line, bugs ...int) error {
	_, err := n.private(ctx, id, line, "", bugs...)
	return err
}

// private queues line for every private channel of every network but the
// one whose key is except, exactly once per id. told counts those
// channels.
func (n *Notices) private(ctx context.Context, id string, line chat.Line, except string, bugs ...int) (told int, err error) {
	return n.privateWhere(ctx, id, line, func(ch chat.Channel) bool { return ch.Key != except }, bugs...)
}

// privateWhere queues line for every private channel for which want
// holds, exactly once per id. told counts those channels.
func (n *Notices) privateWhere(ctx context.Context, id string, line chat.Line, want func(chat.Channel) bool, bugs ...int) (told int, err error) {
	var items []chat.Outgoing
	for _, ch := range channelsOf(n.transports) {
		if policy.Private(ch) && want(ch) {
			items = append(items, chat.ChannelMessage(ch, chat.KindSystem, id, line, bugs...))
		}
	}
	if len(items) == 0 {
		return 0, nil
	}
	if err := n.store.Enqueue(ctx, items...); err != nil {
		return 0, fmt.Errorf("failed to queue system notice %s: %w", id, err)
	}
	n.wake.Queued()
	return len(items), nil
}
