// SPDX-License-Identifier: GPL-3.0-or-later

// The verdict of one version from both files of a record: the JSON's
// version ranges cross-checked with the .dyad's commit pairs.

package kernelcve

import (
	"fmt"
	"strings"
)

// Judgement is the verdict on one version, with what a maintainer needs to
// act on it.
type Judgement struct {
	Status Status
	// Fix is the release that fixes the version's branch (for an
	// affected version, the next fix above it; otherwise the fix it
	// already has), when HasFix.
	Fix    Version
	HasFix bool
	// Note says why the verdict is not the plain reading of the JSON, or
	// what to watch for: "record inconsistent: ...", "from the .dyad:
	// ...", "several fixes on 6.6 (...)". Empty for the plain case.
	Note string
}

// SetDyad attaches the record's .dyad file, which Judge cross-checks the
// JSON with. The Store does it when the file exists.
func (r *Record) SetDyad(d *Dyad) { r.dyad = d }

// HasDyad reports whether a .dyad file was read with the record.
func (r *Record) HasDyad() bool { return r.dyad != nil }

// Judge decides v from the JSON and, when the record has one, its .dyad:
//
//   - a rejected CVE is unaffected; a record without version data and
//     without a .dyad is unknown;
//   - where the JSON has nothing about v's branch but the .dyad has pairs
//     on it, the .dyad decides (CVE-2025-40039: 6.1 vulnerable since
//     6.1.71 with no fix, which the JSON leaves out);
//   - where the two disagree otherwise, v is unknown, "record
//     inconsistent", never a confident verdict;
//   - on a branch with several fixes (a fix, a revert, a fix again), a
//     version from the first fix up to the last is unknown: neither file
//     says whether it is vulnerable again. The note names the fixes.
func (r *Record) Judge(v Version) Judgement {
	if r.Rejected {
		return Judgement{Status: Unaffected}
	}
	if r.noData && r.dyad == nil {
		return Judgement{Status: Unknown, Note: "the record has no version data"}
	}
	br := v.Branch()
	js := r.jsonStatus(v)
	if r.noData {
		js = Unknown
	}
	j := Judgement{Status: js}
	j.Fix, j.HasFix = r.FixFor(v)
	if js == Unknown && !r.noData {
		j.Note = "the record says the status of versions it does not list is unknown"
	}
	if r.dyad != nil {
		dv := r.dyad.judge(v)
		dyadSays := Unaffected
		if dv.affected {
			dyadSays = Affected
		}
		switch {
		case dv.branch && !r.jsonHasBranch(br) && js != dyadSays:
			j = Judgement{Status: dyadSays, Fix: dv.fix, HasFix: dv.hasFix,
				Note: fmt.Sprintf("from the .dyad: the JSON has nothing about %s", br)}
		case js == Unknown:
		case (js == Affected) != dv.affected:
			j = Judgement{Status: Unknown, Note: fmt.Sprintf("record inconsistent on %s: the JSON says %s, the .dyad %s",
				br, said(js == Affected), said(dv.affected))}
			if dv.hasFix && (!j.HasFix || Compare(dv.fix, j.Fix) > 0) {
				j.Fix, j.HasFix = dv.fix, true
			}
		}
	}
	if j.Status == Affected || j.Status == Unaffected {
		if _, ok := r.FixFor(v); j.Status == Unaffected && (ok || j.HasFix) {
			j.Status = Fixed
		}
	}
	if fixes := r.branchFixes(br); len(fixes) > 1 {
		last := fixes[len(fixes)-1]
		several := fmt.Sprintf("several fixes on %s (%s): a revert in between?", br, joinVersions(fixes))
		if Compare(v, fixes[0]) >= 0 && Compare(v, last) < 0 && j.Status != Affected {
			j = Judgement{Status: Unknown, Fix: last, HasFix: true,
				Note: several + " " + v.String() + " may be vulnerable again; certain from " + last.String()}
		} else if j.Note == "" {
			j.Note = several
		}
	}
	if j.Status == Affected && j.HasFix && Compare(j.Fix, v) <= 0 {
		j.HasFix = false // not a fix for this version
	}
	return j
}

// branchFixes are the stable fixes on branch br that either file names,
// lowest first.
func (r *Record) branchFixes(br string) []Version {
	var out []Version
	for _, f := range r.StableFixes {
		if f.Branch() == br {
			out = append(out, f)
		}
	}
	if r.dyad != nil {
		out = append(out, r.dyad.branchFixes(br)...)
	}
	sortUnique(&out)
	return out
}

// BranchFixes are the stable fixes on v's branch that the JSON or the
// .dyad names, lowest first (several: a fix, a revert, a fix again).
func (r *Record) BranchFixes(v Version) []Version { return r.branchFixes(v.Branch()) }

// AllFixes are the fixes either file names, stable and mainline, lowest
// first.
func (r *Record) AllFixes() []Version {
	out := r.Fixes()
	if r.dyad != nil {
		for _, p := range r.dyad.pairs {
			if p.fixd && !p.sameRelease() {
				out = append(out, p.fix)
			}
		}
	}
	sortUnique(&out)
	return out
}

func said(affected bool) string {
	if affected {
		return "affected"
	}
	return "not affected"
}

func joinVersions(vs []Version) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = v.String()
	}
	return strings.Join(s, ", ")
}
