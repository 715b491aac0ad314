// SPDX-License-Identifier: GPL-3.0-or-later

//go:build unix

package kernelcve

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// clone makes a clone in a temporary directory holding the named real
// records (and their .dyad) of testdata/vulns.
func clone(t *testing.T, ids ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, folder := range []string{"published", "rejected"} {
		os.MkdirAll(filepath.Join(dir, "cve", folder), 0o755)
	}
	for _, id := range ids {
		for _, ext := range []string{".json", ".dyad"} {
			src := filepath.Join("testdata/vulns/cve/published", id[4:8], id+ext)
			data, err := os.ReadFile(src)
			if err != nil {
				continue
			}
			dst := filepath.Join(dir, "cve", "published", id[4:8], id+ext)
			os.MkdirAll(filepath.Dir(dst), 0o755)
			if err := os.WriteFile(dst, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// within runs f and fails the test if it has not returned after d: a
// read that blocks on a FIFO would hang the test otherwise.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s still blocked after %v", what, d)
	}
}

// TestUnusualFiles: only regular files are read. A FIFO named like a
// record (or its .dyad) is an error saying so, at once, never a hang; a
// dangling symlink is an error, never "no record"; a symlink to a real
// record is read; Scan lists such records with their error.
func TestUnusualFiles(t *testing.T) {
	dir := clone(t, "CVE-2025-71238", "CVE-2026-64108")
	pub := filepath.Join(dir, "cve", "published")
	fifo := filepath.Join(pub, "2026", "CVE-2026-11111.json")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("cannot make a FIFO here: %v", err)
	}
	os.Remove(filepath.Join(pub, "2025", "CVE-2025-71238.dyad"))
	syscall.Mkfifo(filepath.Join(pub, "2025", "CVE-2025-71238.dyad"), 0o644)
	os.Symlink(filepath.Join(pub, "2026", "gone.json"), filepath.Join(pub, "2026", "CVE-2026-22222.json"))
	os.Symlink("CVE-2026-64108.json", filepath.Join(pub, "2026", "CVE-2026-33333.json"))

	st := NewStore(dir)
	within(t, 5*time.Second, "Lookup of a FIFO", func() {
		_, err := st.Lookup("CVE-2026-11111")
		if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "is a FIFO, not a regular file") {
			t.Errorf("FIFO record: %v", err)
		}
	})
	within(t, 5*time.Second, "Lookup of a record whose .dyad is a FIFO", func() {
		_, err := st.Lookup("CVE-2025-71238")
		if err == nil || !strings.Contains(err.Error(), "CVE-2025-71238.dyad is a FIFO") {
			t.Errorf("FIFO .dyad: %v", err)
		}
	})
	if _, err := st.Lookup("CVE-2026-22222"); err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "dangling symlink") {
		t.Errorf("dangling symlink: %v", err)
	}
	if _, err := st.Stamp("CVE-2026-22222"); err == nil || !strings.Contains(err.Error(), "dangling symlink") {
		t.Errorf("Stamp of a dangling symlink: %v", err)
	}
	// A symlink to a record holding another id is refused by the id check.
	if _, err := st.Lookup("CVE-2026-33333"); err == nil || !strings.Contains(err.Error(), "holds CVE-2026-64108") {
		t.Errorf("symlink to another record: %v", err)
	}
	if rec, err := st.Lookup("CVE-2026-64108"); err != nil || rec.Verdict(MustVersion("6.19.12")) != Affected {
		t.Errorf("a regular record beside them: %v %v", rec, err)
	}
	var entries []Entry
	within(t, 5*time.Second, "Scan", func() {
		var err error
		entries, err = st.Scan()
		if err != nil {
			t.Error(err)
		}
	})
	errs := map[string]string{}
	for _, e := range entries {
		if e.Err != nil {
			errs[e.ID] = e.Err.Error()
		}
	}
	for id, want := range map[string]string{"CVE-2026-11111": "is a FIFO", "CVE-2025-71238": ".dyad is a FIFO", "CVE-2026-22222": "dangling symlink"} {
		if !strings.Contains(errs[id], want) {
			t.Errorf("Scan: %s listed with error %q, want %q", id, errs[id], want)
		}
	}
	if _, bad := errs["CVE-2026-64108"]; bad || len(entries) != 5 {
		t.Errorf("Scan: %d entries, errors %v", len(entries), errs)
	}
}

// TestEmptyClone: a clone without records (an interrupted git clone, a
// wrong path) is an error naming the fix, for Check and Scan alike.
func TestEmptyClone(t *testing.T) {
	dir := clone(t)
	for name, err := range map[string]error{"Check": NewStore(dir).Check(), "Scan": func() error { _, err := NewStore(dir).Scan(); return err }()} {
		if err == nil || !strings.Contains(err.Error(), "holds no record: an empty or unfinished clone") {
			t.Errorf("%s of an empty clone: %v", name, err)
		}
	}
	if err := NewStore(filepath.Join(dir, "nowhere")).Check(); err == nil || !strings.Contains(err.Error(), "clone https://git.kernel.org") {
		t.Errorf("Check of a missing path: %v", err)
	}
}

// TestScanWhileGitUpdates: while git holds the clone's index lock (a pull
// checking files out), or when the checkout changed during the listing,
// Scan says ErrBusy instead of listing half a pull.
func TestScanWhileGitUpdates(t *testing.T) {
	dir := clone(t, "CVE-2025-71238")
	os.MkdirAll(filepath.Join(dir, ".git"), 0o755)
	os.WriteFile(filepath.Join(dir, ".git", "index"), []byte("index"), 0o644)
	st := NewStore(dir)
	if es, err := st.Scan(); err != nil || len(es) != 1 {
		t.Fatalf("a quiet clone: %v %v", es, err)
	}
	os.WriteFile(filepath.Join(dir, ".git", "index.lock"), nil, 0o644)
	if _, err := st.Scan(); !errors.Is(err, ErrBusy) {
		t.Errorf("with git's index lock: %v, want ErrBusy", err)
	}
	os.Remove(filepath.Join(dir, ".git", "index.lock"))
	if _, err := st.Scan(); err != nil {
		t.Errorf("after the pull: %v", err)
	}
}
