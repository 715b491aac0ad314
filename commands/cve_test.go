// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/cvereport"
	"github.com/ksecbot/ksecbot/gentoo"
	"github.com/ksecbot/ksecbot/kernelcve"
)

// cveEnv is env with !cve wired to the real CNA records and the
// repository of real ::gentoo ebuilds.
func cveEnv(t *testing.T) *env {
	e := newEnv(t, "")
	e.cfg.Trees = []config.Tree{
		{Name: "gentoo-kernel", Packages: []string{"sys-kernel/gentoo-kernel"}, Handles: map[string][]string{"irc": {"distnick"}}, Bugzilla: []string{"dist-kernel@gentoo.org"}},
		{Name: "vanilla-sources", Packages: []string{"sys-kernel/vanilla-sources"}, Handles: map[string][]string{"irc": {"vannick"}}, Bugzilla: []string{"vanilla@gentoo.org"}},
		{Name: "rt-sources", Packages: []string{"sys-kernel/rt-sources"}, Bugzilla: []string{"rt@gentoo.org"}},
	}
	e.r = New(Deps{Config: e.cfg, Store: e.st, Now: e.clk.Now, Logger: e.r.log, RateBurst: 1000, RateEvery: 1,
		CVE: &cvereport.Checker{Store: kernelcve.NewStore("../kernelcve/testdata/vulns"), Repo: gentoo.NewRepo("../gentoo/testdata/repo")}})
	return e
}

func TestCVECommandIRC(t *testing.T) {
	e := cveEnv(t)
	got := text(e.say(idCarol, chPublic, "!cve CVE-2025-71238"))
	mustContain(t, got,
		"CVE-2025-71238: scsi: qla2xxx: Fix bsg_done() causing double free",
		"introduced 5.7", "fixed in 5.10.251, 5.15.201, 6.1.164, 6.6.127, 6.12.74, 6.18.13, 6.19.3, 7.0",
		"\naffected: gentoo-kernel 5.10.250: fix 5.10.251; newest stable 5.10.250 still affected, fixed in ~5.10.255: stabilise",
		" · rt-sources ~5.10.234: fix 5.10.251; ~6.1.112: fix 6.1.164\n",
		"\nfixed: vanilla-sources")
	if n := len(strings.Split(got, "\n")); n != 3 {
		t.Errorf("IRC answer has %d lines, want 3 (head, affected, the rest):\n%s", n, got)
	}
	for _, l := range strings.Split(got, "\n") {
		if len(l) > 400 {
			t.Errorf("line of %d bytes", len(l))
		}
	}
	mustContain(t, text(e.say(idCarol, chPublic, "!cve CVE-2026-45992")), "CVE-2026-45992 REJECTED: ALSA: caiaq")
	mustContain(t, text(e.say(idCarol, chPublic, "!cve cve-2099-0001")), "CVE-2099-0001: no record")
	mustContain(t, text(e.say(idCarol, chPublic, "!cve yesterday")), "'yesterday' is neither a CVE id nor a bug number; usage: !cve <CVE-id|bug>.")
}

// TestCVECommandManyTreesIRC: with many trees the IRC answer groups them
// by verdict, every tree is named, and no line is longer than the
// transport sends before cutting (4 IRC lines of about 400 bytes).
func TestCVECommandManyTreesIRC(t *testing.T) {
	e := cveEnv(t)
	for i := range 12 {
		pkg := []string{"sys-kernel/gentoo-kernel", "sys-kernel/vanilla-sources", "sys-kernel/rt-sources", "sys-kernel/pf-sources"}[i%4]
		e.cfg.Trees = append(e.cfg.Trees, config.Tree{Name: fmt.Sprintf("tree-%02d", i), Packages: []string{pkg, "sys-kernel/gentoo-sources"}})
	}
	e.r = New(Deps{Config: e.cfg, Store: e.st, Now: e.clk.Now, Logger: e.r.log, RateBurst: 1000, RateEvery: 1, CVE: e.r.d.CVE})
	got := text(e.say(idCarol, chPublic, "!cve CVE-2026-68118"))
	lines := strings.Split(got, "\n")
	for _, l := range lines {
		if len(l) > 4*380 {
			t.Errorf("a line of %d bytes would be cut on IRC: %s", len(l), l)
		}
	}
	for _, tr := range e.cfg.Trees {
		if !strings.Contains(got, tr.Name+" ") && !strings.Contains(got, tr.Name+",") && !strings.HasSuffix(got, tr.Name) {
			t.Errorf("tree %s missing from:\n%s", tr.Name, got)
		}
	}
	if len(lines) > 4 {
		t.Errorf("%d lines for one CVE, want at most 4 (head and three groups):\n%s", len(lines), got)
	}
	mustContain(t, got, "tree-03, tree-07, tree-11 pf-sources 6.1_p9, ~6.12_p5: unknown (patch set: map it in upstream_versions)")
}

