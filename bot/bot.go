// SPDX-License-Identifier: GPL-3.0-or-later

// Package bot is ksecbot's core: it routes Bugzilla events to the chat
// networks and chat commands back to Bugzilla.
//
// Data flow:
//
//	Bugzilla -> bugzilla.Watcher -> store (mirror + events)
//	         -> announce.Announcer -> store (outbox) -> deliverers -> transports
//	transports -> Bot.Receive -> commands.Router -> Bugzilla
//
// Everything that must reach a channel is written to the SQLite outbox
// first and removed only when the network accepted it, so a restart, a
// dropped connection or a Bugzilla outage delays an announcement but never
// loses or repeats it. Outbox rows are intents (what to say about which
// bugs); the deliverers render them when they send them, from the mirror
// and the channel configuration of that moment, through package policy:
// the transports get rendered lines and know nothing about restriction.
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ksecbot/ksecbot/announce"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/commands"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/cvereport"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/transport"
	"github.com/ksecbot/ksecbot/trees"
)

// Options configures a Bot.
type Options struct {
	Config     *config.Config
	Store      *store.Store
	Bugzilla   *bugzilla.Client
	Transports []transport.Transport
	Logger     *slog.Logger
	// Now is the clock (tests inject one); default time.Now.
	Now     func() time.Time
	Version string
	// KeyRetry is how often a refused API key is tried again; default 5m.
	KeyRetry time.Duration
	// DefaultsRefresh is how often the watches' default assignees are
	// read again (they are read at every start too); default 24h.
	DefaultsRefresh time.Duration
}

// Bot wires the watcher, the announcer, the deliverers, the command router
// and the transports together.
type Bot struct {
	live       atomic.Pointer[live] // what SIGHUP reloads
	store      *store.Store
	bz         *bugzilla.Client
	watcher    *bugzilla.Watcher
	version    string
	transports []transport.Transport
	log        *slog.Logger
	now        func() time.Time

	stored  chan struct{} // the watcher stored bugs: run the announcer
	queued  chan struct{} // the outbox grew: wake the deliverers
	reads   chan work     // admitted read commands and previews
	writes  chan work     // admitted write commands
	notices chan notice   // busy and slow-down replies

	busyLogged, noticeLogged atomic.Int64 // when a flood was last logged loudly
	deliverMu                sync.Mutex
	deliver                  map[string]chan struct{} // per network: wake its deliverer

	metrics *Metrics
	sf      storeFaults // sent messages not yet recorded, storage faults
	halted  atomic.Bool // the database file vanished: deliver nothing more

	keyRetry        time.Duration
	defaultsRefresh time.Duration
	pushes          pushQueue // webhook ids waiting for the push worker
	held            heldPass  // the last release of held-back auto-CC (autocc.go)
}

// live is the part of the bot built from the reloadable configuration
// (trees, users, announce and command settings). It is replaced as a whole.
type live struct {
	cfg       *config.Config
	trees     *trees.Registry
	render    *announce.Renderer
	router    *commands.Router
	announcer *announce.Announcer
}

// l returns the current configuration-derived state.
func (b *Bot) l() *live { return b.live.Load() }

