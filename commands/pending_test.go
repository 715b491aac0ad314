// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
)

// TestPendingTree: !pending hardened lists the open bugs that concern
// hardened (named in the summary, whiteboard or aliases by name, alias or
// package, or naming no tree: the matching of highlights) and that
// hardened has neither claimed (assigned to its login) nor been CC'd on;
// other trees' bugs are not listed. In a public channel a restricted
// bug's text does not decide (it is listed as naming no tree, withheld).
func TestPendingTree(t *testing.T) {
	e := newEnv(t, "")
	e.cfg.Trees = append(e.cfg.Trees, config.Tree{Name: "rpi", Packages: []string{"sys-kernel/raspberrypi-sources"},
		Bugzilla: []string{"rpi@gentoo.org"}, Unsupported: true})
	e.r = New(Deps{Config: e.cfg, Store: e.st, Now: e.clk.Now, Logger: e.r.log, RateBurst: 1000, RateEvery: time.Millisecond})
	created := e.clk.Now().Add(-48 * time.Hour)
	n := 0
	bug := func(nb bugzillatest.NewBug) int {
		n++
		nb.Created = created.Add(time.Duration(n) * time.Minute)
		return e.bug(nb)
	}
	listed := map[string]int{
		"by package":            bug(bugzillatest.NewBug{Summary: "<sys-kernel/hardened-sources-6.6.60: overflow in ext4"}),
		"by name":               bug(bugzillatest.NewBug{Summary: "hardened: use-after-free in nf_tables"}),
		"in the whiteboard":     bug(bugzillatest.NewBug{Summary: "kernel: flaw in the grsec bits", Whiteboard: "A2 [hardened]"}),
		"in an alias":           bug(bugzillatest.NewBug{Summary: "a flaw", Alias: []string{"hardened-2026-0001"}}),
		"naming no tree":        bug(bugzillatest.NewBug{Summary: "kernel: race in net/sched"}),
		"naming two trees":      bug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources and hardened-sources: double free"}),
		"claimed by someone":    bug(bugzillatest.NewBug{Summary: "hardened: claimed by alice", AssignedTo: "alice@gentoo.org"}),
		"restricted, no tree":   bug(bugzillatest.NewBug{Summary: "SECRET race in io_uring", Groups: []string{"security"}}),
		"restricted, mips only": bug(bugzillatest.NewBug{Summary: "SECRET sys-kernel/mips-sources flaw", Groups: []string{"security"}}),
	}
	notListed := map[string]int{
		"another tree's":           bug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: overflow"}),
		"another tree's alias":     bug(bugzillatest.NewBug{Summary: "dist-kernel: overflow"}),
		"hardened in CC":           bug(bugzillatest.NewBug{Summary: "hardened: in CC", CC: []string{"hardened@gentoo.org"}}),
		"claimed by hardened":      bug(bugzillatest.NewBug{Summary: "hardened: claimed", AssignedTo: "hardened@gentoo.org"}),
		"resolved":                 bug(bugzillatest.NewBug{Summary: "hardened: fixed", Status: "RESOLVED"}),
		"only the unsupported rpi": bug(bugzillatest.NewBug{Summary: "sys-kernel/raspberrypi-sources: flaw"}),
		"outside the watch":        bug(bugzillatest.NewBug{Summary: "hardened: elsewhere", Product: "Gentoo Linux", Component: "Kernel"}),
	}
	e.clk.Advance(time.Hour)
	matrixPub := chMatrix // 20 lines: nothing is cut off
	got := text(e.say(idBobMx, matrixPub, "!pending hardened"))
	for what, id := range listed {
		if !strings.Contains(got, fmt.Sprintf("Bug %d ", id)) {
			t.Errorf("!pending hardened does not list bug %d (%s):\n%s", id, what, got)
		}
	}
	for what, id := range notListed {
		if strings.Contains(got, fmt.Sprintf("Bug %d ", id)) {
			t.Errorf("!pending hardened lists bug %d (%s):\n%s", id, what, got)
		}
	}
	mustNotContain(t, got, "SECRET", "mips")
	if lines := strings.Count(got, "\n") + 1; lines != len(listed) {
		t.Errorf("%d lines, want %d:\n%s", lines, len(listed), got)
	}
	t.Logf("!pending hardened in a public room:\n%s", got)

	// In a private channel the restricted bug that names only mips is
	// judged by its text: it does not concern hardened.
	got = text(e.say(idAlice, chConsole, "!pending hardened"))
	mustContain(t, got, "SECRET race in io_uring")
	mustNotContain(t, got, "SECRET sys-kernel/mips-sources flaw")

	// An unsupported tree is concerned only by bugs that name it.
	got = text(e.say(idAlice, chConsole, "!pending rpi"))
	mustContain(t, got, fmt.Sprintf("Bug %d ", notListed["only the unsupported rpi"]))
	if lines := strings.Count(got, "\n") + 1; lines != 1 {
		t.Errorf("!pending rpi: %d lines, want the one bug naming rpi:\n%s", lines, got)
	}

	// On IRC: three lines, then "and N more" with a search that names the
	// tree by its login name only (a public channel shows no address).
	got = text(e.say(idAlice, chPublic, "!pending hardened"))
	mustContain(t, got, fmt.Sprintf("and %d more (all open bugs without hardened in CC: https://bugs.gentoo.org/buglist.cgi?", len(listed)-3),
		"f1=cc&f2=assigned_to", "o1=notregexp&o2=notregexp", "v1=%5Ehardened%40&v2=%5Ehardened%40")
	mustNotContain(t, got, "gentoo.org&", "SECRET")

	// A tree every open bug of which it has seen.
	got = text(e.say(idAlice, chPublic, "!pending gentoo-kernel"))
	mustNotContain(t, got, "dist-kernel: overflow") // kernel@ is the component's default CC
	mustContain(t, got, "No open kernel security bug that concerns gentoo-sources is waiting for it")

	mustContain(t, text(e.say(idNick, chPublic, "!help pending")),
		"with a tree, the open bugs that concern it (named in the summary, whiteboard or aliases, or naming no tree) and that it has neither claimed nor been CC'd on")
}

