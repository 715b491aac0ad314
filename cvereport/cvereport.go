// SPDX-License-Identifier: GPL-3.0-or-later

// Package cvereport answers "what does this kernel CVE mean for our
// trees?": it joins a kernel CNA record (package kernelcve) with the
// versions each [[tree]]'s packages have in the Gentoo repository
// (package gentoo) into per-version and per-tree verdicts. It is what
// `ksecbot cve`, `!cve` and the announcements show.
package cvereport

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/gentoo"
	"github.com/ksecbot/ksecbot/kernelcve"
)

// Item is one tree version's verdict. Its JSON is part of `ksecbot cve
// --json` and fixed; fields are only added.
type Item struct {
	Tree    string `json:"tree"`
	Package string `json:"package"`
	Version string `json:"version"` // upstream kernel version; "" when it cannot be known (Error says why)
	Stable  bool   `json:"stable"`
	Status  string `json:"status"` // affected, fixed, unaffected, unknown
	Fix     string `json:"fix"`    // the release fixing this version's branch, "" when none
	// Ebuild is the ebuild's version ("5.10.255_p3"), "" for an item that
	// is about no version (Error).
	Ebuild string `json:"ebuild,omitempty"`
	// Note says why the verdict is not the plain reading of the record
	// ("record inconsistent on 6.1: ...", "from the .dyad: ...",
	// "several fixes on 6.6 (...)").
	Note string `json:"note,omitempty"`
	// Error says why no verdict could be made: no version in the
	// repository, a version that is no upstream release, no repository.
	Error string `json:"error,omitempty"`

	// Later are, for an affected version without a fix on its branch,
	// the fixes on newer branches (the last of each) and the mainline
	// fix: "no fix in 6.1; fixed in 6.6.58, 6.12.9".
	Later []string `json:"-"`
}

// Report is what one CVE means for the trees. Its JSON is the fixed shape
// of `ksecbot cve --json`.
type Report struct {
	CVE        string   `json:"cve"`
	Found      bool     `json:"found"`
	Rejected   bool     `json:"rejected"`
	Title      string   `json:"title"`
	Introduced []string `json:"introduced"`
	Fixed      []string `json:"fixed"`
	Trees      []Item   `json:"trees"`

	// Rollup is the verdict per tree, in configuration order (not in
	// the JSON: scripts derive it from Trees).
	Rollup []TreeVerdict `json:"-"`
	// Err is why a found record could not be read (verdicts Unknown).
	Err error `json:"-"`

	record *kernelcve.Record
}

// TreeVerdict is one tree's verdict over its current versions.
type TreeVerdict struct {
	Tree   string
	Status kernelcve.Status
	// Stabilise names branches whose newest stable version is affected
	// while a newer testing version is fixed: "newest stable 6.6.58
	// still affected, fixed in ~6.6.63: stabilise".
	Stabilise []string
	// Error is why no verdict could be made for the whole tree (no
	// packages, no versions, no repository), "" otherwise.
	Error string
}

// Checker joins the CVE records and the repository. Repo may be nil (no
// [gentoo] repo): every tree is then "unknown". Safe for concurrent use.
//
// It caches reports per CVE and set of trees, valid while the CVE's record
// file (kernelcve.Stamp: path, modification time, size) and the trees'
// ebuilds (gentoo.Repo.Stamp) are unchanged: a `git pull` of either is
// seen at the next report, and a repeated !cve, !pending marker or
// announcement costs a few stat calls instead of a report.
type Checker struct {
	Store *kernelcve.Store
	Repo  *gentoo.Repo

	mu    sync.Mutex
	cache map[string]cachedReport // id + "\x00" + treesKey -> report
}

// cachedReport is a report with the stamps it was built from.
type cachedReport struct {
	record kernelcve.Stamp
	repo   string
	rep    Report
}

// maxReports bounds the report cache; past it the cache starts again
// empty.
const maxReports = 4096

// New returns a Checker for the configuration, or nil when [kernel_cve]
// is not configured (the feature is off).
func New(c *config.Config) *Checker {
	if c == nil || c.KernelCVE == nil {
		return nil
	}
	ch := &Checker{Store: kernelcve.NewStore(c.KernelCVE.Path)}
	if c.Gentoo != nil && c.Gentoo.Repo != "" {
		ch.Repo = gentoo.NewRepo(c.Gentoo.Repo)
	}
	return ch
}

// Report looks id up and decides every tree version. A CVE without a
// record gives Found false and no error; a record that cannot be read
// gives Found true, every verdict Unknown and Err set. The report may be
// shared with the cache and other callers: read it, do not modify it.
func (c *Checker) Report(id string, trees []config.Tree) Report {
	return c.cached(id, trees, map[string]string{}, nil)
}

