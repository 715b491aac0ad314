// SPDX-License-Identifier: GPL-3.0-or-later

package e2eirc

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/e2e/e2etest"
	"github.com/ksecbot/ksecbot/internal/irctest"
)

// cveTrees are trees whose versions come from the repository of real
// ::gentoo ebuilds in gentoo/testdata.
var cveTrees = []e2etest.Tree{
	{Name: "gentoo-kernel", Packages: []string{"sys-kernel/gentoo-kernel"}, Bugzilla: []string{"dist-kernel@gentoo.org"}, IRC: []string{"gkmaint"}},
	{Name: "vanilla-sources", Packages: []string{"sys-kernel/vanilla-sources"}, Bugzilla: []string{"kernel@gentoo.org"}, IRC: []string{"vanmaint"}},
	{Name: "rt-sources", Packages: []string{"sys-kernel/rt-sources"}, Bugzilla: []string{"kernel@gentoo.org"}, IRC: []string{"rtmaint"}},
	{Name: "gentoo-sources", Packages: []string{"sys-kernel/gentoo-sources"}, Bugzilla: []string{"kernel@gentoo.org"}, IRC: []string{"gsmaint"}},
}

// cveExtra is the [kernel_cve] and [gentoo] configuration on the real CNA
// records (kernelcve/testdata) and the real ebuilds (gentoo/testdata).
func cveExtra(t *testing.T) string {
	root, err := e2etest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("\n[kernel_cve]\npath = %q\n\n[gentoo]\nrepo = %q\n",
		filepath.Join(root, "kernelcve", "testdata", "vulns"), filepath.Join(root, "gentoo", "testdata", "repo"))
}

// TestAnnounceKernelCVE: a new bug whose alias is a kernel CVE is
// announced with the fix releases of the trees' branches; the trees the
// CVE affects are highlighted with their verdict, the fixed and
// unaffected ones are named without a highlight. Then !cve answers.
func TestAnnounceKernelCVE(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	ch := randName("#e2e-cve")
	obs := newObserver(t, s.Addr, "", "observer")
	obs.Join(t, ch, "")
	c := fastFlood(newConfig(t, bz, s.Addr, ch))
	c.Trees = cveTrees
	c.Extra = cveExtra(t)
	bot := startBot(t, c)
	bot.ready(t, obs, ch)

	id := bz.CreateBug(bugzillatest.NewBug{Summary: "kernel: scsi: qla2xxx: double free in bsg_done()", Alias: []string{"CVE-2025-71238"}, Severity: "major"})
	var lines []string
	obs.Until(t, 15*time.Second, fmt.Sprintf("announcement of bug %d with its CVE verdicts", id), func(h []ircmsg.Message) bool {
		lines = lines[:0]
		for _, m := range h {
			if from("PRIVMSG", bot.nick, ch)(m) {
				lines = append(lines, plainText(m.Params[1]))
			}
		}
		return strings.Contains(strings.Join(lines, " "), "not pinged:")
	})
	txt := strings.Join(lines, " ")
	t.Logf("announcement: %q", lines)
	for _, want := range []string{
		fmt.Sprintf("bug %d", id),
		"CVE-2025-71238 fixed in 5.10.251, 6.1.164, 6.6.127, 6.18.13, 7.0",
		"gentoo-kernel: gkmaint (affected 5.10.250: fix 5.10.251; newest stable 5.10.250 still affected, fixed in ~5.10.255: stabilise)",
		"rt-sources: rtmaint (affected ~5.10.234: fix 5.10.251; ~6.1.112: fix 6.1.164)",
		"not pinged: vanilla-sources fixed, gentoo-sources unaffected",
	} {
		if !strings.Contains(txt, want) {
			t.Errorf("announcement lacks %q", want)
		}
	}
	for _, nick := range []string{"vanmaint", "gsmaint"} {
		if strings.Contains(txt, nick) {
			t.Errorf("announcement highlights %s, whose tree is not affected", nick)
		}
	}

	before := len(obs.History())
	obs.Say(t, ch, "!cve CVE-2026-64108")
	var reply []string
	obs.Until(t, 15*time.Second, "!cve reply", func(h []ircmsg.Message) bool {
		reply = reply[:0]
		for _, m := range h[before:] {
			if from("PRIVMSG", bot.nick, ch)(m) {
				reply = append(reply, plainText(m.Params[1]))
			}
		}
		return strings.Contains(strings.Join(reply, " "), "unaffected: ")
	})
	rt := strings.Join(reply, " ")
	t.Logf("!cve reply: %q", reply)
	for _, want := range []string{"CVE-2026-64108: cifs: Fix busy dentry used after unmounting", "introduced 7.0",
		"fixed in 6.1.175, 6.6.142, 6.12.92, 6.18.34, 7.0.11, 7.1", "affected: vanilla-sources ~7.0: fix 7.0.11", "unaffected: gentoo-kernel, rt-sources, gentoo-sources"} {
		if !strings.Contains(rt, want) {
			t.Errorf("!cve reply lacks %q", want)
		}
	}
}

