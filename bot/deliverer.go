// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/internal/backoff"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/transport"
)

// Deliverer sends one transport's outbox: in order per channel, each
// message rendered when it is sent (for its channel as configured then,
// from the bugs as they are then) and marked sent only after the network
// accepted it. A failing channel backs off alone; a message that went out
// but could not be recorded pauses its channel (StoreGuard).
type Deliverer struct {
	t       transport.Transport
	render  IntentRenderer
	store   *store.Store
	guard   *StoreGuard
	notices *Notices // told of channels that refuse lines
	metrics *Metrics
	wake    <-chan struct{}
	wakes   *Wake // for the channels it is back in (Wake.ChannelBack)
	log     *slog.Logger
	now     func() time.Time
}

// NewDeliverer returns the deliverer of t, woken by wake when the outbox
// grew.
func NewDeliverer(o Options, t transport.Transport, render IntentRenderer, wake *Wake, guard *StoreGuard, notices *Notices, metrics *Metrics) *Deliverer {
	o = o.WithDefaults()
	return &Deliverer{t: t, render: render, store: o.Store, guard: guard, notices: notices, metrics: metrics,
		wake: wake.deliverer(t.Network()), wakes: wake, log: o.Logger, now: o.Now}
}

// Transport returns the transport it delivers to.
func (d *Deliverer) Transport() transport.Transport { return d.t }

