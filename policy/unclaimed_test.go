// SPDX-License-Identifier: GPL-3.0-or-later

package policy_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/policy"
)

// TestUnclaimed is the rule for "unclaimed" (!pending, reminders, !claim
// without --force): assigned to the component's default as it is now or
// was when the bug was filed.
func TestUnclaimed(t *testing.T) {
	day := func(n int) time.Time { return time.Date(2026, 11, n, 0, 0, 0, 0, time.UTC) }
	seen := []policy.Default{
		{Login: "security@gentoo.org"},                   // known before ksecbot kept track
		{Login: "kernel-sec@gentoo.org", Since: day(10)}, // the default from the 10th
		{Login: "kernel@gentoo.org", Since: day(20)},     // and from the 20th: now
	}
	tests := []struct {
		name     string
		assignee string
		created  time.Time
		want     bool
	}{
		{"nobody", "", day(25), true},
		{"the default now", "kernel@gentoo.org", day(25), true},
		{"the default now, on an old bug", "kernel@gentoo.org", day(1), true},
		{"the default now, as anonymous Bugzilla shows it", "kernel", day(25), true},
		{"the old default, on a bug filed under it", "security@gentoo.org", day(5), true},
		{"the middle default, on a bug filed under it", "kernel-sec@gentoo.org", day(15), true},
		{"the default the day it was first seen", "kernel-sec@gentoo.org", day(10), true},
		{"an old default, given to a bug filed later: claimed", "security@gentoo.org", day(15), false},
		{"a person", "alice@gentoo.org", day(25), false},
		{"another domain", "kernel@evil.example", day(25), false},
	}
	for _, tc := range tests {
		if got := policy.Unclaimed(tc.assignee, tc.created, seen); got != tc.want {
			t.Errorf("%s: Unclaimed(%q, %s) = %v, want %v", tc.name, tc.assignee, tc.created.Format("Jan 2"), got, tc.want)
		}
	}
	if policy.Unclaimed("kernel@gentoo.org", day(1), nil) {
		t.Error("with no default known a bug assigned to someone counts as unclaimed")
	}
}

// TestBugUnclaimed: for a mirrored bug the defaults seen decide; with
// none known, a bug is claimed once a linked [[user]] has it.
func TestBugUnclaimed(t *testing.T) {
	users := []config.User{{Bugzilla: "alice@gentoo.org"}}
	seen := []policy.Default{{Login: "security@gentoo.org"}}
	for _, tc := range []struct {
		assignee string
		seen     []policy.Default
		want     bool
	}{
		{"", nil, true},
		{"", seen, true},
		{"security", seen, true},
		{"alice@gentoo.org", seen, false},
		{"bob@gentoo.org", seen, false},
		{"alice@gentoo.org", nil, false},
		{"alice", nil, false}, // the linked user as anonymous Bugzilla shows them
		{"bob@gentoo.org", nil, true},
	} {
		b := &bugzilla.Bug{ID: 1, AssignedTo: tc.assignee}
		if got := policy.BugUnclaimed(b, tc.seen, users); got != tc.want {
			t.Errorf("BugUnclaimed(assigned to %q, %d defaults seen) = %v, want %v", tc.assignee, len(tc.seen), got, tc.want)
		}
	}
}

// TestUnclaimedWindowsAreUnclaimed: the windows a !pending search uses
// say exactly what Unclaimed says, for every mix of defaults seen,
// assignees and filing times.
func TestUnclaimedWindowsAreUnclaimed(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	logins := []string{"security@gentoo.org", "kernel@gentoo.org", "kernel", "alice@gentoo.org", ""}
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for range 2000 {
		var seen []policy.Default
		at := base
		for i := range 1 + rng.IntN(4) {
			if i > 0 {
				at = at.Add(time.Duration(rng.IntN(5)) * 24 * time.Hour)
			}
			seen = append(seen, policy.Default{Login: logins[rng.IntN(3)], Since: at})
		}
		seen[0].Since = time.Time{}
		assignee := logins[rng.IntN(len(logins))]
		created := base.Add(time.Duration(rng.IntN(20*24)) * time.Hour)
		inWindow := assignee == ""
		for _, w := range policy.UnclaimedWindows(seen) {
			if bugzilla.SameLogin(assignee, w.Login) && (w.From.IsZero() || !created.Before(w.From)) && (w.Until.IsZero() || created.Before(w.Until)) {
				inWindow = true
			}
		}
		if got := policy.Unclaimed(assignee, created, seen); got != inWindow {
			t.Fatalf("seen %v, %q filed %s: Unclaimed %v, windows %v", seen, assignee, created, got, policy.UnclaimedWindows(seen))
		}
	}
}
