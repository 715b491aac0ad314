// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the command sections of README.md and contrib/man/ksecbot.1 from the registry")

// TestCommandDocs: !help, the README command table
// and the man page command list come from the one registry and say the
// same. With -update it rewrites the README and man page sections.
func TestCommandDocs(t *testing.T) {
	e := newEnv(t, "")
	cmds := e.r.Commands()
	prefix := e.r.Prefix()

	// !help lists the registry, in order.
	help := text(e.say(idNick, chPublic, "!help"))
	_, list, ok := strings.Cut(help, "Commands: ")
	if !ok {
		t.Fatalf("!help = %q, want the command list", help)
	}
	list, _, _ = strings.Cut(list, ".")
	var names []string
	for _, c := range cmds {
		names = append(names, prefix+c.Name)
	}
	if got := strings.Fields(list); !slices.Equal(got, names) {
		t.Errorf("!help lists %q, the registry has %q", got, names)
	}
	for _, c := range cmds {
		if c.Help == "" || c.Usage == "" || !strings.HasPrefix(c.Usage, c.Name) {
			t.Errorf("command %q: usage %q and help %q must be set, usage starting with the name", c.Name, c.Usage, c.Help)
		}
		got := text(e.say(idNick, chPublic, "!help "+c.Name))
		if !strings.Contains(got, prefix+c.Usage) || !strings.Contains(got, c.Help) {
			t.Errorf("!help %s = %q, want its usage and help from the registry", c.Name, got)
		}
	}

	// The README table and the man page list are the registry's, and
	// a reader finds every command there, in the registry's order.
	readme := checkSection(t, filepath.Join("..", "README.md"), MarkdownBegin, MarkdownEnd, MarkdownTable(cmds, prefix))
	man := checkSection(t, filepath.Join("..", "contrib", "man", "ksecbot.1"), ManBegin, ManEnd, ManList(cmds, prefix))
	if got := regexp.MustCompile("(?m)^\\| `!([a-z]+)").FindAllStringSubmatch(readme, -1); !sameNames(got, cmds) {
		t.Errorf("README command table rows %q, want %d rows in registry order", got, len(cmds))
	}
	if got := regexp.MustCompile(`(?m)^\.BI? "!([a-z]+)`).FindAllStringSubmatch(man, -1); !sameNames(got, cmds) {
		t.Errorf("man page command list %q, want %d entries in registry order", got, len(cmds))
	}
}

func sameNames(matches [][]string, cmds []Command) bool {
	if len(matches) != len(cmds) {
		return false
	}
	for i, m := range matches {
		if m[1] != cmds[i].Name {
			return false
		}
	}
	return true
}

// checkSection compares the lines between begin and end in path with want,
// or rewrites them with -update. It returns the section as it is now.
func checkSection(t *testing.T, path, begin, end, want string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	i := strings.Index(s, begin+"\n")
	j := strings.Index(s, "\n"+end+"\n")
	if i < 0 || j < i {
		t.Fatalf("%s: no section between %q and %q lines", path, begin, end)
	}
	from, to := i+len(begin)+1, j+1
	if s[from:to] == want {
		return want
	}
	if *update {
		if err := os.WriteFile(path, []byte(s[:from]+want+s[to:]), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote the command section of %s", path)
		return want
	}
	t.Errorf("%s: the command section differs from the registry; run go test ./commands -run TestCommandDocs -update\n--- have\n%s--- want\n%s", path, s[from:to], want)
	return s[from:to]
}
