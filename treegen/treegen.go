// SPDX-License-Identifier: GPL-3.0-or-later

// Package treegen generates the [[tree]] entries of the configuration from
// a Gentoo repository checkout: `ksecbot trees --repo PATH` (docs/operating.md,
// "Tree registry from the Gentoo repository").
//
// Kernel trees are the sys-kernel packages named *-sources, plus the
// distribution kernels *-kernel and *-kernel-bin (gentoo-kernel,
// gentoo-kernel-bin, vanilla-kernel, ...). Each package's maintainers come
// from its metadata.xml; K_SECURITY_UNSUPPORTED set in any of its ebuilds
// marks it without security support.
//
// Grouping: packages of one flavour (the name without its -sources,
// -kernel or -kernel-bin suffix: "gentoo" for gentoo-sources, gentoo-kernel
// and gentoo-kernel-bin) form one tree when they have exactly the same
// maintainers (the same set of e-mail addresses) and the same security
// support; otherwise each such set is a tree of its own. The tree is named
// after its -sources package if it has one, else its -kernel package, else
// its -kernel-bin package; the other package names become aliases. The
// flavour name is also an alias of the first tree of that flavour, except
// for flavours too generic to name a tree in a bug summary ("gentoo",
// "git"). In today's Gentoo repository gentoo-sources (kernel@) and
// gentoo-kernel (dist-kernel@) have different maintainers, so they are two
// trees, and gentoo-kernel-bin joins gentoo-kernel.
package treegen

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/ksecbot/ksecbot/config"
)

// Well-known addresses.
const (
	// MaintainerNeeded is the Bugzilla login of packages without maintainer.
	MaintainerNeeded = "maintainer-needed@gentoo.org"
	// ProxyMaint is the project that proxies non-developer maintainers.
	ProxyMaint = "proxy-maint@gentoo.org"
)

// Entry is one generated tree.
type Entry struct {
	// Tree is the [[tree]] entry. IRC and Matrix are always empty: they
	// cannot be known from the repository.
	Tree config.Tree
	// Unsupported is true when K_SECURITY_UNSUPPORTED is set in one of the
	// tree's ebuilds; Write prints such a tree commented out.
	Unsupported bool
	// Notes are human-readable remarks (maintainers with their names,
	// proxy maintenance, maintainer-needed, why unsupported, problems
	// found), printed as comments above the entry.
	Notes []string
}

// maxMetadataSize bounds the metadata.xml and ebuild files read.
const maxFileSize = 1 << 20

var (
	pkgNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9+_-]*$`)
	// unsupportedRE matches an assignment of K_SECURITY_UNSUPPORTED at the
	// start of a line, with an optional quote; group 1 is the value.
	unsupportedRE = regexp.MustCompile(`^\s*(?:export\s+)?K_SECURITY_UNSUPPORTED=(?:"([^"]*)"|'([^']*)'|([^\s#;]*))`)
)

// genericFlavours are flavour names not given as aliases: too common in
// bug text to mean one tree.
var genericFlavours = map[string]bool{"gentoo": true, "git": true}

// suffixes of kernel tree packages, in the order that names a tree.
var suffixes = []string{"-sources", "-kernel", "-kernel-bin"}

// maintainer is one <maintainer> of a metadata.xml.
type maintainer struct {
	Type    string `xml:"type,attr"`
	Proxied string `xml:"proxied,attr"`
	Email   string `xml:"email"`
	Name    string `xml:"name"`
}

type pkgMetadata struct {
	XMLName     xml.Name     `xml:"pkgmetadata"`
	Maintainers []maintainer `xml:"maintainer"`
}

// pkg is one kernel package found in the repository.
type pkg struct {
	name        string // e.g. gentoo-sources
	flavour     string // e.g. gentoo
	rank        int    // index in suffixes
	logins      []string
	notes       []string
	unsupported []string // ebuilds that set K_SECURITY_UNSUPPORTED
}

