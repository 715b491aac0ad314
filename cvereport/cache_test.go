// SPDX-License-Identifier: GPL-3.0-or-later

package cvereport

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/gentoo"
	"github.com/ksecbot/ksecbot/kernelcve"
)

// copyTree copies the testdata directory src to a new temporary directory.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// touch rewrites a file (data nil: as it is) with a modification time d
// from now.
func touch(t *testing.T, path string, data []byte, d time.Duration) {
	t.Helper()
	if data == nil {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(d)
	if err := os.Chtimes(path, at, at); err != nil {
		t.Fatal(err)
	}
}

// TestReportCache: a repeated report is the cached one while the record
// and the trees' ebuilds are unchanged; a changed record (a CNA update, a
// CVE rejected) or a changed ebuild (a version added or stabilised) is
// seen at the next report.
func TestReportCache(t *testing.T) {
	vulns, repo := copyTree(t, "../kernelcve/testdata/vulns"), copyTree(t, "../gentoo/testdata/repo")
	c := &Checker{Store: kernelcve.NewStore(vulns), Repo: gentoo.NewRepo(repo)}
	const id = "CVE-2025-71238"
	trees := []config.Tree{{Name: "gentoo-kernel", Packages: []string{"sys-kernel/gentoo-kernel"}}}

	first := c.Report(id, trees)
	if tv, _ := first.Verdict("gentoo-kernel"); !first.Found || tv.Status != kernelcve.Affected {
		t.Fatalf("first report: %+v", first)
	}
	again := c.Reports([]string{"cve-2025-71238"}, trees)[0]
	if &again.Trees[0] != &first.Trees[0] {
		t.Error("an unchanged record and repository built the report again")
	}
	if other := c.Report(id, testTrees[1:2]); len(other.Rollup) != 1 || other.Rollup[0].Tree != "vanilla" {
		t.Errorf("another set of trees got %+v", other.Rollup)
	}

	// The ebuild the CVE affects gets a newer, fixed stable version.
	pkg := filepath.Join(repo, "sys-kernel", "gentoo-kernel")
	old, err := os.ReadFile(filepath.Join(pkg, "gentoo-kernel-5.10.250.ebuild"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(pkg, "gentoo-kernel-5.10.250.ebuild")); err != nil {
		t.Fatal(err)
	}
	touch(t, filepath.Join(pkg, "gentoo-kernel-5.10.255_p3.ebuild"), old, time.Second)
	changed := c.Report(id, trees)
	if tv, _ := changed.Verdict("gentoo-kernel"); tv.Status != kernelcve.Fixed {
		t.Errorf("after the repository changed: %+v, want fixed", tv)
	}

	// The CNA rejects the CVE: the record moves to cve/rejected.
	year := filepath.Join("2025", id+".json")
	rec, err := os.ReadFile(filepath.Join(vulns, "cve", "published", year))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(vulns, "cve", "rejected", "2025"), 0o755)
	touch(t, filepath.Join(vulns, "cve", "rejected", year), rec, 2*time.Second)
	if err := os.Remove(filepath.Join(vulns, "cve", "published", year)); err != nil {
		t.Fatal(err)
	}
	if r := c.Report(id, trees); !r.Rejected {
		t.Errorf("after the record was rejected: %+v", r)
	}
	// The record is rewritten in place (same path, new time).
	touch(t, filepath.Join(vulns, "cve", "rejected", year), []byte("{broken"), 3*time.Second)
	if r := c.Report(id, trees); r.Err == nil {
		t.Errorf("after the record broke: %+v, want an unreadable record", r)
	}
}
