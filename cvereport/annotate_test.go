// SPDX-License-Identifier: GPL-3.0-or-later

package cvereport

import (
	"strings"
	"testing"

	"github.com/ksecbot/ksecbot/announce"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/policy"
	"github.com/ksecbot/ksecbot/trees"
)

var annTrees = []config.Tree{
	{Name: "gentoo-kernel", Packages: []string{"sys-kernel/gentoo-kernel"}, Handles: map[string][]string{"irc": {"distnick"}}},
	{Name: "vanilla-sources", Packages: []string{"sys-kernel/vanilla-sources"}, Handles: map[string][]string{"irc": {"vannick"}}},
	{Name: "rt-sources", Packages: []string{"sys-kernel/rt-sources"}, Handles: map[string][]string{"irc": {"rtnick"}}},
	{Name: "gentoo-sources", Packages: []string{"sys-kernel/gentoo-sources"}, Handles: map[string][]string{"irc": {"gsnick"}}},
}

// newBug renders a new bug's announcement as the deliverer does: the
// renderer's policy judges the bug for the channel first.
func newBug(r *announce.Renderer, b *bugzilla.Bug, ch chat.Channel) (chat.Line, bool) {
	return r.NewBug(r.Policy.See(b, ch, policy.Announce))
}

// full is a bug as a private channel may see it.
func full(b *bugzilla.Bug) policy.Full {
	f, _ := (&policy.Policy{}).See(b, chat.Channel{Key: "irc:#s", Private: true}, policy.Describe).Full()
	return f
}

func renderer(highlight string) *announce.Renderer {
	r := announce.NewRenderer("https://bugs.gentoo.org", trees.New(annTrees), "")
	r.CVE = &Annotator{Checker: checker(), Trees: annTrees, Highlight: highlight}
	return r
}

var (
	chPub  = chat.Channel{Key: "irc:#k", Network: "irc", Name: "#k"}
	chPriv = chat.Channel{Key: "irc:#s", Network: "irc", Name: "#s", Private: true}
)

// TestAnnouncementHighlightsOnlyAffected: with highlight = "affected" the
// announcement carries the fixes on the trees' branches, highlights the
// affected trees with their verdict and names the fixed and unaffected
// ones without highlighting them.
func TestAnnouncementHighlightsOnlyAffected(t *testing.T) {
	b := &bugzilla.Bug{ID: 950001, Alias: []string{"CVE-2025-71238"}, Summary: "kernel: scsi: qla2xxx: double free in bsg_done()", Severity: "major"}
	l, ok := newBug(renderer(config.HighlightAffected), b, chPub)
	if !ok {
		t.Fatal("not announced")
	}
	got := l.Plain("irc")
	want := "New kernel security bug 950001 CVE-2025-71238: kernel: scsi: qla2xxx: double free in bsg_done() (major) https://bugs.gentoo.org/show_bug.cgi?id=950001" +
		" | CVE-2025-71238 fixed in 5.10.251, 6.1.164, 6.6.127, 6.18.13, 7.0" +
		" | gentoo-kernel: distnick (affected 5.10.250: fix 5.10.251; newest stable 5.10.250 still affected, fixed in ~5.10.255: stabilise)" +
		"; rt-sources: rtnick (affected ~5.10.234: fix 5.10.251; ~6.1.112: fix 6.1.164)" +
		" | not pinged: vanilla-sources fixed, gentoo-sources unaffected"
	if got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
	var pinged []string
	for _, s := range l {
		if s.Kind == chat.SpanMention {
			pinged = append(pinged, s.Highlight.Tree)
		}
	}
	if strings.Join(pinged, ",") != "gentoo-kernel,rt-sources" {
		t.Errorf("mentions %v", pinged)
	}
	// highlight = "all": every tree highlighted, each with its verdict.
	l, _ = newBug(renderer(config.HighlightAll), b, chPub)
	got = l.Plain("irc")
	if !strings.Contains(got, "vanilla-sources: vannick (fixed); rt-sources: rtnick (affected ~5.10.234: fix 5.10.251; ~6.1.112: fix 6.1.164); gentoo-sources: gsnick (unaffected)") || strings.Contains(got, "not pinged") {
		t.Errorf("highlight all: %s", got)
	}
}

// TestAnnouncementSeveralCVEs: a bug naming two CVEs combines them: a tree
// fixed for one and affected by the other is affected.
func TestAnnouncementSeveralCVEs(t *testing.T) {
	b := &bugzilla.Bug{ID: 950002, Alias: []string{"CVE-2025-71238"}, Summary: "kernel: two bugs",
		SeeAlso: []string{"https://nvd.nist.gov/vuln/detail/CVE-2026-64108"}}
	l, _ := newBug(renderer(config.HighlightAffected), b, chPub)
	got := l.Plain("irc")
	for _, want := range []string{"CVE-2025-71238 fixed in 5.10.251", "; CVE-2026-64108 fixed in 6.1.175, 6.6.142, 6.18.34, 7.0.11, 7.1",
		"vanilla-sources: vannick (affected by CVE-2026-64108, ~7.0: fix 7.0.11)", "not pinged: gentoo-sources unaffected"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in %s", want, got)
		}
	}
}

