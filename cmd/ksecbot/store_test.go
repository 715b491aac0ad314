// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/internal/dbdamage"
	"github.com/ksecbot/ksecbot/store"
)

// The daemon refuses a database it cannot trust at start, with what to do
// on stderr and its own exit code (65), not exit 1 and not a running bot:
// a file that is no database, an empty file (only a missing file is a
// fresh database), and an index that misses a row (which PRAGMA
// quick_check does not see). The file is left as it was.
func TestDaemonRefusesCorruptedDatabase(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(t *testing.T, db string)
		want []string
	}{
		{"not a database", func(t *testing.T, db string) {
			if err := os.WriteFile(db, bytes.Repeat([]byte("not an SQLite database, a damaged file\n"), 200), 0o600); err != nil {
				t.Fatal(err)
			}
		}, []string{"corrupted", "not a database", ".recover", "stop ksecbot"}},
		{"empty file", func(t *testing.T, db string) {
			if err := os.WriteFile(db, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, []string{"is empty (0 bytes)", "does not take it for a fresh one", "To start with a fresh database, delete"}},
		{"row missing from an index", func(t *testing.T, db string) {
			ctx := context.Background()
			st, err := store.Open(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			bug := bugzilla.Bug{ID: 7, Product: "Gentoo Security", Component: "Kernel", Summary: "sys-kernel/hardened-sources: overflow", Status: "CONFIRMED", IsOpen: true}
			if err := st.SaveBugs(ctx, []bugzilla.Bug{bug}, nil, true); err != nil {
				t.Fatal(err)
			}
			st.Close()
			if err := dbdamage.MisIndex(ctx, db, "bugs_assigned", "bugs", "assigned_to", "CASE WHEN id = 7 THEN 'x' ELSE assigned_to END"); err != nil {
				t.Fatal(err)
			}
			if line, err := dbdamage.Check(ctx, db, "quick_check"); err != nil || line != "ok" {
				t.Fatalf("quick_check: %q %v; the damage is meant to be the kind it misses", line, err)
			}
		}, []string{"corrupted", "missing from index bugs_assigned", "REINDEX", "stop ksecbot"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeConfig(t, dir, "ksecbot", "http://127.0.0.1:1", "127.0.0.1:18099", testSecret)
			db := filepath.Join(dir, "ksecbot.db")
			tc.make(t, db)
			before := dbdamage.Digest(t, db)
			var stdout, stderr syncBuffer
			code := run([]string{"--config", cfg, "--console"}, strings.NewReader(""), &stdout, &stderr)
			if code != ExitCorrupt {
				t.Fatalf("exit %d, want %d (corrupted database); stderr:\n%s", code, ExitCorrupt, stderr.String())
			}
			for _, want := range append(tc.want, db) {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr does not say %q:\n%s", want, stderr.String())
				}
			}
			if dbdamage.Digest(t, db) != before {
				t.Error("the refused file was changed")
			}
			t.Logf("stderr: %s", stderr.String())
		})
	}
}
