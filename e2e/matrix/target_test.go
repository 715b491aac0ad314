// SPDX-License-Identifier: GPL-3.0-or-later

package matrix_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/internal/mxtest"
)

// TestClaimWithoutNumber, on the real Dendrite: after two announcements
// within a minute a bare !claim asks which bug, naming both, and Bugzilla
// gets no PUT; a !claim sent as a Matrix reply (m.relates_to in_reply_to)
// to the older announcement claims that bug, not the newer one.
func TestClaimWithoutNumber(t *testing.T) {
	t.Parallel()
	hs := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := newWorld(ctx, t, hs, 0)
	k := w.start(t, "ksecbot")

	var ids []int
	var anns []*event.Event
	for _, summary := range []string{"sys-kernel/gentoo-sources: use-after-free in nf_tables", "sys-kernel/hardened-sources: overflow in ext4"} {
		id := w.bz.CreateBug(bugzillatest.NewBug{Summary: summary})
		anns = append(anns, w.obs.WaitMsg(t, fmt.Sprintf("the announcement of bug %d", id), isAnnouncement(w.plain, id)))
		ids = append(ids, id)
	}
	puts := func() int {
		n := 0
		for _, r := range w.bz.Requests() {
			if r.Method == "PUT" {
				n++
			}
		}
		return n
	}
	before := puts()

	r := w.obs.ReplyTo(t, w.plain, w.obs.Say(ctx, t, w.plain, "!claim", nil))
	txt := body(r)
	// The bot may not have recorded the second announcement as sent when
	// the command comes: it then asks because a bug is being announced,
	// naming the confirmed one.
	want := fmt.Sprintf("Which bug? %d, %d", ids[1], ids[0])
	flying := fmt.Sprintf("Which bug? %d — A bug is being announced here right now", ids[0])
	if !strings.Contains(txt, want) && !strings.Contains(txt, flying) || !strings.Contains(txt, "Nothing was changed") {
		t.Errorf("bare !claim reply %q, want it to ask %q (or %q) and say nothing was changed", txt, want, flying)
	}
	if n := puts() - before; n != 0 {
		t.Errorf("the bare !claim made %d PUT requests to Bugzilla, want none", n)
	}
	for _, id := range ids {
		if st := stateOf(t, w.bz, id); st.assignee != "security@gentoo.org" {
			t.Errorf("bug %d is assigned to %q after the bare !claim, want it unchanged", id, st.assignee)
		}
	}
	t.Logf("bare !claim after two announcements: %q; %d PUT requests", txt, puts()-before)

	r = w.obs.ReplyTo(t, w.plain, w.obs.Say(ctx, t, w.plain, "!claim", anns[0]))
	first, second := stateOf(t, w.bz, ids[0]), stateOf(t, w.bz, ids[1])
	if first.assignee != "bob@gentoo.org" || second.assignee != "security@gentoo.org" {
		t.Errorf("after the reply !claim (%q): bug %d assigned to %q (want bob@gentoo.org), bug %d to %q (want unchanged)",
			body(r), ids[0], first.assignee, ids[1], second.assignee)
	}
	if n := puts() - before; n != 1 {
		t.Errorf("%d PUT requests in all, want the reply !claim's one", n)
	}
	t.Logf("!claim in reply to the announcement of bug %d: %q", ids[0], body(r))
	stopBot(t, k)
}
