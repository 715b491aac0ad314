// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import (
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/config"
)

// Default is a component's default assignee as ksecbot saw it, from when
// it first saw it (zero: since before it kept track).
type Default struct {
	Login string
	Since time.Time
}

// Unclaimed reports whether a bug nobody has claimed: it is assigned to
// no one, or to its component's default assignee as it is now or as it
// was when the bug was filed. seen are the defaults ksecbot has seen,
// oldest first, the last one the default now; the default when the bug
// was filed is the last one seen by then (the oldest, for a bug older
// than them all). So a bug filed before the default changed and still
// with the old default stays unclaimed, while one a person gave to the
// old default's login after the change is claimed.
//
// Logins are compared by bugzilla.SameLogin: an anonymous watcher mirrors
// "security" for "security@gentoo.org". This grants no right and picks no
// one to CC: at worst a bug counts as unclaimed.
func Unclaimed(assignee string, created time.Time, seen []Default) bool {
	if assignee == "" {
		return true
	}
	if len(seen) == 0 {
		return false
	}
	if bugzilla.SameLogin(assignee, seen[len(seen)-1].Login) {
		return true
	}
	filed := seen[0]
	for _, d := range seen[1:] {
		if d.Since.After(created) {
			break
		}
		filed = d
	}
	return bugzilla.SameLogin(assignee, filed.Login)
}

// BugUnclaimed is the whole rule for a mirrored bug, asked by !claim,
// !unclaim, the reminders and the status page: Unclaimed with the
// defaults seen of its component (oldest first; the configured
// bugzilla.default_assignee when none was seen); with no default known
// at all, a bug counts as claimed once it is assigned to a linked
// [[user]] of users.
func BugUnclaimed(b *bugzilla.Bug, seen []Default, users []config.User) bool {
	if b.AssignedTo == "" {
		return true
	}
	if len(seen) > 0 {
		return Unclaimed(b.AssignedTo, b.CreationTime, seen)
	}
	for _, u := range users {
		if bugzilla.SameLogin(u.Bugzilla, b.AssignedTo) {
			return false
		}
	}
	return true
}

// UnclaimedWindow is Unclaimed for a search: a bug assigned to Login and
// created within [From, Until) (zero: unbounded) is unclaimed.
type UnclaimedWindow struct {
	Login       string
	From, Until time.Time
}

// UnclaimedWindows is Unclaimed as the windows a mirror search can use
// (the default now for any bug; each earlier default for the bugs filed
// while it was the default). A bug is Unclaimed exactly when it is
// assigned to no one or matches one of them.
func UnclaimedWindows(seen []Default) []UnclaimedWindow {
	if len(seen) == 0 {
		return nil
	}
	out := []UnclaimedWindow{{Login: seen[len(seen)-1].Login}}
	for i, d := range seen[:len(seen)-1] {
		w := UnclaimedWindow{Login: d.Login, Until: seen[i+1].Since}
		if i > 0 {
			w.From = d.Since
		}
		out = append(out, w)
	}
	return out
}
