// SPDX-License-Identifier: GPL-3.0-or-later

package treegen

import (
	"bytes"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/transport/irc"
	"github.com/ksecbot/ksecbot/transport/matrix"
)

var update = flag.Bool("update", false, "rewrite testdata/trees.golden.toml")

const testRepo = "testdata/repo"

// nets are the networks whose [[tree]] keys Write writes, as cmd/ksecbot
// registers them.
var nets = []config.Network{irc.Network.Config, matrix.Network.Config}

// minimalConfig is a configuration without trees, to which the generated
// entries are appended.
const minimalConfig = `[bugzilla]
url = "https://bugs.gentoo.org"

[[watch]]
product = "Gentoo Security"
component = "Kernel"
`

func scanTestRepo(t *testing.T) []Entry {
	t.Helper()
	entries, err := Scan(testRepo)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return entries
}

func byName(t *testing.T, entries []Entry) map[string]Entry {
	t.Helper()
	m := map[string]Entry{}
	for _, e := range entries {
		if _, dup := m[e.Tree.Name]; dup {
			t.Fatalf("tree %q generated twice", e.Tree.Name)
		}
		m[e.Tree.Name] = e
	}
	return m
}

func TestScanTestdata(t *testing.T) {
	entries := scanTestRepo(t)
	var names []string
	for _, e := range entries {
		names = append(names, e.Tree.Name)
	}
	wantNames := []string{"gentoo-kernel", "gentoo-sources", "hardened-sources", "mips-sources", "raspberrypi-sources", "rt-sources", "vanilla-sources"}
	if !slices.Equal(names, wantNames) {
		t.Fatalf("trees = %q, want %q (sorted, linux-firmware is not a kernel tree)", names, wantNames)
	}
	got := byName(t, entries)

	tests := []struct {
		name        string
		aliases     []string
		packages    []string
		bugzilla    []string
		autoCC      bool
		unsupported bool
		notes       []string // substrings that some note must contain
	}{
		{
			name:     "gentoo-sources",
			aliases:  []string{},
			packages: []string{"sys-kernel/gentoo-sources"},
			bugzilla: []string{"mpagano@gentoo.org", "kernel@gentoo.org"},
			autoCC:   true,
			notes:    []string{"Mike Pagano <mpagano@gentoo.org> (person)", "Gentoo Kernel Project <kernel@gentoo.org> (project)"},
		},
		{
			// Different maintainers from gentoo-sources: a tree of its
			// own, which gentoo-kernel-bin (same maintainers) joins.
			name:     "gentoo-kernel",
			aliases:  []string{"gentoo-kernel-bin"},
			packages: []string{"sys-kernel/gentoo-kernel", "sys-kernel/gentoo-kernel-bin"},
			bugzilla: []string{"dist-kernel@gentoo.org"},
			autoCC:   true,
		},
		{
			name:     "vanilla-sources",
			aliases:  []string{"vanilla"},
			packages: []string{"sys-kernel/vanilla-sources"},
			bugzilla: []string{"kernel@gentoo.org"},
			autoCC:   true,
		},
		{
			name:        "hardened-sources",
			aliases:     []string{"hardened"},
			packages:    []string{"sys-kernel/hardened-sources"},
			bugzilla:    []string{"hardened@gentoo.org", "blueness@gentoo.org"},
			unsupported: true,
			notes:       []string{"K_SECURITY_UNSUPPORTED is set in hardened-sources-4.9.24.ebuild"},
		},
		{
			name:     "mips-sources",
			aliases:  []string{"mips"},
			packages: []string{"sys-kernel/mips-sources"},
			bugzilla: []string{"kumba@example.net", "proxy-maint@gentoo.org"},
			autoCC:   true,
			notes:    []string{"proxy-maintained", "Joshua Kinard <kumba@example.net> (person, proxied)"},
		},
		{
			name:     "raspberrypi-sources",
			aliases:  []string{"raspberrypi"},
			packages: []string{"sys-kernel/raspberrypi-sources"},
			bugzilla: []string{"maintainer-needed@gentoo.org"},
			autoCC:   false,
			notes:    []string{"maintainer-needed"},
		},
		{
			// Only one of its two ebuilds sets K_SECURITY_UNSUPPORTED.
			name:        "rt-sources",
			aliases:     []string{"rt"},
			packages:    []string{"sys-kernel/rt-sources"},
			bugzilla:    []string{"alicef@gentoo.org", "kernel@gentoo.org"},
			unsupported: true,
			notes:       []string{"K_SECURITY_UNSUPPORTED is set in rt-sources-6.12.1_p5.ebuild"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, ok := got[tc.name]
			if !ok {
				t.Fatalf("no tree %q", tc.name)
			}
			tr := e.Tree
			if !slices.Equal(tr.Aliases, tc.aliases) {
				t.Errorf("aliases = %q, want %q", tr.Aliases, tc.aliases)
			}
			if !slices.Equal(tr.Packages, tc.packages) {
				t.Errorf("packages = %q, want %q", tr.Packages, tc.packages)
			}
			if !slices.Equal(tr.Bugzilla, tc.bugzilla) {
				t.Errorf("bugzilla = %q, want %q", tr.Bugzilla, tc.bugzilla)
			}
			if len(tr.Handles) != 0 {
				t.Errorf("handles = %q: cannot be known from the repository", tr.Handles)
			}
			if tr.AutoCC != tc.autoCC {
				t.Errorf("auto_cc = %v, want %v", tr.AutoCC, tc.autoCC)
			}
			if e.Unsupported != tc.unsupported || tr.Unsupported != tc.unsupported {
				t.Errorf("unsupported = %v (tree %v), want %v", e.Unsupported, tr.Unsupported, tc.unsupported)
			}
			for _, n := range tc.notes {
				if !slices.ContainsFunc(e.Notes, func(s string) bool { return strings.Contains(s, n) }) {
					t.Errorf("no note contains %q; notes: %q", n, e.Notes)
				}
			}
		})
	}
}

