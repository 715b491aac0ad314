// SPDX-License-Identifier: GPL-3.0-or-later

package stats_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/announce"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/cvereport"
	"github.com/ksecbot/ksecbot/internal/fakeclock"
	"github.com/ksecbot/ksecbot/stats"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/trees"
)

var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "k.db"), store.WithNow(fakeclock.New(t0).Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func bug(id int, summary string, alias []string, groups ...string) bugzilla.Bug {
	return bugzilla.Bug{ID: id, Summary: summary, Alias: alias, Groups: groups, Product: "Gentoo Security", Component: "Kernel",
		Status: "CONFIRMED", AssignedTo: "security@gentoo.org", CreationTime: t0, LastChangeTime: t0}
}

// ReactionTimes gives each tree the CC times of its own logins, compared
// as Bugzilla logins (a mirror read anonymously shows "hardened").
func TestReactionTimesPerTree(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	b1, b2 := bug(1, "one", nil), bug(2, "two", nil)
	if err := st.SaveBugs(ctx, []bugzilla.Bug{b1, b2}, nil, true); err != nil {
		t.Fatal(err)
	}
	b1.CC, b1.LastChangeTime = []string{"hardened@gentoo.org"}, t0.Add(time.Hour)
	b2.CC, b2.LastChangeTime = []string{"hardened", "kernel@gentoo.org"}, t0.Add(3*time.Hour)
	if err := st.SaveBugs(ctx, []bugzilla.Bug{b1, b2}, nil, false); err != nil {
		t.Fatal(err)
	}
	tr := []config.Tree{
		{Name: "hardened", Bugzilla: []string{"hardened@gentoo.org"}},
		{Name: "gentoo-sources", Bugzilla: []string{"kernel@gentoo.org"}},
		{Name: "rt-sources", Bugzilla: []string{"rt@gentoo.org"}},
	}
	rs, err := stats.ReactionTimes(ctx, st, tr, t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]stats.Reaction{}
	for _, r := range rs {
		got[r.Action+"/"+r.Tree] = r
	}
	if r := got["cc/hardened"]; r.N != 2 || r.Median != 2*time.Hour || r.P90 != 3*time.Hour {
		t.Errorf("hardened: %+v, want 2 CCs (1h, 3h): median 2h, p90 3h", r)
	}
	if r := got["cc/gentoo-sources"]; r.N != 1 || r.Median != 3*time.Hour {
		t.Errorf("gentoo-sources: %+v, want 1 CC after 3h", r)
	}
	if r, ok := got["cc/rt-sources"]; !ok || r.N != 0 {
		t.Errorf("rt-sources: %+v %v, want a row without figures", r, ok)
	}
	if _, ok := got["announced/"]; !ok {
		t.Errorf("no announcement row in %+v", rs)
	}
}

// CVEQuietness counts a restricted bug only in a channel that may see it
// in full; a public bug everywhere.
func TestCVEQuietnessAsTheChannelMaySee(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	cfg := &config.Config{
		Trees: []config.Tree{
			{Name: "gentoo-kernel", Packages: []string{"sys-kernel/gentoo-kernel"}, Handles: map[string][]string{"irc": {"gkmaint"}}},
			{Name: "vanilla-sources", Packages: []string{"sys-kernel/vanilla-sources"}, Handles: map[string][]string{"irc": {"vanmaint"}}},
			{Name: "gentoo-sources", Packages: []string{"sys-kernel/gentoo-sources"}, Handles: map[string][]string{"irc": {"gsmaint"}}},
		},
		KernelCVE: &config.KernelCVE{Path: "../kernelcve/testdata/vulns", Highlight: config.HighlightAffected},
		Gentoo:    &config.Gentoo{Repo: "../gentoo/testdata/repo"},
	}
	checker := cvereport.New(cfg)
	if checker == nil {
		t.Fatal("no CVE checker for the test data")
	}
	r := announce.NewRenderer("https://bugs.example.org", trees.New(cfg.Trees), announce.RestrictedWithhold)
	r.CVE = &cvereport.Annotator{Checker: checker, Trees: cfg.Trees, Highlight: cfg.KernelCVE.Highlight}
	// CVE-2025-71238: vanilla-sources fixed, gentoo-sources unaffected:
	// two highlights spared on each bug that names it.
	bugs := []bugzilla.Bug{
		bug(1, "kernel: qla2xxx double free", []string{"CVE-2025-71238"}),
		bug(2, "kernel: embargoed qla2xxx double free", []string{"CVE-2025-71238"}, "security"),
		bug(3, "kernel: no CVE yet", nil),
	}
	if err := st.SaveBugs(ctx, bugs, nil, true); err != nil {
		t.Fatal(err)
	}
	public := chat.Channel{Network: "irc", Name: "#kernel", Key: "irc:#kernel"}
	private := chat.Channel{Network: "irc", Name: "#security", Key: "irc:#security", Private: true}
	for _, tc := range []struct {
		ch   chat.Channel
		want stats.CVEQuiet
	}{
		{public, stats.CVEQuiet{Bugs: 2, WithCVE: 1, Fewer: 1, Spared: 2}},
		{private, stats.CVEQuiet{Bugs: 3, WithCVE: 2, Fewer: 2, Spared: 4}},
	} {
		q, ok, err := stats.CVEQuietness(ctx, st, r, t0.Add(-time.Hour), tc.ch)
		if err != nil || !ok || q != tc.want {
			t.Errorf("CVEQuietness in %s = %+v %v %v, want %+v", tc.ch.Name, q, ok, err, tc.want)
		}
	}
	if _, ok, _ := stats.CVEQuietness(ctx, st, announce.NewRenderer("https://bugs.example.org", nil, ""), t0, public); ok {
		t.Error("CVEQuietness without [kernel_cve] is on")
	}
}
