// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/store"
)

// A delivery round reads a bug from the mirror once for all the messages
// naming it, and again as soon as the mirror changed: a bug restricted
// during a long round is seen restricted by the messages still to send.
func TestRoundBugsReadOnceUntilTheMirrorChanges(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "ksecbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	bug := bugzilla.Bug{ID: 7, Summary: "kernel: use-after-free", Product: "Gentoo Security", Component: "Kernel",
		Status: "CONFIRMED", IsOpen: true, CreationTime: t0, LastChangeTime: t0}
	if err := st.SaveBugs(ctx, []bugzilla.Bug{bug}, nil, false); err != nil {
		t.Fatal(err)
	}
	round := newRoundBugs(st)
	first, err := round.get(ctx, []int{7, 8})
	if err != nil {
		t.Fatal(err)
	}
	if first[7] == nil || first[7].Restricted() {
		t.Fatalf("bug 7 = %+v, want it public", first[7])
	}
	if _, ok := first[8]; ok {
		t.Error("bug 8 is not mirrored, but get returned it")
	}
	again, err := round.get(ctx, []int{7})
	if err != nil {
		t.Fatal(err)
	}
	if again[7] != first[7] {
		t.Error("bug 7 read from the mirror again in the same round, with the mirror unchanged")
	}

	bug.Groups = []string{"security"}
	bug.LastChangeTime = t0.Add(time.Minute)
	if err := st.SaveBugs(ctx, []bugzilla.Bug{bug}, nil, false); err != nil {
		t.Fatal(err)
	}
	after, err := round.get(ctx, []int{7})
	if err != nil {
		t.Fatal(err)
	}
	if after[7] == nil || !after[7].Restricted() {
		t.Errorf("bug 7 after it was stored restricted mid-round = %+v, want it restricted", after[7])
	}
}
