// SPDX-License-Identifier: GPL-3.0-or-later

// Package bot is ksecbot's core: it routes Bugzilla events to the chat
// networks and chat commands back to Bugzilla.
//
// Data flow, one type per step (Wire, in wire.go, connects them):
//
//	Bugzilla -> Intake (bugzilla.Watcher, pushes) -> store (mirror + events)
//	         -> Announcements (announce.Announcer), Reminders -> store (outbox)
//	         -> Deliverer (one per transport; StoreGuard) -> transports
//	transports -> Dispatcher (Commands.Receive) -> commands.Router -> Bugzilla
//	new bugs -> AutoCC -> Bugzilla
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
	"sync"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/transport"
)

// Options are what the parts of the core are built from.
type Options struct {
	Config     *config.Config
	Store      *store.Store
	Bugzilla   *bugzilla.Client
	Transports []transport.Transport
	Logger     *slog.Logger
	// Now is the clock (tests inject one); default time.Now.
	Now     func() time.Time
	Version string
	// KeyRetry is the longest wait between two tries of a refused API key
	// (the tries start 2 s apart and double); default 1m.
	KeyRetry time.Duration
	// DefaultsRefresh is how often the watches' default assignees are
	// read again (they are read at every start too); default 24h.
	DefaultsRefresh time.Duration
	// NetworkRetry is how long a network stopped by a permanent error
	// waits before it is tried again; default DefaultNetworkRetry.
	NetworkRetry time.Duration
}

// Check reports a missing requirement.
func (o Options) Check() error {
	if o.Config == nil || o.Store == nil || o.Bugzilla == nil {
		return errors.New("bot: config, store and bugzilla client are required")
	}
	return nil
}

// WithDefaults fills in the defaults of the unset options.
func (o Options) WithDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.KeyRetry <= 0 {
		o.KeyRetry = DefaultKeyRetry
	}
	if o.DefaultsRefresh <= 0 {
		o.DefaultsRefresh = DefaultDefaultsRefresh
	}
	if o.NetworkRetry <= 0 {
		o.NetworkRetry = DefaultNetworkRetry
	}
	return o
}

// Loop is one long-running job of the core. Run ends the bot when one
// fails (returns an error while its context is not done) or panics.
type Loop struct {
	Name string
	Run  func(ctx context.Context) error
}

// Bot is the core as cmd/ksecbot wires it, along the data flow: Intake
// (Bugzilla into the store), Announcements and Reminders (the store's
// events into outbox intents), AutoCC (CC lists back to Bugzilla), one
// Deliverer per transport (the outbox to the network, guarded by Guard),
// and Commands (the networks' messages to the command router and back).
// Live holds what SIGHUP reloads; Metrics and HTTP show the state.
// Run runs them together.
type Bot struct {
	Live          *Live
	Wake          *Wake
	Intake        *Intake
	Announcements *Announcements
	Reminders     *Reminders
	Retention     *Retention
	AutoCC        *AutoCC
	CVEWatch      *CVEWatch
	Guard         *StoreGuard
	Deliverers    []*Deliverer // one per transport
	Commands      *Dispatcher
	// Notices tells the private channels about ksecbot itself; the
	// transports report channel trouble to it (transport.Alerts).
	Notices *Notices
	// Networks runs the transports, each alone: a network's permanent
	// error stops only that network.
	Networks *Networks
	Metrics  *Metrics
	HTTP     *HTTP
	Log      *slog.Logger
}

// Loops returns the jobs Run stops first on the way out: everything but
// the watcher, the transports and their deliverers.
func (b *Bot) Loops() []Loop {
	var ls []Loop
	ls = append(ls, b.Intake.Loops()...)
	ls = append(ls, b.Announcements.Loops()...)
	ls = append(ls, b.AutoCC.Loops()...)
	ls = append(ls, b.Reminders.Loops()...)
	ls = append(ls, b.Retention.Loops()...)
	ls = append(ls, b.CVEWatch.Loops()...)
	ls = append(ls, b.Commands.Loops()...)
	ls = append(ls, b.Notices.Loops()...)
	return append(ls, b.Guard.Loops()...)
}

// ShutdownGrace is how long Run keeps the transports up after its context
// ends, to flush what the outbox can still send.
const ShutdownGrace = 3 * time.Second

// Run starts everything and blocks until ctx is done, a loop fails, or
// no network can run (every one stopped by a permanent error: a
// *NoNetworkError; one such network alone does not stop the bot, see
// Networks). On the way out it stops commands and the other jobs first,
// lets the deliverers flush the outbox for up to ShutdownGrace, then stops
// the watcher and closes the connections (QUIT on IRC). The watcher runs
// through the flush: a line sent then is decided on a mirror that a
// reconciliation falling due meanwhile still keeps true (a bug gone out of
// sight is withheld within one reconcile interval, shutting down or not).
func (b *Bot) Run(ctx context.Context) error {
	workCtx, cancelWork := context.WithCancel(ctx)
	defer cancelWork()
	// The network side and the watcher outlive ctx by the flush grace
	// period.
	netCtx, cancelNet := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelNet()
	mirrorCtx, cancelMirror := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelMirror()

	work := b.Loops()
	var workWG, mirrorWG, netWG sync.WaitGroup
	errc := make(chan error, len(work)+2*len(b.Deliverers)+2)
	goRun := func(wg *sync.WaitGroup, ctx context.Context, l Loop) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					b.Log.Error("panic", "loop", l.Name, "panic", r, "stack", string(debug.Stack()))
					errc <- fmt.Errorf("%s panicked: %v", l.Name, r)
				}
			}()
			if err := l.Run(ctx); err != nil && ctx.Err() == nil {
				var none *NoNetworkError
				if !errors.As(err, &none) { // it names every network itself
					err = fmt.Errorf("%s: %w", l.Name, err)
				}
				errc <- err
			}
		}()
	}
	for _, l := range work {
		goRun(&workWG, workCtx, l)
	}
	goRun(&mirrorWG, mirrorCtx, b.Intake.WatcherLoop())
	for _, d := range b.Deliverers {
		t := d.Transport()
		goRun(&netWG, netCtx, Loop{t.Network(), func(ctx context.Context) error { return b.Networks.Run(ctx, t, b.inbox(t)) }})
		goRun(&netWG, netCtx, Loop{t.Network() + " deliverer", d.Run})
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		// Run returns err and the caller reports it: one error, not two
		b.Log.Debug("stopping", "err", err)
	}
	if errors.Is(err, store.ErrVanished) || errors.Is(err, store.ErrCorrupt) {
		b.Guard.Halt() // nothing more goes out on the lost or broken database
	}
	if err != nil {
		cancelMirror() // no flush follows: nothing to keep true for
	}
	cancelWork()
	workWG.Wait()
	err = b.Guard.settle(err)
	if err == nil {
		flush(b.Deliverers, b.Wake, b.Log, ShutdownGrace)
	}
	cancelMirror()
	mirrorWG.Wait()
	cancelNet()
	netWG.Wait()
	return err
}

// inbox is the Inbox of transport t: its messages go to Commands, its
// channel trouble (transport.Alerts) to Notices.
func (b *Bot) inbox(t transport.Transport) transport.Inbox {
	in := b.Commands.Inbox(t)
	if b.Notices != nil {
		in = b.Notices.Inbox(in)
	}
	return in
}
