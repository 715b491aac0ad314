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

// TestThreadsAndEdits, the built bot on the real Dendrite, in the
// encrypted room, as Element users talk: a !claim in a thread started on
// an announcement claims that bug and is answered in the thread; an
// edited !bug is answered as edited, replying to the message people see;
// a !claim edited into another !claim after it was carried out does not
// claim the second bug.
func TestThreadsAndEdits(t *testing.T) {
	t.Parallel()
	hs := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := newWorld(ctx, t, hs, 0)
	k := w.start(t, "ksecbot")

	first := w.bz.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: use-after-free in a thread"})
	ann := w.obs.WaitMsg(t, "the first announcement", isAnnouncement(w.enc, first))

	c := &event.MessageEventContent{MsgType: event.MsgText, Body: "!claim"}
	c.RelatesTo = (&event.RelatesTo{}).SetThread(ann.ID, ann.ID)
	cmd := w.obs.SayContent(ctx, t, w.enc, c)
	r := w.obs.ReplyTo(t, w.enc, cmd)
	if rel := r.Content.AsMessage().RelatesTo; rel.GetThreadParent() != ann.ID {
		t.Errorf("the answer to a command in the thread relates as %+v, want it in the thread of %s", rel, ann.ID)
	}
	if st := stateOf(t, w.bz, first); st.assignee != "bob@gentoo.org" {
		t.Errorf("after !claim in the announcement's thread (%q) bug %d is assigned to %q, want bob@gentoo.org", body(r), first, st.assignee)
	}

	orig := w.obs.Say(ctx, t, w.enc, "!bug 999999", nil)
	w.obs.ReplyTo(t, w.enc, orig)
	e := &event.MessageEventContent{MsgType: event.MsgText, Body: fmt.Sprintf("!bug %d", first)}
	e.SetEdit(orig)
	w.obs.SayContent(ctx, t, w.enc, e)
	edited := w.obs.WaitMsg(t, "the answer to the edited !bug", func(ev *event.Event) bool {
		return ev.RoomID == w.enc && ev.Content.AsMessage().RelatesTo.GetReplyTo() == orig && strings.Contains(body(ev), fmt.Sprint(first)) && !strings.Contains(body(ev), "999999")
	})
	t.Logf("edited !bug answered: %q", body(edited))

	second := w.bz.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: not claimed by an edit"})
	w.obs.WaitMsg(t, "the second announcement", isAnnouncement(w.enc, second))
	third := w.bz.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: claimed first"})
	w.obs.WaitMsg(t, "the third announcement", isAnnouncement(w.enc, third))
	claim := w.obs.Say(ctx, t, w.enc, fmt.Sprintf("!claim %d", third), nil)
	w.obs.ReplyTo(t, w.enc, claim)
	e2 := &event.MessageEventContent{MsgType: event.MsgText, Body: fmt.Sprintf("!claim %d", second)}
	e2.SetEdit(claim)
	w.obs.SayContent(ctx, t, w.enc, e2)
	refused := w.obs.WaitMsg(t, "the answer to the edited claim", func(ev *event.Event) bool {
		return ev.RoomID == w.enc && ev.Content.AsMessage().RelatesTo.GetReplyTo() == claim && strings.Contains(body(ev), "did not do it again")
	})
	if st := stateOf(t, w.bz, second); st.assignee == "bob@gentoo.org" {
		t.Errorf("bug %d was claimed by an edit of a claim already carried out (%q)", second, body(refused))
	}
	stopBot(t, k)
}
