// SPDX-License-Identifier: GPL-3.0-or-later

package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestInspectChangesNothing checks that check-config's look at the
// database leaves the folder as it was: no database where there is none
// (the daemon creates it), no -wal or -shm file beside a closed one; and
// that it reads a database in use (its WAL included) and refuses what
// Open refuses.
func TestInspectChangesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "k.db")
	names := func() []string {
		es, _ := os.ReadDir(dir)
		var out []string
		for _, e := range es {
			out = append(out, e.Name())
		}
		return out
	}
	if err := Inspect(ctx, path); err != nil || len(names()) > 0 {
		t.Fatalf("a missing database: %v, files %v; want nil and nothing created", err, names())
	}
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := Inspect(ctx, path); err != nil {
		t.Errorf("a database in use: %v", err)
	}
	st.Close()
	closed := names()
	if err := Inspect(ctx, path); err != nil {
		t.Errorf("a closed database: %v", err)
	}
	if got := names(); !slices.Equal(got, closed) {
		t.Errorf("files after inspecting a closed database: %v, before %v", got, closed)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Inspect(ctx, path); !errors.Is(err, ErrCorrupt) {
		t.Errorf("an empty file: %v, want ErrCorrupt", err)
	}
	if err := os.WriteFile(path, []byte("not a database, not at all, no SQLite header here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Inspect(ctx, path); !errors.Is(err, ErrCorrupt) {
		t.Errorf("a foreign file: %v, want ErrCorrupt", err)
	}
}