// New builds a bot. It does not connect anything; Run does.
func New(o Options) (*Bot, error) {
	if o.Config == nil || o.Store == nil || o.Bugzilla == nil {
		return nil, errors.New("bot: config, store and bugzilla client are required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	cfg := o.Config
	b := &Bot{
		store:      o.Store,
		bz:         o.Bugzilla,
		version:    o.Version,
		transports: o.Transports,
		log:        o.Logger,
		now:        o.Now,
		stored:     make(chan struct{}, 1),
		queued:     make(chan struct{}, 1),
		reads:      make(chan work, readQueue),
		writes:     make(chan work, writeQueue),
		notices:    make(chan notice, noticeQueue),
		deliver:    map[string]chan struct{}{},

		keyRetry:        o.KeyRetry,
		defaultsRefresh: o.DefaultsRefresh,
	}
	if b.keyRetry <= 0 {
		b.keyRetry = DefaultKeyRetry
	}
	if b.defaultsRefresh <= 0 {
		b.defaultsRefresh = DefaultDefaultsRefresh
	}
	b.pushes.init()
	b.metrics = newMetrics(b)
	watches := make([]bugzilla.Watch, len(cfg.Watches))
	for i, w := range cfg.Watches {
		watches[i] = bugzilla.Watch{Product: w.Product, Component: w.Component}
	}
	b.watcher = bugzilla.NewWatcher(o.Bugzilla, notifyingStore{o.Store, b.signalStored}, bugzilla.WatcherOptions{
		Watches:  watches,
		Interval: cfg.Bugzilla.PollInterval.Duration,
		Overlap:  cfg.Bugzilla.Overlap.Duration,
		CatchUp:  cfg.Bugzilla.CatchUp.Duration,
		PageSize: cfg.Bugzilla.PageSize,
		Logger:   o.Logger,
		Now:      o.Now,
	})
	b.live.Store(b.build(cfg))
	for _, t := range o.Transports {
		b.deliver[t.Network()] = make(chan struct{}, 1)
	}
	return b, nil
}

// build makes the configuration-derived state.
func (b *Bot) build(cfg *config.Config) *live {
	lv := &live{cfg: cfg, trees: trees.New(cfg.Trees)}
	pub := cfg.Bugzilla.PublicURL
	if pub == "" {
		pub = cfg.Bugzilla.URL
	}
	lv.render = announce.NewRenderer(pub, lv.trees, cfg.Announce.Restricted)
	cve := cvereport.New(cfg)
	for _, w := range cfg.DataWarnings() {
		b.log.Warn("kernel CVE data", "problem", w.Error())
	}
	if cve != nil {
		lv.render.CVE = &cvereport.Annotator{Checker: cve, Trees: cfg.Trees, Highlight: cfg.KernelCVE.Highlight}
	}
	changes := cfg.Announce.Changes == nil || *cfg.Announce.Changes
	lv.announcer = &announce.Announcer{
		Store:        b.store,
		Render:       lv.render,
		Channels:     b.channels,
		DigestAfter:  cfg.Announce.DigestAfter,
		DigestWindow: cfg.Announce.DigestWindow.Duration,
		Changes:      changes,
		AutoCC:       true,
		RemindAfter:  func(bug *bugzilla.Bug) time.Duration { return remindAfter(cfg, bug) },
		Now:          b.now,
		Logger:       b.log.With("component", "announcer"),
	}
	deps := commands.Deps{
		Config:   cfg,
		Store:    b.store,
		Bugzilla: b.bz,
		Trees:    lv.trees,
		Render:   lv.render,
		Now:      b.now,
		Logger:   b.log, // the router adds component=commands itself
		Version:  b.version,
		// !snooze and !stats: the store's reminders, the core's
		// reaction times (metrics.go, cvestats.go).
		Reminders: b.store,
		Stats:     b,
	}
	if cve != nil {
		deps.CVE = cve
	}
	if cfg.Console != nil {
		deps.ConsoleLogin = cfg.Console.Bugzilla
	}
	lv.router = commands.New(deps)
	return lv
}

// Reload applies a new configuration without dropping connections: trees,
// users, announce and command settings take effect at once. Settings that
// need a restart (Bugzilla URL and watches, store, servers, channels and
// rooms) are reported in the returned list and keep their old values.
// Safe for concurrent use.
func (b *Bot) Reload(cfg *config.Config) (needRestart []string) {
	old := b.l().cfg
	if old.Bugzilla.URL != cfg.Bugzilla.URL || old.Bugzilla.APIKey != cfg.Bugzilla.APIKey || old.Bugzilla.PollInterval != cfg.Bugzilla.PollInterval {
		needRestart = append(needRestart, "[bugzilla]")
	}
	if fmt.Sprint(old.Watches) != fmt.Sprint(cfg.Watches) {
		needRestart = append(needRestart, "[[watch]]")
	}
	if old.Store.Path != cfg.Store.Path || old.Store.Retention != cfg.Store.Retention {
		needRestart = append(needRestart, "[store]")
	}
	if old.HTTP.Listen != cfg.HTTP.Listen {
		needRestart = append(needRestart, "[http] listen")
	}
	// Keep what cannot change live.
	merged := *cfg
	merged.Bugzilla, merged.Watches, merged.Store = old.Bugzilla, old.Watches, old.Store
	merged.HTTP.Listen = old.HTTP.Listen
	// Channels and rooms change live where the transport can do it; the
	// rest of a network's table needs a restart.
	var live []string
	for _, t := range b.transports {
		r, ok := t.(ChannelReloader)
		if !ok {
			continue
		}
		restart, err := r.ReloadChannels(cfg)
		if err != nil {
			b.log.Error("could not apply the new channels", "network", t.Network(), "err", err)
			continue
		}
		if restart {
			needRestart = append(needRestart, "["+t.Network()+"] (other than its channels)")
		}
		live = append(live, t.Network())
	}
	merged.KeepNetworkTables(old, live)
	oldNets, newNets := old.NetworkTables(), cfg.NetworkTables()
	for _, n := range oldNets {
		if !slices.Contains(newNets, n) {
			needRestart = append(needRestart, "["+n+"]")
		}
	}
	for _, n := range newNets {
		if !slices.Contains(oldNets, n) {
			needRestart = append(needRestart, "["+n+"]")
		}
	}
	b.live.Store(b.build(&merged))
	b.log.Info("configuration reloaded", "trees", len(merged.Trees), "users", len(merged.Users))
	return needRestart
}

// notifyingStore tells the bot when the watcher stored bugs.
type notifyingStore struct {
	*store.Store
	notify func()
}

// SaveWatched stores and then wakes the announcer.
func (s notifyingStore) SaveWatched(ctx context.Context, bugs []bugzilla.Bug, cursors map[string]bugzilla.Cursor, o bugzilla.SaveOptions) error {
	if err := s.Store.SaveWatched(ctx, bugs, cursors, o); err != nil {
		return err
	}
	if len(bugs) > 0 {
		s.notify()
	}
	return nil
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (b *Bot) signalStored() { signal(b.stored) }

func (b *Bot) signalQueued() {
	b.deliverMu.Lock()
	defer b.deliverMu.Unlock()
	for _, c := range b.deliver {
		signal(c)
	}
	signal(b.queued)
}

// channels returns every configured channel of every transport.
func (b *Bot) channels() []chat.Channel {
	var out []chat.Channel
	for _, t := range b.transports {
		out = append(out, t.Channels()...)
	}
	return out
}

// remindAfter returns the reminder delay for a bug: the grade-specific one
// when configured ("A1" before "A"), else the default.
func remindAfter(cfg *config.Config, bug *bugzilla.Bug) time.Duration {
	g := announce.Grade(bug.Whiteboard)
	if g != "" {
		if d, ok := cfg.Announce.RemindGrade[g]; ok {
			return d.Duration
		}
		if d, ok := cfg.Announce.RemindGrade[g[:1]]; ok {
			return d.Duration
		}
	}
	return cfg.Announce.RemindAfter.Duration
}

// Watcher returns the Bugzilla watcher (for push ingest).
func (b *Bot) Watcher() *bugzilla.Watcher { return b.watcher }

// Router returns the command router.
func (b *Bot) Router() *commands.Router { return b.l().router }

// Poke makes the watcher read the named bugs now (push ingest, SPEC F2).
// It only triggers a read through the API. Safe for concurrent use.
func (b *Bot) Poke(ctx context.Context, ids ...int) error {
	if len(ids) == 0 {
		b.watcher.Poke()
		return nil
	}
	if err := b.watcher.Fetch(ctx, ids); err != nil {
		b.watcher.Poke() // fall back to a poll
		return fmt.Errorf("failed to fetch pushed bugs %v: %w", ids, err)
	}
	return nil
}

// ShutdownGrace is how long Run keeps the transports up after its context
// ends, to flush what the outbox can still send.
const ShutdownGrace = 3 * time.Second

// Run starts everything and blocks until ctx is done or a transport fails
// permanently. On the way out it stops polling and commands first, lets the
// deliverers flush the outbox for up to ShutdownGrace, then closes the
// connections (QUIT on IRC).
func (b *Bot) Run(ctx context.Context) error {
	workCtx, cancelWork := context.WithCancel(ctx)
	defer cancelWork()
	// The network side outlives ctx by the flush grace period.
	netCtx, cancelNet := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelNet()

	var workWG, netWG sync.WaitGroup
	errc := make(chan error, 2*len(b.transports)+8)
	goRun := func(wg *sync.WaitGroup, ctx context.Context, name string, f func(ctx context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					b.log.Error("panic", "loop", name, "panic", r, "stack", string(debug.Stack()))
					errc <- fmt.Errorf("%s panicked: %v", name, r)
				}
			}()
			if err := f(ctx); err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	goRun(&workWG, workCtx, "bugzilla key", b.keyLoop)
	goRun(&workWG, workCtx, "component defaults", b.defaultsLoop)
	goRun(&workWG, workCtx, "push worker", b.pushWorker)
	goRun(&workWG, workCtx, "watcher", b.watcher.Run)
	goRun(&workWG, workCtx, "announcer", b.announceLoop)
	goRun(&workWG, workCtx, "auto-cc", b.autoCCLoop)
	goRun(&workWG, workCtx, "reminders", b.reminderLoop)
	goRun(&workWG, workCtx, "retention", b.pruneLoop)
	for i := 0; i < readWorkers; i++ {
		goRun(&workWG, workCtx, "read commands", b.readWorker)
	}
	for i := 0; i < writeWorkers; i++ {
		goRun(&workWG, workCtx, "write commands", b.writeWorker)
	}
	goRun(&workWG, workCtx, "command notices", b.noticeLoop)
	goRun(&workWG, workCtx, "store file", b.watchStoreFile)
	for _, t := range b.transports {
		t := t
		goRun(&netWG, netCtx, t.Network(), func(ctx context.Context) error { return t.Run(ctx, b.inbox(t)) })
		goRun(&netWG, netCtx, t.Network()+" deliverer", func(ctx context.Context) error { return b.deliverLoop(ctx, t) })
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		// Run returns err and the caller reports it: one error, not two
		b.log.Debug("stopping", "err", err)
	}
	if errors.Is(err, store.ErrVanished) {
		b.halted.Store(true) // nothing more goes out on the lost file
	}
	cancelWork()
	workWG.Wait()
	if err == nil {
		b.flush(ShutdownGrace)
	}
	cancelNet()
	netWG.Wait()
	return err
}

// flush waits until the outbox of every connected transport is empty, or
// the grace period is over.
func (b *Bot) flush(grace time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	for {
		pending := 0
		for _, t := range b.transports {
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
			n, err := b.store.OutboxDepth(ctx, keys)
			if err != nil {
				return
			}
			pending += n
		}
		if pending == 0 {
			return
		}
		b.signalQueued()
		select {
		case <-ctx.Done():
			b.log.Warn("shutting down with messages still in the outbox; they are sent after the next start", "pending", pending)
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// announceLoop runs the announcer whenever the watcher stored bugs (and
// every few seconds, to pick up events left by a crash).
func (b *Bot) announceLoop(ctx context.Context) error {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		n, err := b.l().announcer.Process(ctx)
		if err != nil && ctx.Err() == nil {
			b.log.Warn("announcer", "err", err)
		}
		if n > 0 {
			b.signalQueued()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-b.stored:
			if b.l().announcer.Gather() {
				// Let the rest of a burst arrive, so that bugs pushed one
				// by one still become one digest, not dozens.
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(burstHold):
				}
			}
		case <-tick.C:
		}
	}
}

// burstHold is how long the announcer gathers new bugs during a burst.
const burstHold = 500 * time.Millisecond

// inbox returns the Inbox a transport delivers to.
func (b *Bot) inbox(t transport.Transport) transport.Inbox {
	return transport.InboxFunc(func(ctx context.Context, msg chat.Incoming) { b.Receive(ctx, t, msg) })
}

// sendReply sends a command reply directly (replies are not durable:
// the asker is there now), retrying briefly while the network is down.
func (b *Bot) sendReply(ctx context.Context, t transport.Transport, r chat.Outgoing) {
	backoff := 500 * time.Millisecond
	for attempt := 0; attempt < 5; attempt++ {
		_, err := t.Send(ctx, r)
		if err == nil {
			b.metrics.sent.WithLabelValues(t.Network()).Inc()
			return
		}
		b.metrics.sendErrors.WithLabelValues(t.Network()).Inc()
		b.log.Warn("failed to send reply", "network", t.Network(), "target", r.Target, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

// deliverLoop sends a transport's outbox, in order per channel, and marks
// each message sent only after the network accepted it.
func (b *Bot) deliverLoop(ctx context.Context, t transport.Transport) error {
	wake := b.deliver[t.Network()]
	st := newDeliverState()
	backoff := time.Second
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		var keys []string // read each round: a reload may change them
		for _, ch := range t.Channels() {
			keys = append(keys, ch.Key)
		}
		failed, err := b.deliverPending(ctx, t, keys, st)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			b.log.Warn("failed to read the outbox", "err", err)
		}
		wait := 2 * time.Second
		if failed || err != nil {
			wait = backoff
			backoff = min(backoff*2, 30*time.Second)
			if b.sf.outstanding() > 0 {
				wait = min(wait, 5*time.Second) // notice a writable database soon
			}
		} else {
			backoff = time.Second
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-wake:
		case <-tick.C:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// outboxBatch is how many messages deliverPending reads at a time.
const outboxBatch = 50

// render turns an outbox intent into the message for its channel as the
// channel is configured now and the bugs are now (announce.Renderer.Intent,
// through package policy). ok is false when the channel may get nothing.
// The bugs come from the round's cache: read once per round, again when
// the mirror changed.
func (b *Bot) render(ctx context.Context, ch chat.Channel, it store.OutboxItem, bugs *roundBugs) (msg chat.Outgoing, ok bool, err error) {
	found, err := bugs.get(ctx, it.Msg.BugIDs)
	if err != nil {
		return msg, false, err
	}
	msg, ok = b.l().render.Intent(it.Msg, found, ch, b.now())
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
	if v := c.store.MirrorVersion(); c.bugs == nil || v != c.version {
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
	retryAt  map[string]time.Time     // channel -> no attempt before
	backoff  map[string]time.Duration // channel -> current retry delay
	failing  map[string]bool          // channel -> its failure was logged
}

func newDeliverState() *deliverState {
	return &deliverState{progress: map[int64]int{}, retryAt: map[string]time.Time{}, backoff: map[string]time.Duration{}, failing: map[string]bool{}}
}

// failed records a failed delivery to channel ch and says whether it is
// the first of a run (to be logged; the retries are not).
func (st *deliverState) failed(ch string, now time.Time) (first bool) {
	d := st.backoff[ch]
	if d == 0 {
		d = channelRetryMin
	} else {
		d = min(d*2, channelRetryMax)
	}
	st.backoff[ch] = d
	st.retryAt[ch] = now.Add(d)
	first = !st.failing[ch]
	st.failing[ch] = true
	return first
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
func (b *Bot) deliverPending(ctx context.Context, t transport.Transport, keys []string, st *deliverState) (failed bool, err error) {
	if b.halted.Load() {
		return true, nil
	}
	blocked := b.retryMarks(ctx, t.Network())
	if len(blocked) > 0 {
		failed = true
	}
	bugs := newRoundBugs(b.store)
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
		items, err := b.store.NextOutbox(ctx, open, outboxBatch)
		if err != nil || len(items) == 0 {
			return failed, err
		}
		for _, it := range items {
			if blocked[it.Msg.Channel] {
				continue
			}
			if b.halted.Load() {
				return true, nil
			}
			if b.sf.isUnmarked(it.ID) {
				blocked[it.Msg.Channel] = true // went out; its record waits
				failed = true
				continue
			}
			// The channel as configured right now, not at the start of
			// the round: a round can last long (flood control), and a
			// reload that makes a private channel public meanwhile must
			// not get the private view of the messages still to send.
			ch, known := channelOf(t, it.Msg.Channel)
			msg, ok, err := b.render(ctx, ch, it, bugs)
			if err != nil || !known {
				// The mirror cannot be read, or the channel was removed
				// by a reload just now: try again next round.
				failed = true
				blocked[it.Msg.Channel] = true
				if err != nil {
					b.log.Warn("failed to render a message, will retry", "key", it.Msg.Key, "err", err)
				}
				continue
			}
			if !ok {
				// The channel may see nothing of it now (restricted bug,
				// announce.restricted = "skip"): done, not sent.
				if err := b.store.MarkSkipped(ctx, it.ID, "the channel may not see it"); err != nil {
					b.log.Error("failed to mark a message skipped", "key", it.Msg.Key, "err", err)
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
				b.metrics.sendErrors.WithLabelValues(t.Network()).Inc()
				if aerr := b.store.MarkAttempt(ctx, it.ID, err.Error()); aerr != nil {
					b.log.Warn("failed to record a send attempt", "err", aerr)
				}
				switch {
				case !t.Connected():
					// the connection dropped, not the channel's fault:
					// everything is retried once it is back
					b.log.Debug("delivery cut by a disconnect, will retry", "network", t.Network(), "channel", it.Msg.Channel, "key", it.Msg.Key, "err", err)
				case st.failed(it.Msg.Channel, time.Now()):
					b.log.Warn("delivery failed, will retry with backoff (logged once until it works again)", "network", t.Network(), "channel", it.Msg.Channel, "key", it.Msg.Key, "attempt", it.Attempts+1, "err", err)
				default:
					b.log.Debug("delivery failed again", "network", t.Network(), "channel", it.Msg.Channel, "key", it.Msg.Key, "attempt", it.Attempts+1, "err", err)
				}
				continue
			}
			delete(st.progress, it.ID)
			if st.succeeded(it.Msg.Channel) {
				b.log.Info("delivery works again", "network", t.Network(), "channel", it.Msg.Channel)
			}
			b.metrics.sent.WithLabelValues(t.Network()).Inc()
			if err := b.markSent(ctx, it.ID, id); err != nil {
				// Never send it again: remember it and pause the channel
				// until the record is written.
				b.sentButUnmarked(unmarked{id: it.ID, network: t.Network(), channel: it.Msg.Channel, key: it.Msg.Key, networkID: id}, err)
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
