// SPDX-License-Identifier: GPL-3.0-or-later

package store

import (
	"context"

	"github.com/ksecbot/ksecbot/bugzilla"
	"testing"
	"time"
)

// BugTimes reads the open bugs of a filter and the bugs of a window in one
// pass, each with its first announcement, claim and CC.
func TestBugTimes(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, nil)
	old, recent, closed := kbug(1), kbug(2), kbug(3)
	old.CreationTime = t0.Add(-60 * 24 * time.Hour)
	recent.CreationTime = t0.Add(-time.Hour)
	closed.CreationTime = t0.Add(-2 * time.Hour)
	closed.Resolution, closed.IsOpen = "FIXED", false
	old.LastChangeTime, recent.LastChangeTime, closed.LastChangeTime = old.CreationTime, recent.CreationTime, closed.CreationTime
	if err := s.SaveBugs(ctx, []bugzilla.Bug{old, recent, closed}, nil, true); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO announcements(bug_id, channel, kind, at, network_id, outbox_id) VALUES (2, 'irc:#k', 'announce', ?, '', 1)`,
		`INSERT INTO announcements(bug_id, channel, kind, at, network_id, outbox_id) VALUES (2, 'mx:!r', 'announce', ?, '', 2)`,
		`INSERT INTO cc_first(bug_id, login, at) VALUES (2, 'Kernel@Gentoo.org', ?)`,
	} {
		if _, err := s.db.ExecContext(ctx, q, ts(t0.Add(-59*time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordClaim(ctx, 2, "alice@gentoo.org", t0.Add(-30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err := s.BugTimes(ctx, BugFilter{OpenOnly: true}, t0.Add(-7*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d bugs, want the old open one, the recent one and the recent closed one", len(got))
	}
	byID := map[int]BugTimes{}
	for _, bt := range got {
		byID[bt.Bug.ID] = bt
	}
	if !byID[1].Matches || !byID[2].Matches || byID[3].Matches {
		t.Errorf("matches: 1 %v, 2 %v, 3 %v; want the open bugs only", byID[1].Matches, byID[2].Matches, byID[3].Matches)
	}
	r := byID[2]
	if !r.Announced.Equal(t0.Add(-59*time.Minute)) || !r.Claimed.Equal(t0.Add(-30*time.Minute)) {
		t.Errorf("bug 2 announced %v, claimed %v", r.Announced, r.Claimed)
	}
	if _, ok := r.CC["kernel@gentoo.org"]; !ok {
		t.Errorf("bug 2's first CC times: %v, want kernel@gentoo.org's", r.CC)
	}
	if !byID[1].Announced.IsZero() || byID[1].CC != nil {
		t.Errorf("bug 1 is older than the window: times %+v", byID[1])
	}
}
