// SPDX-License-Identifier: GPL-3.0-or-later

package kernelcve

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCompare(t *testing.T) {
	order := []string{"0", "2.6.12", "2.6.39", "2.6.39.1", "2.6.39.2", "3.0-rc1", "3.0-rc7", "3.0", "3.0.58",
		"5.4", "5.4.9", "5.4.10", "5.4.100", "5.10", "6.12.10", "6.13-rc3", "6.13-rc10", "6.13", "6.20", "7.1-rc1", "7.1-rc2", "7.1"}
	for i := range order {
		for j := range order {
			a, b := MustVersion(order[i]), MustVersion(order[j])
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := Compare(a, b); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", a, b, got, want)
			}
		}
	}
	if Compare(MustVersion("6.12"), MustVersion("6.12.0")) != 0 {
		t.Error("6.12 and 6.12.0 differ")
	}
	for _, bad := range []string{"", "6.", ".6", "6.x", "1.2.3.4.5", "7.1-rc", "7.1-rc0", "-1.2", "+1.2", "6.12-rc1-rc2"} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) accepted", bad)
		}
	}
	for s, br := range map[string]string{"6.12.10": "6.12", "6.12": "6.12", "7.1-rc2": "7.1", "2.6.39.2": "2.6.39", "3.0.58": "3.0"} {
		if got := MustVersion(s).Branch(); got != br {
			t.Errorf("Branch(%s) = %s, want %s", s, got, br)
		}
	}
}

