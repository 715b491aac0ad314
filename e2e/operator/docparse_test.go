// SPDX-License-Identifier: GPL-3.0-or-later

package operator

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// shellWords splits a command line into words as sh would for the simple
// quoting the documentation uses ('...', "...", \x); operators stay words.
func shellWords(s string) []string {
	var words []string
	var b strings.Builder
	in := false
	var quote rune
	for i := 0; i < len(s); i++ {
		r := rune(s[i])
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			b.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
			in = true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, b.String())
				b.Reset()
				in = false
			}
		default:
			b.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, b.String())
	}
	return words
}

// splitComment cuts a shell line at its comment (a # after a blank,
// outside quotes).
func splitComment(line string) (string, string) {
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
		case c == '\'' || c == '"':
			quote = c
		case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return strings.TrimSpace(line[:i]), strings.TrimSpace(line[i+1:])
		}
	}
	return strings.TrimSpace(line), ""
}

// markdownFiles are the documents whose code blocks and links the tests
// check, relative to the repository's root: the README, the benchmark's
// page and every page under docs/.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"README.md", "bench/README.md"}
	for _, p := range pages {
		files = append(files, filepath.ToSlash(strings.TrimPrefix(p, root+string(filepath.Separator))))
	}
	return files
}

// markdownCommands returns the commands of the code blocks of rel, a
// Markdown file below the repository's root: every line of a sh block,
// and the "$ " lines (with the output shown after them) of other blocks.
func markdownCommands(t *testing.T, rel string) []docCommand {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	var cmds []docCommand
	fence, lang := false, ""
	var cur *docCommand
	for i, l := range strings.Split(string(data), "\n") {
		where := rel + ":" + itoa(i+1)
		if strings.HasPrefix(l, "```") {
			fence, lang, cur = !fence, strings.TrimSpace(strings.TrimPrefix(l, "```")), nil
			continue
		}
		if !fence {
			continue
		}
		switch lang {
		case "sh", "bash", "shell", "console":
			if cmd, comment := splitComment(l); cmd != "" {
				cmds = append(cmds, docCommand{where: where, line: cmd, comment: comment})
			}
		default:
			if cmd, ok := strings.CutPrefix(l, "$ "); ok {
				line, comment := splitComment(cmd)
				cmds = append(cmds, docCommand{where: where, line: line, comment: comment, output: []string{}})
				cur = &cmds[len(cmds)-1]
			} else if cur != nil {
				cur.output = append(cur.output, l)
			}
		}
	}
	return cmds
}

// helpExamples returns the commands under "Examples" in ksecbot --help.
func helpExamples(t *testing.T) []docCommand {
	t.Helper()
	out := mustRun(t, "", 0, bin, "--help")
	var cmds []docCommand
	in := false
	for i, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "Examples"):
			in = true
		case in && strings.TrimSpace(l) == "":
			in = false
		case in:
			line, comment := splitComment(strings.TrimSpace(l))
			cmds = append(cmds, docCommand{where: "ksecbot --help:" + itoa(i+1), line: line, comment: comment})
		}
	}
	return cmds
}

// manExamples returns the command lines of the man page's EXAMPLES
// (between .EX and .EE), unescaped.
func manExamples(t *testing.T) []docCommand {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "contrib", "man", "ksecbot.1"))
	if err != nil {
		t.Fatal(err)
	}
	unescape := strings.NewReplacer(`\-`, "-", `\e`, `\`, `\(aq`, "'", `\(dq`, `"`, `\(ti`, "~", `\&`, "")
	var cmds []docCommand
	section, ex := "", false
	for i, l := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(l, ".SH "):
			section = strings.Trim(strings.TrimPrefix(l, ".SH "), `"`)
		case section != "EXAMPLES":
		case l == ".EX":
			ex = true
		case l == ".EE":
			ex = false
		case ex && !strings.HasPrefix(l, "."):
			line, comment := splitComment(unescape.Replace(l))
			cmds = append(cmds, docCommand{where: "ksecbot.1:" + itoa(i+1), line: line, comment: comment})
		}
	}
	return cmds
}

func itoa(n int) string { return strconv.Itoa(n) }
