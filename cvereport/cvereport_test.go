// SPDX-License-Identifier: GPL-3.0-or-later

package cvereport

import (
	"reflect"
	"testing"

	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/gentoo"
	"github.com/ksecbot/ksecbot/kernelcve"
)

func checker() *Checker {
	return &Checker{Store: kernelcve.NewStore("../kernelcve/testdata/vulns"), Repo: gentoo.NewRepo("../gentoo/testdata/repo")}
}

var testTrees = []config.Tree{
	{Name: "gentoo-kernel", Packages: []string{"sys-kernel/gentoo-kernel"}},
	{Name: "vanilla", Packages: []string{"sys-kernel/vanilla-sources"}},
	{Name: "rt", Packages: []string{"sys-kernel/rt-sources"}},
	{Name: "gentoo-sources", Packages: []string{"sys-kernel/gentoo-sources"}},
	{Name: "hardened"}, // no packages: no versions
}

func TestRollupAndFixes(t *testing.T) {
	r := checker().Report("CVE-2025-71238", testTrees)
	if r.Err != nil || !r.Found {
		t.Fatal(r.Err)
	}
	want := map[string]kernelcve.Status{"gentoo-kernel": "affected", "vanilla": "fixed", "rt": "affected", "gentoo-sources": "unaffected", "hardened": "unknown"}
	for tree, st := range want {
		if tv, ok := r.Verdict(tree); !ok || tv.Status != st {
			t.Errorf("%s: %v, want %s", tree, tv, st)
		}
	}
	if tv, _ := r.Verdict("gentoo-kernel"); !reflect.DeepEqual(tv.Stabilise, []string{"newest stable 5.10.250 still affected, fixed in ~5.10.255: stabilise"}) {
		t.Errorf("stabilise: %q", tv.Stabilise)
	}
	// Fixes on the branches the testTrees use (3.12, 3.14, 5.10, 6.1, 6.6,
	// 6.18, 7.0, 7.2) and the mainline fix; not 5.15, 6.12, 6.19.
	if got := r.FixesFor(); !reflect.DeepEqual(got, []string{"5.10.251", "6.1.164", "6.6.127", "6.18.13", "7.0"}) {
		t.Errorf("FixesFor = %q", got)
	}
}

func TestCombine(t *testing.T) {
	c := checker()
	a := c.Report("CVE-2025-71238", testTrees) // vanilla fixed, gentoo-sources unaffected
	b := c.Report("CVE-2026-64108", testTrees) // vanilla affected (7.0)
	rej := c.Report("CVE-2024-27042", testTrees)
	none := c.Report("CVE-2099-0001", testTrees)
	for _, tc := range []struct {
		reports []Report
		tree    string
		want    kernelcve.Status
		ok      bool
	}{
		{[]Report{a}, "vanilla", kernelcve.Fixed, true},
		{[]Report{a, b}, "vanilla", kernelcve.Affected, true},
		{[]Report{a, b}, "gentoo-sources", kernelcve.Unaffected, true},
		{[]Report{a, none}, "gentoo-kernel", kernelcve.Affected, true},
		{[]Report{rej, none}, "vanilla", "", false},
		{[]Report{a, b}, "hardened", kernelcve.Unknown, true},
	} {
		st, ok := Combine(tc.reports, tc.tree)
		if st != tc.want || ok != tc.ok {
			t.Errorf("%s: %v %v, want %v %v", tc.tree, st, ok, tc.want, tc.ok)
		}
	}
}

func TestIDs(t *testing.T) {
	got := IDs(5, "CVE-2025-71238", "net: fix cve-2026-64108 and CVE-2025-71238 (xCVE-2020-1 no)", "https://nvd.nist.gov/vuln/detail/CVE-2024-36010")
	if !reflect.DeepEqual(got, []string{"CVE-2025-71238", "CVE-2026-64108", "CVE-2024-36010"}) {
		t.Errorf("IDs = %q", got)
	}
	if got := IDs(1, "CVE-2025-71238 CVE-2026-64108"); len(got) != 1 {
		t.Errorf("max ignored: %q", got)
	}
}

func TestNoRepoAndBrokenRecord(t *testing.T) {
	c := &Checker{Store: kernelcve.NewStore("../kernelcve/testdata/vulns")}
	r := c.Report("CVE-2025-71238", testTrees)
	if tv, _ := r.Verdict("vanilla"); tv.Status != kernelcve.Unknown {
		t.Errorf("without a repository: %v", tv)
	}
	if New(&config.Config{}) != nil {
		t.Error("feature on without [kernel_cve]")
	}
}
