// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"strings"
	"testing"

	"github.com/ksecbot/ksecbot/chat"
)

// TestIRCAdmins checks that [irc] admins does what config.sample.toml
// says: a listed services account (compared case-insensitively) gets the
// admin role on IRC on top of its [[user]] roles; an unlisted one does
// not, and neither does the same name on Matrix.
func TestIRCAdmins(t *testing.T) {
	h := newHarness(t, `
[irc]
server = "irc.example.org:6697"
tls = true
nick = "ksecbot"
admins = ["Carol"]

[[user]]
bugzilla = "carol@gentoo.org"
irc_account = "carol"
matrix = "@carol:example.org"
roles = ["maintainer"]

[[user]]
bugzilla = "dave@gentoo.org"
irc_account = "dave"
roles = ["maintainer"]
`)
	rec := newRecorder("test", "#gentoo-kernel")
	b, _ := h.start(rec)
	ch := rec.channels[0]
	carol := chat.Identity{Network: chat.NetIRC, Account: "carol", Nick: "carol"}
	if got := ask(t, b.Router(), ch, carol, "!whoami"); !strings.Contains(got, "roles: admin, maintainer") {
		t.Errorf("!whoami of an [irc] admins account = %q, want the admin role", got)
	}
	dave := chat.Identity{Network: chat.NetIRC, Account: "dave", Nick: "dave"}
	if got := ask(t, b.Router(), ch, dave, "!whoami"); !strings.Contains(got, "roles: maintainer") || strings.Contains(got, "admin") {
		t.Errorf("!whoami of an account not in [irc] admins = %q, want maintainer only", got)
	}
	mx := chat.Identity{Network: chat.NetMatrix, Account: "@carol:example.org"}
	if got := ask(t, b.Router(), ch, mx, "!whoami"); strings.Contains(got, "admin") {
		t.Errorf("!whoami of the Matrix side of an [irc] admins account = %q, want no admin role", got)
	}
}

// TestCommandLogsNameTheirComponentOnce checks that a command's log line
// carries component=commands once, not twice.
func TestCommandLogsNameTheirComponentOnce(t *testing.T) {
	h := newHarness(t, "")
	logs := &syncBuffer{}
	h.logOut = logs
	rec := newRecorder("test", "#gentoo-kernel")
	b, _ := h.start(rec)
	anon := chat.Identity{Network: chat.NetIRC, Account: "stranger", Nick: "stranger"}
	ask(t, b.Router(), rec.channels[0], anon, "!claim 1") // refused: logged
	found := false
	for _, l := range strings.Split(logs.String(), "\n") {
		if !strings.Contains(l, "command refused") {
			continue
		}
		found = true
		if n := strings.Count(l, "component=commands"); n != 1 {
			t.Errorf("component=commands %d times in %q, want once", n, l)
		}
	}
	if !found {
		t.Fatalf("no \"command refused\" line logged:\n%s", logs.String())
	}
}
