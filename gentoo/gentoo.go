// SPDX-License-Identifier: GPL-3.0-or-later

// Package gentoo reads the kernel versions a Gentoo repository offers:
// for a package such as sys-kernel/gentoo-sources, the versions from its
// ebuild file names mapped to upstream kernel versions, and whether each
// is stable on some architecture (KEYWORDS). It reads only file names and
// the KEYWORDS line, and reads a package again when its directory or one
// of its ebuilds changes.
package gentoo

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/ksecbot/ksecbot/kernelcve"
)

// Version is one ebuild of a package.
type Version struct {
	Package  string            // "sys-kernel/gentoo-sources"
	PVR      string            // the ebuild's version with revision: "6.6.58-r1", "5.10.255_p3"
	Upstream kernelcve.Version // the kernel version it ships: "6.6.58", "5.10.255"
	Stable   bool              // KEYWORDS has an arch without "~"
	// PatchSet marks a version that is no upstream release: X.Y_pN, a
	// patch set on mainline X.Y that carries stable updates of its own
	// (pf-sources). Upstream is then only X.Y, its branch, and says
	// nothing about which fixes it has.
	PatchSet bool
}

// PV is the ebuild's version without its revision ("6.12_p5" of
// "6.12_p5-r1"), the key of a [[tree]]'s upstream_versions.
func (v Version) PV() string { return revRe.ReplaceAllString(v.PVR, "") }

// Repo reads a Gentoo repository (e.g. /var/db/repos/gentoo). Safe for
// concurrent use.
type Repo struct {
	root string

	mu    sync.Mutex
	cache map[string]pkgCache
}

type pkgCache struct {
	sig      string
	versions []Version
}

// NewRepo returns a Repo reading the repository at root.
func NewRepo(root string) *Repo { return &Repo{root: root, cache: map[string]pkgCache{}} }

// Root is the repository's path.
func (r *Repo) Root() string { return r.root }