// kernelPackage reports whether name is a kernel tree package, and returns
// its flavour and rank.
func kernelPackage(name string) (flavour string, rank int, ok bool) {
	// Longest suffix first: "-kernel-bin" before "-kernel".
	for _, i := range []int{2, 0, 1} {
		if f, found := strings.CutSuffix(name, suffixes[i]); found && f != "" {
			return f, i, true
		}
	}
	return "", 0, false
}

// Scan reads the sys-kernel category of the Gentoo repository at repo and
// returns one entry per kernel tree, sorted by tree name. A package
// directory without any ebuild is skipped; an unreadable or malformed
// metadata.xml is an error naming the file.
func Scan(repo string) ([]Entry, error) {
	cat := filepath.Join(repo, "sys-kernel")
	dirents, err := os.ReadDir(cat)
	if err != nil {
		return nil, fmt.Errorf("failed to read %s (is %s a Gentoo repository?): %w", cat, repo, err)
	}
	var pkgs []*pkg
	for _, de := range dirents {
		name := de.Name()
		flavour, rank, ok := kernelPackage(name)
		if !ok || !de.IsDir() || !pkgNameRE.MatchString(name) {
			continue
		}
		p, err := scanPackage(filepath.Join(cat, name), name)
		if err != nil {
			return nil, err
		}
		if p == nil {
			continue
		}
		p.flavour, p.rank = flavour, rank
		pkgs = append(pkgs, p)
	}
	return group(pkgs), nil
}

// scanPackage reads one package directory; it returns nil when the
// directory holds no ebuild.
func scanPackage(dir, name string) (*pkg, error) {
	files, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("failed to read package directory: %w", err)
	}
	p := &pkg{name: name}
	ebuilds := 0
	for _, f := range files {
		if f.IsDir() || !strings.HasSuffix(f.Name(), ".ebuild") {
			continue
		}
		ebuilds++
		set, err := securityUnsupported(filepath.Join(dir, f.Name()))
		if err != nil {
			return nil, err
		}
		if set {
			p.unsupported = append(p.unsupported, f.Name())
		}
	}
	if ebuilds == 0 {
		return nil, nil
	}
	md, err := readMetadata(filepath.Join(dir, "metadata.xml"))
	if err != nil {
		return nil, err
	}
	proxied := false
	for _, m := range md.Maintainers {
		email := strings.TrimSpace(m.Email)
		if !validLogin(email) {
			p.notes = append(p.notes, fmt.Sprintf("sys-kernel/%s: skipped a maintainer with an unusable e-mail address %q", name, email))
			continue
		}
		if slices.ContainsFunc(p.logins, func(l string) bool { return strings.EqualFold(l, email) }) {
			continue
		}
		p.logins = append(p.logins, email)
		kind := strings.TrimSpace(m.Type)
		if kind == "" {
			kind = "person"
		}
		if m.Proxied == "yes" {
			kind += ", proxied"
		}
		desc := email + " (" + kind + ")"
		if n := strings.Join(strings.Fields(m.Name), " "); n != "" {
			desc = n + " <" + email + "> (" + kind + ")"
		}
		p.notes = append(p.notes, "sys-kernel/"+name+" maintainer: "+desc)
		if strings.EqualFold(email, ProxyMaint) || m.Proxied == "yes" || m.Proxied == "proxy" {
			proxied = true
		}
	}
	if proxied {
		p.notes = append(p.notes, "sys-kernel/"+name+": proxy-maintained; CC both the proxied maintainer and "+ProxyMaint)
	}
	if len(p.logins) == 0 {
		p.notes = append(p.notes, "maintainer-needed: sys-kernel/"+name+" has no maintainer in metadata.xml")
		p.logins = []string{MaintainerNeeded}
	}
	return p, nil
}

// readMetadata parses a metadata.xml.
func readMetadata(path string) (*pkgMetadata, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	var md pkgMetadata
	d := xml.NewDecoder(bytes.NewReader(data))
	if err := d.Decode(&md); err != nil {
		return nil, fmt.Errorf("failed to parse %s: %w", path, err)
	}
	return &md, nil
}

