// SPDX-License-Identifier: GPL-3.0-or-later

// Building a report: every current version of every tree judged against
// one record.

package cvereport

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/gentoo"
	"github.com/ksecbot/ksecbot/kernelcve"
)

// ReportRecord is Report for a record already read (the CVE watch reads
// each record once per change): no look-up, no cache.
func (c *Checker) ReportRecord(rec *kernelcve.Record, trees []config.Tree) Report {
	r := Report{CVE: rec.ID, Found: true, Introduced: []string{}, Fixed: []string{}, Trees: []Item{}}
	r.fill(rec)
	c.judgeTrees(&r, trees, nil)
	return r
}

func (c *Checker) report(id string, trees []config.Tree, memo map[string]versionsResult) Report {
	id = strings.ToUpper(strings.TrimSpace(id))
	r := Report{CVE: id, Introduced: []string{}, Fixed: []string{}, Trees: []Item{}}
	rec, err := c.Store.Lookup(id)
	switch {
	case errors.Is(err, kernelcve.ErrNotFound):
		return r
	case err != nil && !kernelcve.ValidID(id):
		r.Err = err
		return r
	case err != nil:
		r.Found, r.Err = true, err
	default:
		r.Found = true
		r.fill(rec)
	}
	c.judgeTrees(&r, trees, memo)
	return r
}

// fill takes the record's facts.
func (r *Report) fill(rec *kernelcve.Record) {
	r.Rejected, r.Title, r.record = rec.Rejected, rec.Title, rec
	r.Introduced = strs(rec.IntroducedOrBackported())
	r.Fixed = strs(rec.AllFixes())
}

// judgeTrees adds every tree's items and verdict to r.
func (c *Checker) judgeTrees(r *Report, trees []config.Tree, memo map[string]versionsResult) {
	for _, t := range trees {
		items := c.treeItems(r, t, memo)
		tv := TreeVerdict{Tree: t.Name, Status: rollup(items), Stabilise: stabilise(items)}
		if tv.Status == kernelcve.Unknown {
			tv.Error = treeError(items)
		}
		r.Trees = append(r.Trees, items...)
		r.Rollup = append(r.Rollup, tv)
	}
}

// treeItems judges the tree's current versions. A tree or package that
// gives no version still gets an item, unknown, with the reason in
// Error: every configured tree is in the answer.
func (c *Checker) treeItems(r *Report, t config.Tree, memo map[string]versionsResult) []Item {
	unknown := func(pkg, why string) Item {
		return Item{Tree: t.Name, Package: pkg, Status: string(kernelcve.Unknown), Error: why}
	}
	if c.Repo == nil {
		return []Item{unknown("", "no [gentoo] repo is configured: the tree's versions are unknown")}
	}
	if len(t.Packages) == 0 {
		return []Item{unknown("", "the [[tree]] lists no packages: it has no versions to judge")}
	}
	var items []Item
	for _, pkg := range t.Packages {
		vr, ok := memo[pkg]
		if !ok {
			vr.vs, vr.err = c.versions(pkg)
			if memo != nil {
				memo[pkg] = vr
			}
		}
		switch {
		case vr.err != nil:
			items = append(items, unknown(pkg, vr.err.Error()))
			continue
		case len(vr.vs) == 0:
			items = append(items, unknown(pkg, fmt.Sprintf("the repository has no keyworded version of %s", pkg)))
			continue
		}
		for _, v := range vr.vs {
			items = append(items, judgeVersion(r, t, v))
		}
	}
	return items
}

// CurrentItems are the tree's current versions as items not judged
// against any record (status unknown), with the tree's and packages'
// errors: what ExposureOf lists every version from.
func (c *Checker) CurrentItems(t config.Tree) []Item {
	return c.treeItems(&Report{}, t, nil)
}

// judgeVersion is one version's item.
func judgeVersion(r *Report, t config.Tree, v gentoo.Version) Item {
	it := Item{Tree: t.Name, Package: v.Package, Stable: v.Stable, Status: string(kernelcve.Unknown), Ebuild: v.PVR}
	up := v.Upstream
	if v.PatchSet {
		mapped, ok := t.UpstreamVersions[v.PV()]
		pv, err := kernelcve.ParseVersion(mapped)
		if !ok || err != nil {
			it.Error = fmt.Sprintf("%s %s is a patch set on %s with stable updates of its own: say which upstream release it carries in the [[tree]]'s upstream_versions (%q = %q)",
				shortPackage(v.Package), v.PVR, up.Branch(), v.PV(), up.Branch()+".N")
			return it
		}
		up = pv
	}
	it.Version = up.String()
	rec := r.record
	if rec == nil {
		if r.Err != nil {
			it.Error = "the record cannot be read"
		}
		return it
	}
	j := rec.Judge(up)
	it.Status, it.Note = string(j.Status), j.Note
	if rec.Rejected {
		return it
	}
	if j.HasFix {
		it.Fix = j.Fix.String()
	}
	if j.Status == kernelcve.Affected && !j.HasFix {
		it.Later = laterFixes(rec, up)
	}
	return it
}