// TestVerdictTable: versions on both sides of the boundaries of the
// records that show each encoding case, with the verdict a maintainer
// expects (fixed and unaffected told apart), including the probes of
// CVE-2025-21638 that `ksecbot cve` examples use and the two rejected records whose .dyad is stale.
func TestVerdictTable(t *testing.T) {
	st := NewStore("testdata/vulns")
	cases := []struct {
		id, v string
		want  Status
	}{
		// CVE-2025-21638, the ksecbot cve example.
		{"CVE-2025-21638", "3.10.50", Affected}, // backport without fix
		{"CVE-2025-21638", "3.10.40", Unaffected},
		{"CVE-2025-21638", "3.15", Affected}, // introduction
		{"CVE-2025-21638", "3.14.99", Affected},
		{"CVE-2025-21638", "3.14.4", Unaffected},
		{"CVE-2025-21638", "6.12.9", Affected},
		{"CVE-2025-21638", "6.12.10", Fixed},
		{"CVE-2025-21638", "6.13-rc3", Affected}, // rc before the mainline fix
		{"CVE-2025-21638", "6.13", Fixed},
		{"CVE-2025-21638", "6.14.2", Fixed},
		{"CVE-2025-21638", "4.19.300", Affected}, // branch without fix: default affected
		{"CVE-2026-64108", "6.1.170", Affected},  // backport-introduced, fixed range
		{"CVE-2026-64108", "6.1.166", Unaffected},
		{"CVE-2026-64108", "6.1.160", Unaffected},
		{"CVE-2026-64108", "6.1.175", Fixed},
		{"CVE-2026-64108", "6.19.12", Affected}, // backport, no fix on 6.19
		{"CVE-2026-64108", "6.19.9", Unaffected},
		{"CVE-2026-64108", "7.0-rc4", Unaffected}, // before the introduction release
		{"CVE-2026-64108", "7.0.10", Affected},
		{"CVE-2026-64108", "7.0.11", Fixed},
		{"CVE-2026-64108", "7.1", Fixed},
		// Mainline-only fix, recent introduction.
		{"CVE-2024-36010", "6.6.50", Unaffected},
		{"CVE-2024-36010", "6.7", Affected},
		{"CVE-2024-36010", "6.7.12", Affected},
		{"CVE-2024-36010", "6.8-rc7", Affected},
		{"CVE-2024-36010", "6.8", Fixed},
		// Unaffected gap between two introductions.
		{"CVE-2024-53204", "6.5.9", Unaffected},
		{"CVE-2024-53204", "6.6.3", Affected},
		{"CVE-2024-53204", "6.6.4", Fixed},
		{"CVE-2024-53204", "6.7", Unaffected},
		{"CVE-2024-53204", "6.8.12", Unaffected},
		{"CVE-2024-53204", "6.9", Affected},
		{"CVE-2024-53204", "6.11.10", Affected},
		{"CVE-2024-53204", "6.11.11", Fixed},
		{"CVE-2026-72198", "6.6.60", Affected}, // ntfs, old driver
		{"CVE-2026-72198", "6.8.12", Affected},
		{"CVE-2026-72198", "6.9", Unaffected}, // the driver's removal is written as the gap 6.9-<7.1
		{"CVE-2026-72198", "6.12.5", Unaffected},
		{"CVE-2026-72198", "7.1", Affected}, // re-added
		{"CVE-2026-72198", "7.1.5", Fixed},
		{"CVE-2025-38585", "4.17", Affected},
		{"CVE-2025-38585", "4.19.100", Unaffected}, // gap 4.18-<5.8
		{"CVE-2025-38585", "6.6.90", Affected},
		// Stable-only records.
		{"CVE-2024-53060", "6.6.58", Unaffected},
		{"CVE-2024-53060", "6.6.59", Affected},
		{"CVE-2024-53060", "6.6.60", Affected},
		{"CVE-2024-53060", "6.6.61", Fixed},
		{"CVE-2024-53060", "6.12.1", Unaffected},
		{"CVE-2025-68195", "6.12.57", Unaffected}, // second entry has no versions
		{"CVE-2025-68195", "6.12.58", Affected},
		{"CVE-2025-68195", "6.12.200", Affected},
		{"CVE-2025-68195", "6.13-rc1", Unaffected}, // "6.12.58" lessThan "6.13" covers 6.12 only
		{"CVE-2025-68195", "6.17.8", Unaffected},
		{"CVE-2026-64257", "5.10.261", Affected},
		{"CVE-2026-64257", "5.11", Unaffected},
		{"CVE-2026-53243", "7.0.12", Affected},
		{"CVE-2026-53243", "7.0.13", Fixed},
		// Introduction unknown ("0" lessThan X.Y.Z).
		{"CVE-2024-38635", "4.19.300", Affected},
		{"CVE-2024-38635", "5.4.277", Affected},
		{"CVE-2024-38635", "5.4.278", Fixed},
		{"CVE-2024-38635", "5.10.300", Fixed}, // below "0"-"5.15.161" but 5.10 has its own fix
		{"CVE-2024-38635", "6.7.5", Affected},
		{"CVE-2024-38635", "6.10", Fixed},
		{"CVE-2026-46017", "6.12.40", Affected},
		{"CVE-2026-46017", "7.0.3", Affected},
		{"CVE-2026-46017", "7.0.4", Fixed},
		// No mainline fix.
		{"CVE-2026-68086", "5.3.18", Unaffected},
		{"CVE-2026-68086", "7.1.3", Affected},
		{"CVE-2026-68086", "7.1.4", Fixed},
		{"CVE-2026-68086", "7.2", Affected},
		// 4-part versions.
		{"CVE-2026-23352", "2.6.39", Unaffected},
		{"CVE-2026-23352", "2.6.39.1", Affected},
		{"CVE-2026-23352", "2.6.39.2", Fixed},
		{"CVE-2026-23352", "3.0", Affected},
		{"CVE-2026-23352", "6.19.6", Affected},
		{"CVE-2026-23352", "6.19.7", Fixed},
		// Rejected records: never anything to act on.
		{"CVE-2024-27042", "6.1.100", Unaffected},
		{"CVE-2025-0927", "6.12.1", Unaffected},
		{"CVE-2025-38030", "6.15.2", Unaffected},
		{"CVE-2026-45992", "7.1-rc1", Unaffected},
	}
	for _, c := range cases {
		rec, err := st.Lookup(c.id)
		if err != nil {
			t.Fatalf("%s: %v", c.id, err)
		}
		if got := rec.Verdict(MustVersion(c.v)); got != c.want {
			t.Errorf("%s %s: %s, want %s", c.id, c.v, got, c.want)
		}
	}
	// The rejected records' own ranges, read as if published.
	raw := []struct {
		id, v string
		want  bool
	}{
		{"CVE-2026-45992", "7.0.5", false}, {"CVE-2026-45992", "7.1-rc1", true}, {"CVE-2026-45992", "7.1-rc2", false},
		{"CVE-2025-38030", "6.14", false}, {"CVE-2025-38030", "6.14.8", false}, {"CVE-2025-38030", "6.14.9", false},
		{"CVE-2025-38030", "6.15", true}, {"CVE-2025-38030", "5.15.185", false},
		{"CVE-2024-27042", "6.1.100", true}, {"CVE-2024-27042", "6.6.23", false},
	}
	for _, c := range raw {
		rec, _ := st.Lookup(c.id)
		if got := rec.IsAffected(MustVersion(c.v)); got != c.want {
			t.Errorf("%s %s read as published: affected=%v, want %v", c.id, c.v, got, c.want)
		}
	}
}

