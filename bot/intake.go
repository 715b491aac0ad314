// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/store"
)

// Intake brings Bugzilla's events in: the watcher (polls into the store's
// mirror and events), the push queue (webhook and ingest-mail pokes), the
// API key state and the watches' default assignees. It wakes the
// announcer when bugs were stored.
type Intake struct {
	watches []config.Watch // a reload keeps them until a restart
	store   *store.Store
	bz      *bugzilla.Client
	watcher *bugzilla.Watcher
	notices *Notices
	log     *slog.Logger

	keyRetry        time.Duration
	defaultsRefresh time.Duration
	pushes          pushQueue // pushed ids waiting for the push worker
}

// NewIntake builds the watcher of o.Config's watches. Stored bugs wake
// the announcer through wake; notices say the key's state.
func NewIntake(o Options, wake *Wake, notices *Notices) *Intake {
	o = o.WithDefaults()
	cfg := o.Config
	in := &Intake{
		watches:         cfg.Watches,
		store:           o.Store,
		bz:              o.Bugzilla,
		notices:         notices,
		log:             o.Logger,
		keyRetry:        o.KeyRetry,
		defaultsRefresh: o.DefaultsRefresh,
	}
	in.pushes.init()
	watches := make([]bugzilla.Watch, len(cfg.Watches))
	for i, w := range cfg.Watches {
		watches[i] = bugzilla.Watch{Product: w.Product, Component: w.Component}
	}
	in.watcher = bugzilla.NewWatcher(o.Bugzilla, notifyingStore{o.Store, wake.Stored}, bugzilla.WatcherOptions{
		Watches:   watches,
		Interval:  cfg.Bugzilla.PollInterval.Duration,
		Overlap:   cfg.Bugzilla.Overlap.Duration,
		CatchUp:   cfg.Bugzilla.CatchUp.Duration,
		Reconcile: cfg.Bugzilla.ReconcileInterval.Duration,
		PageSize:  cfg.Bugzilla.PageSize,
		Logger:    o.Logger,
		Now:       o.Now,
	})
	return in
}

// Loops returns the intake's jobs but the watcher, for Bot.Run.
func (in *Intake) Loops() []Loop {
	return []Loop{
		{"bugzilla key", in.keyLoop},
		{"component defaults", in.defaultsLoop},
		{"push worker", in.pushWorker},
	}
}

// WatcherLoop returns the watcher's job, for Bot.Run: it stops last of
// the jobs, after the deliverers' flush (see Bot.Run).
func (in *Intake) WatcherLoop() Loop { return Loop{"watcher", in.watcher.Run} }

// notifyingStore tells the core when the watcher stored bugs.
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

// Gone stores bugs gone out of sight, and then wakes the announcer (the
// private channels are told).
func (s notifyingStore) Gone(ctx context.Context, ids []int, watches []string) ([]int, error) {
	gone, err := s.Store.Gone(ctx, ids, watches)
	if len(gone) > 0 {
		s.notify()
	}
	return gone, err
}

// LeftWatches stores bugs moved out of the watches, and then wakes the
// announcer.
func (s notifyingStore) LeftWatches(ctx context.Context, bugs []bugzilla.Bug, watches []string) ([]int, error) {
	left, err := s.Store.LeftWatches(ctx, bugs, watches)
	if len(left) > 0 {
		s.notify()
	}
	return left, err
}

// Watcher returns the Bugzilla watcher.
func (in *Intake) Watcher() *bugzilla.Watcher { return in.watcher }

// Poke makes the watcher read the named bugs now (webhook and bugmail push).
// It only triggers a read through the API. Safe for concurrent use.
func (in *Intake) Poke(ctx context.Context, ids ...int) error {
	if len(ids) == 0 {
		in.watcher.Poke()
		return nil
	}
	if err := in.watcher.Fetch(ctx, ids); err != nil {
		in.watcher.Poke() // fall back to a poll
		return fmt.Errorf("failed to fetch pushed bugs %v: %w", ids, err)
	}
	return nil
}

// Push queues pushed bug ids for the push worker. It reports false, and
// queues nothing, when they would not fit (the pusher is told "busy").
func (in *Intake) Push(ids []int) bool { return in.pushes.add(ids) }
