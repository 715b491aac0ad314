// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"time"
)

// pruneEvery is how often old outbox intents and events are pruned.
const pruneEvery = time.Hour

// pruneLoop prunes, at start and then every hour, the sent outbox intents
// and processed events older than [store] retention: they hold bug
// details, restricted ones included. Keys, announcements, the mirror and
// the audit log stay (store.Prune).
func (b *Bot) pruneLoop(ctx context.Context) error {
	tick := time.NewTicker(pruneEvery)
	defer tick.Stop()
	for {
		b.Prune(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Prune runs one pruning pass now (exported for tests that drive the
// clock). Retention 0 keeps everything.
func (b *Bot) Prune(ctx context.Context) {
	keep := b.l().cfg.Store.Retention.Duration
	if keep <= 0 {
		return
	}
	p, err := b.store.Prune(ctx, b.now().Add(-keep))
	if err != nil {
		if ctx.Err() == nil {
			b.log.Warn("failed to prune old messages and events; will retry", "err", err)
		}
		return
	}
	if p.Outbox > 0 || p.Events > 0 {
		b.log.Info("pruned old messages and events", "messages", p.Outbox, "events", p.Events, "older_than", keep)
	}
}