// TestAnnouncementRestrictedCVE: a restricted bug's CVE reaches only
// private channels; the public line says nothing about it.
func TestAnnouncementRestrictedCVE(t *testing.T) {
	b := &bugzilla.Bug{ID: 950003, Alias: []string{"CVE-2025-71238"}, Summary: "kernel: embargoed qla2xxx", Groups: []string{"security"}}
	r := renderer(config.HighlightAffected)
	l, ok := newBug(r, b, chPub)
	if !ok {
		t.Fatal("withheld line not sent")
	}
	pub := l.Plain("irc")
	for _, bad := range []string{"CVE", "5.10.251", "affected", "gentoo-kernel", "distnick"} {
		if strings.Contains(pub, bad) {
			t.Errorf("public line %q reveals %q", pub, bad)
		}
	}
	l, _ = newBug(r, b, chPriv)
	if priv := l.Plain("irc"); !strings.Contains(priv, "CVE-2025-71238 fixed in 5.10.251") || !strings.Contains(priv, "distnick (affected") {
		t.Errorf("private line: %s", priv)
	}
}

// TestAnnouncementWithoutRecord: a CVE unknown to the CNA (or no CVE)
// leaves the announcement as it was, every tree highlighted.
func TestAnnouncementWithoutRecord(t *testing.T) {
	r := renderer(config.HighlightAffected)
	plain := &announce.Renderer{URL: r.URL, Policy: r.Policy}
	for _, b := range []*bugzilla.Bug{
		{ID: 950004, Alias: []string{"CVE-2099-0001"}, Summary: "kernel: not a kernel CNA CVE"},
		{ID: 950005, Summary: "kernel: no CVE yet"},
	} {
		l, _ := newBug(r, b, chPub)
		want, _ := newBug(plain, b, chPub)
		if l.Plain("irc") != want.Plain("irc") {
			t.Errorf("bug %d:\n got %s\nwant %s", b.ID, l.Plain("irc"), want.Plain("irc"))
		}
	}
}

// TestAnnouncementRejectedCVE: a CVE the kernel CNA rejected is said so
// and changes no highlight.
func TestAnnouncementRejectedCVE(t *testing.T) {
	b := &bugzilla.Bug{ID: 950006, Alias: []string{"CVE-2024-27042"}, Summary: "kernel: amdgpu out-of-bounds"}
	l, _ := newBug(renderer(config.HighlightAffected), b, chPub)
	got := l.Plain("irc")
	for _, want := range []string{"CVE-2024-27042 was rejected by the kernel CNA", "gentoo-kernel: distnick", "vanilla-sources: vannick", "rt-sources: rtnick", "gentoo-sources: gsnick"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in %s", want, got)
		}
	}
	if strings.Contains(got, "not pinged") {
		t.Errorf("a rejected CVE silenced trees: %s", got)
	}
}

// TestAnnouncementFourthCVECounts: every CVE of a bug counts. A bug names
// four CVEs and only the fourth (CVE-2025-40039: rt-sources 6.1.112
// vulnerable with no fix, per its .dyad) affects rt-sources: rt-sources is
// highlighted, with the fourth CVE named; the line describes three CVEs and
// says "and 1 more".
func TestAnnouncementFourthCVECounts(t *testing.T) {
	b := &bugzilla.Bug{ID: 950007, Summary: "kernel: CVE-2024-36010 CVE-2026-64108 CVE-2026-43389 CVE-2025-40039"}
	if got := BugCVEs(full(b)); len(got) != 4 {
		t.Fatalf("BugCVEs = %q, want all four", got)
	}
	l, _ := newBug(renderer(config.HighlightAffected), b, chPub)
	got := l.Plain("irc")
	for _, want := range []string{"and 1 more kernel CVE |",
		"rt-sources: rtnick (affected by CVE-2025-40039, ~6.1.112: no fix in 6.1; fixed in 6.6.123, 6.12.53, 6.17.3, 6.18 (per the .dyad))",
		"not pinged: gentoo-kernel unaffected, gentoo-sources unaffected"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	var pinged []string
	for _, s := range l {
		if s.Kind == chat.SpanMention {
			pinged = append(pinged, s.Highlight.Tree)
		}
	}
	if strings.Join(pinged, ",") != "vanilla-sources,rt-sources" {
		t.Errorf("mentions %v, want vanilla-sources (CVE-2026-64108) and rt-sources (the fourth)", pinged)
	}
}