// TestMine: !mine lists the open bugs in the watches assigned to the
// caller's linked login (also when an anonymous mirror shortened it), with
// restricted ones withheld in public; unlinked and unidentified callers
// are told why there is no list and what to do.
func TestMine(t *testing.T) {
	e := newEnv(t, "")
	created := e.clk.Now().Add(-24 * time.Hour)
	mine := []int{
		e.bug(bugzillatest.NewBug{Summary: "hardened: alice's first", AssignedTo: "alice@gentoo.org", Created: created}),
		e.bug(bugzillatest.NewBug{Summary: "SECRET alice's restricted", AssignedTo: "alice@gentoo.org", Groups: []string{"security"}, Created: created.Add(time.Minute)}),
	}
	short := e.bug(bugzillatest.NewBug{Summary: "mirrored anonymously", AssignedTo: "alice@gentoo.org", Created: created.Add(2 * time.Minute)})
	b, _, _ := e.st.Bug(e.ctx, short)
	b.AssignedTo = "alice" // as anonymous Bugzilla shows it
	b.LastChangeTime = b.LastChangeTime.Add(time.Second)
	if err := e.st.SaveBugs(e.ctx, []bugzilla.Bug{*b}, nil, true); err != nil {
		t.Fatal(err)
	}
	mine = append(mine, short)
	others := []int{
		e.bug(bugzillatest.NewBug{Summary: "someone else's", AssignedTo: "bob@gentoo.org"}),
		e.bug(bugzillatest.NewBug{Summary: "at another domain", AssignedTo: "alice@evil.example"}),
		e.bug(bugzillatest.NewBug{Summary: "alice's fixed one", AssignedTo: "alice@gentoo.org", Status: "RESOLVED"}),
		e.bug(bugzillatest.NewBug{Summary: "unclaimed"}),
		e.bug(bugzillatest.NewBug{Summary: "alice's, other product", AssignedTo: "alice@gentoo.org", Product: "Gentoo Linux", Component: "Kernel"}),
	}
	e.clk.Advance(time.Hour)

	got := text(e.say(idAlice, chPublic, "!mine"))
	for _, id := range mine {
		mustContain(t, got, fmt.Sprintf("Bug %d ", id))
	}
	for _, id := range others {
		mustNotContain(t, got, fmt.Sprintf("Bug %d ", id))
	}
	mustContain(t, got, fmt.Sprintf("Bug %d (24h): restricted, details withheld", mine[1]), fmt.Sprintf("Bug %d (25h, normal): hardened: alice's first", mine[0]))
	mustNotContain(t, got, "SECRET", "@")
	if lines := strings.Count(got, "\n") + 1; lines != 3 {
		t.Errorf("!mine: %d lines, want 3:\n%s", lines, got)
	}
	t.Logf("!mine for alice in public:\n%s", got)
	mustContain(t, text(e.say(idAlice, chPrivate, "!mine")), "SECRET alice's restricted")

	// Beyond the IRC cap: "and N more" with a search for the login name.
	for i := range 3 {
		e.bug(bugzillatest.NewBug{Summary: fmt.Sprintf("more of alice's %d", i), AssignedTo: "alice@gentoo.org"})
	}
	got = text(e.say(idAlice, chPublic, "!mine"))
	mustContain(t, got, "and 3 more: https://bugs.gentoo.org/buglist.cgi?component=Kernel&f1=assigned_to&o1=regexp&product=Gentoo+Security&query_format=advanced&resolution=---&v1=%5Ealice%40")
	mustContain(t, text(e.say(idAlice, chPrivate, "!mine")), "&o1=equals&", "&v1=alice%40gentoo.org")

	for _, tc := range []struct {
		name string
		who  chat.Identity
		ch   chat.Channel
		want string
	}{
		{"none", idCarol, chPublic, "No open kernel security bugs are assigned to you (carol)."},
		{"unlinked", idMallory, chPublic, `IRC account mallory is not linked to a Bugzilla login, so I cannot tell which bugs are yours: ask the ksecbot operator to add a [[user]] entry with irc_account = "mallory"`},
		{"not identified", idNick, chPublic, "You are not identified, so I cannot tell whose bugs to list: log in to your services account (/msg NickServ IDENTIFY ...) and try !mine again."},
		{"Matrix", idBobMx, chMatrix, fmt.Sprintf("Bug %d (1h, normal): someone else's", others[0])},
	} {
		got := text(e.say(tc.who, tc.ch, "!mine"))
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s: !mine = %q, want %q", tc.name, got, tc.want)
		}
	}
	noLogin := New(Deps{Config: &config.Config{Bugzilla: e.cfg.Bugzilla, Watches: e.cfg.Watches}, Store: e.st, Now: e.clk.Now, Logger: e.r.log})
	got = text(noLogin.Handle(e.ctx, chat.Incoming{Channel: chConsole, Sender: idConsole, Text: "!mine"}))
	mustContain(t, got, "The console has no Bugzilla login")
	mustContain(t, text(e.say(idConsole, chConsole, "!mine")), "No open kernel security bugs are assigned to you (admin@gentoo.org).")
}
