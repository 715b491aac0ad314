// SPDX-License-Identifier: GPL-3.0-or-later

package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
)

// TestSaveWatchedNewMeansNew: with the watcher's rule, an unseen bug gets
// a "new" event only if it is open and created at or after NewSince; an
// old or closed unseen bug is mirrored with no event; a baseline gives
// "new" events only to the catch-up bugs.
func TestSaveWatchedNewMeansNew(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, nil)
	since := t0.Add(time.Hour)
	fresh := kbug(1)
	fresh.CreationTime, fresh.LastChangeTime = since, since
	old := kbug(2) // created at t0, an hour before the cursor
	old.LastChangeTime = since.Add(time.Minute)
	closed := kbug(3)
	closed.CreationTime, closed.LastChangeTime = since, since
	closed.Resolution, closed.Status, closed.IsOpen = "FIXED", "RESOLVED", false
	if err := s.SaveWatched(ctx, []bugzilla.Bug{fresh, old, closed}, nil, bugzilla.SaveOptions{CheckNew: true, NewSince: since}); err != nil {
		t.Fatal(err)
	}
	if got := pendingKinds(t, s); !slices.Equal(got, []string{"new:>" + fresh.Summary}) {
		t.Errorf("pending events %q, want only bug 1 new", got)
	}
	for _, id := range []int{1, 2, 3} {
		if _, ok, err := s.Bug(ctx, id); !ok || err != nil {
			t.Errorf("bug %d not mirrored: %v", id, err)
		}
	}
	// Later changes of the silently stored bugs are changes as usual.
	closed.Resolution, closed.Status, closed.IsOpen = "", "CONFIRMED", true
	closed.LastChangeTime = since.Add(2 * time.Minute)
	if err := s.SaveWatched(ctx, []bugzilla.Bug{closed}, nil, bugzilla.SaveOptions{CheckNew: true, NewSince: since}); err != nil {
		t.Fatal(err)
	}
	if got := pendingKinds(t, s); !slices.Equal(got, []string{"new:>" + fresh.Summary, "reopened:FIXED>"}) {
		t.Errorf("pending events %q, want bug 3 reopened", got)
	}

	// Bugs read outside polling (after a write): never new.
	s2 := newStore(t, nil)
	if err := s2.SaveWatched(ctx, []bugzilla.Bug{fresh}, nil, bugzilla.Silent()); err != nil {
		t.Fatal(err)
	}
	if got := pendingKinds(t, s2); len(got) != 0 {
		t.Errorf("silent save made events %q", got)
	}

	// Catch-up baseline of a fresh database.
	s3 := newStore(t, nil)
	if err := s3.SaveWatched(ctx, []bugzilla.Bug{fresh, old}, nil, bugzilla.SaveOptions{Baseline: true, CheckNew: true, NewSince: since}); err != nil {
		t.Fatal(err)
	}
	if got := pendingKinds(t, s3); !slices.Equal(got, []string{"new:" + CaughtUp + ">" + fresh.Summary}) {
		t.Errorf("catch-up baseline events %q, want only bug 1 new", got)
	}
}