func TestRecordFacts(t *testing.T) {
	st := NewStore("testdata/vulns")
	join := func(vs []Version) string {
		var s []string
		for _, v := range vs {
			s = append(s, v.String())
		}
		return strings.Join(s, " ")
	}
	for _, c := range []struct {
		id, title, intro, fixes string
		rejected, data          bool
	}{
		{"CVE-2026-64108", "cifs: Fix busy dentry used after unmounting", "7.0", "6.1.175 6.6.142 6.12.92 6.18.34 7.0.11 7.1", false, true},
		{"CVE-2024-53204", "phy: realtek: usb: fix NULL deref in rtk_usb3phy_probe", "6.6 6.9", "6.6.4 6.11.11 6.12.2 6.13", false, true},
		{"CVE-2026-68086", "mm/khugepaged: write all dirty file folios when collapsing", "5.4", "7.1.4", false, true},
		{"CVE-2024-53060", "drm/amdgpu: prevent NULL pointer dereference if ATIF is not supported", "4.19.323 5.4.285 5.10.229 5.15.170 6.1.115 6.6.59 6.11.6",
			"4.19.324 5.4.286 5.10.230 5.15.172 6.1.117 6.6.61 6.11.8", false, true},
		{"CVE-2026-23352", "x86/efi: defer freeing of boot services memory", "3.0", "2.6.39.2 5.10.253 5.15.203 6.1.167 6.6.130 6.12.77 6.18.17 6.19.7 7.0", false, true},
		{"CVE-2026-45992", "ALSA: caiaq: Fix potentially leftover ep1_in_urb at error path", "7.1-rc1", "7.1-rc2", true, true},
		{"CVE-2025-0927", "heap overflow in the hfs and hfsplus filesystems with manually crafted filesystem", "", "", true, false},
	} {
		rec, err := st.Lookup(c.id)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Title != c.title || join(rec.IntroducedOrBackported()) != c.intro || join(rec.Fixes()) != c.fixes ||
			rec.Rejected != c.rejected || rec.HasVersions() != c.data {
			t.Errorf("%s: title %q intro %q fixes %q rejected %v data %v", c.id, rec.Title,
				join(rec.IntroducedOrBackported()), join(rec.Fixes()), rec.Rejected, rec.HasVersions())
		}
	}
}

func TestStoreMissingBrokenAndReload(t *testing.T) {
	dir := t.TempDir()
	pub := filepath.Join(dir, "cve", "published", "2026")
	if err := os.MkdirAll(pub, 0o755); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "cve", "rejected"), 0o755)
	st := NewStore(dir)
	if err := st.Check(); err == nil || !strings.Contains(err.Error(), "holds no record: an empty or unfinished clone") {
		t.Errorf("a clone without records: Check says %v", err)
	}
	if err := NewStore(t.TempDir()).Check(); err == nil {
		t.Error("an empty directory passed Check")
	}
	if _, err := st.Lookup("CVE-2026-64108"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing record: %v, want ErrNotFound", err)
	}
	if _, err := st.Lookup("CVE-26-1; rm -rf"); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("bad id: %v", err)
	}
	path := filepath.Join(pub, "CVE-2026-64108.json")
	os.WriteFile(path, []byte(`{"cveMetadata": {"cveId": "CVE-2026-64108"}, "containers": {"cna": {"affected": [{"defaultStatus": "affected", "versions": [{"version": "six", "status": "affected"}]}]}}}`), 0o644)
	if _, err := st.Lookup("CVE-2026-64108"); err == nil {
		t.Fatal("broken record read without error")
	}
	good, _ := os.ReadFile("testdata/vulns/cve/published/2026/CVE-2026-64108.json")
	os.WriteFile(path, good, 0o644)
	if err := st.Check(); err != nil {
		t.Errorf("a clone with a record: %v", err)
	}
	later := time.Now().Add(time.Minute) // a git pull rewrites the file
	os.Chtimes(path, later, later)
	rec, err := st.Lookup("cve-2026-64108")
	if err != nil || rec.Verdict(MustVersion("6.19.12")) != Affected {
		t.Fatalf("after the record was repaired: %v %v", rec, err)
	}
	// Moved to rejected/ by the CNA: the folder decides.
	rej := filepath.Join(dir, "cve", "rejected", "2026")
	os.MkdirAll(rej, 0o755)
	os.Rename(path, filepath.Join(rej, "CVE-2026-64108.json"))
	rec, err = st.Lookup("CVE-2026-64108")
	if err != nil || !rec.Rejected || rec.Verdict(MustVersion("6.19.12")) != Unaffected {
		t.Fatalf("after rejection: %+v %v", rec, err)
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/vulns/cve/*/*/CVE-*.json")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"cveMetadata":{"cveId":"CVE-2026-1"},"containers":{"cna":{"affected":[{"defaultStatus":"affected","versions":[{"version":"0","lessThanOrEqual":"7.1.*","status":"unaffected"}]}]}}}`))
	probes := []Version{MustVersion("0"), MustVersion("2.6.39.1"), MustVersion("6.12.10"), MustVersion("7.1-rc2"), MustVersion("99.99.99")}
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := Parse(data)
		if err != nil {
			if rec != nil {
				t.Fatal("record returned with an error")
			}
			return
		}
		if !ValidID(rec.ID) {
			t.Fatalf("accepted id %q", rec.ID)
		}
		for _, v := range probes {
			switch rec.Verdict(v) {
			case Affected, Fixed, Unaffected, Unknown:
			default:
				t.Fatal("verdict outside the four")
			}
			rec.FixFor(v)
		}
		rec.Fixes()
		rec.IntroducedOrBackported()
	})
}

