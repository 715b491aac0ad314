// SPDX-License-Identifier: GPL-3.0-or-later

// A tree's exposure: every published CVE that affects its current
// versions, grouped by the release that fixes them.

package cvereport

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ksecbot/ksecbot/gentoo"
	"github.com/ksecbot/ksecbot/kernelcve"
	"github.com/ksecbot/ksecbot/store"
)

// Exposure is what the published CVEs mean for one tree: per current
// version, the CVEs affecting it and the bumps that fix them.
type Exposure struct {
	Tree     string
	Versions []VersionExposure
	// Errors are the tree's versions without a verdict (no version in the
	// repository, a patch set not mapped in upstream_versions), one
	// reason each.
	Errors []string
}

// VersionExposure is one current version of a tree's package.
type VersionExposure struct {
	Package string // "sys-kernel/gentoo-kernel"
	Version string // upstream version
	Ebuild  string
	Stable  bool
	// Affected are the CVEs affecting the version, by id.
	Affected []string
	// Unknown are the CVEs that cannot be decided for it (record
	// inconsistent, between two fixes of the branch), by id.
	Unknown []string
	// Steps are the releases of the version's branch that fix some of
	// Affected, lowest first, each with how many of Affected it fixes
	// (cumulative: bumping to it fixes that many).
	Steps []Step
	// NoFix are the CVEs of Affected without a fix on the branch.
	NoFix []string
	// Newer is, for a stable version, the newer testing version of the
	// same package and branch in the tree, and NewerFixes how many of
	// Affected that version does not have: "stabilise it".
	Newer      string
	NewerFixes int
}

// Step is one bump: to Version, which fixes Fixes of the CVEs.
type Step struct {
	Version string
	Fixes   int
}

// ExposureFromRows is a tree's exposure from the rows the kernel CVE
// watch keeps (store.CVEExposure, by CVE): what !exposure and the status
// page show. versions are the tree's current versions (CurrentItems).
func ExposureFromRows(tree string, versions []Item, rows []store.CVEExposure) Exposure {
	var reps []Report
	for _, row := range rows {
		if n := len(reps); n == 0 || reps[n-1].CVE != row.CVE {
			reps = append(reps, Report{CVE: row.CVE, Found: true})
		}
		rep := &reps[len(reps)-1]
		rep.Trees = append(rep.Trees, Item{Tree: tree, Package: row.Package, Version: row.Version, Stable: row.Stable,
			Status: row.Status, Fix: row.Fix, Ebuild: row.Ebuild, Note: row.Note})
	}
	slices.SortFunc(reps, func(a, b Report) int { return CompareIDs(a.CVE, b.CVE) })
	return ExposureOf(tree, versions, reps)
}

// NewestStable is the tree's newest stable version, nil when it has none.
func (ex *Exposure) NewestStable() *VersionExposure {
	var best *VersionExposure
	var bv kernelcve.Version
	for i := range ex.Versions {
		v := &ex.Versions[i]
		pv, err := kernelcve.ParseVersion(v.Version)
		if !v.Stable || err != nil {
			continue
		}
		if best == nil || kernelcve.Compare(pv, bv) > 0 {
			best, bv = v, pv
		}
	}
	return best
}

// ExposureOf gathers a tree's exposure: versions are its current versions
// (Checker.CurrentItems: every one is listed, those with no CVE too, and
// their errors), reports the CVEs that judged it (only the tree's items
// are read). Rejected and unfound CVEs do not count.
func ExposureOf(tree string, versions []Item, reports []Report) Exposure {
	ex := Exposure{Tree: tree}
	index := map[string]int{} // package + version -> Versions index
	errs := map[string]bool{}
	fixesOf := map[int]map[string]string{} // Versions index -> CVE -> fix
	for _, it := range versions {
		if it.Error != "" {
			if !errs[it.Error] {
				errs[it.Error] = true
				ex.Errors = append(ex.Errors, it.Error)
			}
			continue
		}
		key := it.Package + "\x00" + it.Ebuild
		if _, ok := index[key]; !ok {
			index[key] = len(ex.Versions)
			fixesOf[len(ex.Versions)] = map[string]string{}
			ex.Versions = append(ex.Versions, VersionExposure{Package: it.Package, Version: it.Version, Ebuild: it.Ebuild, Stable: it.Stable})
		}
	}
	for i := range reports {
		r := &reports[i]
		if !r.Found || r.Rejected {
			continue
		}
		for _, it := range r.Trees {
			if !strings.EqualFold(it.Tree, tree) {
				continue
			}
			if it.Error != "" {
				if !errs[it.Error] {
					errs[it.Error] = true
					ex.Errors = append(ex.Errors, it.Error)
				}
				continue
			}
			key := it.Package + "\x00" + it.Ebuild
			n, ok := index[key]
			if !ok {
				n = len(ex.Versions)
				index[key] = n
				ex.Versions = append(ex.Versions, VersionExposure{Package: it.Package, Version: it.Version, Ebuild: it.Ebuild, Stable: it.Stable})
				fixesOf[n] = map[string]string{}
			}
			v := &ex.Versions[n]
			switch it.Status {
			case string(kernelcve.Affected):
				v.Affected = append(v.Affected, r.CVE)
				fixesOf[n][r.CVE] = it.Fix
			case string(kernelcve.Unknown):
				v.Unknown = append(v.Unknown, r.CVE)
			}
		}
	}
	for n := range ex.Versions {
		ex.Versions[n].steps(fixesOf[n])
	}
	ex.stabilise(fixesOf)
	return ex
}

