// SPDX-License-Identifier: GPL-3.0-or-later

// Package kernelcve reads the Linux kernel CNA's CVE records (a clone of
// its vulns repository: cve/published/<year>/<id>.json and
// cve/rejected/<year>/<id>.json, CVE JSON 5) and decides, for a kernel
// version, whether a CVE affects it, following the CNA's encoding of
// "affected" and "fixed" versions.
package kernelcve

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a kernel release number: 2 to 4 numeric components and an
// optional release candidate ("7.1-rc2"). The zero Version is "0", below
// every release.
type Version struct {
	parts [4]int
	n     int // number of components written (1..4)
	rc    int // 0: a release; N: -rcN, which sorts before the release
}

// ParseVersion reads "6.12", "6.12.10", "2.6.39.2", "7.1-rc2" or "0".
// "X.Y.*" and "*" are not versions (see the range matching in Record).
func ParseVersion(s string) (Version, error) {
	var v Version
	main, rc, hasRC := strings.Cut(s, "-rc")
	if hasRC {
		n, err := strconv.Atoi(rc)
		if err != nil || n <= 0 || n > 99 {
			return Version{}, fmt.Errorf("version %q: bad release candidate number", s)
		}
		v.rc = n
	}
	fields := strings.Split(main, ".")
	if len(fields) > 4 || main == "" {
		return Version{}, fmt.Errorf("version %q: want 1 to 4 numbers separated by dots", s)
	}
	for i, f := range fields {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 || n > 1_000_000 || f == "" || (len(f) > 1 && f[0] == '+') {
			return Version{}, fmt.Errorf("version %q: %q is not a number", s, f)
		}
		v.parts[i] = n
	}
	v.n = len(fields)
	return v, nil
}

// MustVersion is ParseVersion for constants; it panics on a bad version.
func MustVersion(s string) Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

// Compare returns -1, 0 or 1 as a is below, equal to or above b.
// Components are compared numerically, missing ones count as 0, and
// X.Y-rcN sorts before X.Y.
func Compare(a, b Version) int {
	for i := range a.parts {
		if a.parts[i] != b.parts[i] {
			if a.parts[i] < b.parts[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case a.rc == b.rc:
		return 0
	case a.rc == 0:
		return 1
	case b.rc == 0:
		return -1
	case a.rc < b.rc:
		return -1
	default:
		return 1
	}
}

// IsZero reports whether v is "0" (minus infinity in ranges).
func (v Version) IsZero() bool { return v.n <= 1 && v.parts[0] == 0 && v.rc == 0 }

// RC reports whether v is a release candidate.
func (v Version) RC() bool { return v.rc != 0 }

// Branch is the stable branch a release belongs to: "6.12" for 6.12.10,
// 6.12 and 6.12-rc3; "2.6.39" for 2.6.39.2 (before 3.0, the third number
// was the release).
func (v Version) Branch() string {
	if v.parts[0] == 2 && v.n >= 3 {
		return fmt.Sprintf("%d.%d.%d", v.parts[0], v.parts[1], v.parts[2])
	}
	return fmt.Sprintf("%d.%d", v.parts[0], v.parts[1])
}

// Stable reports whether v is a stable (point) release rather than a
// mainline release or release candidate: 6.12.10 yes; 6.12, 7.1-rc2 no.
func (v Version) Stable() bool {
	if v.rc != 0 {
		return false
	}
	if v.parts[0] == 2 {
		return v.n >= 4
	}
	return v.n >= 3 && v.parts[2] != 0
}

// String writes the version back as parsed ("6.12", "7.1-rc2").
func (v Version) String() string {
	n := v.n
	if n == 0 {
		n = 1
	}
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(v.parts[i]))
	}
	if v.rc != 0 {
		b.WriteString("-rc")
		b.WriteString(strconv.Itoa(v.rc))
	}
	return b.String()
}

// onBranchPattern reports whether v matches a "X.Y.*" pattern (given as
// the prefix "X.Y"): the leading components are equal. "2.6.*" matches
// every 2.6 release, as the CNA writes it for 4-part versions.
func onBranchPattern(v Version, prefix string) bool {
	p, err := ParseVersion(prefix)
	if err != nil || p.rc != 0 {
		return false
	}
	for i := 0; i < p.n; i++ {
		if v.parts[i] != p.parts[i] {
			return false
		}
	}
	return true
}
