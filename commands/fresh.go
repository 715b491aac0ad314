// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"context"
	"errors"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/policy"
)

// freshFor returns what a reply in ch may say of the mirrored bug b. In a
// private channel, b. Elsewhere b only while a read confirmed it within
// the reconcile interval ([bugzilla] reconcile_interval; every time when
// that is off); else the bug is read again (one GET): the answer, or, when
// Bugzilla does not show it, b marked gone, or, when Bugzilla does not
// answer, b marked unconfirmed (the policy withholds both). So a public
// reply never shows a bug as it was longer ago than one interval.
func (r *Router) freshFor(ctx context.Context, b *bugzilla.Bug, ch chat.Channel) *bugzilla.Bug {
	if policy.Private(ch) || r.d.Bugzilla == nil {
		return b
	}
	if policy.ConfirmedWithin(b, r.now(), r.cfg.Bugzilla.ReconcileInterval.Duration) {
		return b
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	fresh, err := r.d.Bugzilla.Bug(ctx, b.ID)
	if err == nil {
		return fresh
	}
	if !errors.Is(err, bugzilla.ErrRestricted) && !errors.Is(err, bugzilla.ErrNotFound) {
		r.log.Warn("could not read a bug again before a public reply; its details are withheld", "bug", b.ID, "err", err)
	}
	return policy.Unread(b, err)
}