// Check reports whether root looks like a Gentoo repository.
func (r *Repo) Check() error {
	st, err := os.Stat(filepath.Join(r.root, "sys-kernel"))
	if err != nil {
		return fmt.Errorf("gentoo repository %s: %w (want a repository such as /var/db/repos/gentoo with sys-kernel/)", r.root, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("gentoo repository %s: sys-kernel is not a directory", r.root)
	}
	return nil
}

var atomRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9+_.-]*/[A-Za-z0-9][A-Za-z0-9+_-]*$`)

// Versions lists every keyworded version of pkg ("category/name"), lowest
// first. Live ebuilds (9999) and versions without any keyword are left
// out: they are nobody's current kernel. A package the repository does
// not have gives no versions and no error.
func (r *Repo) Versions(pkg string) ([]Version, error) {
	dir, name, ebuilds, sig, err := r.scan(pkg)
	if err != nil || dir == "" {
		return nil, err
	}
	r.mu.Lock()
	c, ok := r.cache[pkg]
	r.mu.Unlock()
	if ok && c.sig == sig {
		return c.versions, nil
	}
	var out []Version
	for _, fn := range ebuilds {
		pvr := strings.TrimSuffix(strings.TrimPrefix(fn, name+"-"), ".ebuild")
		up, ok := Upstream(pvr)
		if !ok {
			continue
		}
		kw, err := readKeywords(filepath.Join(dir, fn))
		if err != nil {
			return nil, err
		}
		if len(kw) == 0 {
			continue
		}
		out = append(out, Version{Package: pkg, PVR: pvr, Upstream: up, Stable: stable(kw), PatchSet: IsPatchSet(pvr)})
	}
	slices.SortFunc(out, func(a, b Version) int {
		if c := kernelcve.Compare(a.Upstream, b.Upstream); c != 0 {
			return c
		}
		return strings.Compare(a.PVR, b.PVR)
	})
	r.mu.Lock()
	r.cache[pkg] = pkgCache{sig: sig, versions: out}
	r.mu.Unlock()
	return out, nil
}

// Stamp identifies pkg's ebuilds as they are now (names, modification
// times and sizes; "" when the repository does not have the package), the
// validity Versions' own cache uses: versions derived from pkg stay valid
// while its Stamp is unchanged. It lists the package's directory but reads
// no ebuild.
func (r *Repo) Stamp(pkg string) (string, error) {
	_, _, _, sig, err := r.scan(pkg)
	return sig, err
}

// scan lists pkg's ebuilds and their signature; dir is "" when the
// repository does not have the package.
func (r *Repo) scan(pkg string) (dir, name string, ebuilds []string, sig string, err error) {
	if !atomRe.MatchString(pkg) || strings.Contains(pkg, "..") {
		return "", "", nil, "", fmt.Errorf("%q is not a category/package name", pkg)
	}
	dir = filepath.Join(r.root, filepath.FromSlash(pkg))
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", nil, "", nil
	}
	if err != nil {
		return "", "", nil, "", fmt.Errorf("gentoo repository: %w", err)
	}
	name = pkg[strings.IndexByte(pkg, '/')+1:]
	var b strings.Builder
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".ebuild") || !strings.HasPrefix(e.Name(), name+"-") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed while listing
		}
		fmt.Fprintf(&b, "%s %d %d\n", e.Name(), info.ModTime().UnixNano(), info.Size())
		ebuilds = append(ebuilds, e.Name())
	}
	return dir, name, ebuilds, b.String(), nil
}

// Current gives, per kernel branch (X.Y) of pkg, the newest version and,
// when it is not stable, also the newest stable version of that branch:
// the versions users of the package are on. Sorted by branch, newest
// version first within a branch.
func (r *Repo) Current(pkg string) ([]Version, error) {
	all, err := r.Versions(pkg)
	if err != nil {
		return nil, err
	}
	type pick struct{ newest, stable *Version }
	byBranch := map[string]*pick{}
	var order []string
	for i := range all {
		v := &all[i]
		br := v.Upstream.Branch()
		p := byBranch[br]
		if p == nil {
			p = &pick{}
			byBranch[br] = p
			order = append(order, br)
		}
		p.newest = v // all is sorted ascending
		if v.Stable {
			p.stable = v
		}
	}
	var out []Version
	for _, br := range order {
		p := byBranch[br]
		out = append(out, *p.newest)
		if p.stable != nil && p.stable != p.newest {
			out = append(out, *p.stable)
		}
	}
	return out, nil
}

// IsPatchSet reports whether an ebuild version is X.Y_pN (with or
// without a revision): a patch set on mainline X.Y whose stable updates
// cannot be told from the version (pf-sources). X.Y.Z_pN (rt-sources,
// gentoo-kernel) is release X.Y.Z with a patch level of Gentoo's.
func IsPatchSet(pvr string) bool { return patchSetRe.MatchString(pvr) }

var (
	patchSetRe = regexp.MustCompile(`^[0-9]+\.[0-9]+_p[0-9]+(-r[0-9]+)?$`)
	revRe      = regexp.MustCompile(`-r[0-9]+$`)
	pRe        = regexp.MustCompile(`_p[0-9]*`)
	rcRe       = regexp.MustCompile(`_rc([0-9]+)`)
)

// Upstream maps an ebuild version to the kernel version it ships:
// "-rN" and "_pN" are dropped, "_rcN" becomes "-rcN", and "7.0.0" is
// "7.0". ok is false for live (9999) and unreadable versions.
func Upstream(pvr string) (v kernelcve.Version, ok bool) {
	s := revRe.ReplaceAllString(pvr, "")
	if strings.Contains(s, "9999") {
		return kernelcve.Version{}, false
	}
	s = pRe.ReplaceAllString(s, "")
	s = rcRe.ReplaceAllString(s, "-rc$1")
	if strings.HasSuffix(s, ".0") && strings.Count(s, ".") == 2 && !strings.Contains(s, "-rc") {
		s = strings.TrimSuffix(s, ".0")
	}
	v, err := kernelcve.ParseVersion(s)
	if err != nil || v.IsZero() {
		return kernelcve.Version{}, false
	}
	return v, true
}

var keywordsRe = regexp.MustCompile(`(?:^|[\s;&])KEYWORDS=(?:"([^"]*)"|'([^']*)'|([^"'\s]\S*))`)

// maxEbuild bounds what is read of one ebuild.
const maxEbuild = 1 << 20

// readKeywords returns the words of the ebuild's KEYWORDS assignment (the
// last one, as bash would leave it).
func readKeywords(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gentoo repository: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), maxEbuild)
	var kw []string
	var pending strings.Builder // a quoted value spanning lines
	inQuote := false
	for sc.Scan() {
		line := sc.Text()
		if inQuote {
			pending.WriteString(" ")
			if i := strings.IndexByte(line, '"'); i >= 0 {
				pending.WriteString(line[:i])
				kw = strings.Fields(pending.String())
				inQuote = false
			} else {
				pending.WriteString(line)
			}
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		m := keywordsRe.FindStringSubmatch(line)
		if m == nil {
			if i := strings.Index(line, `KEYWORDS="`); i >= 0 && !strings.Contains(line[i+10:], `"`) {
				pending.Reset()
				pending.WriteString(line[i+10:])
				inQuote = true
			}
			continue
		}
		kw = strings.Fields(m[1] + m[2] + m[3])
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("gentoo repository: %s: %w", path, err)
	}
	return kw, nil
}

var archRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// stable reports whether a keyword list has an arch without "~" (and not
// "-arch" or "-*").
func stable(kw []string) bool {
	for _, k := range kw {
		if archRe.MatchString(k) {
			return true
		}
	}
	return false
}
