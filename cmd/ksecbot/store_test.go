// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The daemon refuses a corrupted database at start with the recovery steps
// on stderr and its own exit code (65), not exit 1 and not a running bot.
func TestDaemonRefusesCorruptedDatabase(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "ksecbot", "http://127.0.0.1:1", "127.0.0.1:18099", testSecret)
	db := filepath.Join(dir, "ksecbot.db")
	if err := os.WriteFile(db, bytes.Repeat([]byte("not an SQLite database, a damaged file\n"), 200), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr syncBuffer
	code := run([]string{"--config", cfg, "--console"}, strings.NewReader(""), &stdout, &stderr)
	if code != ExitCorrupt {
		t.Fatalf("exit %d, want %d (corrupted database); stderr:\n%s", code, ExitCorrupt, stderr.String())
	}
	for _, want := range []string{"corrupted", db, ".recover", "stop ksecbot"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr.String())
		}
	}
	t.Logf("stderr: %s", stderr.String())
}
