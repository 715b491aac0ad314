// SPDX-License-Identifier: GPL-3.0-or-later

package matrix_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/internal/mxtest"
)

// TestHighlightNotifies checks what the highlighted maintainer's own
// homeserver tells their clients: in a plain room the announcement and a
// !cc reply are in the maintainer's /notifications with the highlight
// tweak, a routine reply (!pending) is not; in an encrypted room the
// maintainer's device decrypts an m.text with the maintainer in
// m.mentions. An m.notice would be swallowed by .m.rule.suppress_notices
// and never reach /notifications, so this fails when highlights go out as
// notices.
func TestHighlightNotifies(t *testing.T) {
	t.Parallel()
	hs := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	maint := hs.Observe(ctx, t, hs.NewUser(ctx, t, "maint-"))
	w := newWorld(ctx, t, hs, 0, maint.User.ID)
	if _, err := maint.Client.JoinRoomByID(ctx, w.plain); err != nil {
		t.Fatalf("maintainer joining the plain room: %v", err)
	}
	if _, err := w.obs.Client.InviteUser(ctx, w.enc, &mautrix.ReqInviteUser{UserID: maint.User.ID}); err != nil {
		t.Fatalf("inviting the maintainer to the encrypted room: %v", err)
	}
	if _, err := maint.Client.JoinRoomByID(ctx, w.enc); err != nil {
		t.Fatalf("maintainer joining the encrypted room: %v", err)
	}
	w.obs.WaitJoined(t, w.plain, maint.User.ID)
	w.obs.WaitJoined(t, w.enc, maint.User.ID)
	w.start(t, "ksecbot")

	// Bugzilla text that names a Matrix user must not mention them.
	named := id.NewUserID(mxtest.RandName("mallory-"), "localhost")
	bug := w.bz.CreateBug(bugzillatest.NewBug{
		Summary:  fmt.Sprintf("CVE-2026-0401: sys-kernel/gentoo-sources: overflow in nft reported by %s", named),
		Severity: "major",
	})
	want := []string{string(maint.User.ID)}

	// Encrypted room: the maintainer's device decrypts an m.text that
	// mentions exactly the maintainer, with a pill.
	e := maint.WaitMsg(t, "the announcement in the encrypted room", isAnnouncement(w.enc, bug))
	m := e.Content.AsMessage()
	if !e.Mautrix.WasEncrypted {
		t.Errorf("announcement in the encrypted room was not encrypted")
	}
	if m.MsgType != event.MsgText {
		t.Errorf("decrypted announcement is %s, want m.text", m.MsgType)
	}
	if got := mentions(e); !slices.Equal(got, want) {
		t.Errorf("decrypted announcement m.mentions = %v, want exactly the maintainer %v (not %s named by Bugzilla)", got, want, named)
	}
	if pill := `<a href="https://matrix.to/#/` + string(maint.User.ID) + `">`; !strings.Contains(m.FormattedBody, pill) {
		t.Errorf("decrypted announcement's HTML %q has no pill for the maintainer", m.FormattedBody)
	}
	t.Logf("encrypted room: %s %q mentions %v", m.MsgType, m.Body, mentions(e))

	// Plain room: the homeserver highlights the announcement for the
	// maintainer.
	ann := maint.WaitMsg(t, "the announcement in the plain room", isAnnouncement(w.plain, bug))
	if got := mentions(ann); !slices.Equal(got, want) {
		t.Errorf("plain announcement m.mentions = %v, want %v", got, want)
	}
	n := awaitNotification(ctx, t, maint, ann.ID)
	if !n.Highlight {
		t.Errorf("the announcement is in the maintainer's /notifications without the highlight tweak: actions %s", n.Actions)
	}
	t.Logf("plain room: announcement %s in /notifications, actions %s", ann.ID, n.Actions)

	// A routine reply is a notice: no notification. The !cc reply that
	// follows highlights the maintainer (hardened tree), and Dendrite
	// processes a room's events in order, so once it is in
	// /notifications the reply before it would be too.
	ask := w.obs.Say(ctx, t, w.plain, "!pending", nil)
	pending := maint.ReplyTo(t, w.plain, ask)
	if mt := pending.Content.AsMessage().MsgType; mt != event.MsgNotice || len(mentions(pending)) != 0 {
		t.Errorf("!pending reply is %s mentioning %v, want an m.notice mentioning nobody", mt, mentions(pending))
	}
	ask = w.obs.Say(ctx, t, w.plain, fmt.Sprintf("!cc hardened %d", bug), nil)
	cc := maint.ReplyTo(t, w.plain, ask)
	if got := mentions(cc); !slices.Equal(got, want) || cc.Content.AsMessage().MsgType != event.MsgText {
		t.Errorf("!cc reply %q is %s mentioning %v, want m.text mentioning %v", body(cc), cc.Content.AsMessage().MsgType, got, want)
	}
	if n := awaitNotification(ctx, t, maint, cc.ID); !n.Highlight {
		t.Errorf("the !cc reply is in /notifications without the highlight tweak: actions %s", n.Actions)
	}
	list, err := mxtest.Notifications(ctx, maint.Client)
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := mxtest.FindNotification(list, pending.ID); ok {
		t.Errorf("the routine !pending reply %q notified the maintainer (highlight %v)", body(pending), n.Highlight)
	}
	t.Logf("!cc reply %s highlighted; !pending reply %s (%s) not in /notifications", cc.ID, pending.ID, pending.Content.AsMessage().MsgType)
}

// awaitNotification polls o's /notifications until ev is in it, or fails
// the test after the default wait. Nothing tells a client when the
// homeserver has evaluated its push rules, hence the polling.
func awaitNotification(ctx context.Context, t *testing.T, o *mxtest.Observer, ev id.EventID) mxtest.Notification {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		list, err := mxtest.Notifications(ctx, o.Client)
		if err != nil {
			t.Fatal(err)
		}
		if n, ok := mxtest.FindNotification(list, ev); ok {
			return n
		}
		if time.Now().After(deadline) {
			var seen []string
			for _, n := range list {
				seen = append(seen, fmt.Sprintf("%s %q highlight=%v", n.EventID, mxtest.Body(n.Event), n.Highlight))
			}
			t.Fatalf("%s is not in %s's /notifications after %s (m.notice is suppressed by .m.rule.suppress_notices); notifications:\n%s",
				ev, o.User.ID, wait, strings.Join(seen, "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
