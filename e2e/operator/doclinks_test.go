// SPDX-License-Identifier: GPL-3.0-or-later

package operator

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// readmeMaxLines keeps README.md the newcomer's and operator's page:
// reference material goes to docs/*.md, figures to bench/README.md.
const readmeMaxLines = 400

// TestDocLinks checks what the documents point at: every relative link
// and image names a file that exists, every #anchor a heading of its
// page; every test, benchmark or fuzz target they name (`pkg.TestX`, or
// a bare `TestX`) exists; and README.md stays within readmeMaxLines.
func TestDocLinks(t *testing.T) {
	docs := append(markdownFiles(t), "SECURITY.md", "contrib/README.md")
	tests := testFuncs(t)
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	qualified := regexp.MustCompile(`\b([a-z][a-z0-9_]*(?:/[a-z][a-z0-9_]*)*)\.((?:Test|Benchmark|Fuzz)[A-Z]\w*)`)
	bare := regexp.MustCompile(`(^|[^.\w])((?:Test|Benchmark|Fuzz)[A-Z]\w*)`)
	for _, doc := range docs {
		data, err := os.ReadFile(filepath.Join(root, doc))
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		if doc == "README.md" {
			if n := strings.Count(text, "\n"); n > readmeMaxLines {
				t.Errorf("README.md has %d lines, at most %d: move reference material to docs/*.md and figures to bench/README.md", n, readmeMaxLines)
			}
		}
		for i, line := range strings.Split(text, "\n") {
			where := doc + ":" + itoa(i+1)
			for _, m := range link.FindAllStringSubmatch(line, -1) {
				checkLink(t, where, doc, m[1])
			}
			for _, m := range qualified.FindAllStringSubmatch(line, -1) {
				if dir := filepath.Join(root, m[1]); isDir(dir) && !tests[m[1]][m[2]] {
					t.Errorf("%s names %s.%s, which package %s does not have", where, m[1], m[2], m[1])
				}
			}
			for _, m := range bare.FindAllStringSubmatch(line, -1) {
				if !tests[""][m[2]] {
					t.Errorf("%s names %s, which no test file has", where, m[2])
				}
			}
		}
	}
}

// checkLink checks one link target of doc.
func checkLink(t *testing.T, where, doc, target string) {
	t.Helper()
	if regexp.MustCompile(`^[a-z]+:`).MatchString(target) {
		return // https:, mailto:
	}
	path, anchor, _ := strings.Cut(target, "#")
	file := doc
	if path != "" {
		file = filepath.ToSlash(filepath.Join(filepath.Dir(doc), path))
	}
	if _, err := os.Stat(filepath.Join(root, file)); err != nil {
		t.Errorf("%s links to %s, which does not exist", where, target)
		return
	}
	if anchor == "" {
		return
	}
	if !strings.HasSuffix(file, ".md") {
		t.Errorf("%s links to an anchor in %s, which is no Markdown page", where, file)
		return
	}
	if !headingAnchors(t, file)[anchor] {
		t.Errorf("%s links to %s, but %s has no heading with the anchor #%s", where, target, file, anchor)
	}
}

// headingAnchors returns the anchors GitHub gives the headings of the
// Markdown file rel (outside code blocks): lower case, punctuation
// dropped, spaces as hyphens, "-1", "-2" for repeats.
func headingAnchors(t *testing.T, rel string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	seen := map[string]int{}
	fence := false
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "```") {
			fence = !fence
			continue
		}
		if fence || !strings.HasPrefix(l, "#") {
			continue
		}
		title := strings.TrimSpace(strings.TrimLeft(l, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(title) {
			switch {
			case r == ' ':
				b.WriteByte('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			anchors[a+"-"+itoa(n)] = true
		} else {
			anchors[a] = true
		}
		seen[a]++
	}
	return anchors
}

// testFuncs returns the Test, Benchmark and Fuzz functions of the
// module's test files by package directory ("" holds them all).
func testFuncs(t *testing.T) map[string]map[string]bool {
	t.Helper()
	decl := regexp.MustCompile(`(?m)^func ((?:Test|Benchmark|Fuzz)\w+)\(`)
	funcs := map[string]map[string]bool{"": {}}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(strings.TrimPrefix(filepath.Dir(p), root+string(filepath.Separator)))
		if funcs[dir] == nil {
			funcs[dir] = map[string]bool{}
		}
		for _, m := range decl.FindAllStringSubmatch(string(data), -1) {
			funcs[dir][m[1]] = true
			funcs[""][m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return funcs
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