func TestWriteGolden(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, scanTestRepo(t), nets...); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "trees.golden.toml")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n%s", golden, b.String())
	}
	for _, s := range []string{"\n# maintainer-needed", "\n# [[tree]]\n# name = \"hardened-sources\"", "\nirc = []     # fill in"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("output lacks %q", s)
		}
	}
}

// uncomment enables the commented-out [[tree]] blocks of Write's output,
// as an operator would by hand.
func uncomment(s string) string {
	var out []string
	in := false
	for _, l := range strings.Split(s, "\n") {
		if l == "# [[tree]]" {
			in = true
		}
		if l == "" {
			in = false
		}
		if in {
			l = strings.TrimPrefix(l, "# ")
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

func TestWriteParsesWithConfigLoader(t *testing.T) {
	entries := scanTestRepo(t)
	var b bytes.Buffer
	if err := Write(&b, entries, nets...); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		doc       string
		wantTrees []string
	}{
		{"as printed", b.String(), []string{"gentoo-kernel", "gentoo-sources", "mips-sources", "raspberrypi-sources", "vanilla-sources"}},
		{"unsupported enabled by hand", uncomment(b.String()), []string{"gentoo-kernel", "gentoo-sources", "hardened-sources", "mips-sources", "raspberrypi-sources", "rt-sources", "vanilla-sources"}},
	}
	want := byName(t, entries)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Parse([]byte(minimalConfig+"\n"+tc.doc), "ksecbot.toml", nets...)
			if err != nil {
				t.Fatalf("config.Parse: %v\n%s", err, tc.doc)
			}
			var names []string
			for _, tr := range c.Trees {
				names = append(names, tr.Name)
				w := want[tr.Name].Tree
				if !slices.Equal(tr.Bugzilla, w.Bugzilla) || !slices.Equal(tr.Packages, w.Packages) ||
					!slices.Equal(tr.Aliases, w.Aliases) || tr.AutoCC != w.AutoCC || tr.Unsupported != w.Unsupported {
					t.Errorf("tree %q parsed as %+v, want %+v", tr.Name, tr, w)
				}
			}
			if !slices.Equal(names, tc.wantTrees) {
				t.Errorf("trees = %q, want %q", names, tc.wantTrees)
			}
		})
	}
}

// writeRepo creates a repository under t.TempDir(): files maps a path
// relative to sys-kernel to its content.
func writeRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	repo := t.TempDir()
	for p, content := range files {
		full := filepath.Join(repo, "sys-kernel", p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return repo
}

func metadata(maintainers ...string) string {
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE pkgmetadata SYSTEM \"https://www.gentoo.org/dtd/metadata.dtd\">\n<pkgmetadata>\n")
	for _, m := range maintainers {
		kind := "person"
		if strings.HasSuffix(m, "@gentoo.org") {
			kind = "project"
		}
		b.WriteString("\t<maintainer type=\"" + kind + "\">\n\t\t<email>" + m + "</email>\n\t</maintainer>\n")
	}
	b.WriteString("\t<upstream>\n\t\t<remote-id type=\"cpe\">cpe:/o:linux:linux_kernel</remote-id>\n\t</upstream>\n</pkgmetadata>\n")
	return b.String()
}

