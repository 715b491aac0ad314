// SPDX-License-Identifier: GPL-3.0-or-later

package operator

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// docCommand is a command shown in the documentation.
type docCommand struct {
	where   string   // "README.md:53", "docs/cve.md:80"
	line    string   // the command as written, without its comment
	comment string   // what follows " #" on its line
	output  []string // for a "$ command" transcript: the lines shown after it
}

// TestDocumentedCommands runs, from the repository's root, every command
// that the code blocks of README.md, bench/README.md and docs/*.md (```
// sh blocks, and "$ " lines in others), `ksecbot --help` (Examples) and
// the man page (EXAMPLES) show, with the built binary standing in for
// ksecbot, and checks how each ends:
//   - ksecbot commands run as written and exit 0; a transcript's output is
//     compared line by line; the daemon's are run as check-config with the
//     same flags (the daemon's own start checks, without starting it);
//   - a command naming a file that is not there (the installed system's
//     /etc/ksecbot/ksecbot.toml) must fail for that reason: not 0, not a
//     usage mistake (64), and its message names the file;
//   - `go run` of ksecbot runs the built binary; of another program, it is
//     built and its --help must list the flags its comment names; `go
//     build` builds; `go test -bench X` must list a benchmark X;
//   - scripts are not run (they start servers, or are the test suite):
//     each must exist, be executable, parse (bash -n) and know the verb.
func TestDocumentedCommands(t *testing.T) {
	binDir := t.TempDir()
	if err := os.Symlink(bin, filepath.Join(binDir, "ksecbot")); err != nil {
		t.Fatal(err)
	}
	var cmds []docCommand
	for _, f := range markdownFiles(t) {
		cmds = append(cmds, markdownCommands(t, f)...)
	}
	cmds = append(cmds, helpExamples(t)...)
	cmds = append(cmds, manExamples(t)...)
	sources := map[string]int{}
	for _, c := range cmds {
		sources[strings.SplitN(c.where, ":", 2)[0]]++
	}
	for _, src := range []string{"README.md", "bench/README.md", "ksecbot --help", "ksecbot.1"} {
		if sources[src] == 0 {
			t.Errorf("no command found in %s", src)
		}
	}
	for _, c := range cmds {
		t.Run(c.where, func(t *testing.T) {
			t.Logf("%s", c.line)
			runDocumented(t, binDir, c)
		})
	}
}

// runDocumented runs one documented command as TestDocumentedCommands
// says.
func runDocumented(t *testing.T, binDir string, c docCommand) {
	words := shellWords(c.line)
	if len(words) == 0 {
		t.Fatal("an empty command")
	}
	switch {
	case strings.HasPrefix(words[0], "scripts/"):
		checkScripts(t, c.line)
		return
	case words[0] == "go" && len(words) > 1 && words[1] == "build":
		args := slicesReplaceAfter(words[1:], "-o", filepath.Join(t.TempDir(), "built"))
		mustRun(t, "", 0, "go", args...)
		return
	case words[0] == "go" && len(words) > 1 && words[1] == "test":
		listTests(t, words[1:])
		return
	case words[0] == "go" && len(words) > 1 && words[1] == "run":
		pkg, rest := goRunPackage(words[2:])
		if pkg != "./cmd/ksecbot" {
			prog := filepath.Join(t.TempDir(), "prog")
			mustRun(t, "", 0, "go", "build", "-tags", "goolm", "-o", prog, pkg)
			help := mustRun(t, "", 0, prog, "--help")
			for _, flag := range regexp.MustCompile(`--[a-z][a-z-]+`).FindAllString(c.comment, -1) {
				if !strings.Contains(help, flag) {
					t.Errorf("%s --help does not list %s, which the comment names", pkg, flag)
				}
			}
			return
		}
		c.line = "ksecbot " + strings.Join(rest, " ")
	}
	line := regexp.MustCompile(`(^|[\s|&;(])\./ksecbot\b`).ReplaceAllString(c.line, "${1}ksecbot")
	line = asCheckConfig(line)
	dir := root
	if m := regexp.MustCompile(`^cd (\S+) && `).FindStringSubmatch(line); m != nil {
		dir = filepath.Join(root, m[1])
	}
	missing := ""
	for _, w := range shellWords(line) {
		if (strings.HasPrefix(w, "/") || regexp.MustCompile(`\.(toml|eml|db)$`).MatchString(w)) && w != "/dev/null" {
			p := w
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			if _, err := os.Stat(p); err != nil {
				missing = w
				break
			}
		}
	}
	code, out := shell(t, binDir, line)
	switch {
	case missing != "":
		if code == 0 || code == 64 || !strings.Contains(out, missing) {
			t.Errorf("%s names %s, which is not here: want it to fail saying so (not exit 0, not 64); exit %d:\n%s", c.line, missing, code, out)
		}
	case code != 0:
		t.Errorf("%s: exit %d, want 0:\n%s", c.line, code, out)
	case c.output != nil:
		want := strings.Join(trimRight(c.output), "\n")
		got := strings.Join(trimRight(strings.Split(strings.TrimRight(out, "\n"), "\n")), "\n")
		if got != want {
			t.Errorf("%s prints\n%s\nthe documentation shows\n%s", c.line, got, want)
		}
	}
}

