// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
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
	carol := chat.Identity{Network: "irc", Account: "carol", Nick: "carol"}
	if got := ask(t, b.Live.Router(), ch, carol, "!whoami"); !strings.Contains(got, "roles: admin, maintainer") {
		t.Errorf("!whoami of an [irc] admins account = %q, want the admin role", got)
	}
	dave := chat.Identity{Network: "irc", Account: "dave", Nick: "dave"}
	if got := ask(t, b.Live.Router(), ch, dave, "!whoami"); !strings.Contains(got, "roles: maintainer") || strings.Contains(got, "admin") {
		t.Errorf("!whoami of an account not in [irc] admins = %q, want maintainer only", got)
	}
	mx := chat.Identity{Network: "matrix", Account: "@carol:example.org"}
	if got := ask(t, b.Live.Router(), ch, mx, "!whoami"); strings.Contains(got, "admin") {
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
	anon := chat.Identity{Network: "irc", Account: "stranger", Nick: "stranger"}
	ask(t, b.Live.Router(), rec.channels[0], anon, "!claim 1") // refused: logged
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

// TestMalformedBugzillaAnswer makes Bugzilla answer a !claim with
// truncated JSON: the caller is told Bugzilla answered garbage (not that it
// refused the change), and the next try, with Bugzilla healthy, works.
func TestMalformedBugzillaAnswer(t *testing.T) {
	h := newHarness(t, `
[[user]]
bugzilla = "alice@gentoo.org"
irc_account = "alice"
roles = ["security"]
`)
	id := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: Bugzilla answers this one with garbage"})
	rec := newRecorder("irc", "#gentoo-kernel")
	b, _ := h.start(rec)
	waitPolls(t, b, 1)
	ch := rec.channels[0]
	alice := chat.Identity{Network: "irc", Account: "alice", Nick: "alice"}
	h.srv.SetFault(bugzillatest.Fault{Mode: bugzillatest.FaultTruncate, Path: fmt.Sprintf("/rest/bug/%d", id)})
	say(b, rec, ch, alice, "claim1", fmt.Sprintf("!claim %d", id))
	msgs := rec.waitFor(t, 20*time.Second, "the claim's answer", func(m []chat.Outgoing) bool { return len(replyTo(m, "claim1")) > 0 })
	if r := replyTo(msgs, "claim1"); len(r) != 1 || r[0] != "Bugzilla answered garbage; try again." {
		t.Fatalf("answer to a claim that got malformed JSON: %q, want \"Bugzilla answered garbage; try again.\"", r)
	}
	h.srv.ClearFault()
	say(b, rec, ch, alice, "claim2", fmt.Sprintf("!claim %d", id))
	msgs = rec.waitFor(t, 20*time.Second, "the second claim's answer", func(m []chat.Outgoing) bool { return len(replyTo(m, "claim2")) > 0 })
	if r := replyTo(msgs, "claim2"); !strings.Contains(r[0], "Claimed") {
		t.Errorf("the retry after the garbage answer: %q, want it claimed", r)
	}
}

// TestHelpMatchesREADME checks that every command !help lists has a row in
// the README's command table and an entry in the man page.
func TestHelpMatchesREADME(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, "")
	rec := newRecorder("test", "#gentoo-kernel")
	b, _ := h.start(rec)
	help := ask(t, b.Live.Router(), rec.channels[0], chat.Identity{Network: "test", Nick: "newcomer"}, "!help")
	names := regexp.MustCompile(`!([a-z]+)`).FindAllStringSubmatch(help, -1)
	if len(names) < 8 {
		t.Fatalf("!help lists only %d commands: %q", len(names), help)
	}
	man, err := os.ReadFile(filepath.Join("..", "contrib", "man", "ksecbot.1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		row := regexp.MustCompile("(?m)^\\| [^|]*`!" + n[1] + "[ `]")
		if !row.Match(readme) {
			t.Errorf("!help lists !%s, the README's command table does not", n[1])
		}
		entry := regexp.MustCompile(`(?m)^\.BI? "?!` + n[1] + `[ "\n]`)
		if !entry.Match(man) {
			t.Errorf("!help lists !%s, the man page's CHAT COMMANDS does not", n[1])
		}
	}
}