func TestCVECommandBug(t *testing.T) {
	e := cveEnv(t)
	pub := e.bug(bugzillatest.NewBug{Summary: "kernel: qla2xxx double free", Alias: []string{"CVE-2025-71238"},
		SeeAlso: []string{"https://nvd.nist.gov/vuln/detail/CVE-2026-64108"}})
	got := text(e.say(idCarol, chPublic, "!cve "+itoa(pub)))
	mustContain(t, got, "bug "+itoa(pub)+": CVE-2025-71238", "bug "+itoa(pub)+": CVE-2026-64108", "affected: vanilla-sources ~7.0: fix 7.0.11")
	secret := e.bug(bugzillatest.NewBug{Summary: "embargoed CVE-2026-64108", Groups: []string{"security"}})
	got = text(e.say(idCarol, chPublic, "!cve "+itoa(secret)))
	mustContain(t, got, "is restricted")
	mustNotContain(t, got, "CVE-2026-64108", "cifs")
	mustContain(t, text(e.say(idAlice, chPrivate, "!cve "+itoa(secret))), "CVE-2026-64108: cifs: Fix busy dentry")
	// ksecbot reads with its own key: a bug outside the watches gets
	// only its link, even in a private channel.
	other := e.bug(bugzillatest.NewBug{Product: "Gentoo Linux", Component: "Current packages", Summary: "other product CVE-2025-71238"})
	got = text(e.say(idAlice, chPrivate, "!cve "+itoa(other)))
	mustContain(t, got, "show_bug.cgi?id="+itoa(other))
	mustNotContain(t, got, "CVE-2025-71238", "qla2xxx", "other product")
	none := e.bug(bugzillatest.NewBug{Summary: "kernel: something"})
	mustContain(t, text(e.say(idCarol, chPublic, "!cve "+itoa(none))), "names no CVE")
}