// Run sends the transport's outbox, in order per channel, and marks
// each message sent only after the network accepted it.
func (d *Deliverer) Run(ctx context.Context) error {
	t := d.t
	st := newDeliverState()
	retry := backoff.Backoff{Min: time.Second, Max: 30 * time.Second} // a failed round
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		var keys []string // read each round: a reload may change them
		for _, ch := range t.Channels() {
			keys = append(keys, ch.Key)
		}
		for _, k := range d.wakes.takeBack(t.Network()) {
			st.retryNow(k)
		}
		failed, err := d.deliverPending(ctx, keys, st)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			d.log.Warn("failed to read the outbox", "err", err)
		}
		wait := 2 * time.Second
		if failed || err != nil {
			wait = retry.Next()
			if d.guard.Unrecorded() > 0 {
				wait = min(wait, 5*time.Second) // notice a writable database soon
			}
		} else {
			retry.Reset()
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-d.wake:
		case <-tick.C:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// outboxBatch is how many messages deliverPending reads at a time.
const outboxBatch = 50

// IntentRenderer turns an outbox intent into the message for its channel
// as the configuration in effect renders it (announce.Renderer.Intent,
// through package policy); ok is false when the channel may get nothing.
// Live.RenderIntent is the one the core uses.
type IntentRenderer func(in store.Intent, bugs map[int]*bugzilla.Bug, ch chat.Channel, now time.Time) (chat.Outgoing, bool)

// renderItem renders an outbox item for its channel as the channel is
// configured now and the bugs are now. The bugs come from the round's
// cache: read once per round, again when the mirror changed.
func (d *Deliverer) renderItem(ctx context.Context, ch chat.Channel, it store.OutboxItem, bugs *roundBugs) (msg chat.Outgoing, ok bool, err error) {
	found, err := bugs.get(ctx, it.Msg.BugIDs)
	if err != nil {
		return msg, false, err
	}
	msg, ok = d.render(it.Msg, found, ch, d.now())
	return msg, ok, nil
}

// roundBugs holds the bugs one delivery round read from the mirror, so
// that a backlog naming the same bug for many channels reads it once. It
// forgets them as soon as the mirror changed (store.MirrorVersion): a bug
// restricted during a long round is rendered restricted from then on.
type roundBugs struct {
	store   *store.Store
	version uint64
	bugs    map[int]*bugzilla.Bug // nil: not in the mirror
}

func newRoundBugs(st *store.Store) *roundBugs { return &roundBugs{store: st} }

// get returns the mirrored bugs of ids (those not mirrored are left out).
func (c *roundBugs) get(ctx context.Context, ids []int) (map[int]*bugzilla.Bug, error) {
	if v := c.store.MirrorVersion(); c.bugs == nil || v == 0 || v != c.version {
		c.bugs, c.version = map[int]*bugzilla.Bug{}, v // read before the bugs
	}
	out := make(map[int]*bugzilla.Bug, len(ids))
	for _, id := range ids {
		bug, seen := c.bugs[id]
		if !seen {
			b, found, err := c.store.Bug(ctx, id)
			if err != nil {
				return nil, err
			}
			if found {
				bug = b
			}
			c.bugs[id] = bug
		}
		if bug != nil {
			out[id] = bug
		}
	}
	return out, nil
}

// Per-channel retry delays after a failed delivery (a channel the bot is
// not in, a line the server refused): doubling from the first to the cap.
const (
	channelRetryMin = 2 * time.Second
	channelRetryMax = time.Minute
)

// deliverState is what one deliverer remembers between rounds.
type deliverState struct {
	// progress: outbox id -> lines a cut-off send already delivered
	// (Transport.Send's *PartialError); the next attempt resumes there.
	progress map[int64]int
	retryAt  map[string]time.Time        // channel -> no attempt before
	backoff  map[string]*backoff.Backoff // channel -> its retry delays
	failing  map[string]bool             // channel -> its failure was logged
}

func newDeliverState() *deliverState {
	return &deliverState{progress: map[int64]int{}, retryAt: map[string]time.Time{}, backoff: map[string]*backoff.Backoff{}, failing: map[string]bool{}}
}

// failed records a failed delivery to channel ch and says whether it is
// the first of a run (to be logged; the retries are not).
func (st *deliverState) failed(ch string, now time.Time) (first bool) {
	b := st.backoff[ch]
	if b == nil {
		b = &backoff.Backoff{Min: channelRetryMin, Max: channelRetryMax}
		st.backoff[ch] = b
	}
	st.retryAt[ch] = now.Add(b.Next())
	first = !st.failing[ch]
	st.failing[ch] = true
	return first
}

// retryNow lets channel ch be tried at once, its delay back to the
// first; a run of failures stays logged until a delivery works.
func (st *deliverState) retryNow(ch string) {
	delete(st.backoff, ch)
	delete(st.retryAt, ch)
}

// succeeded ends a run of failures of channel ch; it says whether there
// was one.
func (st *deliverState) succeeded(ch string) bool {
	was := st.failing[ch]
	delete(st.failing, ch)
	delete(st.backoff, ch)
	delete(st.retryAt, ch)
	return was
}

// deliverPending sends everything it can now. Order is kept per channel:
// after a failure in one channel (say, a room the bot was kicked from) that
// channel's later messages wait for the next round, while the other
// channels go on. failed reports whether anything is left for a retry.
func (d *Deliverer) deliverPending(ctx context.Context, keys []string, st *deliverState) (failed bool, err error) {
	t := d.t
	if d.guard.Halted() {
		return true, nil
	}
	blocked := d.guard.retryMarks(ctx, t.Network())
	if len(blocked) > 0 {
		failed = true
	}
	bugs := newRoundBugs(d.store)
	now := time.Now()
	for _, k := range keys {
		if now.Before(st.retryAt[k]) {
			blocked[k], failed = true, true // backing off after a failure
		}
	}
	for t.Connected() {
		var open []string
		for _, k := range keys {
			if !blocked[k] {
				open = append(open, k)
			}
		}
		if len(open) == 0 {
			return true, nil
		}
		items, err := d.store.NextOutbox(ctx, open, outboxBatch)
		if err != nil || len(items) == 0 {
			return failed, err
		}
		for _, it := range items {
			if blocked[it.Msg.Channel] {
				continue
			}
			if d.guard.Halted() {
				return true, nil
			}
			if d.guard.sf.isUnmarked(it.ID) {
				blocked[it.Msg.Channel] = true // went out; its record waits
				failed = true
				continue
			}
			// The channel as configured right now, not at the start of
			// the round: a round can last long (flood control), and a
			// reload that makes a private channel public meanwhile must
			// not get the private view of the messages still to send.
			ch, known := channelOf(t, it.Msg.Channel)
			msg, ok, err := d.renderItem(ctx, ch, it, bugs)
			if err != nil || !known {
				// The mirror cannot be read, or the channel was removed
				// by a reload just now: try again next round.
				failed = true
				blocked[it.Msg.Channel] = true
				if err != nil {
					d.log.Warn("failed to render a message, will retry", "key", it.Msg.Key, "err", err)
				}
				continue
			}
			if !ok {
				// The channel may see nothing of it now (restricted bug,
				// announce.restricted = "skip"): done, not sent.
				if err := d.store.MarkSkipped(ctx, it.ID, "the channel may not see it"); err != nil {
					d.log.Error("failed to mark a message skipped", "key", it.Msg.Key, "err", err)
					return true, err
				}
				continue
			}
			msg.Resume = st.progress[it.ID]
			id, err := t.Send(ctx, msg)
			if err != nil {
				var part *transport.PartialError
				if errors.As(err, &part) && part.Done > st.progress[it.ID] {
					st.progress[it.ID] = part.Done // resume after the delivered lines
				}
				if ctx.Err() != nil {
					return true, nil
				}
				failed = true
				blocked[it.Msg.Channel] = true
				d.metrics.sendErrors.WithLabelValues(t.Network()).Inc()
				if aerr := d.store.MarkAttempt(ctx, it.ID, err.Error()); aerr != nil {
					d.log.Warn("failed to record a send attempt", "err", aerr)
				}
				if errors.Is(err, transport.ErrRefused) && d.notices != nil {
					d.notices.ChannelRefuses(ctx, ch, err.Error())
				}
				switch {
				case !t.Connected():
					// the connection dropped, not the channel's fault:
					// everything is retried once it is back
					d.log.Debug("delivery cut by a disconnect, will retry", "network", t.Network(), "channel", it.Msg.Channel, "key", it.Msg.Key, "err", err)
				case st.failed(it.Msg.Channel, time.Now()):
					d.log.Warn("delivery failed, will retry with backoff (logged once until it works again)", "network", t.Network(), "channel", it.Msg.Channel, "key", it.Msg.Key, "attempt", it.Attempts+1, "err", err)
				default:
					d.log.Debug("delivery failed again", "network", t.Network(), "channel", it.Msg.Channel, "key", it.Msg.Key, "attempt", it.Attempts+1, "err", err)
				}
				continue
			}
			delete(st.progress, it.ID)
			if st.succeeded(it.Msg.Channel) {
				d.log.Info("delivery works again", "network", t.Network(), "channel", it.Msg.Channel)
			}
			if d.notices != nil {
				d.notices.ChannelSends(ctx, ch) // ends an episode of refusals, if any
			}
			d.metrics.sent.WithLabelValues(t.Network()).Inc()
			if err := d.guard.markSent(ctx, it.ID, id); err != nil {
				// Never send it again: remember it and pause the channel
				// until the record is written.
				d.guard.sentButUnmarked(unmarked{id: it.ID, network: t.Network(), channel: it.Msg.Channel, key: it.Msg.Key, networkID: id}, err)
				blocked[it.Msg.Channel] = true
				failed = true
			}
		}
		if len(items) < outboxBatch && !failed {
			return false, nil
		}
	}
	return true, nil
}

// channelOf returns the transport's channel with this key as configured
// now.
func channelOf(t transport.Transport, key string) (chat.Channel, bool) {
	for _, ch := range t.Channels() {
		if ch.Key == key {
			return ch, true
		}
	}
	return chat.Channel{}, false
}

// flush waits until the outbox of every connected transport of ds is
// empty, or the grace period is over.
func flush(ds []*Deliverer, wake *Wake, log *slog.Logger, grace time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	for {
		pending := 0
		for _, d := range ds {
			t := d.t
			if !t.Connected() {
				continue
			}
			var keys []string
			for _, ch := range t.Channels() {
				keys = append(keys, ch.Key)
			}
			if len(keys) == 0 {
				continue
			}
			n, err := d.store.OutboxDepth(ctx, keys)
			if err != nil {
				return
			}
			pending += n
		}
		if pending == 0 {
			return
		}
		wake.Queued()
		select {
		case <-ctx.Done():
			log.Warn("shutting down with messages still in the outbox; they are sent after the next start", "pending", pending)
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}
