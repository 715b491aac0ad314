// SPDX-License-Identifier: GPL-3.0-or-later

package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
)

// Auto-CC decides on the mirror's copy of a bug, then writes; if the
// watcher stores the bug made restricted in between, Bugzilla's answer to
// the write must not bring the older, public copy back into the mirror
// (the deliverer would then show the embargoed bug in full in public
// channels, and the test of the restriction never arrives).
func TestApplyUpdateKeepsNewerMirrorState(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, newClock())
	b := kbug(1)
	if err := s.SaveBugs(ctx, []bugzilla.Bug{b}, nil, false); err != nil {
		t.Fatal(err)
	}
	decidedOn := b // the copy auto-CC read

	// The bug is restricted in Bugzilla; the watcher stores it.
	t1 := t0.Add(time.Minute)
	restricted := b
	restricted.Groups = []string{"security"}
	restricted.LastChangeTime = t1
	if err := s.SaveBugs(ctx, []bugzilla.Bug{restricted}, nil, false); err != nil {
		t.Fatal(err)
	}

	// Bugzilla's answer to the auto-CC PUT, made in the same second.
	res := bugzilla.UpdateResult{ID: 1, LastChangeTime: t1, Changes: map[string]bugzilla.Change{"cc": {Added: "hardened@gentoo.org"}}}
	if _, err := s.ApplyUpdate(ctx, decidedOn, res); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Bug(ctx, 1)
	if err != nil || !ok {
		t.Fatalf("Bug: %v %v", ok, err)
	}
	if !got.Restricted() {
		t.Errorf("mirror groups = %v after the auto-CC answer: the restriction stored meanwhile was undone", got.Groups)
	}
	if !slices.Contains(got.CC, "hardened@gentoo.org") {
		t.Errorf("mirror CC = %v, want the added login", got.CC)
	}
	want := []string{"new:>" + b.Summary, "restricted:public>restricted"}
	if kinds := pendingKinds(t, s); !slices.Equal(kinds, want) {
		t.Errorf("pending events = %v, want %v (no flip back to public)", kinds, want)
	}

	// A bug not mirrored yet: the copy given is used.
	other := kbug(2)
	fresh, err := s.ApplyUpdate(ctx, other, bugzilla.UpdateResult{ID: 2, LastChangeTime: t1, Changes: map[string]bugzilla.Change{"cc": {Added: "hardened@gentoo.org"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok, _ := s.Bug(ctx, 2); !ok || !slices.Contains(got.CC, "hardened@gentoo.org") || !slices.Contains(fresh.CC, "hardened@gentoo.org") {
		t.Errorf("unmirrored bug: stored %v (found %v), returned CC %v", got, ok, fresh.CC)
	}
}

// MirrorVersion moves with every write of bugs to the mirror (a poll, an
// answer applied), and not with reads or a poll that stored no bug, so
// that a reader keeping bugs knows when to read them again.
func TestMirrorVersionMovesWithMirrorWrites(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, newClock())
	v0 := s.MirrorVersion()
	if err := s.SaveBugs(ctx, nil, map[string]bugzilla.Cursor{"Gentoo Security/Kernel": {Time: t0}}, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Bug(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if v := s.MirrorVersion(); v != v0 {
		t.Errorf("version %d -> %d after a poll without bugs and a read; want unchanged", v0, v)
	}
	if err := s.SaveBugs(ctx, []bugzilla.Bug{kbug(1)}, nil, false); err != nil {
		t.Fatal(err)
	}
	v1 := s.MirrorVersion()
	if v1 == v0 {
		t.Error("version unchanged after a bug was stored")
	}
	res := bugzilla.UpdateResult{ID: 1, LastChangeTime: t0.Add(time.Minute), Changes: map[string]bugzilla.Change{"cc": {Added: "hardened@gentoo.org"}}}
	if _, err := s.ApplyUpdate(ctx, kbug(1), res); err != nil {
		t.Fatal(err)
	}
	if s.MirrorVersion() == v1 {
		t.Error("version unchanged after Bugzilla's answer was applied to the mirror")
	}
}

// While a write to the mirror is under way (committed, perhaps, but not
// yet counted) MirrorVersion is 0, which a reader never keeps bugs under:
// otherwise a copy read before the commit could be reused after it.
func TestMirrorVersionUnsettledDuringAWrite(t *testing.T) {
	s := newStore(t, newClock())
	before := s.MirrorVersion()
	if before == 0 {
		t.Fatal("version 0 with no write under way")
	}
	done := s.mirrorWrite()
	if v := s.MirrorVersion(); v != 0 {
		t.Errorf("version %d during a write, want 0", v)
	}
	done()
	if v := s.MirrorVersion(); v == 0 || v == before {
		t.Errorf("version %d after the write (before: %d), want a new, non-zero one", v, before)
	}
}

// Bugzilla's times have one-second precision. A copy the watcher read
// before ksecbot's own write (a !cc) but stores after it carries the same
// last_change_time as the write's answer: it must not undo the write in
// the mirror (a !bug right after the !cc showed the CC gone). A copy read
// after the write, of the same second, is stored: it is Bugzilla's state.
func TestStaleCopyOfTheSameSecondKeepsOwnWrite(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, newClock())
	claimed := kbug(1)
	claimed.AssignedTo, claimed.LastChangeTime = "alice@gentoo.org", t0.Add(time.Minute)
	if err := s.SaveBugs(ctx, []bugzilla.Bug{claimed}, nil, false); err != nil {
		t.Fatal(err)
	}
	readBefore := time.Now()
	stale := claimed // the poll's copy, read before the !cc
	if _, err := s.ApplyUpdate(ctx, claimed, bugzilla.UpdateResult{ID: 1, LastChangeTime: claimed.LastChangeTime,
		Changes: map[string]bugzilla.Change{"cc": {Added: "hardened@gentoo.org"}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveWatched(ctx, []bugzilla.Bug{stale}, nil, bugzilla.SaveOptions{ReadAt: readBefore}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Bug(ctx, 1); !slices.Contains(got.CC, "hardened@gentoo.org") {
		t.Fatalf("a copy read before the write undid it: CC %v", got.CC)
	}
	// Read after the write: Bugzilla says the CC is gone again (someone
	// removed it in the same second).
	removed := claimed
	if err := s.SaveWatched(ctx, []bugzilla.Bug{removed}, nil, bugzilla.SaveOptions{ReadAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Bug(ctx, 1); slices.Contains(got.CC, "hardened@gentoo.org") {
		t.Errorf("a copy read after the write was not stored: CC %v", got.CC)
	}
}
