// SPDX-License-Identifier: GPL-3.0-or-later

// What a kernel maintainer reads at a glance: a tree's verdict as a few
// words per version that needs acting on.

package cvereport

import (
	"slices"
	"strings"

	"github.com/ksecbot/ksecbot/gentoo"
	"github.com/ksecbot/ksecbot/kernelcve"
)

// VersionText is what one version needs: "6.1.112: no fix in 6.1; fixed
// in 6.6.58, 6.12.9", "5.10.250: fix 5.10.251", "6.6.65: unknown
// (several fixes on 6.6 ...)", "~6.1.165 fixed". A testing version is
// written "~6.6.63".
func VersionText(it Item) string { return versionName(it) + verdictText(it, false) }

// versionName is the version as written in a line: the upstream
// version, or the ebuild's when it has none, "~" for a testing one.
func versionName(it Item) string {
	v := it.Version
	switch {
	case v == "":
		v = it.Ebuild
	case gentoo.IsPatchSet(it.Ebuild):
		v = it.Ebuild + " (" + v + ")" // mapped by upstream_versions
	}
	if !it.Stable && v != "" {
		v = "~" + v
	}
	return v
}

// VerdictText is what VersionText writes after the version.
func VerdictText(it Item) string { return verdictText(it, false) }

// verdictText is what follows the version: ": fix 5.10.251", ": no fix in
// 6.1; fixed in ..." (short: without the fixes of other branches, which
// the CVE's own line lists), ": unknown (...)", " fixed".
func verdictText(it Item, short bool) string {
	switch it.Status {
	case string(kernelcve.Affected):
		var v string
		switch {
		case it.Fix != "":
			v = ": fix " + it.Fix
		case len(it.Later) > 0:
			br := it.Version
			if pv, err := kernelcve.ParseVersion(it.Version); err == nil {
				br = pv.Branch()
			}
			v = ": no fix in " + br
			if !short {
				v += "; fixed in " + strings.Join(it.Later, ", ")
			}
		default:
			v = ": no fix yet"
		}
		if strings.HasPrefix(it.Note, "from the .dyad") {
			v += " (per the .dyad)"
		}
		return v
	case string(kernelcve.Unknown):
		return ": unknown (" + shortReason(it) + ")"
	}
	return " " + it.Status
}

// shortReason is an unknown item's reason in a few words.
func shortReason(it Item) string {
	switch {
	case it.Error != "" && strings.Contains(it.Error, "patch set"):
		return "patch set: map it in upstream_versions"
	case it.Error != "":
		return it.Error
	case strings.HasPrefix(it.Note, "record inconsistent"):
		return it.Note
	case strings.HasPrefix(it.Note, "several fixes") && strings.Contains(it.Note, ")"):
		// "several fixes on 6.6 (6.6.64, 6.6.70, 6.6.140)"
		return it.Note[:strings.Index(it.Note, ")")+1] + ": may be vulnerable again, fix " + it.Fix
	case it.Note != "":
		return it.Note
	}
	return "no data"
}

// TreeText is the tree's verdict in one line's worth of words, without
// the tree's name: the versions that need acting on (affected or
// unknown) with their fix, then the stabilise hints; "" when no version
// needs acting on. Versions of a package with the same verdict are
// written together ("~5.10.255, 5.10.250: fix 5.10.251"), each group
// named with its package when the tree has several (packages with the
// same versions together). Short leaves out the fixes of other branches.
func (r *Report) TreeText(tree string) string { return r.treeText(tree, false, false) }

// TreeTextShort is TreeText without the fixes of other branches, for
// answers that list the CVE's fixes once (IRC).
func (r *Report) TreeTextShort(tree string) string { return r.treeText(tree, true, false) }

// TreeVersions is every current version of the tree with its verdict,
// grouped as TreeText groups them ("vanilla-sources ~6.18.39, ~7.2.5:
// fixed; vanilla-kernel ~6.18.39: fixed"): what a tree with nothing to
// act on shows, each package's version once.
func (r *Report) TreeVersions(tree string) string { return r.treeText(tree, false, true) }

// treeText writes the tree's versions that need acting on, or with all
// every version.
func (r *Report) treeText(tree string, short, all bool) string {
	packages := map[string]bool{}
	type group struct {
		pkg, verdict string
		versions     []string
	}
	var groups []*group
	for _, it := range r.Trees {
		if !strings.EqualFold(it.Tree, tree) {
			continue
		}
		if it.Package != "" {
			packages[it.Package] = true
		}
		pkg, verdict := shortPackage(it.Package), verdictText(it, short)
		if it.Status != string(kernelcve.Affected) && it.Status != string(kernelcve.Unknown) {
			if !all {
				continue
			}
			verdict = ": " + it.Status // several versions share it
		}
		if n := len(groups); n > 0 && groups[n-1].pkg == pkg && groups[n-1].verdict == verdict {
			groups[n-1].versions = append(groups[n-1].versions, versionName(it))
			continue
		}
		groups = append(groups, &group{pkg: pkg, verdict: verdict, versions: []string{versionName(it)}})
	}
	named := len(packages) > 1
	for p := range packages {
		named = named || !strings.EqualFold(shortPackage(p), tree)
	}
	// Packages with the same versions and verdicts (gentoo-kernel and
	// gentoo-kernel-bin) are written once.
	var order []string
	pkgs := map[string][]string{}
	for _, g := range groups {
		t := strings.Join(g.versions, ", ") + g.verdict
		if _, ok := pkgs[t]; !ok {
			order = append(order, t)
		}
		if g.pkg != "" && !slices.Contains(pkgs[t], g.pkg) {
			pkgs[t] = append(pkgs[t], g.pkg)
		}
	}
	var parts []string
	for _, t := range order {
		if named && len(pkgs[t]) > 0 {
			t = strings.Join(pkgs[t], ", ") + " " + t
		}
		parts = append(parts, t)
	}
	if tv, ok := r.Verdict(tree); ok {
		parts = append(parts, tv.Stabilise...)
	}
	return strings.Join(parts, "; ")
}

// JoinTrees writes trees and their texts as one line of at most budget
// bytes: "a text-a · b, c text-bc". Trees with the same text share it;
// when that is still too long, only the names are written, with the
// number of versions to act on. The texts come from TreeText.
func JoinTrees(names, texts []string, budget int) string {
	var order []string
	byText := map[string][]string{}
	for i, n := range names {
		if _, ok := byText[texts[i]]; !ok {
			order = append(order, texts[i])
		}
		byText[texts[i]] = append(byText[texts[i]], n)
	}
	var parts []string
	for _, t := range order {
		parts = append(parts, strings.TrimSpace(strings.Join(byText[t], ", ")+" "+t))
	}
	if line := strings.Join(parts, " · "); len(line) <= budget {
		return line
	}
	return strings.Join(names, ", ") + " (versions left out: too many for one line)"
}
