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
// loses or repeats it.
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/ksecbot/ksecbot/announce"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/commands"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/trees"
)

// Options configures a Bot.
type Options struct {
	Config     *config.Config
	Store      *store.Store
	Bugzilla   *bugzilla.Client
	Transports []Transport
	Logger     *slog.Logger
	// Now is the clock (tests inject one); default time.Now.
	Now     func() time.Time
	Version string
}

// Bot wires the watcher, the announcer, the deliverers, the command router
// and the transports together.
type Bot struct {
	cfg        *config.Config
	store      *store.Store
	bz         *bugzilla.Client
	watcher    *bugzilla.Watcher
	announcer  *announce.Announcer
	router     *commands.Router
	render     *announce.Renderer
	trees      *trees.Registry
	transports []Transport
	log        *slog.Logger
	now        func() time.Time

	stored    chan struct{} // the watcher stored bugs: run the announcer
	queued    chan struct{} // the outbox grew: wake the deliverers
	work      chan work     // incoming messages for the command workers
	deliverMu sync.Mutex
	deliver   map[string]chan struct{} // per network: wake its deliverer

	metrics *Metrics
}

type work struct {
	ctx context.Context
	t   Transport
	msg chat.Incoming
}

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
		cfg:        cfg,
		store:      o.Store,
		bz:         o.Bugzilla,
		transports: o.Transports,
		log:        o.Logger,
		now:        o.Now,
		stored:     make(chan struct{}, 1),
		queued:     make(chan struct{}, 1),
		work:       make(chan work, 256),
		deliver:    map[string]chan struct{}{},
	}
	b.metrics = newMetrics(b)
	b.trees = trees.New(cfg.Trees)
	pub := cfg.Bugzilla.PublicURL
	if pub == "" {
		pub = cfg.Bugzilla.URL
	}
	b.render = &announce.Renderer{URL: pub, Trees: b.trees, Restricted: cfg.Announce.Restricted}

	watches := make([]bugzilla.Watch, len(cfg.Watches))
	for i, w := range cfg.Watches {
		watches[i] = bugzilla.Watch{Product: w.Product, Component: w.Component}
	}
	b.watcher = bugzilla.NewWatcher(o.Bugzilla, notifyingStore{o.Store, b.signalStored}, bugzilla.WatcherOptions{
		Watches:  watches,
		Interval: cfg.Bugzilla.PollInterval.Duration,
		Overlap:  cfg.Bugzilla.Overlap.Duration,
		PageSize: cfg.Bugzilla.PageSize,
		Logger:   o.Logger.With("component", "watcher"),
		Now:      o.Now,
	})
	changes := cfg.Announce.Changes == nil || *cfg.Announce.Changes
	b.announcer = &announce.Announcer{
		Store:        o.Store,
		Render:       b.render,
		Channels:     b.channels,
		DigestAfter:  cfg.Announce.DigestAfter,
		DigestWindow: cfg.Announce.DigestWindow.Duration,
		Changes:      changes,
		AutoCC:       true,
		RemindAfter:  b.remindAfter,
		Now:          o.Now,
		Logger:       o.Logger.With("component", "announcer"),
	}
	b.router = commands.New(commands.Deps{
		Config:   cfg,
		Store:    o.Store,
		Bugzilla: o.Bugzilla,
		Trees:    b.trees,
		Render:   b.render,
		Now:      o.Now,
		Logger:   o.Logger.With("component", "commands"),
		Version:  o.Version,
	})
	for _, t := range o.Transports {
		b.deliver[t.Network()] = make(chan struct{}, 1)
	}
	return b, nil
}

// notifyingStore tells the bot when the watcher stored bugs.
type notifyingStore struct {
	*store.Store
	notify func()
}

