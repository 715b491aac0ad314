// SPDX-License-Identifier: GPL-3.0-or-later

package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Pruned counts what Prune removed.
type Pruned struct {
	Outbox int64 // sent or skipped outbox intents
	Events int64 // processed events (each holds a copy of its bug)
}

// Prune removes, in one transaction, the outbox rows sent or skipped
// before cutoff and the events processed before cutoff: they hold bug
// details, restricted ones included, that are not needed any more. The
// keys of the pruned outbox rows are kept (sent_keys, which holds the keys
// of skipped rows too), so a pruned message is never queued again; waiting
// rows, pending events, announcements, the mirror and the audit log are
// never pruned.
func (s *Store) Prune(ctx context.Context, cutoff time.Time) (Pruned, error) {
	var p Pruned
	if cutoff.IsZero() {
		return p, nil
	}
	c := ts(cutoff)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO sent_keys(key, sent_at)
			SELECT key, sent_at FROM outbox WHERE sent_at <> 0 AND sent_at < ?1 AND key IS NOT NULL
			UNION ALL
			SELECT key, skipped_at FROM outbox WHERE skipped_at <> 0 AND skipped_at < ?1 AND key IS NOT NULL`, c); err != nil {
			return fmt.Errorf("failed to keep the keys of old messages: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM outbox
			WHERE (sent_at <> 0 AND sent_at < ?1) OR (skipped_at <> 0 AND skipped_at < ?1)`, c)
		if err != nil {
			return fmt.Errorf("failed to prune old messages: %w", err)
		}
		p.Outbox, _ = res.RowsAffected()
		res, err = tx.ExecContext(ctx, "DELETE FROM events WHERE processed_at <> 0 AND processed_at < ?", c)
		if err != nil {
			return fmt.Errorf("failed to prune old events: %w", err)
		}
		p.Events, _ = res.RowsAffected()
		return nil
	})
	return p, err
}