// Reports is Report for several CVEs; each package is listed, and its
// versions read, once for all of them.
func (c *Checker) Reports(ids []string, trees []config.Tree) []Report {
	stamps, memo := map[string]string{}, map[string]versionsResult{}
	out := make([]Report, 0, len(ids))
	for _, id := range ids {
		out = append(out, c.cached(id, trees, stamps, memo))
	}
	return out
}

type versionsResult struct {
	vs  []gentoo.Version
	err error
}

// cached returns the cached report of id for the trees while the stamps
// it was built from are those of now, else builds and caches it. stamps
// memoizes the packages' stamps over one call. Without a valid id or
// when a stamp cannot be taken, the report is built and not cached.
func (c *Checker) cached(id string, trees []config.Tree, stamps map[string]string, memo map[string]versionsResult) Report {
	id = strings.ToUpper(strings.TrimSpace(id))
	if !kernelcve.ValidID(id) {
		return c.report(id, trees, memo)
	}
	rs, err := c.Store.Stamp(id)
	if err != nil {
		return c.report(id, trees, memo)
	}
	var key, repo strings.Builder
	key.WriteString(id)
	for _, t := range trees {
		key.WriteString("\x00" + t.Name)
		for _, pv := range slices.Sorted(maps.Keys(t.UpstreamVersions)) {
			key.WriteString("\x02" + pv + "=" + t.UpstreamVersions[pv])
		}
		for _, pkg := range t.Packages {
			key.WriteString("\x01" + pkg)
			if c.Repo == nil {
				continue
			}
			st, ok := stamps[pkg]
			if !ok {
				if st, err = c.Repo.Stamp(pkg); err != nil {
					return c.report(id, trees, memo)
				}
				stamps[pkg] = st
			}
			repo.WriteString(pkg + "\x00" + st + "\x01")
		}
	}
	c.mu.Lock()
	e, ok := c.cache[key.String()]
	c.mu.Unlock()
	if ok && e.record == rs && e.repo == repo.String() {
		return e.rep
	}
	rep := c.report(id, trees, memo)
	c.mu.Lock()
	if c.cache == nil || len(c.cache) >= maxReports {
		c.cache = map[string]cachedReport{}
	}
	c.cache[key.String()] = cachedReport{record: rs, repo: repo.String(), rep: rep}
	c.mu.Unlock()
	return rep
}

// Verdict is the tree's rolled-up verdict in this report.
func (r *Report) Verdict(tree string) (TreeVerdict, bool) {
	for _, tv := range r.Rollup {
		if strings.EqualFold(tv.Tree, tree) {
			return tv, true
		}
	}
	return TreeVerdict{}, false
}

// FixesFor are the record's fix releases on the branches the trees'
// versions use, plus the mainline fix: what a maintainer of these trees
// needs from the list.
func (r *Report) FixesFor() []string {
	if r.record == nil {
		return nil
	}
	branches := map[string]bool{}
	for _, it := range r.Trees {
		if v, err := kernelcve.ParseVersion(it.Version); err == nil {
			branches[v.Branch()] = true
		}
	}
	var out []string
	for _, f := range r.record.AllFixes() {
		if f.Stable() && branches[f.Branch()] {
			out = append(out, f.String())
		}
	}
	if r.record.HasMainlineFix {
		out = append(out, r.record.MainlineFix.String())
	}
	return out
}

// Combine merges the verdicts of several CVEs named by one bug: per tree,
// affected if any CVE affects it, else unknown if any cannot be decided,
// else fixed if any was fixed, else unaffected. Rejected CVEs and CVEs
// without a record do not count; ok is false when none counts.
func Combine(reports []Report, tree string) (kernelcve.Status, bool) {
	var st []kernelcve.Status
	for i := range reports {
		r := &reports[i]
		if !r.Found || r.Rejected {
			continue
		}
		if tv, ok := r.Verdict(tree); ok {
			st = append(st, tv.Status)
		}
	}
	if len(st) == 0 {
		return "", false
	}
	for _, want := range []kernelcve.Status{kernelcve.Affected, kernelcve.Unknown, kernelcve.Fixed} {
		if slices.Contains(st, want) {
			return want, true
		}
	}
	return kernelcve.Unaffected, true
}

var cveRe = regexp.MustCompile(`(?i)\bCVE-[0-9]{4}-[0-9]{4,7}\b`)

// IDs finds the CVE ids in texts (alias, summary, see_also), upper-cased,
// de-duplicated, in order of appearance; at most max.
func IDs(max int, texts ...string) []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range texts {
		for _, m := range cveRe.FindAllString(t, -1) {
			m = strings.ToUpper(m)
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
				if len(out) == max {
					return out
				}
			}
		}
	}
	return out
}

func strs(vs []kernelcve.Version) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		out = append(out, v.String())
	}
	return out
}
