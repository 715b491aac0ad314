// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/policy"
	"github.com/ksecbot/ksecbot/store"
)

// Reminders re-highlights, once, the trees of a new bug that is still
// unclaimed after announce.remind_after, in the channels that got its
// announcement.
type Reminders struct {
	config   func() *config.Config // in effect at each pass
	channels func() []chat.Channel // every configured channel, as configured now
	store    *store.Store
	wake     *Wake
	log      *slog.Logger
	now      func() time.Time
}

// NewReminders returns the reminder loop.
func NewReminders(o Options, config func() *config.Config, channels func() []chat.Channel, wake *Wake) *Reminders {
	o = o.WithDefaults()
	return &Reminders{config: config, channels: channels, store: o.Store, wake: wake, log: o.Logger, now: o.Now}
}

// Loops returns the reminder loop, for Bot.Run.
func (r *Reminders) Loops() []Loop { return []Loop{{"reminders", r.run}} }

// run re-highlights, once, the trees of a new bug that is still
// unclaimed after announce.remind_after, in the channels that got its
// announcement (TestRemindersWithFakeClock). Due times live in SQLite, so reminders survive
// restarts; !snooze moves them.
func (r *Reminders) run(ctx context.Context) error {
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		if err := r.RemindDue(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("reminders", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// RemindDue queues the reminders that are due now. Exported for tests
// that drive the clock.
func (r *Reminders) RemindDue(ctx context.Context) error {
	now := r.now()
	due, err := r.store.DueReminders(ctx, now)
	if err != nil {
		return fmt.Errorf("failed to read due reminders: %w", err)
	}
	if len(due) == 0 {
		return nil
	}
	cfg := r.config() // one configuration for the whole pass
	byKey := map[string]chat.Channel{}
	for _, ch := range r.channels() {
		byKey[ch.Key] = ch
	}
	queued := false
	for _, rem := range due {
		id := rem.BugID
		bug, ok, err := r.store.Bug(ctx, id)
		if err != nil {
			return fmt.Errorf("failed to read bug %d: %w", id, err)
		}
		if !ok || !bug.Open() || policy.Gone(bug) || !inWatches(cfg, bug) || !unclaimed(ctx, r.store, cfg, bug) {
			// closed, out of ksecbot's sight, moved out of the watches,
			// or claimed: no reminder
			_ = r.store.DoneReminder(ctx, id)
			continue
		}
		chans, err := r.store.AnnouncedChannels(ctx, id)
		if err != nil {
			return fmt.Errorf("failed to read where bug %d was announced: %w", id, err)
		}
		if len(chans) == 0 && now.Sub(bug.CreationTime) < remindGiveUp(cfg, bug) {
			// The announcement is still in the outbox (a network is
			// down): remind once it is out.
			if err := r.store.SnoozeReminder(ctx, id, now.Add(time.Minute)); err != nil {
				return fmt.Errorf("failed to postpone the reminder of bug %d: %w", id, err)
			}
			continue
		}
		// One intent per channel, rendered when sent (the bug may be
		// restricted or claimed by then). The key names the due time, so
		// a reminder re-armed by !snooze is a new message, not a
		// duplicate of the first one.
		var items []store.Intent
		for _, key := range chans {
			ch, ok := byKey[key]
			if !ok {
				continue
			}
			in := store.ChannelIntent(ch, chat.KindRemind, remindID(id, rem.Due), id)
			in.Due = rem.Due
			items = append(items, in)
		}
		if err := r.store.EnqueueIntents(ctx, items...); err != nil {
			return fmt.Errorf("failed to queue reminders for bug %d: %w", id, err)
		}
		if err := r.store.DoneReminder(ctx, id); err != nil {
			return fmt.Errorf("failed to finish reminder for bug %d: %w", id, err)
		}
		queued = queued || len(items) > 0
	}
	if queued {
		r.wake.Queued()
	}
	return nil
}

// inWatches reports whether bug is in one of the configured watches.
func inWatches(cfg *config.Config, bug *bugzilla.Bug) bool {
	for _, w := range cfg.Watches {
		if w.Product == bug.Product && w.Component == bug.Component {
			return true
		}
	}
	return false
}

// remindID names one reminder of a bug in its exactly-once key:
// "<bug>@<due, Unix seconds>".
func remindID(bug int, due time.Time) string {
	return strconv.Itoa(bug) + "@" + strconv.FormatInt(due.Unix(), 10)
}

// remindGiveUp is how long after a bug's creation a reminder still waits
// for its announcement to be delivered somewhere.
func remindGiveUp(cfg *config.Config, bug *bugzilla.Bug) time.Duration {
	return remindAfter(cfg, bug) + 24*time.Hour
}
