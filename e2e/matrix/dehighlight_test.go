// SPDX-License-Identifier: GPL-3.0-or-later

package matrix_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/internal/mxtest"
)

// TestBugzillaTextHighlightsNobody: a summary that names a room member (by
// user name and by Matrix ID) does not highlight them, even on Dendrite,
// which still applies the legacy "body contains my user name / display
// name" push rules: the member finds the announcement in /notifications
// without the highlight tweak, while the tree's maintainer is highlighted.
func TestBugzillaTextHighlightsNobody(t *testing.T) {
	t.Parallel()
	hs := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	maint := hs.Observe(ctx, t, hs.NewUser(ctx, t, "maint-"))
	victim := hs.Observe(ctx, t, hs.NewUser(ctx, t, "victim-"))
	w := newWorld(ctx, t, hs, 0, maint.User.ID)
	for _, o := range []*mxtest.Observer{maint, victim} {
		if _, err := o.Client.JoinRoomByID(ctx, w.plain); err != nil {
			t.Fatalf("%s joining the plain room: %v", o.User.ID, err)
		}
		w.obs.WaitJoined(t, w.plain, o.User.ID)
	}
	w.start(t, "ksecbot")

	local := victim.User.ID.Localpart()
	summary := fmt.Sprintf("sys-kernel/gentoo-sources: overflow found by %s (%s), ping x%s", local, victim.User.ID, local)
	bug := w.bz.CreateBug(bugzillatest.NewBug{Summary: summary, Severity: "major"})
	ann := victim.WaitMsg(t, "the announcement in the plain room", isAnnouncement(w.plain, bug))
	if !strings.Contains(body(ann), summary) {
		t.Errorf("announcement %q does not show the summary as written", body(ann))
	}
	if raw := ann.Content.AsMessage().Body; strings.Contains(raw, local) {
		t.Errorf("the raw body %q contains the user name %s", raw, local)
	}
	if n := awaitNotification(ctx, t, maint, ann.ID); !n.Highlight {
		t.Errorf("the maintainer is not highlighted: actions %s", n.Actions)
	}
	n := awaitNotification(ctx, t, victim, ann.ID)
	if n.Highlight {
		t.Errorf("the announcement highlights %s, whom only the Bugzilla summary names: actions %s", victim.User.ID, n.Actions)
	}
	t.Logf("%s: notified with actions %s by %q", victim.User.ID, n.Actions, body(ann))
}