// laterFixes are the fixes above v on other branches, the last of each
// branch, and the mainline fix.
func laterFixes(rec *kernelcve.Record, v kernelcve.Version) []string {
	var out []string
	last := map[string]int{}
	for _, f := range rec.AllFixes() {
		if f.Branch() == v.Branch() || kernelcve.Compare(f, v) <= 0 {
			continue
		}
		if i, ok := last[f.Branch()]; ok {
			out[i] = f.String()
			continue
		}
		last[f.Branch()] = len(out)
		out = append(out, f.String())
	}
	return out
}

// stabilise finds branches whose newest stable version is affected while
// a newer testing version of the same package is fixed (gentoo.Current
// lists the newest of a branch first, then its newest stable).
func stabilise(items []Item) []string {
	var out []string
	for i := 1; i < len(items); i++ {
		newest, st := items[i-1], items[i]
		if newest.Package == st.Package && sameBranch(newest.Version, st.Version) && st.Stable && !newest.Stable &&
			st.Status == string(kernelcve.Affected) && newest.Status == string(kernelcve.Fixed) {
			out = append(out, fmt.Sprintf("newest stable %s still affected, fixed in ~%s: stabilise", st.Version, newest.Version))
		}
	}
	return out
}

func (c *Checker) versions(pkg string) ([]gentoo.Version, error) {
	if c.Repo == nil {
		return nil, nil
	}
	return c.Repo.Current(pkg)
}

func sameBranch(a, b string) bool {
	va, err1 := kernelcve.ParseVersion(a)
	vb, err2 := kernelcve.ParseVersion(b)
	return err1 == nil && err2 == nil && va.Branch() == vb.Branch()
}

// rollup: affected if any version is; unknown if any is (or there are
// none); fixed if all are fixed or unaffected and one is fixed;
// unaffected otherwise.
func rollup(items []Item) kernelcve.Status {
	if len(items) == 0 {
		return kernelcve.Unknown
	}
	has := map[string]bool{}
	for _, it := range items {
		has[it.Status] = true
	}
	switch {
	case has[string(kernelcve.Affected)]:
		return kernelcve.Affected
	case has[string(kernelcve.Unknown)]:
		return kernelcve.Unknown
	case has[string(kernelcve.Fixed)]:
		return kernelcve.Fixed
	}
	return kernelcve.Unaffected
}

// treeError is the reason a tree with no verdict has none: its items'
// errors, when every item has one.
func treeError(items []Item) string {
	var errs []string
	for _, it := range items {
		if it.Error == "" {
			return ""
		}
		errs = append(errs, it.Error)
	}
	return strings.Join(errs, "; ")
}

// shortPackage is the package name without its category.
func shortPackage(atom string) string {
	if _, name, ok := strings.Cut(atom, "/"); ok {
		return name
	}
	return atom
}

// PublishedReports judges every published record of the clone for the
// trees and returns the reports keep accepts (nil: all), sorted by CVE
// id, with the number of published records judged: what `ksecbot cve
// --tree` reads. Records are read once each and not cached (a clone holds
// thousands), on every CPU; the packages' versions are read once for
// all. A record that cannot be read is skipped and counted in skipped.
func (c *Checker) PublishedReports(trees []config.Tree, keep func(*Report) bool) (reps []Report, records, skipped int, err error) {
	entries, err := c.Store.Scan()
	if err != nil {
		return nil, 0, 0, err
	}
	memo := map[string]versionsResult{}
	for _, t := range trees {
		for _, pkg := range t.Packages {
			vr := versionsResult{}
			vr.vs, vr.err = c.versions(pkg)
			memo[pkg] = vr
		}
	}
	type result struct {
		rep  Report
		keep bool
		bad  bool
	}
	work := make(chan kernelcve.Entry)
	results := make(chan result)
	var wg sync.WaitGroup
	for range max(runtime.GOMAXPROCS(0), 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range work {
				if e.Err != nil {
					results <- result{bad: true}
					continue
				}
				rec, _, err := kernelcve.ReadRecord(e.Stamp.Path, e.ID, false)
				if err != nil {
					results <- result{bad: true}
					continue
				}
				r := Report{CVE: rec.ID, Found: true, Introduced: []string{}, Fixed: []string{}, Trees: []Item{}}
				r.fill(rec)
				c.judgeTrees(&r, trees, memo)
				results <- result{rep: r, keep: keep == nil || keep(&r)}
			}
		}()
	}
	go func() {
		for _, e := range entries {
			if !e.Rejected {
				work <- e
			}
		}
		close(work)
		wg.Wait()
		close(results)
	}()
	for res := range results {
		switch {
		case res.bad:
			skipped++
		default:
			records++
			if res.keep {
				reps = append(reps, res.rep)
			}
		}
	}
	slices.SortFunc(reps, func(a, b Report) int { return CompareIDs(a.CVE, b.CVE) })
	return reps, records, skipped, nil
}

// CompareIDs orders CVE ids by year, then number ("CVE-2024-9999" before
// "CVE-2024-10000").
func CompareIDs(a, b string) int {
	if c := strings.Compare(a[:min(len(a), 9)], b[:min(len(b), 9)]); c != 0 {
		return c
	}
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}
