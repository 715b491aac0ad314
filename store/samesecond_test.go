// SPDX-License-Identifier: GPL-3.0-or-later

package store

import (
	"context"
	"slices"

	"github.com/ksecbot/ksecbot/bugzilla"
	"testing"
)

// A second change within the same Bugzilla second (auto-CC right after the
// bug was filed) must reach the mirror; an identical copy stays a duplicate.
func TestSameSecondChangeIsNotADuplicate(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, newClock())
	b := kbug(1)
	if err := s.SaveBugs(ctx, []bugzilla.Bug{b}, nil, false); err != nil {
		t.Fatal(err)
	}
	b.CC = append(b.CC, "hardened@gentoo.org") // same LastChangeTime
	if err := s.SaveBugs(ctx, []bugzilla.Bug{b}, nil, false); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Bug(ctx, 1)
	if err != nil || !ok {
		t.Fatalf("Bug: %v %v", ok, err)
	}
	if !slices.Contains(got.CC, "hardened@gentoo.org") {
		t.Errorf("mirror CC = %v: the same-second change was dropped", got.CC)
	}
	if err := s.SaveBugs(ctx, []bugzilla.Bug{b}, nil, false); err != nil {
		t.Fatal(err)
	}
	if kinds := pendingKinds(t, s); len(kinds) != 1 || kinds[0][:4] != "new:" {
		t.Errorf("pending events = %v, want just the new-bug event", kinds)
	}
}