// TestRestrictedKernelCVE: a restricted bug naming a kernel CVE. The
// private channel gets the fixes and verdicts with the affected tree's
// maintainer highlighted; the public channel gets only the withheld line
// (no CVE, no fix, no tree); !cve of the bug there says it is restricted.
func TestRestrictedKernelCVE(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	bz := embargoBugzilla(t)
	obs := newObserver(t, s.Addr, "", "observer")
	private, public := randName("#e2e-csec"), randName("#e2e-cpub")
	obs.Join(t, private, "")
	obs.Join(t, public, "")
	c := fastFlood(newConfig(t, bz, s.Addr, private, public))
	c.IRC.Private = []string{private}
	c.Trees = cveTrees
	c.Extra = cveExtra(t)
	bot := startBot(t, c)
	bot.ready(t, obs, private, public)

	id := bz.CreateBug(bugzillatest.NewBug{Summary: "kernel: embargoed qla2xxx double free", Alias: []string{"CVE-2025-71238"}, Groups: []string{"security"}})
	// The line is long: the IRC transport may wrap it; read every line.
	var lines []string
	obs.Until(t, 30*time.Second, "the private announcement", func(h []ircmsg.Message) bool {
		lines = lines[:0]
		for _, m := range h {
			if from("PRIVMSG", bot.nick, private)(m) {
				lines = append(lines, plainText(m.Params[1]))
			}
		}
		return strings.Contains(strings.Join(lines, " "), "not pinged:")
	})
	full := strings.Join(lines, " ")
	for _, want := range []string{"CVE-2025-71238 fixed in 5.10.251", "gentoo-kernel: gkmaint (affected", "not pinged: vanilla-sources fixed"} {
		if !strings.Contains(full, want) {
			t.Errorf("private line %q lacks %q", full, want)
		}
	}
	m, _ := obs.WaitFor(t, 30*time.Second, "the public announcement", privmsgFrom(bot.nick, public, fmt.Sprintf("bug %d", id)))
	withheld := plainText(m.Params[1])
	if want := fmt.Sprintf("New restricted kernel security bug %d, details withheld https://bugs.gentoo.org/show_bug.cgi?id=%d", id, id); withheld != want {
		t.Errorf("public line %q, want %q", withheld, want)
	}
	obs.Say(t, public, fmt.Sprintf("!cve %d", id))
	m, _ = obs.WaitFor(t, 15*time.Second, "the public !cve reply", privmsgFrom(bot.nick, public, "restricted"))
	if r := plainText(m.Params[1]); strings.Contains(r, "CVE-") || strings.Contains(r, "qla2xxx") {
		t.Errorf("public !cve reply %q reveals the CVE", r)
	}
	t.Logf("private: %q", full)
	t.Logf("public:  %q", withheld)
}

// TestAnnounceBugWithFourCVEs: every CVE of a bug counts. The bug names
// four CVEs and only the fourth, CVE-2025-40039, affects rt-sources
// (6.1.112, per its .dyad): rt-sources' maintainer is highlighted, the
// fourth CVE named with its verdict, and the line says "and 1 more".
func TestAnnounceBugWithFourCVEs(t *testing.T) {
	t.Parallel()
	s := irctest.Need(t)
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	ch := randName("#e2e-cve4")
	obs := newObserver(t, s.Addr, "", "observer")
	obs.Join(t, ch, "")
	c := fastFlood(newConfig(t, bz, s.Addr, ch))
	c.Trees = cveTrees
	c.Extra = cveExtra(t)
	bot := startBot(t, c)
	bot.ready(t, obs, ch)

	id := bz.CreateBug(bugzillatest.NewBug{Summary: "kernel: CVE-2024-36010 CVE-2026-64108 CVE-2026-43389 CVE-2025-40039", Severity: "major"})
	var txt string
	obs.Until(t, 15*time.Second, fmt.Sprintf("announcement of bug %d", id), func(h []ircmsg.Message) bool {
		var lines []string
		for _, m := range h {
			if from("PRIVMSG", bot.nick, ch)(m) {
				lines = append(lines, plainText(m.Params[1]))
			}
		}
		txt = strings.Join(lines, " ")
		return strings.Contains(txt, "not pinged:")
	})
	t.Logf("announcement: %s", txt)
	for _, want := range []string{"and 1 more kernel CVE |", "rt-sources: rtmaint (affected by CVE-2025-40039, ~6.1.112: no fix in 6.1",
		"not pinged: gentoo-kernel unaffected, gentoo-sources unaffected"} {
		if !strings.Contains(txt, want) {
			t.Errorf("announcement lacks %q", want)
		}
	}
	for _, nick := range []string{"gkmaint", "gsmaint"} {
		if strings.Contains(txt, nick) {
			t.Errorf("announcement highlights %s", nick)
		}
	}
}
