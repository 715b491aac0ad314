// SPDX-License-Identifier: GPL-3.0-or-later

package bugzilla_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
)

// TestFutureStampCannotBlindTheWatcher: a bug whose last_change_time lies
// 24 h (or 5 min) ahead of Bugzilla's clock is stored like any other and
// logged once, but the cursor stays at Bugzilla's time, so the bugs filed
// after it (within those minutes too) are found by the next polls; a
// cursor an older ksecbot left in the future is brought back.
func TestFutureStampCannotBlindTheWatcher(t *testing.T) {
	for _, ahead := range []time.Duration{24 * time.Hour, 5 * time.Minute} {
		t.Run(ahead.String(), func(t *testing.T) {
			e := newEnv(t)
			st := newMemStore()
			w := e.watcher(t, st, 10, 2*time.Minute, kernel)
			mustPoll(t, w)

			e.clk.Advance(time.Minute)
			odd := e.srv.CreateBug(bugzillatest.NewBug{Summary: "stamped ahead"})
			e.srv.UpdateBugAt(odd, e.clk.Now().Add(ahead), func(b *bugzillatest.Bug) { b.Whiteboard = "B2" })
			mustPoll(t, w)
			if c := st.cursor(kernel.Name()); c.Time.After(e.clk.Now()) {
				t.Fatalf("cursor %s is past Bugzilla's time %s", c.Time, e.clk.Now())
			}
			var later []int
			for i := range 3 {
				e.clk.Advance(time.Minute)
				later = append(later, e.srv.CreateBug(bugzillatest.NewBug{Summary: "filed after"}))
				mustPoll(t, w)
				if i == 1 {
					mustPoll(t, w) // a quiet poll in between
				}
			}
			if got := st.news(); !slices.Equal(got, append([]int{odd}, later...)) {
				t.Errorf("announced %v, want the odd bug and every later one %v", got, append([]int{odd}, later...))
			}
			if n := strings.Count(e.logs.String(), "changed in the future"); n != 1 {
				t.Errorf("the future stamp was logged %d times, want once:\n%s", n, e.logs)
			}
		})
	}
}

// TestFutureCursorBroughtBack: a cursor stored in the future (by a ksecbot
// without the bound) is moved back to Bugzilla's time at the next poll.
func TestFutureCursorBroughtBack(t *testing.T) {
	e := newEnv(t)
	st := newMemStore()
	w := e.watcher(t, st, 10, 2*time.Minute, kernel)
	mustPoll(t, w)
	st.mu.Lock()
	st.cursors[kernel.Name()] = bugzilla.Cursor{Time: e.clk.Now().Add(24 * time.Hour)}
	st.mu.Unlock()
	e.clk.Advance(time.Minute)
	id := e.srv.CreateBug(bugzillatest.NewBug{Summary: "filed while the cursor was ahead"})
	if err := w.PollOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := st.news(); !slices.Equal(got, []int{id}) {
		t.Errorf("announced %v, want [%d]", got, id)
	}
	if c := st.cursor(kernel.Name()); c.Time.After(e.clk.Now()) {
		t.Errorf("cursor %s still ahead of %s", c.Time, e.clk.Now())
	}
	if !strings.Contains(e.logs.String(), "cursor is ahead of Bugzilla's clock") {
		t.Errorf("no warning about the cursor:\n%s", e.logs)
	}
}
