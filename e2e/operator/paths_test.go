// SPDX-License-Identifier: GPL-3.0-or-later

package operator

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/e2e/e2etest"
)

// TestRelativePathsFromAnotherDirectory starts the daemon by hand from a
// folder that is not the configuration's, twice, with every path in the
// file relative: the database is created beside the configuration file
// (not in the working directory) and found there again on the second
// start, the webhook secret is read from beside it, and the kernel CNA
// clone and the Gentoo repository are found there (!cve answers with each
// tree's verdict). `ksecbot cve` from a third folder reads the same data.
func TestRelativePathsFromAnotherDirectory(t *testing.T) {
	bz := bugzillatest.New()
	t.Cleanup(bz.Close)
	dir := t.TempDir()
	copyTree(t, filepath.Join(root, "kernelcve", "testdata", "vulns"), filepath.Join(dir, "data", "vulns"))
	copyTree(t, filepath.Join(root, "gentoo", "testdata", "repo"), filepath.Join(dir, "data", "repo"))
	writeFile(t, dir, "secrets/webhook.secret", "relative-secret\n", 0o600)
	cfg := writeFile(t, dir, "ksecbot.toml", `[bugzilla]
url = "`+bz.URL()+`"
poll_interval = "1h"

[store]
path = "state/ksecbot.db"

[http]
webhook_secret_file = "secrets/webhook.secret"

[kernel_cve]
path = "data/vulns"
scan_interval = "0"

[gentoo]
repo = "data/repo"

[[tree]]
name = "gentoo-kernel"
packages = ["sys-kernel/gentoo-kernel"]
bugzilla = ["dist-kernel@gentoo.org"]

[[tree]]
name = "vanilla-sources"
packages = ["sys-kernel/vanilla-sources"]
bugzilla = ["kernel@gentoo.org"]
`, 0o600)
	db := filepath.Join(dir, "state", "ksecbot.db")

	first := t.TempDir()
	out := consoleRun(t, first, cfg, "!cve CVE-2025-71238", "gentoo-kernel")
	for _, want := range []string{"CVE-2025-71238: scsi: qla2xxx: Fix bsg_done() causing double free", "gentoo-kernel | affected", "vanilla-sources | fixed"} {
		if !strings.Contains(out, want) {
			t.Errorf("!cve from another folder lacks %q:\n%s", want, out)
		}
	}
	st, err := os.Stat(db)
	if err != nil {
		t.Fatalf("no database beside the configuration file: %v", err)
	}
	if entries, _ := os.ReadDir(first); len(entries) > 0 {
		t.Errorf("the daemon wrote into its working directory %s: %v", first, entries)
	}

	second := t.TempDir()
	consoleRun(t, second, cfg, "!trees", "vanilla-sources")
	again, err := os.Stat(db)
	if err != nil || !os.SameFile(st, again) {
		t.Errorf("the second start from another folder did not use the same database file (%v)", err)
	}
	if entries, _ := os.ReadDir(second); len(entries) > 0 {
		t.Errorf("the daemon wrote into its working directory %s: %v", second, entries)
	}

	r := runBin(t, t.TempDir(), nil, "cve", "--config", cfg, "CVE-2025-40039")
	if r.code != 0 || !strings.Contains(r.stdout, "vanilla-sources      affected   ~6.1.165: no fix in 6.1") {
		t.Errorf("ksecbot cve from another folder: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// consoleRun starts the daemon with --console in dir, types command once
// it has started, waits for a line containing want, stops it with SIGTERM
// (exit 0 expected) and returns what it printed.
func consoleRun(t *testing.T, dir, cfg, command, want string) string {
	t.Helper()
	d := startDaemon(t, dir, "--config", cfg, "--console")
	from := len(d.log.Lines())
	if _, err := io.WriteString(d.stdin, command+"\n"); err != nil {
		t.Fatal(err)
	}
	d.log.WaitFor(t, 30*time.Second, from, "the answer to "+command, e2etest.Contains(want))
	d.stop(t)
	return strings.Join(d.log.Lines(), "\n")
}

// copyTree copies the regular files under src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