// securityUnsupported reports whether an ebuild sets K_SECURITY_UNSUPPORTED
// to a non-empty value (kernel-2.eclass tests it with -n).
func securityUnsupported(path string) (bool, error) {
	data, err := readLimited(path)
	if err != nil {
		return false, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), maxFileSize)
	for sc.Scan() {
		m := unsupportedRE.FindStringSubmatch(sc.Text())
		if m != nil && m[1]+m[2]+m[3] != "" {
			return true, nil
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("failed to read %s: %w", path, err)
	}
	return false, nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("failed to open %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("failed to read %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("failed to read %s: %w", path, errTooLarge)
	}
	return data, nil
}

var errTooLarge = errors.New("file too large")

// validLogin reports whether s can be used as one Bugzilla login: an
// address with one @, no space, comma or control character.
func validLogin(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || len(s) > 254 {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r == ',' || r == '\uFFFD' {
			return false
		}
	}
	return true
}

// group merges the packages into trees (see the package documentation).
func group(pkgs []*pkg) []Entry {
	type key struct {
		flavour, logins string
		unsupported     bool
	}
	keyOf := func(p *pkg) key {
		ls := make([]string, len(p.logins))
		for i, l := range p.logins {
			ls[i] = strings.ToLower(l)
		}
		sort.Strings(ls)
		return key{p.flavour, strings.Join(ls, "\x00"), len(p.unsupported) > 0}
	}
	groups := map[key][]*pkg{}
	var order []key
	for _, p := range pkgs {
		k := keyOf(p)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], p)
	}
	// Members by rank: the -sources package names the tree.
	for _, k := range order {
		slices.SortFunc(groups[k], func(a, b *pkg) int { return a.rank - b.rank })
	}
	// The flavour alias goes to the group with the best-ranked package.
	sort.SliceStable(order, func(i, j int) bool { return groups[order[i]][0].rank < groups[order[j]][0].rank })
	flavourTaken := map[string]bool{}

	entries := make([]Entry, 0, len(order))
	for _, k := range order {
		members := groups[k]
		e := Entry{Unsupported: k.unsupported}
		t := &e.Tree
		t.Name = members[0].name
		for i, p := range members {
			if i > 0 {
				t.Aliases = append(t.Aliases, p.name)
			}
			t.Packages = append(t.Packages, "sys-kernel/"+p.name)
			for _, l := range p.logins {
				if !slices.ContainsFunc(t.Bugzilla, func(x string) bool { return strings.EqualFold(x, l) }) {
					t.Bugzilla = append(t.Bugzilla, l)
				}
			}
			for _, n := range p.notes {
				if !slices.Contains(e.Notes, n) {
					e.Notes = append(e.Notes, n)
				}
			}
			if len(p.unsupported) > 0 {
				e.Notes = append(e.Notes, fmt.Sprintf("sys-kernel/%s has no security support: K_SECURITY_UNSUPPORTED is set in %s", p.name, strings.Join(p.unsupported, ", ")))
			}
		}
		if !genericFlavours[k.flavour] && !flavourTaken[k.flavour] && pkgNameRE.MatchString(k.flavour) {
			t.Aliases = append(t.Aliases, k.flavour)
		}
		flavourTaken[k.flavour] = true
		if t.Aliases == nil {
			t.Aliases = []string{}
		}
		maintained := !slices.Contains(t.Bugzilla, MaintainerNeeded)
		t.AutoCC = maintained && !e.Unsupported
		t.Unsupported = e.Unsupported
		entries = append(entries, e)
	}
	sortEntries(entries)
	return entries
}

func sortEntries(entries []Entry) {
	slices.SortStableFunc(entries, func(a, b Entry) int { return strings.Compare(a.Tree.Name, b.Tree.Name) })
}
