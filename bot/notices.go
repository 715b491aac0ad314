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

// Wake carries the core's wake-ups between its parts: the watcher stored
// bugs (the announcer runs), the outbox grew (the deliverers and the
// auto-CC loop run). A wake-up that finds one pending is dropped: the
// woken loop reads everything there is. Safe for concurrent use.
type Wake struct {
	stored chan struct{} // the watcher stored bugs: run the announcer
	queued chan struct{} // the outbox grew: run auto-CC

	mu      sync.Mutex
	deliver map[string]chan struct{}   // per network: wake its deliverer
	back    map[string]map[string]bool // per network: channels it is in again (ChannelBack)
}

// NewWake returns the wake-ups of one core.
func NewWake() *Wake {
	return &Wake{stored: make(chan struct{}, 1), queued: make(chan struct{}, 1), deliver: map[string]chan struct{}{}}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Stored says the watcher stored bugs.
func (w *Wake) Stored() { signal(w.stored) }

// Queued says the outbox grew: every deliverer and the auto-CC loop look.
func (w *Wake) Queued() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.deliver {
		signal(c)
	}
	signal(w.queued)
}

// ChannelBack says a transport is in channel key of network again (it
// was let back in after a ban or a kick, or was invited): the network's
// deliverer forgets the channel's retry delay and looks at once, so the
// messages waiting for it do not wait out a delay grown while it was out.
func (w *Wake) ChannelBack(network, key string) {
	w.mu.Lock()
	if w.back == nil {
		w.back = map[string]map[string]bool{}
	}
	if w.back[network] == nil {
		w.back[network] = map[string]bool{}
	}
	w.back[network][key] = true
	c := w.deliver[network]
	w.mu.Unlock()
	if c != nil {
		signal(c)
	}
}

// takeBack returns and forgets the channels of network that ChannelBack
// named.
func (w *Wake) takeBack(network string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var keys []string
	for k := range w.back[network] {
		keys = append(keys, k)
	}
	delete(w.back, network)
	return keys
}

// deliverer returns the wake-up of the network's deliverer.
func (w *Wake) deliverer(network string) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.deliver[network]
	if c == nil {
		c = make(chan struct{}, 1)
		w.deliver[network] = c
	}
	return c
}

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
