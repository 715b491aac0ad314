// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"log/slog"
	"time"

	"github.com/ksecbot/ksecbot/store"
)

// pruneEvery is how often old outbox intents and events are pruned.
const pruneEvery = time.Hour

// Retention prunes old outbox intents and events ([store] retention).
type Retention struct {
	keep  time.Duration // [store] retention: a reload keeps it until a restart
	store *store.Store
	log   *slog.Logger
	now   func() time.Time
}

// NewRetention returns the pruning loop of o.Config's [store] retention.
func NewRetention(o Options) *Retention {
	o = o.WithDefaults()
	return &Retention{keep: o.Config.Store.Retention.Duration, store: o.Store, log: o.Logger, now: o.Now}
}

// Loops returns the pruning loop, for Bot.Run.
func (r *Retention) Loops() []Loop { return []Loop{{"retention", r.run}} }

// run prunes, at start and then every hour, the sent outbox intents
// and processed events older than [store] retention: they hold bug
// details, restricted ones included. Keys, announcements, the mirror and
// the audit log stay (store.Prune).
func (r *Retention) run(ctx context.Context) error {
	tick := time.NewTicker(pruneEvery)
	defer tick.Stop()
	for {
		r.Prune(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Prune runs one pruning pass now (exported for tests that drive the
// clock). Retention 0 keeps everything.
func (r *Retention) Prune(ctx context.Context) {
	keep := r.keep
	if keep <= 0 {
		return
	}
	p, err := r.store.Prune(ctx, r.now().Add(-keep))
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("failed to prune old messages and events; will retry", "err", err)
		}
		return
	}
	if p.Outbox > 0 || p.Events > 0 {
		r.log.Info("pruned old messages and events", "messages", p.Outbox, "events", p.Events, "older_than", keep)
	}
}
