// SPDX-License-Identifier: GPL-3.0-or-later

// Reading the .dyad file beside a record: the (vulnerable, fixed) commit
// pairs the CNA builds the JSON from, one per line.

package kernelcve

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// dyadPair is one line of a .dyad file, vuln_ver:vuln_sha:fix_ver:fix_sha,
// with "0" for a side that is not known (no fix yet, or an unknown
// introduction).
type dyadPair struct {
	vuln, fix     Version
	hasVuln, fixd bool // the side is a version, not "0"
}

// Dyad is a parsed .dyad file.
type Dyad struct {
	pairs []dyadPair
}

// maxDyadLines bounds a .dyad file: real ones have a few dozen lines.
const maxDyadLines = 10000

// ParseDyad reads a .dyad file: "#" comment lines and
// vuln_ver:vuln_sha:fix_ver:fix_sha lines. It never panics.
func ParseDyad(data []byte) (*Dyad, error) {
	d := &Dyad{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if len(d.pairs) >= maxDyadLines {
			return nil, fmt.Errorf(".dyad: more than %d pairs", maxDyadLines)
		}
		f := strings.Split(line, ":")
		if len(f) != 4 {
			return nil, fmt.Errorf(".dyad line %d: want vuln_ver:vuln_sha:fix_ver:fix_sha, got %q", n, line)
		}
		var p dyadPair
		var err error
		if f[0] != "0" {
			if p.vuln, err = ParseVersion(f[0]); err != nil {
				return nil, fmt.Errorf(".dyad line %d: %w", n, err)
			}
			p.hasVuln = true
		}
		if f[2] != "0" {
			if p.fix, err = ParseVersion(f[2]); err != nil {
				return nil, fmt.Errorf(".dyad line %d: %w", n, err)
			}
			p.fixd = true
		}
		d.pairs = append(d.pairs, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf(".dyad: %w", err)
	}
	return d, nil
}

// onBranch reports whether the pair belongs to branch br: its fix is a
// stable release of br, or its vulnerable side is a backport into br.
func (p dyadPair) onBranch(br string) bool {
	return (p.fixd && p.fix.Stable() && p.fix.Branch() == br) ||
		(p.hasVuln && p.vuln.Stable() && p.vuln.Branch() == br)
}

// dyadVerdict is what the .dyad alone says about one version.
type dyadVerdict struct {
	affected bool
	// branch: v's branch has pairs of its own (a stable fix or backport
	// there), so the verdict is about that branch, not inferred from
	// mainline.
	branch bool
	fix    Version // the release fixing v's branch, when hasFix
	hasFix bool
}

// judge applies the .dyad's meaning to v. A pair is vulnerable from its
// vulnerable release (unknown: since forever) up to, not including, its
// fix (unknown: no end). When v's branch has pairs of its own, only they
// decide. Otherwise the pairs whose vulnerable side is a mainline release
// (or unknown) do: one with a mainline fix ends there; one whose fix is a
// stable release of another branch, or that has none, ends at the first
// mainline fix above its start, if any.
func (d *Dyad) judge(v Version) dyadVerdict {
	br := v.Branch()
	var out dyadVerdict
	covers := func(p dyadPair, end Version, hasEnd bool) bool {
		return (!p.hasVuln || Compare(v, p.vuln) >= 0) && (!hasEnd || Compare(v, end) < 0)
	}
	unfixed := false // a pair covering v has no fix
	for _, p := range d.pairs {
		if !p.onBranch(br) {
			continue
		}
		out.branch = true
		if !covers(p, p.fix, p.fixd) {
			continue
		}
		// Affected until every pair covering v is fixed: the highest of
		// their fixes, none when one of them has none.
		out.affected = true
		if !p.fixd {
			unfixed = true
		} else if !out.hasFix || Compare(p.fix, out.fix) > 0 {
			out.fix, out.hasFix = p.fix, true
		}
	}
	if out.branch {
		if unfixed {
			out.fix, out.hasFix = Version{}, false
		}
		if !out.affected {
			// the fix it already has: the highest at or below it
			for _, f := range d.branchFixes(br) {
				if Compare(f, v) <= 0 {
					out.fix, out.hasFix = f, true
				}
			}
		}
		return out
	}
	mainline := d.mainlineFixes()
	for _, p := range d.pairs {
		if p.hasVuln && p.vuln.Stable() {
			continue
		}
		end, hasEnd := p.fix, p.fixd && !p.fix.Stable()
		if !hasEnd {
			for _, f := range mainline {
				if !p.hasVuln || Compare(f, p.vuln) > 0 {
					end, hasEnd = f, true
					break
				}
			}
		}
		if covers(p, end, hasEnd) {
			out.affected = true
			if hasEnd && (!out.hasFix || Compare(end, out.fix) > 0) {
				out.fix, out.hasFix = end, true
			}
		}
	}
	if !out.affected {
		for _, f := range mainline {
			if Compare(f, v) <= 0 {
				out.fix, out.hasFix = f, true
			}
		}
	}
	return out
}

// sameRelease reports whether the pair was introduced and fixed in the
// same release: no release was ever vulnerable, so its fix fixes nothing
// anyone runs and is not listed among the fixes.
func (p dyadPair) sameRelease() bool {
	return p.hasVuln && p.fixd && Compare(p.vuln, p.fix) == 0
}

// branchFixes are the stable fixes of branch br, lowest first.
func (d *Dyad) branchFixes(br string) []Version {
	var out []Version
	for _, p := range d.pairs {
		if p.fixd && p.fix.Stable() && p.fix.Branch() == br && !p.sameRelease() {
			out = append(out, p.fix)
		}
	}
	sortUnique(&out)
	return out
}

// mainlineFixes are the fixes that are mainline releases, lowest first.
func (d *Dyad) mainlineFixes() []Version {
	var out []Version
	for _, p := range d.pairs {
		if p.fixd && !p.fix.Stable() {
			out = append(out, p.fix)
		}
	}
	sortUnique(&out)
	return out
}

// Branches are the branches the .dyad names a stable fix or backport on.
func (d *Dyad) Branches() []string {
	var out []string
	for _, p := range d.pairs {
		for _, v := range []Version{p.vuln, p.fix} {
			if v.Stable() && !slices.Contains(out, v.Branch()) {
				out = append(out, v.Branch())
			}
		}
	}
	return out
}