// steps groups the affected CVEs by the release that fixes them.
func (v *VersionExposure) steps(fix map[string]string) {
	count := map[string]int{}
	var vs []kernelcve.Version
	for _, id := range v.Affected {
		f := fix[id]
		if f == "" {
			v.NoFix = append(v.NoFix, id)
			continue
		}
		if count[f] == 0 {
			if pv, err := kernelcve.ParseVersion(f); err == nil {
				vs = append(vs, pv)
			}
		}
		count[f]++
	}
	slices.SortFunc(vs, kernelcve.Compare)
	total := 0
	for _, f := range vs {
		total += count[f.String()]
		v.Steps = append(v.Steps, Step{Version: f.String(), Fixes: total})
	}
}

// stabilise finds, for each stable version, a newer testing version of
// the same package and branch and counts the stable version's CVEs it
// does not have.
func (ex *Exposure) stabilise(fixesOf map[int]map[string]string) {
	for i := range ex.Versions {
		st := &ex.Versions[i]
		if !st.Stable {
			continue
		}
		sv, err := kernelcve.ParseVersion(st.Version)
		if err != nil {
			continue
		}
		for j := range ex.Versions {
			t := &ex.Versions[j]
			tv, err := kernelcve.ParseVersion(t.Version)
			if t.Stable || t.Package != st.Package || err != nil || tv.Branch() != sv.Branch() || kernelcve.Compare(tv, sv) <= 0 {
				continue
			}
			still := map[string]bool{}
			for _, id := range t.Affected {
				still[id] = true
			}
			for _, id := range t.Unknown {
				still[id] = true
			}
			fixed := 0
			for _, id := range st.Affected {
				if !still[id] {
					fixed++
				}
			}
			if fixed > 0 {
				st.Newer, st.NewerFixes = t.Version, fixed
			}
		}
	}
}

// Count is how many CVEs affect at least one of the tree's versions.
func (ex *Exposure) Count() int {
	seen := map[string]bool{}
	for _, v := range ex.Versions {
		for _, id := range v.Affected {
			seen[id] = true
		}
	}
	return len(seen)
}

// Text is one version's exposure in a line's worth of words, without the
// version: "15 CVEs · bump to 6.12.60 fixes 10, 6.12.62 fixes 14 of 15 ·
// no fix in 6.12 yet for 1 (CVE-2026-1) · ~6.12.62 in the tree fixes 14:
// stabilise". maxIDs bounds the CVE ids written.
func (v *VersionExposure) Text(maxIDs int) string {
	n := len(v.Affected)
	if n == 0 && len(v.Unknown) == 0 {
		return "no published CVE affects it"
	}
	var parts []string
	if n > 0 {
		parts = append(parts, plural(n, "CVE"))
	}
	if len(v.Steps) > 0 {
		var bumps []string
		for i, s := range v.Steps {
			if i == 0 {
				bumps = append(bumps, fmt.Sprintf("bump to %s fixes %d", s.Version, s.Fixes))
			} else {
				bumps = append(bumps, fmt.Sprintf("%s fixes %d", s.Version, s.Fixes))
			}
		}
		bumps = lastSteps(bumps, 3)
		parts = append(parts, strings.Join(bumps, ", ")+fmt.Sprintf(" of %d", n))
	}
	if len(v.NoFix) > 0 {
		br := v.Version
		if pv, err := kernelcve.ParseVersion(v.Version); err == nil {
			br = pv.Branch()
		}
		parts = append(parts, fmt.Sprintf("no fix in %s yet for %d (%s)", br, len(v.NoFix), ids(v.NoFix, maxIDs)))
	}
	if len(v.Unknown) > 0 {
		parts = append(parts, fmt.Sprintf("%s undecided: record inconsistent or between fixes (%s)", plural(len(v.Unknown), "CVE"), ids(v.Unknown, maxIDs)))
	}
	if v.Newer != "" {
		parts = append(parts, fmt.Sprintf("~%s in the tree fixes %d of them: stabilise", v.Newer, v.NewerFixes))
	}
	return strings.Join(parts, " · ")
}

// lastSteps keeps the first and the last n-1 bumps of a long list: the
// nearest bump and the ones that fix the most.
func lastSteps(bumps []string, n int) []string {
	if len(bumps) <= n {
		return bumps
	}
	out := []string{bumps[0], "…"}
	return append(out, bumps[len(bumps)-(n-1):]...)
}

func ids(list []string, max int) string {
	if len(list) <= max {
		return strings.Join(list, ", ")
	}
	return strings.Join(list[:max], ", ") + fmt.Sprintf(" and %d more", len(list)-max)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// Name is the version as lines write it: "gentoo-kernel 6.12.58",
// "~6.12.62" for a testing one.
func (v *VersionExposure) Name() string {
	s := v.Version
	if gentoo.IsPatchSet(v.Ebuild) {
		s = v.Ebuild + " (" + v.Version + ")"
	}
	if !v.Stable {
		s = "~" + s
	}
	return shortPackage(v.Package) + " " + s
}