const ebuild = "EAPI=8\nETYPE=\"sources\"\ninherit kernel-2\n"
const unsupportedEbuild = "EAPI=8\nK_SECURITY_UNSUPPORTED=\"1\"\ninherit kernel-2\n"

func pkgFiles(name, meta, eb string) map[string]string {
	return map[string]string{
		name + "/metadata.xml":               meta,
		name + "/" + name + "-6.12.1.ebuild": eb,
	}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func TestGrouping(t *testing.T) {
	kernel := metadata("kernel@gentoo.org")
	dist := metadata("dist-kernel@gentoo.org")
	type tree struct {
		name     string
		aliases  []string
		packages []string
	}
	tests := []struct {
		name  string
		files map[string]string
		want  []tree
	}{
		{
			name: "dist-kernels share the maintainers of gentoo-sources: one tree",
			files: merge(
				pkgFiles("gentoo-sources", kernel, ebuild),
				pkgFiles("gentoo-kernel", kernel, ebuild),
				pkgFiles("gentoo-kernel-bin", kernel, ebuild),
			),
			want: []tree{{"gentoo-sources", []string{"gentoo-kernel", "gentoo-kernel-bin"}, []string{"sys-kernel/gentoo-sources", "sys-kernel/gentoo-kernel", "sys-kernel/gentoo-kernel-bin"}}},
		},
		{
			name: "same maintainers listed in another order and case still share",
			files: merge(
				pkgFiles("vanilla-sources", metadata("kernel@gentoo.org", "mpagano@gentoo.org"), ebuild),
				pkgFiles("vanilla-kernel", metadata("MPagano@gentoo.org", "kernel@gentoo.org"), ebuild),
			),
			want: []tree{{"vanilla-sources", []string{"vanilla-kernel", "vanilla"}, []string{"sys-kernel/vanilla-sources", "sys-kernel/vanilla-kernel"}}},
		},
		{
			name: "different maintainers: separate trees, flavour alias on the -sources tree",
			files: merge(
				pkgFiles("vanilla-sources", kernel, ebuild),
				pkgFiles("vanilla-kernel", dist, ebuild),
			),
			want: []tree{
				{"vanilla-kernel", []string{}, []string{"sys-kernel/vanilla-kernel"}},
				{"vanilla-sources", []string{"vanilla"}, []string{"sys-kernel/vanilla-sources"}},
			},
		},
		{
			name: "gentoo-kernel-bin with its own maintainers: three trees",
			files: merge(
				pkgFiles("gentoo-sources", kernel, ebuild),
				pkgFiles("gentoo-kernel", dist, ebuild),
				pkgFiles("gentoo-kernel-bin", metadata("bin@example.org"), ebuild),
			),
			want: []tree{
				{"gentoo-kernel", []string{}, []string{"sys-kernel/gentoo-kernel"}},
				{"gentoo-kernel-bin", []string{}, []string{"sys-kernel/gentoo-kernel-bin"}},
				{"gentoo-sources", []string{}, []string{"sys-kernel/gentoo-sources"}},
			},
		},
		{
			name: "same maintainers but different security support: separate trees",
			files: merge(
				pkgFiles("asahi-sources", kernel, unsupportedEbuild),
				pkgFiles("asahi-kernel", kernel, ebuild),
			),
			want: []tree{
				{"asahi-kernel", []string{}, []string{"sys-kernel/asahi-kernel"}},
				{"asahi-sources", []string{"asahi"}, []string{"sys-kernel/asahi-sources"}},
			},
		},
		{
			name: "not kernel trees: tools, firmware, headers, packages without ebuild",
			files: merge(
				pkgFiles("linux-firmware", kernel, ebuild),
				pkgFiles("linux-headers", kernel, ebuild),
				pkgFiles("installkernel", kernel, ebuild),
				pkgFiles("genkernel", kernel, ebuild),
				map[string]string{"zen-sources/metadata.xml": kernel, "git-sources/Manifest": ""},
				pkgFiles("pf-sources", kernel, ebuild),
			),
			want: []tree{{"pf-sources", []string{"pf"}, []string{"sys-kernel/pf-sources"}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			entries, err := Scan(writeRepo(t, tc.files))
			if err != nil {
				t.Fatal(err)
			}
			var got []tree
			for _, e := range entries {
				got = append(got, tree{e.Tree.Name, e.Tree.Aliases, e.Tree.Packages})
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d trees %+v, want %+v", len(got), got, tc.want)
			}
			for i := range got {
				if got[i].name != tc.want[i].name || !slices.Equal(got[i].aliases, tc.want[i].aliases) || !slices.Equal(got[i].packages, tc.want[i].packages) {
					t.Errorf("tree %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
			// Whatever the grouping, the output stays a valid config,
			// with unsupported trees enabled too (unique aliases).
			var b bytes.Buffer
			if err := Write(&b, entries, nets...); err != nil {
				t.Fatal(err)
			}
			if _, err := config.Parse([]byte(minimalConfig+uncomment(b.String())), "x.toml", nets...); err != nil {
				t.Errorf("config.Parse: %v\n%s", err, b.String())
			}
		})
	}
}

func TestSecurityUnsupported(t *testing.T) {
	tests := []struct {
		line string
		want bool
	}{
		{`K_SECURITY_UNSUPPORTED="1"`, true},
		{`K_SECURITY_UNSUPPORTED=1`, true},
		{`K_SECURITY_UNSUPPORTED='1'`, true},
		{"\tK_SECURITY_UNSUPPORTED=\"1\" # until upstream EOL", true},
		{`K_SECURITY_UNSUPPORTED="yes"`, true},
		{`export K_SECURITY_UNSUPPORTED=1`, true},
		{`# K_SECURITY_UNSUPPORTED="1"`, false},
		{`K_SECURITY_UNSUPPORTED=""`, false},
		{`K_SECURITY_UNSUPPORTED=`, false},
		{`K_SECURITY_UNSUPPORTED_NOTE="1"`, false},
		{`einfo "K_SECURITY_UNSUPPORTED=1"`, false},
		{`MY_K_SECURITY_UNSUPPORTED="1"`, false},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			p := filepath.Join(dir, "x.ebuild")
			if err := os.WriteFile(p, []byte("EAPI=8\n"+tc.line+"\ninherit kernel-2\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := securityUnsupported(p)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("securityUnsupported(%q) = %v, want %v", tc.line, got, tc.want)
			}
		})
	}
}

func TestHostileMetadata(t *testing.T) {
	evilName := "Mallory\"]\n[[tree]]\nname = \"evil\" \r\x00\x1b[31m \u2028 \xff"
	meta := "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<pkgmetadata>\n" +
		"<maintainer type=\"person\"><email>we\"ird\\x@example.org</email><name>" + xmlEscape(evilName) + "</name></maintainer>\n" +
		"<maintainer type=\"person\"><email>two words@example.org</email><name>Space</name></maintainer>\n" +
		"<maintainer type=\"person\"><email>a@b.org,c@d.org</email></maintainer>\n" +
		"<maintainer type=\"project\"><email>kernel@gentoo.org</email><name>Gentoo Kernel Project</name></maintainer>\n" +
		"</pkgmetadata>\n"
	repo := writeRepo(t, pkgFiles("evil-sources", meta, ebuild))
	entries, err := Scan(repo)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("got %d entries, want 1", len(entries))
	}
	wantLogins := []string{`we"ird\x@example.org`, "kernel@gentoo.org"}
	if got := entries[0].Tree.Bugzilla; !slices.Equal(got, wantLogins) {
		t.Errorf("bugzilla = %q, want %q (unusable addresses skipped)", got, wantLogins)
	}
	skipped := 0
	for _, n := range entries[0].Notes {
		if strings.Contains(n, "unusable e-mail address") {
			skipped++
		}
	}
	if skipped != 2 {
		t.Errorf("%d notes about skipped addresses, want 2: %q", skipped, entries[0].Notes)
	}

	var b bytes.Buffer
	if err := Write(&b, entries, nets...); err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse([]byte(minimalConfig+b.String()), "x.toml", nets...)
	if err != nil {
		t.Fatalf("config.Parse: %v\n%s", err, b.String())
	}
	if len(c.Trees) != 1 || c.Trees[0].Name != "evil-sources" {
		t.Fatalf("trees = %+v, want only evil-sources\n%s", c.Trees, b.String())
	}
	if !slices.Equal(c.Trees[0].Bugzilla, wantLogins) {
		t.Errorf("parsed bugzilla = %q, want %q", c.Trees[0].Bugzilla, wantLogins)
	}
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r':
			b.WriteString("&#" + string(rune('0'+int(r)/10)) + string(rune('0'+int(r)%10)) + ";")
		case r == 0 || r == 0x1b || r == '\uFFFD':
			// Not allowed in XML 1.0 even as references: left out.
		default:
			xmlText(&b, string(r))
		}
	}
	return b.String()
}

func xmlText(b *bytes.Buffer, s string) {
	s = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
	b.WriteString(s)
}

func TestQuoteAndComment(t *testing.T) {
	tests := []string{
		"plain",
		`quo"te`,
		`back\slash`,
		"new\nline\r\ttab",
		"nul\x00esc\x1bdel\x7f",
		"bad utf8 \xff\xfe",
		"é ü 漢字",
		`"]` + "\n" + `[[tree]]`,
	}
	for _, s := range tests {
		t.Run(s, func(t *testing.T) {
			doc := minimalConfig + "\n# " + comment(s) + "\n[[tree]]\nname = \"x\"\nbugzilla = [" + quote(s) + "]\n"
			c, err := config.Parse([]byte(doc), "x.toml", nets...)
			if err != nil {
				// The validator refuses logins with spaces; the
				// document itself must still be valid TOML.
				var ps *config.Problems
				if !errors.As(err, &ps) || strings.Contains(err.Error(), "syntax") {
					t.Fatalf("config.Parse: %v\n%s", err, doc)
				}
				return
			}
			want := strings.ToValidUTF8(s, "\uFFFD")
			if len(c.Trees) != 1 || len(c.Trees[0].Bugzilla) != 1 || c.Trees[0].Bugzilla[0] != want {
				t.Errorf("round trip of %q gave %+v", s, c.Trees)
			}
		})
	}
}

func TestScanErrors(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		noCat   bool
		wantIs  error
		wantSub string
	}{
		{name: "not a repository", noCat: true, wantIs: fs.ErrNotExist, wantSub: "Gentoo repository"},
		{name: "metadata.xml missing", files: map[string]string{"foo-sources/foo-sources-1.ebuild": ebuild}, wantIs: fs.ErrNotExist, wantSub: "foo-sources/metadata.xml"},
		{name: "metadata.xml malformed", files: pkgFiles("foo-sources", "<pkgmetadata><maintainer>", ebuild), wantSub: "foo-sources/metadata.xml"},
		{name: "not pkgmetadata", files: pkgFiles("foo-sources", "<catmetadata></catmetadata>", ebuild), wantSub: "foo-sources/metadata.xml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			repo := t.TempDir()
			if !tc.noCat {
				repo = writeRepo(t, tc.files)
			}
			_, err := Scan(repo)
			if err == nil {
				t.Fatal("Scan succeeded, want an error")
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v is not %v", err, tc.wantIs)
			}
			if !strings.Contains(err.Error(), tc.wantSub) {
				t.Errorf("error %q does not mention %q", err, tc.wantSub)
			}
		})
	}
}

func TestWriteDeterministic(t *testing.T) {
	entries := scanTestRepo(t)
	var first bytes.Buffer
	if err := Write(&first, entries, nets...); err != nil {
		t.Fatal(err)
	}
	reversed := slices.Clone(entries)
	slices.Reverse(reversed)
	var second bytes.Buffer
	if err := Write(&second, reversed, nets...); err != nil {
		t.Fatal(err)
	}
	if first.String() != second.String() {
		t.Error("output depends on the order of the entries")
	}
	// Tree blocks appear in name order.
	re := regexp.MustCompile(`(?m)^(?:# )?name = "([^"]+)"`)
	var names []string
	for _, m := range re.FindAllStringSubmatch(first.String(), -1) {
		names = append(names, m[1])
	}
	if !slices.IsSorted(names) || len(names) != len(entries) {
		t.Errorf("tree names in output %q: want all %d, sorted", names, len(entries))
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteError(t *testing.T) {
	if err := Write(failWriter{}, scanTestRepo(t), nets...); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Write to a failing writer: %v, want the writer's error", err)
	}
}
