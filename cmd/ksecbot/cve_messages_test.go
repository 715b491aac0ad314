// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCVEMessagesSayWhatToDo: every message of `ksecbot cve` about the
// kernel CVE data names it the same way (a clone of the kernel CNA's vulns
// repository, "vulns clone PATH") and says what to do.
func TestCVEMessagesSayWhatToDo(t *testing.T) {
	dir := t.TempDir()
	conf := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("[bugzilla]\nurl = \"https://b.example.org\"\n"+body), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	clone := filepath.Join(dir, "vulns")
	if err := os.CopyFS(clone, os.DirFS("../../kernelcve/testdata/vulns")); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	for _, d := range []string{"cve/published/2026", "cve/rejected"} {
		if err := os.MkdirAll(filepath.Join(empty, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tree := "[[tree]]\nname = \"vanilla-sources\"\npackages = [\"sys-kernel/vanilla-sources\"]\n"
	noTable := conf("none.toml", "")
	missing := conf("missing.toml", "[kernel_cve]\npath = \"nothing\"\n")
	emptyConf := conf("empty.toml", "[kernel_cve]\npath = \"empty\"\n")
	noRepo := conf("norepo.toml", "[kernel_cve]\npath = \"vulns\"\n"+tree)
	year := filepath.Join(clone, "cve", "published", "2026")
	if err := os.Symlink("nowhere.json", filepath.Join(year, "CVE-2026-99999.json")); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"no [kernel_cve]", []string{"cve", "--config", noTable, "CVE-2025-71238"}, []string{
			noTable + " has no [kernel_cve] table: add one with path = \"/var/lib/ksecbot/vulns\", a clone of the kernel CNA's vulns repository (git clone https://git.kernel.org/pub/scm/linux/security/vulns.git /var/lib/ksecbot/vulns)"}},
		{"no clone", []string{"cve", "--config", missing, "CVE-2025-71238"}, []string{
			"kernel_cve.path: vulns clone " + filepath.Join(dir, "nothing") + ": ", "(clone the kernel CNA's vulns repository there: git clone https://git.kernel.org/pub/scm/linux/security/vulns.git " + filepath.Join(dir, "nothing") + ")"}},
		{"empty clone", []string{"cve", "--config", emptyConf, "CVE-2025-71238"}, []string{
			"kernel_cve.path: vulns clone " + empty + ": cve/published holds no record: an empty or unfinished clone (run git -C " + empty + " pull, or clone"}},
		{"no record, no repo", []string{"cve", "--config", noRepo, "CVE-2099-0001"}, []string{
			"no [gentoo] repo configured: every tree's verdict is unknown; add [gentoo] repo = \"/var/db/repos/gentoo\"",
			"CVE-2099-0001: no record in the vulns clone " + clone + " (not a kernel CVE, or published since the clone's last pull: git -C " + clone + " pull)"}},
		{"dangling symlink", []string{"cve", "--config", noRepo, "CVE-2026-99999"}, []string{
			"is a dangling symlink (to \"nowhere.json\"): repair or remove it (git -C " + year + " status shows what changed)",
			"CVE-2026-99999: the record cannot be read (above: what to do); every verdict unknown"}},
	} {
		var out, errb bytes.Buffer
		run(c.args, nil, &out, &errb)
		got := errb.String() + out.String()
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: output lacks %q:\n%s", c.name, w, got)
			}
		}
		for _, old := range []string{"kernel CNA's repository", "kernel CVE repository", "CLONE"} {
			if strings.Contains(got, old) {
				t.Errorf("%s: output says %q:\n%s", c.name, old, got)
			}
		}
	}

	// A git pull under way (or a lock a crashed git left behind).
	if err := os.Remove(filepath.Join(year, "CVE-2026-99999.json")); err != nil {
		t.Fatal(err)
	}
	writeLock := filepath.Join(clone, ".git", "index.lock")
	if err := os.MkdirAll(filepath.Dir(writeLock), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(writeLock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	run([]string{"cve", "--config", noRepo, "--tree", "vanilla-sources"}, nil, &out, &errb)
	if want := "kernel_cve.path: vulns clone " + clone + ": the clone is being updated (a git pull under way): try again when it is done; if no git runs, remove " + writeLock + " (a crashed git left it)"; !strings.Contains(errb.String(), want) {
		t.Errorf("--tree during a pull: stderr %q, want %q", errb.String(), want)
	}
}