// TestCVECommandMatrixRows: off IRC the verdicts are table rows (one per
// tree, after a header row), which Matrix renders as an HTML table.
func TestCVECommandMatrixRows(t *testing.T) {
	e := cveEnv(t)
	outs := e.say(idBobMx, chMatrix, "!cve CVE-2025-71238")
	if len(outs) != 1 {
		t.Fatalf("%d replies", len(outs))
	}
	var rows []string
	for _, l := range outs[0].Lines {
		if l.IsRow() {
			rows = append(rows, l.Plain("matrix"))
		}
	}
	want := []string{
		"tree | verdict | versions",
		"gentoo-kernel | affected | 5.10.250: fix 5.10.251; newest stable 5.10.250 still affected, fixed in ~5.10.255: stabilise",
		"vanilla-sources | fixed | ~6.1.165, ~6.6.157, ~6.18.39, ~7.0, ~7.2.5: fixed",
		"rt-sources | affected | ~5.10.234: fix 5.10.251; ~6.1.112: fix 6.1.164",
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
}

func TestCVECommandOff(t *testing.T) {
	e := newEnv(t, "")
	mustContain(t, text(e.say(idCarol, chPublic, "!cve CVE-2025-71238")), "not configured")
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestPendingCVEMarker: !pending <tree> marks the bugs whose CVE affects
// that tree, and only those.
func TestPendingCVEMarker(t *testing.T) {
	e := cveEnv(t)
	affects := e.bug(bugzillatest.NewBug{Summary: "kernel: cifs busy dentry", Alias: []string{"CVE-2026-64108"}})  // vanilla 7.0 affected
	fixed := e.bug(bugzillatest.NewBug{Summary: "kernel: qla2xxx double free", Alias: []string{"CVE-2025-71238"}}) // vanilla fixed
	plain := e.bug(bugzillatest.NewBug{Summary: "kernel: no CVE yet"})
	got := text(e.say(idCarol, chMatrix, "!pending vanilla-sources"))
	lines := strings.Split(got, "\n")
	marked := map[int]bool{}
	for _, l := range lines {
		for _, id := range []int{affects, fixed, plain} {
			if strings.HasPrefix(l, "Bug "+itoa(id)+" ") && strings.Contains(l, "[CVE affects vanilla-sources]") {
				marked[id] = true
			}
		}
	}
	if !marked[affects] || marked[fixed] || marked[plain] {
		t.Errorf("markers %v (want only bug %d):\n%s", marked, affects, got)
	}
	// gentoo-kernel (5.10.250 stable) is affected by CVE-2025-71238.
	mustContain(t, text(e.say(idCarol, chMatrix, "!pending gentoo-kernel")), "[CVE affects gentoo-kernel]")
	mustNotContain(t, text(e.say(idCarol, chMatrix, "!pending")), "[CVE affects")
}

// demoCVEEnv is env with !cve wired to the demo's records and ebuilds,
// where two packages of one tree share versions (vanilla-sources and
// vanilla-kernel at 6.18.39; gentoo-sources and gentoo-kernel at 6.12.58
// and 6.18.39).
func demoCVEEnv(t *testing.T) *env {
	e := newEnv(t, "")
	e.cfg.Trees = []config.Tree{
		{Name: "gentoo-sources", Packages: []string{"sys-kernel/gentoo-sources", "sys-kernel/gentoo-kernel", "sys-kernel/gentoo-kernel-bin"}},
		{Name: "vanilla", Packages: []string{"sys-kernel/vanilla-sources", "sys-kernel/vanilla-kernel"}},
		{Name: "hardened", Packages: []string{"sys-kernel/hardened-sources"}},
	}
	e.r = New(Deps{Config: e.cfg, Store: e.st, Now: e.clk.Now, Logger: e.r.log, RateBurst: 1000, RateEvery: 1,
		CVE: &cvereport.Checker{Store: kernelcve.NewStore("../cmd/ksecbot/demodata/vulns"), Repo: gentoo.NewRepo("../cmd/ksecbot/demodata/repo")}})
	return e
}

// TestCVECommandSharedVersions: a tree whose packages share a version
// names each package once per answer, and no version twice for one
// package, whether the tree is affected (CVE-2026-74338 affects
// vanilla 6.18.39) or fixed (CVE-2025-21638); on IRC the answer stays
// within 4 lines.
func TestCVECommandSharedVersions(t *testing.T) {
	e := demoCVEEnv(t)
	for _, id := range []string{"CVE-2025-21638", "CVE-2026-74338"} {
		outs := e.say(idBobMx, chMatrix, "!cve "+id)
		rows := map[string]string{}
		for _, l := range outs[0].Lines {
			if l.IsRow() {
				cells := strings.SplitN(l.Plain("matrix"), " | ", 3)
				rows[cells[0]] = cells[2]
			}
		}
		for tree, versions := range rows {
			// An entry is a group of packages with their versions and
			// verdict: "gentoo-sources, gentoo-kernel 6.12.58, ~6.18.39: fixed".
			for _, entry := range strings.Split(versions, "; ") {
				for _, pkg := range []string{"gentoo-sources", "gentoo-kernel,", "gentoo-kernel ", "gentoo-kernel-bin", "vanilla-sources", "vanilla-kernel"} {
					if n := strings.Count(entry, pkg); n > 1 {
						t.Errorf("%s: an entry of the %s row names %s %d times: %s", id, tree, strings.Trim(pkg, ", "), n, versions)
					}
				}
				if f := strings.Fields(strings.NewReplacer(",", " ", ":", " ").Replace(entry)); len(f) != len(slices.Compact(slices.Sorted(slices.Values(f)))) {
					t.Errorf("%s: an entry of the %s row repeats a word: %s", id, tree, entry)
				}
			}
		}
		irc := text(e.say(idCarol, chPublic, "!cve "+id))
		if n := len(strings.Split(irc, "\n")); n > 4 {
			t.Errorf("%s: IRC answer of %d lines:\n%s", id, n, irc)
		}
		mustNotContain(t, irc, "vanilla-sources, vanilla-kernel ~6.18.39: no fix in 6.18 · vanilla-kernel")
	}
	outs := e.say(idBobMx, chMatrix, "!cve CVE-2025-21638")
	got := strings.Join(outs[0].Plain("matrix"), "\n")
	mustContain(t, got,
		"gentoo-sources | fixed | gentoo-sources, gentoo-kernel 6.12.58, ~6.18.39: fixed; gentoo-kernel-bin 6.12.58: fixed",
		"vanilla | fixed | vanilla-sources ~6.18.39, ~7.2.5: fixed; vanilla-kernel ~6.18.39: fixed",
		"hardened | affected | hardened-sources ~4.9.24: no fix in 4.9;")
}