// SaveBugs stores and then wakes the announcer.
func (s notifyingStore) SaveBugs(ctx context.Context, bugs []bugzilla.Bug, cursors map[string]bugzilla.Cursor, baseline bool) error {
	if err := s.Store.SaveBugs(ctx, bugs, cursors, baseline); err != nil {
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
// when configured (longest matching prefix: "A1" before "A"), else the default.
func (b *Bot) remindAfter(bug *bugzilla.Bug) time.Duration {
	g := announce.Grade(bug.Whiteboard)
	if g != "" {
		if d, ok := b.cfg.Announce.RemindGrade[g]; ok {
			return d.Duration
		}
		if d, ok := b.cfg.Announce.RemindGrade[g[:1]]; ok {
			return d.Duration
		}
	}
	return b.cfg.Announce.RemindAfter.Duration
}

// Watcher returns the Bugzilla watcher (for push ingest).
func (b *Bot) Watcher() *bugzilla.Watcher { return b.watcher }

// Router returns the command router.
func (b *Bot) Router() *commands.Router { return b.router }

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

// Run starts everything and blocks until ctx is done or a transport fails
// permanently.
func (b *Bot) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b.startup(ctx)

	var wg sync.WaitGroup
	errc := make(chan error, len(b.transports)+1)
	goRun := func(name string, f func(ctx context.Context) error) {
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
	goRun("watcher", b.watcher.Run)
	goRun("announcer", b.announceLoop)
	goRun("auto-cc", b.autoCCLoop)
	goRun("reminders", b.reminderLoop)
	for i := 0; i < 2; i++ {
		goRun("commands", b.commandWorker)
	}
	for _, t := range b.transports {
		t := t
		goRun(t.Network(), func(ctx context.Context) error { return t.Run(ctx, b.inbox(t)) })
		goRun(t.Network()+" deliverer", func(ctx context.Context) error { return b.deliverLoop(ctx, t) })
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		b.log.Error("stopping", "err", err)
	}
	cancel()
	wg.Wait()
	return err
}

// startup checks the API key and reads the watches' component defaults.
func (b *Bot) startup(ctx context.Context) {
	if b.bz.HasAPIKey() {
		login, err := b.bz.CheckAPIKey(ctx)
		switch {
		case errors.Is(err, bugzilla.ErrBadAPIKey):
			b.log.Error("the Bugzilla API key was rejected: write commands will fail until it is fixed (bugzilla.api_key_file)")
		case err != nil:
			b.log.Warn("could not check the Bugzilla API key now", "err", err)
		default:
			b.log.Info("Bugzilla API key accepted", "login", login)
		}
	} else {
		b.log.Info("no Bugzilla API key: read-only, write commands are refused")
	}
	for _, w := range b.cfg.Watches {
		if _, ok, _ := b.store.ComponentDefault(ctx, w.Name()); ok {
			continue
		}
		assignee, _, err := b.bz.ComponentDefaults(ctx, w.Product, w.Component)
		if err != nil {
			b.log.Warn("could not read the component's default assignee", "watch", w.Name(), "err", err)
			continue
		}
		if err := b.store.SetComponentDefault(ctx, w.Name(), assignee); err != nil {
			b.log.Warn("failed to store the component default", "watch", w.Name(), "err", err)
		}
	}
}

// announceLoop runs the announcer whenever the watcher stored bugs (and
// every few seconds, to pick up events left by a crash).
func (b *Bot) announceLoop(ctx context.Context) error {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		n, err := b.announcer.Process(ctx)
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
		case <-tick.C:
		}
	}
}

// inbox returns the Inbox a transport delivers to.
func (b *Bot) inbox(t Transport) Inbox {
	return InboxFunc(func(ctx context.Context, msg chat.Incoming) { b.Receive(ctx, t, msg) })
}

// Receive queues an incoming message for the command workers. It never
// blocks the transport's read loop for long: when the queue is full the
// message is dropped with a log line (a flood of commands).
func (b *Bot) Receive(ctx context.Context, t Transport, msg chat.Incoming) {
	select {
	case b.work <- work{ctx: ctx, t: t, msg: msg}:
	default:
		b.log.Warn("command queue full, ignoring message", "network", t.Network(), "from", msg.Sender.Nick)
	}
}

// commandWorker handles incoming messages and sends the replies.
func (b *Bot) commandWorker(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case w := <-b.work:
			replies := b.router.Handle(ctx, w.msg)
			for _, r := range replies {
				b.sendReply(ctx, w.t, r)
			}
		}
	}
}

// sendReply sends a command reply directly (replies are not durable:
// the asker is there now), retrying briefly while the network is down.
func (b *Bot) sendReply(ctx context.Context, t Transport, r chat.Outgoing) {
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

// deliverLoop sends a transport's outbox in order, one message at a time,
// and marks each sent only after the network accepted it.
func (b *Bot) deliverLoop(ctx context.Context, t Transport) error {
	keys := make([]string, 0)
	for _, ch := range t.Channels() {
		keys = append(keys, ch.Key)
	}
	wake := b.deliver[t.Network()]
	backoff := time.Second
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		failed := false
		if len(keys) > 0 && t.Connected() {
			items, err := b.store.NextOutbox(ctx, keys, 50)
			if err != nil && ctx.Err() == nil {
				b.log.Warn("failed to read the outbox", "err", err)
				failed = true
			}
			for _, it := range items {
				id, err := t.Send(ctx, it.Msg)
				if err != nil {
					if ctx.Err() != nil {
						return nil
					}
					b.metrics.sendErrors.WithLabelValues(t.Network()).Inc()
					if aerr := b.store.MarkAttempt(ctx, it.ID, err.Error()); aerr != nil {
						b.log.Warn("failed to record a send attempt", "err", aerr)
					}
					b.log.Warn("delivery failed, will retry", "network", t.Network(), "key", it.Msg.Key, "err", err, "retry_in", backoff)
					failed = true
					break
				}
				b.metrics.sent.WithLabelValues(t.Network()).Inc()
				// Record the delivery even when shutdown has begun: the
				// line is out, so it must not be sent again after a restart.
				mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				err = b.store.MarkSent(mctx, it.ID, id)
				cancel()
				if err != nil {
					b.log.Error("failed to mark a message sent", "key", it.Msg.Key, "err", err)
				}
				backoff = time.Second
			}
			if !failed && len(items) == 50 {
				continue // more to send
			}
		}
		wait := 2 * time.Second
		if failed {
			wait = backoff
			backoff = min(backoff*2, 30*time.Second)
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
