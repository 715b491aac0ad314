// SPDX-License-Identifier: GPL-3.0-or-later

package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
)

var kernelWatch = []string{"Gentoo Security/Kernel"}

// entered are the options of a watcher's read: bugs not seen before and
// created within the last hour are new, older ones moved in.
func entered() bugzilla.SaveOptions {
	return bugzilla.SaveOptions{CheckNew: true, NewSince: t0.Add(-time.Hour), Entered: true}
}

// processAll marks every pending event processed (as the announcer does).
func processAll(t *testing.T, s *Store) {
	t.Helper()
	evs, err := s.PendingEvents(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, e := range evs {
		ids = append(ids, e.ID)
	}
	if err := s.QueueAnnouncements(context.Background(), Queued{Events: ids}); err != nil {
		t.Fatal(err)
	}
}

// TestSight: the mirror keeps how ksecbot sees each bug. A bug a read with
// the key no longer returns goes out of sight once (one "gone" event, its
// reminder settled, out of !pending and of the open bugs to reconcile
// unless it comes back); a bug returned in another product leaves the
// watches once; a gone bug read again in the watch is back in sight and
// moved in; bugs outside the watches or closed are left alone.
func TestSight(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s := newStore(t, c)
	a, b, closed, other := kbug(1), kbug(2), kbug(3), kbug(4)
	closed.Resolution = "FIXED"
	other.Product, other.Component = "Gentoo Linux", "Current packages"
	if err := s.SaveBugs(ctx, []bugzilla.Bug{a, b, closed, other}, nil, true); err != nil {
		t.Fatal(err)
	}
	if err := s.ScheduleReminder(ctx, 1, c.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ids, err := s.SightIDs(ctx, kernelWatch); err != nil || !slices.Equal(ids, []int{1, 2}) {
		t.Fatalf("SightIDs = %v %v, want the open Kernel bugs [1 2]", ids, err)
	}
	mb, _, _ := s.Bug(ctx, 2)
	if mb.Sight.Confirmed.IsZero() || mb.Sight.Gone || mb.Sight.Unconfirmed {
		t.Errorf("a bug read from Bugzilla: sight %+v, want confirmed now", mb.Sight)
	}

	for i, want := range [][]int{{1, 3}, nil} { // a second read changes nothing
		// 3 is closed (gone without a line), 4 and 99 are in no watch
		if gone, err := s.Gone(ctx, []int{1, 3, 4, 99}, kernelWatch); err != nil || !slices.Equal(gone, want) {
			t.Fatalf("read %d: Gone = %v %v, want %v", i+1, gone, err, want)
		}
		moved := b
		moved.Product, moved.Component, moved.Groups = "Gentoo Linux", "Current packages", []string{"security"}
		if left, err := s.LeftWatches(ctx, []bugzilla.Bug{moved, other}, kernelWatch); err != nil || len(left) != 1-i || i == 0 && left[0] != 2 {
			t.Fatalf("read %d: LeftWatches = %v %v, want [2] the first time", i+1, left, err)
		}
	}
	if got := pendingKinds(t, s); !slices.Equal(got, []string{"gone:Gentoo Security/Kernel>", "moved_out:Gentoo Security/Kernel>Gentoo Linux/Current packages"}) {
		t.Errorf("events = %v", got)
	}
	processAll(t, s)
	gb, ok, _ := s.Bug(ctx, 1)
	if !ok || !gb.Sight.Gone || gb.Summary != a.Summary {
		t.Errorf("gone bug = %+v %v, want kept as last seen, gone", gb, ok)
	}
	if mb, _, _ := s.Bug(ctx, 2); mb.Product != "Gentoo Linux" || mb.Sight.Gone || !mb.Restricted() {
		t.Errorf("moved bug = %s/%s %v %+v, want in its new product with the groups read, not gone", mb.Product, mb.Component, mb.Groups, mb.Sight)
	}
	if due, _ := s.DueReminders(ctx, c.Now().Add(2*time.Hour)); len(due) != 0 {
		t.Errorf("reminders of bugs out of sight: %v", due)
	}
	if _, total, _ := s.Bugs(ctx, BugFilter{OpenOnly: true, Products: []string{"Gentoo Security"}, Components: []string{"Kernel"}}); total != 0 {
		t.Errorf("open bugs in sight in the watch: %d, want 0", total)
	}
	if ids, _ := s.SightIDs(ctx, kernelWatch); !slices.Equal(ids, []int{1}) {
		t.Errorf("SightIDs = %v, want the gone bug [1] only (to notice it back)", ids)
	}

	// Read again in the watch: back in sight, and moved in (announced).
	c.Advance(time.Minute)
	if err := s.SaveWatched(ctx, []bugzilla.Bug{a}, nil, entered()); err != nil {
		t.Fatal(err)
	}
	if got := pendingKinds(t, s); !slices.Equal(got, []string{"moved_in:gone>Gentoo Security/Kernel"}) {
		t.Errorf("events after the bug came back = %v", got)
	}
	if gb, _, _ := s.Bug(ctx, 1); gb.Sight.Gone {
		t.Errorf("bug 1 still gone after a read returned it")
	}
	// A write of ksecbot's own (ApplyUpdate) confirms nothing.
	before, _, _ := s.Bug(ctx, 1)
	c.Advance(time.Minute)
	if _, err := s.ApplyUpdate(ctx, a, bugzilla.UpdateResult{ID: 1, LastChangeTime: t0.Add(time.Minute), Changes: map[string]bugzilla.Change{"cc": {Added: "hardened@gentoo.org"}}}); err != nil {
		t.Fatal(err)
	}
	if after, _, _ := s.Bug(ctx, 1); !after.Sight.Confirmed.Equal(before.Sight.Confirmed) {
		t.Errorf("ApplyUpdate moved the confirmation from %s to %s", before.Sight.Confirmed, after.Sight.Confirmed)
	}
}

// TestKeyOutage: while Bugzilla refuses the key, every bug in sight is
// unconfirmed until a read returns it (an anonymous read only as
// mirrored); the outage keeps the cursor it began at; ending it clears
// the rest; RewindCursors moves later cursors back.
func TestKeyOutage(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s := newStore(t, c)
	a, b, d := kbug(1), kbug(2), kbug(3)
	cur := map[string]bugzilla.Cursor{"Gentoo Security/Kernel": {Time: t0.Add(time.Hour), ETag: "e"}}
	if err := s.SaveBugs(ctx, []bugzilla.Bug{a, b, d}, cur, true); err != nil {
		t.Fatal(err)
	}
	for i, since := range []time.Time{t0.Add(time.Hour), t0.Add(2 * time.Hour)} {
		began, err := s.BeginOutage(ctx, since, i == 0)
		if err != nil || began != (i == 0) {
			t.Fatalf("BeginOutage #%d = %v %v", i+1, began, err)
		}
	}
	if at, baseline, ok, err := s.Outage(ctx); err != nil || !ok || !baseline || !at.Equal(t0.Add(time.Hour)) {
		t.Errorf("Outage = %s %v %v %v, want the first cursor and call", at, baseline, ok, err)
	}
	changed := b
	changed.LastChangeTime = t0.Add(time.Minute)
	if changedIDs, err := s.Confirm(ctx, []bugzilla.Bug{a, changed}); err != nil || !slices.Equal(changedIDs, []int{2}) { // an anonymous read
		t.Fatalf("Confirm = %v %v, want bug 2 changed (read again whole)", changedIDs, err)
	}
	// Same last_change_time, other groups: ksecbot's own write gave the
	// mirror that time on a copy from before the bug was restricted.
	sameTime := a
	sameTime.Groups = []string{"security"}
	if changedIDs, err := s.Confirm(ctx, []bugzilla.Bug{sameTime}); err != nil || !slices.Equal(changedIDs, []int{1}) {
		t.Fatalf("Confirm of other groups = %v %v, want bug 1 read again", changedIDs, err)
	}
	if err := s.SaveWatched(ctx, []bugzilla.Bug{d}, nil, entered()); err != nil { // a read with the key
		t.Fatal(err)
	}
	for id, want := range map[int]bool{1: false, 2: true, 3: false} {
		if b, _, _ := s.Bug(ctx, id); b.Sight.Unconfirmed != want {
			t.Errorf("bug %d unconfirmed = %v, want %v", id, b.Sight.Unconfirmed, want)
		}
	}
	if err := s.RewindCursors(ctx, t0); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Cursor(ctx, "Gentoo Security/Kernel"); !got.Time.Equal(t0) || got.ETag != "" {
		t.Errorf("cursor after rewinding = %+v", got)
	}
	if err := s.EndOutage(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := s.Outage(ctx); ok {
		t.Error("the outage did not end")
	}
	if b, _, _ := s.Bug(ctx, 2); b.Sight.Unconfirmed {
		t.Error("bug 2 still unconfirmed after the outage")
	}
}

// TestEveryMirrorReadHasSight: every way of reading the mirror tells a bug
// ksecbot cannot vouch for (unconfirmed during a key outage, or gone), so
// that no reader judges it public by its groups alone.
func TestEveryMirrorReadHasSight(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, newClock())
	if err := s.SaveBugs(ctx, []bugzilla.Bug{kbug(1), kbug(2)}, nil, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BeginOutage(ctx, t0, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Gone(ctx, []int{2}, kernelWatch); err != nil {
		t.Fatal(err)
	}
	check := func(how string, b bugzilla.Bug) {
		t.Helper()
		if b.ID == 1 && (!b.Sight.Unconfirmed || b.Sight.Gone) || b.ID == 2 && !b.Sight.Gone {
			t.Errorf("%s: bug %d sight %+v, want bug 1 unconfirmed, bug 2 gone", how, b.ID, b.Sight)
		}
	}
	for _, id := range []int{1, 2} {
		b, _, err := s.Bug(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		check("Bug", *b)
	}
	bugs, _, err := s.Bugs(ctx, BugFilter{})
	if err != nil || len(bugs) != 2 {
		t.Fatalf("Bugs = %v %v", bugs, err)
	}
	for _, b := range bugs {
		check("Bugs", b)
	}
	var named []bugzilla.Bug
	bugs, _, err = s.Bugs(ctx, BugFilter{Names: func(b *bugzilla.Bug) bool { named = append(named, *b); return true }})
	if err != nil || len(bugs) != 2 || len(named) != 2 {
		t.Fatalf("Bugs with Names = %v %v (%d judged)", bugs, err, len(named))
	}
	for _, b := range append(bugs, named...) {
		check("Bugs with Names", b)
	}
	times, err := s.BugTimes(ctx, BugFilter{}, t0.Add(-time.Hour))
	if err != nil || len(times) != 2 {
		t.Fatalf("BugTimes = %v %v", times, err)
	}
	for _, bt := range times {
		check("BugTimes", bt.Bug)
	}
}