// asCheckConfig turns a daemon command (ksecbot with flags, no
// subcommand) into check-config with the same flags.
func asCheckConfig(line string) string {
	words := shellWords(line)
	if len(words) < 2 || words[0] != "ksecbot" || !strings.HasPrefix(words[1], "-") {
		return line
	}
	for _, w := range words[1:] {
		switch w {
		case "--help", "-h", "--version", "-V":
			return line
		}
		if !strings.HasPrefix(w, "-") && !strings.Contains(w, "/") && !strings.HasSuffix(w, ".toml") {
			return line // a subcommand after the flags
		}
	}
	return "ksecbot check-config " + strings.TrimPrefix(line, "ksecbot ")
}

// shell runs line with sh from the repository's root, ksecbot being the
// built binary, stdin empty; it returns the exit status and the output.
func shell(t *testing.T, binDir, line string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", line)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"), "KSECBOT_CONFIG=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s did not end within 2 minutes:\n%s", line, out.String())
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String()
	case err != nil:
		t.Fatalf("%s: %v", line, err)
	}
	return 0, out.String()
}

// mustRun runs name with args in the repository's root (dir: below it)
// and fails unless it exits with want; it returns the output.
func mustRun(t *testing.T, dir string, want int, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = filepath.Join(root, dir)
	out, err := cmd.CombinedOutput()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %q: %v", name, args, err)
	}
	if code != want {
		t.Fatalf("%s %q: exit %d, want %d:\n%s", name, args, code, want, out)
	}
	return string(out)
}

// listTests runs a documented `go test` with -list instead of running
// the benchmarks (or tests) it names, and fails unless one is listed.
func listTests(t *testing.T, args []string) {
	var keep []string
	pattern, kind := "", "Test"
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-run":
			if pattern == "" {
				pattern = args[i+1]
			}
			i++
		case "-bench":
			pattern, kind = args[i+1], "Benchmark"
			i++
		default:
			keep = append(keep, args[i])
		}
	}
	if pattern == "" {
		pattern = "."
	}
	out := mustRun(t, "", 0, "go", append(keep, "-list", pattern)...)
	if !regexp.MustCompile(`(?m)^` + kind).MatchString(out) {
		t.Errorf("go %s lists no %s matching %q:\n%s", strings.Join(args, " "), kind, pattern, out)
	}
}

// checkScripts checks each script a line runs (joined by &&): it exists,
// is executable, parses, and has a case for its first argument.
func checkScripts(t *testing.T, line string) {
	for _, part := range strings.Split(line, "&&") {
		words := shellWords(part)
		if len(words) == 0 || !strings.HasPrefix(words[0], "scripts/") {
			t.Errorf("%q: only scripts may be joined to a script here", part)
			continue
		}
		p := filepath.Join(root, words[0])
		st, err := os.Stat(p)
		if err != nil || st.Mode()&0o111 == 0 {
			t.Errorf("%s does not exist or is not executable (%v)", words[0], err)
			continue
		}
		mustRun(t, "", 0, "bash", "-n", p)
		if len(words) > 1 && !strings.HasPrefix(words[1], "-") && !strings.HasPrefix(words[1], "./") {
			src, _ := os.ReadFile(p)
			if !regexp.MustCompile(`(?m)^\s*(\S+\|)*` + regexp.QuoteMeta(words[1]) + `(\|\S+)*\)`).Match(src) {
				t.Errorf("%s has no case for %q", words[0], words[1])
			}
		}
	}
}

// goRunPackage splits the arguments of `go run` into the package and the
// program's arguments.
func goRunPackage(args []string) (string, []string) {
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "-tags":
			i++
		case strings.HasPrefix(args[i], "./"):
			return args[i], args[i+1:]
		}
	}
	return "", nil
}

// slicesReplaceAfter returns args with the value after flag replaced.
func slicesReplaceAfter(args []string, flag, value string) []string {
	out := append([]string(nil), args...)
	for i := 0; i+1 < len(out); i++ {
		if out[i] == flag {
			out[i+1] = value
		}
	}
	return out
}

func trimRight(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = strings.TrimRight(l, " \t")
	}
	return out
}
