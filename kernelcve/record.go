// SPDX-License-Identifier: GPL-3.0-or-later

package kernelcve

import (
	"slices"
)

// Status is the verdict for one kernel version.
type Status string

// Verdicts. Their strings are part of `ksecbot cve --json`.
const (
	// Affected: the version contains the bug and not its fix.
	Affected Status = "affected"
	// Fixed: the version contains the fix for its branch (or the mainline
	// fix) and is not affected.
	Fixed Status = "fixed"
	// Unaffected: the version never contained the bug.
	Unaffected Status = "unaffected"
	// Unknown: no record, a broken record, a record without version
	// information, or a version that cannot be read.
	Unknown Status = "unknown"
)

// bound is how a range item ends.
type bound int

const (
	noBound      bound = iota // a bare {"version": ..., "status": ...}: restates the default
	lessThan                  // From <= V < To
	leBranch                  // From <= V and V on branch Prefix ("X.Y.*")
	leEverything              // From <= V ("*")
	leVersion                 // From <= V <= To (a plain lessThanOrEqual, not written by the CNA today)
)

// rangeItem is one non-git versions[] item.
type rangeItem struct {
	from   Version
	to     Version // for lessThan
	prefix string  // for leBranch: "6.1" of "6.1.*"
	kind   bound
	status Status // Affected or Unaffected
}

// entry is one affected[] entry.
type entry struct {
	defaultStatus Status
	items         []rangeItem
}

// Record is one parsed CVE record.
type Record struct {
	ID       string // "CVE-2025-21638"
	Title    string // the fix commit's subject, or the best summary available
	Rejected bool   // found under cve/rejected/

	// Introduced are the mainline releases that first contained the bug
	// (several when it was removed and re-added), in order. When the bug
	// never reached a mainline release, they are the stable releases it
	// was backported into.
	Introduced []Version
	// StableFixes are the stable releases holding a fix, one or more per
	// branch, in order.
	StableFixes []Version
	// MainlineFix is the mainline release holding the original fix, when
	// HasMainlineFix.
	MainlineFix    Version
	HasMainlineFix bool

	entries []entry
	noData  bool  // no range and no "affected" default anywhere: nothing to decide from
	dyad    *Dyad // the .dyad file beside the JSON, when there is one
}

// backportIntroduced are the stable releases a bug was backported into.
func (r *Record) backportIntroduced() []Version {
	var out []Version
	for _, e := range r.entries {
		for _, it := range e.items {
			if it.kind == lessThan && it.status == Affected && it.from.Stable() {
				out = append(out, it.from)
			}
		}
	}
	sortUnique(&out)
	return out
}

// IntroducedOrBackported is Introduced, or, for a bug that never reached
// a mainline release, the stable releases it was backported into.
func (r *Record) IntroducedOrBackported() []Version {
	if len(r.Introduced) > 0 {
		return r.Introduced
	}
	return r.backportIntroduced()
}

// Fixes are the stable fixes followed by the mainline fix.
func (r *Record) Fixes() []Version {
	out := slices.Clone(r.StableFixes)
	if r.HasMainlineFix {
		out = append(out, r.MainlineFix)
	}
	return out
}

// HasVersions reports whether the record says anything about versions.
func (r *Record) HasVersions() bool { return !r.noData }

// matches reports whether v falls in the item's range.
//
// A range that starts at a stable release ("6.19.10" lessThan "6.20")
// is a backport into that branch and covers only it: the CNA writes the
// next minor number as the bound, and "6.20-rc1" < "6.20" must not match.
func (it rangeItem) matches(v Version) bool {
	if it.kind == lessThan && it.from.Stable() && v.Branch() != it.from.Branch() {
		return false
	}
	if !it.from.IsZero() && Compare(v, it.from) < 0 {
		return false
	}
	switch it.kind {
	case lessThan:
		return Compare(v, it.to) < 0
	case leBranch:
		return onBranchPattern(v, it.prefix)
	case leEverything:
		return true
	case leVersion:
		return Compare(v, it.to) <= 0
	}
	return false
}

