// SPDX-License-Identifier: GPL-3.0-or-later

package matrix_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/internal/mxtest"
)

// A restricted bug on the real homeserver: the private (encrypted) room
// gets it in full with the hardened maintainer mentioned, the public room
// only "details withheld", with no tree, no maintainer and no mention.
func TestRestrictedBugPrivateFullPublicWithheld(t *testing.T) {
	t.Parallel()
	hs := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	// The operator puts ksecbot's Bugzilla account in the embargo group.
	bz.AddUser(bugzillatest.User{Login: "ksecbot@gentoo.org", RealName: "ksecbot", Groups: []string{"editbugs", "security"},
		APIKey: "key-ksecbot", Password: "password-ksecbot"})
	bot := hs.NewUser(ctx, t, "ksecbot-")
	obs := hs.Observe(ctx, t, hs.NewUser(ctx, t, "maintainer-"))
	public := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Name: "ksecbot e2e public", Public: true, Invite: []id.UserID{bot.ID}})
	private := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Name: "ksecbot e2e security", Encrypted: true, Invite: []id.UserID{bot.ID}})
	kernelMX := []string{string(id.NewUserID(mxtest.RandName("kernel-"), "localhost"))}
	cfg := botConfig{
		BugzillaURL: bz.URL(), Homeserver: hs.URL, Bot: bot,
		Rooms:      []id.RoomID{public, private},
		Private:    []id.RoomID{private},
		KernelMX:   kernelMX,
		HardenedMX: []string{string(obs.User.ID)},
	}.write(t, t.TempDir())
	startBot(t, cfg, "ksecbot", bot.Password, "key-ksecbot")
	obs.WaitJoined(t, public, bot.ID)
	obs.WaitJoined(t, private, bot.ID)

	summary := "sys-kernel/hardened-sources: embargoed overflow in io_uring"
	n := bz.CreateBug(bugzillatest.NewBug{Summary: summary, Whiteboard: "A2 [embargoed]", Groups: []string{"security"}})
	isBug := func(room id.RoomID) func(*event.Event) bool {
		return func(e *event.Event) bool {
			return e.RoomID == room && e.Sender == bot.ID && strings.Contains(body(e), fmt.Sprintf("bug %d", n))
		}
	}
	full := obs.WaitMsg(t, "the announcement in the private room", isBug(private))
	if !strings.Contains(body(full), summary) || !slices.Contains(mentions(full), string(obs.User.ID)) {
		t.Errorf("private room got %q mentioning %v, want the summary and a mention of the hardened maintainer %s", body(full), mentions(full), obs.User.ID)
	}
	withheld := obs.WaitMsg(t, "the announcement in the public room", isBug(public))
	want := fmt.Sprintf("New restricted kernel security bug %d, details withheld https://bugs.gentoo.org/show_bug.cgi?id=%d", n, n)
	if got := body(withheld); got != want {
		t.Errorf("public room got %q, want %q", got, want)
	}
	if m := mentions(withheld); len(m) != 0 {
		t.Errorf("public room line mentions %v, want no one", m)
	}
	formatted := withheld.Content.AsMessage().FormattedBody
	for _, secret := range []string{summary, "hardened", string(obs.User.ID), kernelMX[0], "gentoo-sources"} {
		if strings.Contains(body(withheld), secret) || strings.Contains(formatted, secret) {
			t.Errorf("public room line %q / %q contains %q", body(withheld), formatted, secret)
		}
	}
	t.Logf("private (encrypted=%v): %q mentions %v", full.Mautrix.WasEncrypted, body(full), mentions(full))
	t.Logf("public: %q", body(withheld))
}
