// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cveItem is an item of `ksecbot cve --json`.
type cveItem struct {
	Tree, Package, Version, Status, Fix, Ebuild, Note, Error string
	Stable                                                   bool
}

type cveJSON struct {
	CVE   string    `json:"cve"`
	Found bool      `json:"found"`
	Trees []cveItem `json:"trees"`
}

func runOK(t *testing.T, args ...string) (string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(args, nil, &out, &errb); code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, errb.String())
	}
	return out.String(), errb.String()
}

func decodeLines(t *testing.T, out string) []cveJSON {
	t.Helper()
	var reps []cveJSON
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var r cveJSON
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		reps = append(reps, r)
	}
	return reps
}

// TestCVEJSONEveryTree: --json gives every configured tree, with an
// error where no verdict can be made: a pf-sources patch set that the
// [[tree]] does not map (the one it maps is judged as the release it
// names), a tree without packages, a package the repository lacks.
func TestCVEJSONEveryTree(t *testing.T) {
	out, _ := runOK(t, "cve", "--config", "testdata/cve-trees.toml", "--json", "CVE-2026-64108")
	reps := decodeLines(t, out)
	if len(reps) != 1 {
		t.Fatalf("%d lines", len(reps))
	}
	got := map[string]cveItem{}
	for _, it := range reps[0].Trees {
		got[it.Tree+" "+it.Ebuild] = it
	}
	if it := got["pf-sources 6.1_p9"]; it.Version != "6.1.170" || it.Status != "affected" || it.Fix != "6.1.175" || it.Error != "" {
		t.Errorf("pf-sources 6.1_p9 mapped to 6.1.170: %+v", it)
	}
	if it := got["pf-sources 6.12_p5"]; it.Version != "" || it.Status != "unknown" || !strings.Contains(it.Error, "pf-sources 6.12_p5 is a patch set on 6.12") ||
		!strings.Contains(it.Error, `upstream_versions ("6.12_p5" = "6.12.N")`) {
		t.Errorf("pf-sources 6.12_p5 unmapped: %+v", it)
	}
	if it := got["hardened "]; it.Status != "unknown" || !strings.Contains(it.Error, "lists no packages") {
		t.Errorf("hardened: %+v", it)
	}
	if it := got["zen-sources "]; it.Status != "unknown" || it.Package != "sys-kernel/zen-sources" || !strings.Contains(it.Error, "no keyworded version of sys-kernel/zen-sources") {
		t.Errorf("zen-sources: %+v", it)
	}
	text, _ := runOK(t, "cve", "--config", "testdata/cve-trees.toml", "CVE-2026-64108")
	for _, want := range []string{"pf-sources           affected   6.1_p9 (6.1.170): fix 6.1.175; ~6.12_p5: unknown (patch set: map it in upstream_versions)", "~6.12_p5: unknown (patch set: map it in upstream_versions)",
		"hardened             unknown    the [[tree]] lists no packages", "zen-sources          unknown    the repository has no keyworded version"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
}

// TestCVETree: `ksecbot cve --tree NAME` lists exactly the published CVEs
// whose own report finds the tree affected (or undecided), one JSON object
// per CVE in the per-CVE shape with only that tree's versions; the text
// groups them by the release that fixes them and gives the stabilise
// hint.
func TestCVETree(t *testing.T) {
	out, _ := runOK(t, "cve", "--config", "testdata/cve.toml", "--tree", "rt-sources", "--json")
	reps := decodeLines(t, out)
	var listed []string
	for _, r := range reps {
		listed = append(listed, r.CVE)
		for _, it := range r.Trees {
			if it.Tree != "rt-sources" {
				t.Errorf("%s: item of tree %s", r.CVE, it.Tree)
			}
		}
	}
	// The oracle: every record, asked one by one.
	files, _ := filepath.Glob("../../kernelcve/testdata/vulns/cve/published/*/CVE-*.json")
	var ids []string
	for _, f := range files {
		ids = append(ids, strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	all, _ := runOK(t, append([]string{"cve", "--config", "testdata/cve.toml", "--json"}, ids...)...)
	var want []string
	for _, r := range decodeLines(t, all) {
		for _, it := range r.Trees {
			if it.Tree == "rt-sources" && (it.Status == "affected" || it.Status == "unknown") {
				want = append(want, r.CVE)
				break
			}
		}
	}
	sort.Strings(listed)
	sort.Strings(want)
	if strings.Join(listed, " ") != strings.Join(want, " ") || len(want) < 10 {
		t.Errorf("--tree rt-sources lists\n%v\nthe per-CVE reports say\n%v", listed, want)
	}
	if !slices.Contains(listed, "CVE-2025-40039") {
		t.Error("CVE-2025-40039 (6.1.112 vulnerable per its .dyad) is missing")
	}
	text, _ := runOK(t, "cve", "--config", "testdata/cve.toml", "--tree", "rt-sources")
	for _, want := range []string{"rt-sources: " + itoa(len(want)) + " published kernel CVEs affect its current versions",
		"rt-sources ~6.1.112 (testing): ", "bump to 6.1.120 fixes 1,", "no fix in 6.1 yet for",
		"CVE-2025-40039   no fix in 6.1; fixed in 6.6.123, 6.12.53, 6.17.3, 6.18 (per the .dyad) — ksmbd: Fix race condition in RPC handle list access",
		"CVE-2025-71238   fix 6.1.164 — scsi: qla2xxx"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	gk, _ := runOK(t, "cve", "--config", "testdata/cve.toml", "--tree", "gentoo-kernel")
	if !strings.Contains(gk, "gentoo-kernel 5.10.250 (stable): ") || !strings.Contains(gk, "~5.10.255 in the tree fixes") || !strings.Contains(gk, "of them: stabilise") {
		t.Errorf("gentoo-kernel: no stabilise hint:\n%s", gk)
	}
}

// TestCVEUnusualFiles: a FIFO named like a record neither hangs ksecbot
// cve nor reads as "no record"; a dangling symlink is an error naming it;
// an empty clone is a configuration problem (exit 78) saying so.
func TestCVEUnusualFiles(t *testing.T) {
	dir := t.TempDir()
	pub := filepath.Join(dir, "vulns", "cve", "published", "2026")
	os.MkdirAll(pub, 0o755)
	os.MkdirAll(filepath.Join(dir, "vulns", "cve", "rejected"), 0o755)
	cfg := filepath.Join(dir, "c.toml")
	os.WriteFile(cfg, []byte("[bugzilla]\nurl = \"https://b.example.org\"\n[kernel_cve]\npath = \""+filepath.Join(dir, "vulns")+"\"\n"), 0o644)
	var out, errb bytes.Buffer
	if code := run([]string{"cve", "--config", cfg, "CVE-2026-64108"}, nil, &out, &errb); code != exitConfig ||
		!strings.Contains(errb.String(), "cve/published holds no record: an empty or unfinished clone") {
		t.Errorf("empty clone: exit %d, %s", code, errb.String())
	}
	good, _ := os.ReadFile("../../kernelcve/testdata/vulns/cve/published/2026/CVE-2026-64108.json")
	os.WriteFile(filepath.Join(pub, "CVE-2026-64108.json"), good, 0o644)
	if err := syscall.Mkfifo(filepath.Join(pub, "CVE-2026-11111.json"), 0o644); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	os.Symlink(filepath.Join(pub, "gone"), filepath.Join(pub, "CVE-2026-22222.json"))
	done := make(chan struct{})
	out.Reset()
	errb.Reset()
	go func() {
		defer close(done)
		run([]string{"cve", "--config", cfg, "--json", "CVE-2026-11111", "CVE-2026-22222", "CVE-2026-64108"}, nil, &out, &errb)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("ksecbot cve hangs on a FIFO named like a record")
	}
	reps := decodeLines(t, out.String())
	if len(reps) != 3 || !reps[0].Found || !reps[1].Found || !reps[2].Found {
		t.Errorf("reports %+v: a FIFO or a dangling symlink read as no record", reps)
	}
	for _, want := range []string{"CVE-2026-11111.json is a FIFO, not a regular file", "CVE-2026-22222.json is a dangling symlink"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q: %s", want, errb.String())
		}
	}
}