func FuzzParseDyad(f *testing.F) {
	files, _ := filepath.Glob("testdata/vulns/cve/*/*/CVE-*.dyad")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("0:0:0:0\n6.1.2:x:0:0\n"))
	probes := []Version{MustVersion("0"), MustVersion("2.6.39.1"), MustVersion("6.1.112"), MustVersion("7.1-rc2")}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDyad(data)
		if err != nil {
			if d != nil {
				t.Fatal("dyad returned with an error")
			}
			return
		}
		rec := &Record{ID: "CVE-2026-1", noData: true}
		rec.SetDyad(d)
		for _, v := range probes {
			j := rec.Judge(v)
			if j.Status == Affected && j.HasFix && Compare(j.Fix, v) <= 0 {
				t.Fatalf("%s affected with a fix %s at or below it", v, j.Fix)
			}
		}
		d.Branches()
	})
}

// TestStamp: a record's stamp is what Lookup's cache is valid for: it
// changes when the file does, is zero without a record, and a bad id is
// an error.
func TestStamp(t *testing.T) {
	dir := t.TempDir()
	pub := filepath.Join(dir, "cve", "published", "2026")
	if err := os.MkdirAll(pub, 0o755); err != nil {
		t.Fatal(err)
	}
	st := NewStore(dir)
	if s, err := st.Stamp("CVE-2026-64108"); err != nil || s != (Stamp{}) {
		t.Fatalf("missing record: %+v, %v; want the zero stamp", s, err)
	}
	if _, err := st.Stamp("CVE-26-1; rm -rf"); err == nil {
		t.Fatal("bad id: no error")
	}
	path := filepath.Join(pub, "CVE-2026-64108.json")
	if err := os.WriteFile(path, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := st.Stamp("cve-2026-64108")
	if err != nil || a.Path != path || a.Size != 2 {
		t.Fatalf("stamp %+v, %v", a, err)
	}
	later := time.Now().Add(time.Hour)
	os.Chtimes(path, later, later)
	if b, _ := st.Stamp("CVE-2026-64108"); b == a {
		t.Error("the stamp did not change with the file's time")
	}
}

// TestDefaultStatusUnknown: an affected[] entry whose defaultStatus is
// "unknown" leaves the versions its items do not name unknown, never
// unaffected; the versions an item names keep their status. The record
// is CVE-2024-36010 (introduced 6.7, fixed 6.8) with its second entry's
// default changed from "affected" to "unknown".
func TestDefaultStatusUnknown(t *testing.T) {
	data, err := os.ReadFile("testdata/vulns/cve/published/2024/CVE-2024-36010.json")
	if err != nil {
		t.Fatal(err)
	}
	n := strings.Count(string(data), `"defaultStatus": "affected"`)
	data = []byte(strings.Replace(string(data), `"defaultStatus": "affected"`, `"defaultStatus": "unknown"`, 1))
	if n != 1 {
		t.Fatalf("the record has %d affected defaults, want 1", n)
	}
	rec, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range map[string]Status{"6.7": Unknown, "6.7.5": Unknown, "6.6.50": Unaffected, "6.8": Fixed, "6.12.9": Fixed} {
		j := rec.Judge(MustVersion(v))
		if j.Status != want {
			t.Errorf("%s: %s (%s), want %s", v, j.Status, j.Note, want)
		}
		if want == Unknown && !strings.Contains(j.Note, "status of versions it does not list is unknown") {
			t.Errorf("%s: unknown without the reason: %q", v, j.Note)
		}
	}
	// The same with its .dyad beside it: the .dyad speaks of no stable
	// branch, so it does not make 6.7.5 any less unknown.
	dyad, _ := os.ReadFile("testdata/vulns/cve/published/2024/CVE-2024-36010.dyad")
	d, err := ParseDyad(dyad)
	if err != nil {
		t.Fatal(err)
	}
	rec.SetDyad(d)
	if j := rec.Judge(MustVersion("6.7.5")); j.Status != Unknown {
		t.Errorf("6.7.5 with the .dyad: %s (%s)", j.Status, j.Note)
	}
}
