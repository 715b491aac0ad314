// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"log/slog"
	"time"

	"github.com/ksecbot/ksecbot/announce"
)

// Announcements runs the announcer (announce.Announcer, as configured now)
// whenever the watcher stored bugs: it turns the store's events into
// outbox intents, one per channel, and wakes the deliverers.
type Announcements struct {
	announcer func() *announce.Announcer // of the configuration in effect
	wake      *Wake
	log       *slog.Logger
}

// NewAnnouncements returns the announcement loop of the announcer in
// effect at each round.
func NewAnnouncements(o Options, announcer func() *announce.Announcer, wake *Wake) *Announcements {
	return &Announcements{announcer: announcer, wake: wake, log: o.WithDefaults().Logger}
}

// Loops returns the announcement loop, for Bot.Run.
func (a *Announcements) Loops() []Loop { return []Loop{{"announcer", a.run}} }

// burstHold is how long the announcer gathers new bugs during a burst.
const burstHold = 500 * time.Millisecond

// run runs the announcer whenever the watcher stored bugs (and every few
// seconds, to pick up events left by a crash).
func (a *Announcements) run(ctx context.Context) error {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		n, err := a.announcer().Process(ctx)
		if err != nil && ctx.Err() == nil {
			a.log.Warn("announcer", "err", err)
		}
		if n > 0 {
			a.wake.Queued()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-a.wake.stored:
			if a.announcer().Gather() {
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