// IsAffected reports whether the JSON's version ranges say v is
// affected (see jsonStatus), ignoring rejection and the .dyad.
func (r *Record) IsAffected(v Version) bool { return r.jsonStatus(v) == Affected }

// jsonStatus applies the CNA's encoding to v, ignoring rejection: for
// each affected[] entry, the status of the first non-git item with a
// bound that matches v, or else the entry's defaultStatus; v is affected
// when any entry says so, else unknown when an entry's default is
// "unknown" and nothing matched, else unaffected.
//
// Two refinements, where the .dyad files show what the JSON means:
//
//   - an "affected" range "0" lessThan "X.Y.Z" (introduction unknown,
//     fixed at X.Y.Z) covers branch X.Y and the branches that have no fix
//     of their own, not every older release: for CVE-2024-38635 5.10.300
//     is fixed (at 5.10.219) although it is below "0" lessThan "5.15.161";
//   - a branch's own fix wins over the mainline fix: when v's branch has
//     stable fixes and all of them are above v, the "X.Y" lessThanOrEqual
//     "*" item does not make v unaffected (CVE-2021-47644: mainline fix
//     5.2, branch 5.16 fixed only at 5.16.19, so 5.16.5 is affected).
func (r *Record) jsonStatus(v Version) Status {
	br := v.Branch()
	branchFixed, branchFixedBelow := false, false
	for _, f := range r.StableFixes {
		if f.Branch() == br {
			branchFixed = true
			if Compare(f, v) <= 0 {
				branchFixedBelow = true
			}
		}
	}
	unknown := false
	for _, e := range r.entries {
		st := e.defaultStatus
		for _, it := range e.items {
			if it.kind == lessThan && it.status == Affected && it.from.IsZero() && it.to.Stable() &&
				branchFixed && it.to.Branch() != br {
				continue
			}
			if it.kind == leEverything && it.status == Unaffected && branchFixed && !branchFixedBelow {
				continue
			}
			if it.kind != noBound && it.matches(v) {
				st = it.status
				break
			}
		}
		switch st {
		case Affected:
			return Affected
		case Unknown:
			unknown = true
		}
	}
	if unknown {
		return Unknown
	}
	return Unaffected
}

// jsonHasBranch reports whether the JSON says something about branch br
// itself: a fix on it ("X.Y.Z" lessThanOrEqual "X.Y.*", or a range ending
// at one of its releases) or a backport into it.
func (r *Record) jsonHasBranch(br string) bool {
	for _, e := range r.entries {
		for _, it := range e.items {
			switch {
			case it.kind == leBranch && it.from.Branch() == br:
				return true
			case it.kind == lessThan && it.from.Stable() && it.from.Branch() == br:
				return true
			case it.kind == lessThan && it.to.Stable() && it.to.Branch() == br:
				return true
			}
		}
	}
	return false
}

// FixFor is the release that fixes v's branch: for an affected v the
// lowest fix above it on its branch (or the mainline fix, for a v of the
// mainline fix's release cycle); for a v that is not affected the highest
// fix at or below it on its branch, or the mainline fix at or below it.
// ok is false when there is none.
func (r *Record) FixFor(v Version) (fix Version, ok bool) {
	br := v.Branch()
	affected := r.IsAffected(v)
	for _, f := range r.StableFixes {
		if f.Branch() != br {
			continue
		}
		c := Compare(f, v)
		if affected && c > 0 && !ok {
			fix, ok = f, true
		}
		if !affected && c <= 0 {
			fix, ok = f, true
		}
	}
	if ok || !r.HasMainlineFix {
		return fix, ok
	}
	if affected && r.MainlineFix.Branch() == br && Compare(v, r.MainlineFix) < 0 {
		return r.MainlineFix, true
	}
	if !affected && Compare(r.MainlineFix, v) <= 0 {
		return r.MainlineFix, true
	}
	return Version{}, false
}

// Verdict is the status of v: Affected, Fixed (not affected and its
// branch's fix or the mainline fix is at or below it), Unaffected (never
// affected, or the CVE was rejected) or Unknown (no version data, a
// record whose JSON and .dyad disagree on v's branch, or a version
// between two fixes of its branch). Judge says why.
func (r *Record) Verdict(v Version) Status { return r.Judge(v).Status }
