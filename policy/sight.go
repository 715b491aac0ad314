// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import (
	"errors"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
)

// This file holds the questions about restriction and ksecbot's sight of
// a bug that are not "what may this channel see" (See): auto-CC, the write
// rules, the reminders and the fresh reads ask them here, so that reading
// Bug.Restricted and Bug.Sight stays in this package
// (TestOnlyPolicyDecidesSight).

// Restricted reports whether a bug is restricted in Bugzilla: in a group,
// so that only the group's members and the people CC'd may read it. It
// decides auto-CC (AutoCC) and the write rules (WriteRequest.Restricted);
// what a channel may see of a bug is See's decision, which also withholds
// bugs ksecbot cannot vouch for (Secret).
func Restricted(b *bugzilla.Bug) bool { return b != nil && b.Restricted() }

// Gone reports whether a mirrored bug went out of ksecbot's sight: the
// last read by id with the API key did not return it (restricted into a
// group ksecbot's account is not in, or deleted). It gets no reminder.
func Gone(b *bugzilla.Bug) bool { return b != nil && b.Sight.Gone }

// ConfirmedWithin reports whether a read confirmed the mirrored bug less
// than every before now: a public reply may then show it as mirrored.
// False when every is 0 (no reconciliation: always read again) or the bug
// was never confirmed.
func ConfirmedWithin(b *bugzilla.Bug, now time.Time, every time.Duration) bool {
	return every > 0 && b != nil && !b.Sight.Confirmed.IsZero() && now.Sub(b.Sight.Confirmed) < every
}

// Unread returns a copy of the mirrored bug b as ksecbot must treat it
// when reading it again failed with err: gone when Bugzilla does not show
// it (bugzilla.ErrRestricted, bugzilla.ErrNotFound), unconfirmed when
// Bugzilla did not answer. See withholds both in public channels.
func Unread(b *bugzilla.Bug, err error) *bugzilla.Bug {
	out := *b
	if errors.Is(err, bugzilla.ErrRestricted) || errors.Is(err, bugzilla.ErrNotFound) {
		out.Sight.Gone = true
	} else {
		out.Sight.Unconfirmed = true
	}
	return &out
}
