// SPDX-License-Identifier: GPL-3.0-or-later

package matrix_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/e2e/e2etest"
	"github.com/ksecbot/ksecbot/internal/mxtest"
)

// TestCVECommandTable: !cve on the real homeserver answers with the
// CVE's head line and the per-tree verdicts as an HTML table, from the
// real CNA records and the repository of real ::gentoo ebuilds.
func TestCVECommandTable(t *testing.T) {
	t.Parallel()
	hs := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	bot := hs.NewUser(ctx, t, "ksecbot-")
	obs := hs.Observe(ctx, t, hs.NewUser(ctx, t, "asker-"))
	room := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Name: "ksecbot e2e cve", Public: true, Invite: []id.UserID{bot.ID}})
	root, err := e2etest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	cfg := e2etest.Config{
		Dir: t.TempDir(), BugzillaURL: bz.URL(), DigestAfter: -1,
		Matrix: &e2etest.Matrix{Homeserver: hs.URL, UserID: string(bot.ID), Password: bot.Password, Rooms: []string{string(room)}},
		Trees: []e2etest.Tree{
			{Name: "gentoo-kernel", Packages: []string{"sys-kernel/gentoo-kernel"}, Bugzilla: []string{"dist-kernel@gentoo.org"}},
			{Name: "vanilla-sources", Packages: []string{"sys-kernel/vanilla-sources"}, Bugzilla: []string{"kernel@gentoo.org"}},
		},
		Extra: fmt.Sprintf("\n[kernel_cve]\npath = %q\n\n[gentoo]\nrepo = %q\n",
			filepath.Join(root, "kernelcve", "testdata", "vulns"), filepath.Join(root, "gentoo", "testdata", "repo")),
	}
	startBot(t, cfg.Write(t), "ksecbot", bot.Password)
	obs.WaitJoined(t, room, bot.ID)

	ask := obs.Say(ctx, t, room, "!cve CVE-2025-71238", nil)
	reply := obs.WaitMsg(t, "the !cve reply", func(e *event.Event) bool {
		return e.RoomID == room && e.Sender == bot.ID && strings.Contains(body(e), "CVE-2025-71238")
	})
	formatted := reply.Content.AsMessage().FormattedBody
	t.Logf("asked %s; reply body %q; formatted %q", ask, body(reply), formatted)
	for _, want := range []string{
		"<b>CVE-2025-71238</b>: scsi: qla2xxx: Fix bsg_done() causing double free · introduced 5.7 · fixed in 5.10.251, 5.15.201, 6.1.164, 6.6.127, 6.12.74, 6.18.13, 6.19.3, 7.0",
		"<table><tr><th>tree</th><th>verdict</th><th>versions</th></tr>",
		"<tr><td>gentoo-kernel</td><td><b>affected</b></td><td>5.10.250: fix 5.10.251; newest stable 5.10.250 still affected, fixed in ~5.10.255: stabilise</td></tr>",
		"<tr><td>vanilla-sources</td><td><b>fixed</b></td>",
		"</table>",
	} {
		if !strings.Contains(formatted, want) {
			t.Errorf("formatted body lacks %q", want)
		}
	}
	if !strings.Contains(body(reply), "vanilla-sources | fixed | ~6.1.165, ~6.6.157, ~6.18.39, ~7.0, ~7.2.5: fixed") {
		t.Errorf("plain body lacks the vanilla-sources row: %q", body(reply))
	}
}
