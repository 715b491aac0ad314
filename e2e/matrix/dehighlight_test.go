// SPDX-License-Identifier: GPL-3.0-or-later

package matrix_test

import (
	"context"
	"html"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/internal/mxtest"
)

// TestBugzillaTextHighlightsNobody: a summary with a package atom, a CVE
// id, a path and the user name, Matrix ID and display name of a room
// member arrives in body and formatted_body as Bugzilla has it, except one
// chat.NoPing in each of the member's names; the member is not
// highlighted, even on Dendrite, which still applies the legacy "body
// contains my user name / display name" push rules (the member finds the
// announcement in /notifications without the highlight tweak), while the
// tree's maintainer is; and the homeserver's search finds the summary's
// words.
func TestBugzillaTextHighlightsNobody(t *testing.T) {
	t.Parallel()
	hs := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	maint := hs.Observe(ctx, t, hs.NewUser(ctx, t, "maint-"))
	victim := hs.Observe(ctx, t, hs.NewUser(ctx, t, "victim-"))
	display := mxtest.RandName("Vic")
	if err := victim.Client.SetDisplayName(ctx, display); err != nil {
		t.Fatal(err)
	}
	w := newWorld(ctx, t, hs, 0, maint.User.ID)
	for _, o := range []*mxtest.Observer{maint, victim} {
		if _, err := o.Client.JoinRoomByID(ctx, w.plain); err != nil {
			t.Fatalf("%s joining the plain room: %v", o.User.ID, err)
		}
		w.obs.WaitJoined(t, w.plain, o.User.ID)
	}
	w.start(t, "ksecbot")

	local := victim.User.ID.Localpart()
	word := mxtest.RandName("zorkmid")
	parts := []string{"sys-kernel/gentoo-sources-6.6.60: use-after-free in nf_tables (CVE-2024-50001), /usr/src/linux/net/netfilter/nf_tables_api.c ",
		word + ", found by ", local, " (@", local, ":localhost, ", display, ")"}
	summary := strings.Join(parts, "")
	want := strings.Join([]string{parts[0], parts[1], chat.Break(local), parts[3], chat.Break(local), parts[5], chat.Break(display), parts[7]}, "")
	bug := w.bz.CreateBug(bugzillatest.NewBug{Summary: summary, Severity: "major"})
	ann := victim.WaitMsg(t, "the announcement in the plain room", isAnnouncement(w.plain, bug))
	c := ann.Content.AsMessage()
	if !strings.Contains(c.Body, want) {
		t.Errorf("the body %q does not carry the summary as written but for one %U in each of the member's names: %q", c.Body, chat.NoPing, want)
	}
	if !strings.Contains(c.FormattedBody, html.EscapeString(want)) {
		t.Errorf("the formatted body %q does not carry the summary as written but for one %U in each of the member's names", c.FormattedBody, chat.NoPing)
	}
	for _, name := range []string{local, display} {
		if strings.Contains(c.Body, name) || strings.Contains(c.FormattedBody, name) {
			t.Errorf("the event contains %s's name %q, which the legacy push rules match", victim.User.ID, name)
		}
	}
	if n := awaitNotification(ctx, t, maint, ann.ID); !n.Highlight {
		t.Errorf("the maintainer is not highlighted: actions %s", n.Actions)
	}
	n := awaitNotification(ctx, t, victim, ann.ID)
	if n.Highlight {
		t.Errorf("the announcement highlights %s, whom only the Bugzilla summary names: actions %s", victim.User.ID, n.Actions)
	}
	t.Logf("%s: notified with actions %s by %q", victim.User.ID, n.Actions, c.Body)

	// The homeserver's search finds the summary's words (it indexes the
	// body of events in rooms it can read: the plain room).
	for _, term := range []string{word, "nf_tables", "CVE-2024-50001", "use-after-free", "gentoo-sources", "netfilter"} {
		deadline := time.Now().Add(wait)
		for {
			found, err := mxtest.Search(ctx, victim.Client, w.plain, term)
			if err != nil {
				t.Fatal(err)
			}
			if slices.Contains(found, ann.ID) {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("searching the room for %q does not find the announcement (found %v)", term, found)
				break
			}
			time.Sleep(200 * time.Millisecond) // polling the search index
		}
	}
}
